//! `global_config.ini`, with `shadow_config.ini` merged over it (FORMATS §9).
//!
//! INI as Autotest's Python `ConfigParser` read it: `[SECTION]` headers (case-sensitive),
//! `key: value` or `key = value` (option names case-insensitive), whole-line `#` and `;`
//! comments, an inline comment after whitespace and `;` (`key: value ; note`), and continuation
//! lines indented deeper than their key line (joined with `\n`). Values may refer to other
//! options of the same section or of `[DEFAULT]` with `%(name)s`; `%%` is a literal `%`.
//! Options of `[DEFAULT]` are visible in every section.
//!
//! Parsing uses the `configparser` crate (with multiline support); a line-by-line check before
//! it gives errors with line numbers. Every value remembers which file it came from, and errors
//! name that file, the line, the section and the key.

mod error;
mod views;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use error::ConfigError;
pub use views::{AutoservConfig, AutotestWebConfig, HostsConfig, SchedulerConfig};

/// The section whose options every other section sees.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Which file a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Global,
    Shadow,
}

#[derive(Debug, Clone)]
struct Entry {
    /// The raw value (not interpolated).
    value: String,
    origin: Origin,
    /// 1-based line of the key in its file.
    line: usize,
}

/// The merged contents of `global_config.ini` and `shadow_config.ini`.
///
/// [`GlobalConfig::default`] is an empty configuration: every typed view then gives its
/// FORMATS §9 defaults.
#[derive(Clone, Default)]
pub struct GlobalConfig {
    global_path: PathBuf,
    shadow_path: Option<PathBuf>,
    /// section -> lower-case option -> entry.
    sections: BTreeMap<String, BTreeMap<String, Entry>>,
}

impl fmt::Debug for GlobalConfig {
    // Values are left out: they hold database passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalConfig")
            .field("global_path", &self.global_path)
            .field("shadow_path", &self.shadow_path)
            .field("sections", &self.sections.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl GlobalConfig {
    /// Loads `global_path` and, when `shadow_path` is given and the file exists, merges it over
    /// the global values option by option (a missing shadow file is not an error, as in legacy
    /// Autotest; a missing global file is).
    pub fn load(
        global_path: impl AsRef<Path>,
        shadow_path: Option<&Path>,
    ) -> Result<GlobalConfig, ConfigError> {
        let global_path = global_path.as_ref();
        let text = std::fs::read_to_string(global_path).map_err(|source| ConfigError::Io {
            path: global_path.to_owned(),
            source,
        })?;
        let mut config = GlobalConfig::parse(&text, global_path)?;
        if let Some(shadow_path) = shadow_path {
            match std::fs::read_to_string(shadow_path) {
                Ok(text) => config.merge_shadow(&text, shadow_path)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ConfigError::Io {
                        path: shadow_path.to_owned(),
                        source,
                    });
                }
            }
        }
        Ok(config)
    }

    /// Parses the text of a global config; `path` is used in messages only.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<GlobalConfig, ConfigError> {
        let mut config = GlobalConfig {
            global_path: path.as_ref().to_owned(),
            ..GlobalConfig::default()
        };
        config.merge(text, Origin::Global)?;
        Ok(config)
    }

    /// Merges the text of a shadow config over this one; `path` is used in messages only.
    pub fn merge_shadow(&mut self, text: &str, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        self.shadow_path = Some(path.as_ref().to_owned());
        self.merge(text, Origin::Shadow)
    }

    /// The global config file's path (empty for [`GlobalConfig::default`]).
    pub fn global_path(&self) -> &Path {
        &self.global_path
    }

    /// The shadow config file's path, when one was merged.
    pub fn shadow_path(&self) -> Option<&Path> {
        self.shadow_path.as_deref()
    }

    /// Section names, sorted.
    pub fn sections(&self) -> Vec<&str> {
        self.sections.keys().map(String::as_str).collect()
    }

    /// Option names (lower case, sorted) of `section`, including those inherited from
    /// `[DEFAULT]`.
    pub fn options(&self, section: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .sections
            .get(section)
            .into_iter()
            .chain(self.sections.get(DEFAULT_SECTION))
            .flat_map(|opts| opts.keys().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The file `[section] key` was read from (the shadow config when it overrides the global
    /// one), or `None` when it is not set.
    pub fn origin(&self, section: &str, key: &str) -> Option<&Path> {
        self.entry(section, &key.to_lowercase())
            .map(|entry| self.path_of(entry.origin))
    }

    /// The value of `[section] key` with `%(name)s` references expanded; `None` when not set.
    /// Blank values are returned as `""`.
    pub fn get_str(&self, section: &str, key: &str) -> Result<Option<String>, ConfigError> {
        let key = key.to_lowercase();
        match self.entry(section, &key) {
            None => Ok(None),
            Some(entry) => {
                let mut stack = Vec::new();
                self.interpolate(section, &key, entry, &mut stack).map(Some)
            }
        }
    }

    /// A boolean: `true/false`, `yes/no`, `on/off`, `1/0` (any case). `None` when not set or
    /// blank.
    pub fn get_bool(&self, section: &str, key: &str) -> Result<Option<bool>, ConfigError> {
        self.convert(
            section,
            key,
            "a boolean (true/false, yes/no, on/off, 1/0)",
            |v| match v.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Some(true),
                "false" | "no" | "off" | "0" => Some(false),
                _ => None,
            },
        )
    }

    /// An integer. `None` when not set or blank.
    pub fn get_int(&self, section: &str, key: &str) -> Result<Option<i64>, ConfigError> {
        self.convert(section, key, "an integer", |v| v.parse::<i64>().ok())
    }

    /// An integer from `min` to `max`; anything else is refused with the file, the line and
    /// `expected`, which names the range (e.g. "a TCP port number from 1 to 65535").
    pub fn get_int_in(
        &self,
        section: &str,
        key: &str,
        min: i64,
        max: i64,
        expected: &'static str,
    ) -> Result<Option<i64>, ConfigError> {
        self.convert(section, key, expected, |v| {
            v.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
        })
    }

    /// A floating-point number. `None` when not set or blank.
    pub fn get_float(&self, section: &str, key: &str) -> Result<Option<f64>, ConfigError> {
        self.convert(section, key, "a number", |v| v.parse::<f64>().ok())
    }

    /// A comma-separated list, items trimmed, empty items dropped. `None` when not set or blank.
    pub fn get_list(&self, section: &str, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        self.convert(section, key, "a comma-separated list", |v| {
            Some(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        })
    }

    /// Looks up and converts a value; blank means unset.
    fn convert<T>(
        &self,
        section: &str,
        key: &str,
        expected: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.get_str(section, key)? else {
            return Ok(None);
        };
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        match parse(trimmed) {
            Some(v) => Ok(Some(v)),
            None => Err(self.bad_value(section, key, expected, trimmed)),
        }
    }

    /// The error for `[section] key` holding `value` where `expected` was wanted. The key must
    /// be set.
    pub(crate) fn bad_value(
        &self,
        section: &str,
        key: &str,
        expected: &'static str,
        value: &str,
    ) -> ConfigError {
        let key = key.to_lowercase();
        let (path, line) = match self.entry(section, &key) {
            Some(entry) => (self.path_of(entry.origin).to_owned(), entry.line),
            None => (self.global_path.clone(), 0),
        };
        ConfigError::BadValue {
            path,
            line,
            section: section.to_owned(),
            key,
            expected,
            value: value.to_owned(),
        }
    }

    fn path_of(&self, origin: Origin) -> &Path {
        match origin {
            Origin::Global => &self.global_path,
            Origin::Shadow => self.shadow_path.as_deref().unwrap_or(&self.global_path),
        }
    }

    /// `[section] key` (key already lower case), falling back to `[DEFAULT]`.
    fn entry(&self, section: &str, key: &str) -> Option<&Entry> {
        self.sections
            .get(section)
            .and_then(|opts| opts.get(key))
            .or_else(|| self.sections.get(DEFAULT_SECTION)?.get(key))
    }

    /// Expands `%(name)s` in `entry` (the value of `[section] key`); `stack` holds the keys being
    /// expanded, to detect loops.
    fn interpolate(
        &self,
        section: &str,
        key: &str,
        entry: &Entry,
        stack: &mut Vec<String>,
    ) -> Result<String, ConfigError> {
        let error = |message: String| ConfigError::Interpolation {
            path: self.path_of(entry.origin).to_owned(),
            line: entry.line,
            section: section.to_owned(),
            key: key.to_owned(),
            message,
        };
        if !entry.value.contains('%') {
            return Ok(entry.value.clone());
        }
        if stack.iter().any(|k| k == key) {
            let mut chain = stack.clone();
            chain.push(key.to_owned());
            return Err(error(format!(
                "%(name)s references form a loop ({}); make one of these a plain value",
                chain.join(" -> ")
            )));
        }
        stack.push(key.to_owned());
        let mut out = String::new();
        let mut rest = entry.value.as_str();
        while let Some(pos) = rest.find('%') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 1..];
            if let Some(tail) = after.strip_prefix('%') {
                out.push('%');
                rest = tail;
            } else if let Some(tail) = after.strip_prefix('(') {
                let Some(close) = tail.find(')') else {
                    return Err(error(
                        "a '%(' reference has no closing ')'; write %(name)s, or %% for a literal %"
                            .to_owned(),
                    ));
                };
                let name = tail[..close].to_lowercase();
                let Some(tail) = tail[close + 1..].strip_prefix('s') else {
                    return Err(error(format!(
                        "the reference %({name}) must be followed by 's', as in %({name})s"
                    )));
                };
                let Some(target) = self.entry(section, &name) else {
                    return Err(error(format!(
                        "%({name})s refers to '{name}', which is not set in [{section}] or [{DEFAULT_SECTION}]; define it there or write %% for a literal %"
                    )));
                };
                out.push_str(&self.interpolate(section, &name, target, stack)?);
                rest = tail;
            } else {
                // A lone '%' (e.g. "100%") is kept, as Python 2's ConfigParser did.
                out.push('%');
                rest = after;
            }
        }
        out.push_str(rest);
        stack.pop();
        Ok(out)
    }

    /// Parses `text` and merges its options over the current ones.
    fn merge(&mut self, text: &str, origin: Origin) -> Result<(), ConfigError> {
        let path = match origin {
            Origin::Global => self.global_path.clone(),
            Origin::Shadow => self.shadow_path.clone().unwrap_or_default(),
        };
        let key_lines = check_lines(text, &path)?;
        let mut defaults = configparser::ini::IniDefault::default();
        defaults.default_section = NO_SECTION.to_owned();
        defaults.comment_symbols = vec!['#', ';'];
        defaults.inline_comment_symbols = None;
        defaults.delimiters = vec!['=', ':'];
        defaults.case_sensitive = true;
        defaults.multiline = true;
        defaults.enable_inline_comments = false;
        let mut ini = configparser::ini::Ini::new_from_defaults(defaults);
        let map = ini
            .read(text.to_owned())
            .map_err(|message| ConfigError::Syntax {
                path: path.clone(),
                line: 0,
                message,
            })?;
        for (section, options) in map {
            // Mixed-case spellings of one option: the one defined last in the file wins.
            let mut merged: BTreeMap<String, Entry> = BTreeMap::new();
            for (raw_key, value) in options {
                let line = key_lines
                    .get(&(section.clone(), raw_key.clone()))
                    .copied()
                    .unwrap_or(0);
                let key = raw_key.to_lowercase();
                if merged.get(&key).is_some_and(|e| e.line > line) {
                    continue;
                }
                let value = strip_inline_comment(value.as_deref().unwrap_or(""));
                merged.insert(
                    key,
                    Entry {
                        value,
                        origin,
                        line,
                    },
                );
            }
            self.sections.entry(section).or_default().extend(merged);
        }
        Ok(())
    }
}

/// Section name that no real header produces: options before any header land here, and
/// [`check_lines`] rejects them first.
const NO_SECTION: &str = "\u{1}no section";

/// Removes a Python 2 style inline comment (`;` after whitespace) from the first line.
fn strip_inline_comment(value: &str) -> String {
    let (first, rest) = match value.find('\n') {
        Some(pos) => value.split_at(pos),
        None => (value, ""),
    };
    let bytes = first.as_bytes();
    let cut = (1..bytes.len()).find(|&i| bytes[i] == b';' && bytes[i - 1].is_ascii_whitespace());
    match cut {
        Some(i) => format!("{}{rest}", first[..i].trim_end()),
        None => value.to_owned(),
    }
}

/// Checks every line the way `configparser` will read it, so errors carry line numbers.
/// Returns the line of the last definition of each (section, raw key).
fn check_lines(text: &str, path: &Path) -> Result<BTreeMap<(String, String), usize>, ConfigError> {
    let syntax = |line: usize, message: String| ConfigError::Syntax {
        path: path.to_owned(),
        line,
        message,
    };
    let mut lines_of = BTreeMap::new();
    let mut section: Option<String> = None;
    let mut key_indent: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let line = raw.trim();
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if line.starts_with('[') {
            let Some(end) = line.rfind(']') else {
                return Err(syntax(
                    number,
                    format!("section header {line:?} has no closing ']'; write it as [SECTION]"),
                ));
            };
            let name = line[1..end].trim();
            if name.is_empty() {
                return Err(syntax(
                    number,
                    "empty section name '[]'; write a name such as [SCHEDULER]".to_owned(),
                ));
            }
            section = Some(name.to_owned());
            key_indent = None;
            continue;
        }
        if key_indent.is_some_and(|k| indent > k) {
            continue; // a continuation line
        }
        let Some(section) = &section else {
            return Err(syntax(
                number,
                format!(
                    "{line:?} comes before any section header; put it under a section such as [SCHEDULER]"
                ),
            ));
        };
        let Some(delim) = line.find(['=', ':']) else {
            return Err(syntax(
                number,
                format!(
                    "{line:?} is not 'key: value' or 'key = value' (and not indented deeper than a key line, so not a continuation); add ':' after the option name, or indent it to continue the value above"
                ),
            ));
        };
        let key = line[..delim].trim();
        if key.is_empty() {
            return Err(syntax(
                number,
                format!(
                    "{line:?} has no option name before '{}'",
                    &line[delim..=delim]
                ),
            ));
        }
        lines_of.insert((section.clone(), key.to_owned()), number);
        key_indent = Some(indent);
    }
    Ok(lines_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str) -> GlobalConfig {
        GlobalConfig::parse(text, "global_config.ini").unwrap()
    }

    #[test]
    fn basic_values_and_case() {
        let c = cfg("[SCHEDULER]\nTick_Pause_Sec: 7\ndrones = a, b,, c \n");
        assert_eq!(c.get_int("SCHEDULER", "tick_pause_sec").unwrap(), Some(7));
        assert_eq!(c.get_int("SCHEDULER", "TICK_PAUSE_SEC").unwrap(), Some(7));
        assert_eq!(
            c.get_list("SCHEDULER", "drones").unwrap(),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        // Section names are case-sensitive.
        assert_eq!(c.get_int("scheduler", "tick_pause_sec").unwrap(), None);
    }

    #[test]
    fn continuation_and_comments() {
        let c =
            cfg("# top\n[A]\nkey: first\n    second\n\n  third\n; c\nnext = 1 ; note\npw = a;b\n");
        assert_eq!(
            c.get_str("A", "key").unwrap().as_deref(),
            Some("first\nsecond\n\nthird")
        );
        assert_eq!(c.get_int("A", "next").unwrap(), Some(1));
        assert_eq!(c.get_str("A", "pw").unwrap().as_deref(), Some("a;b"));
    }

    #[test]
    fn bools() {
        let c = cfg("[A]\na=Yes\nb=off\nc=1\nd=TRUE\ne=maybe\nf=\n");
        assert_eq!(c.get_bool("A", "a").unwrap(), Some(true));
        assert_eq!(c.get_bool("A", "b").unwrap(), Some(false));
        assert_eq!(c.get_bool("A", "c").unwrap(), Some(true));
        assert_eq!(c.get_bool("A", "d").unwrap(), Some(true));
        assert_eq!(c.get_bool("A", "f").unwrap(), None);
        let err = c.get_bool("A", "e").unwrap_err().to_string();
        assert!(
            err.contains("global_config.ini:6: [A] e: expected a boolean"),
            "{err}"
        );
        assert!(err.contains("got 'maybe'"), "{err}");
    }

    #[test]
    fn interpolation() {
        let c = cfg(
            "[DEFAULT]\nbase = /usr/local\n[A]\ndir = %(base)s/autotest\nlog = %(DIR)s/log\npct = 100% and 50%%\nloop1 = %(loop2)s\nloop2 = %(loop1)s\nmissing = %(nope)s\nbad = %(dir)d\nopen = %(dir\n",
        );
        assert_eq!(
            c.get_str("A", "log").unwrap().as_deref(),
            Some("/usr/local/autotest/log")
        );
        assert_eq!(
            c.get_str("A", "pct").unwrap().as_deref(),
            Some("100% and 50%")
        );
        assert_eq!(
            c.get_str("A", "base").unwrap().as_deref(),
            Some("/usr/local")
        );
        let err = c.get_str("A", "loop1").unwrap_err().to_string();
        assert!(err.contains("loop1 -> loop2 -> loop1"), "{err}");
        let err = c.get_str("A", "missing").unwrap_err().to_string();
        assert!(err.contains("'nope'"), "{err}");
        assert!(c.get_str("A", "bad").is_err());
        assert!(c.get_str("A", "open").is_err());
    }

    #[test]
    fn syntax_errors_have_lines() {
        for (text, line) in [
            ("key = 1\n", 1),
            ("[A]\nx = 1\njunk line\n", 3),
            ("[A\n", 1),
            ("[A]\n= 3\n", 2),
            ("[]\n", 1),
        ] {
            match GlobalConfig::parse(text, "g.ini") {
                Err(ConfigError::Syntax { line: l, .. }) => assert_eq!(l, line, "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn inline_comment_strip() {
        assert_eq!(strip_inline_comment("a ; b"), "a");
        assert_eq!(strip_inline_comment("a;b"), "a;b");
        assert_eq!(strip_inline_comment(";b"), ";b");
        assert_eq!(strip_inline_comment("x\ny ; z"), "x\ny ; z");
    }

    #[test]
    fn debug_hides_values() {
        let c = cfg("[AUTOTEST_WEB]\npassword: hunter2\n");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
