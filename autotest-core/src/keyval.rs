//! Keyval files (`keyval`, `<test>/keyval`, `<test>/results/keyval`): FORMATS §4.
//!
//! `key=value` lines, appended. Iteration results use typed keys `name{perf}=<float>` and
//! `name{attr}=<string>`, one blank line closing each iteration.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Errors reading or writing keyval files.
#[derive(Debug, thiserror::Error)]
pub enum KeyvalError {
    /// A key with characters outside `[-.\w]`.
    #[error(
        "invalid keyval key {key:?} for {path}: keys may hold only letters, digits, '_', '-' and '.'"
    )]
    InvalidKey {
        /// The offending key.
        key: String,
        /// The file it was meant for.
        path: PathBuf,
    },
    /// A `{perf}` value that is not a number.
    #[error(
        "perf keyval {key} for {path} has value {value:?}, which is not a number: perf keyvals must be numeric (use an attr keyval for text)"
    )]
    NotANumber {
        /// The key.
        key: String,
        /// The value given.
        value: String,
        /// The file it was meant for.
        path: PathBuf,
    },
    /// A `{perf}` value read from a file that is not a number.
    #[error("{}:{line}: perf keyval {key} has value {value:?}, which is not a number: perf keyvals must be numeric (an attr keyval holds text)", path.display())]
    PerfNotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The key, without its `{perf}` tag.
        key: String,
        /// The value found.
        value: String,
    },
    /// A line without `=`.
    #[error("{path}:{line}: not a key=value line: {text:?}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// The type tag of an iteration keyval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyvalType {
    /// `name{perf}=<float>`: a performance figure.
    Perf,
    /// `name{attr}=<string>`: an attribute of the iteration.
    Attr,
}

impl KeyvalType {
    fn tag(self) -> &'static str {
        match self {
            KeyvalType::Perf => "perf",
            KeyvalType::Attr => "attr",
        }
    }
}

/// One iteration read from `<test>/results/keyval`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Iteration {
    /// `{attr}` keys and values, in file order.
    pub attr: Vec<(String, String)>,
    /// `{perf}` keys and values, in file order.
    pub perf: Vec<(String, f64)>,
    /// Untyped keys seen inside the iteration.
    pub plain: Vec<(String, String)>,
}

/// True when `key` matches `^[-.\w]+$`.
pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// Renders keyval lines (without writing them), validating keys and perf values.
pub fn render_keyvals<K: AsRef<str>, V: AsRef<str>>(
    path: &Path,
    pairs: &[(K, V)],
    kind: Option<KeyvalType>,
) -> Result<String, KeyvalError> {
    let mut out = String::new();
    for (k, v) in pairs {
        let (k, v) = (k.as_ref(), v.as_ref());
        if !is_valid_key(k) {
            return Err(KeyvalError::InvalidKey {
                key: k.to_owned(),
                path: path.to_owned(),
            });
        }
        if kind == Some(KeyvalType::Perf) && v.trim().parse::<f64>().is_err() {
            return Err(KeyvalError::NotANumber {
                key: k.to_owned(),
                value: v.to_owned(),
                path: path.to_owned(),
            });
        }
        out.push_str(k);
        if let Some(t) = kind {
            out.push('{');
            out.push_str(t.tag());
            out.push('}');
        }
        out.push('=');
        out.push_str(&v.replace(['\n', '\r'], " "));
        out.push('\n');
    }
    Ok(out)
}

/// Appends `key=value` lines (or `key{tag}=value`) to the keyval file at `path`, creating it.
pub fn append_keyvals<K: AsRef<str>, V: AsRef<str>>(
    path: &Path,
    pairs: &[(K, V)],
    kind: Option<KeyvalType>,
) -> Result<(), KeyvalError> {
    let text = render_keyvals(path, pairs, kind)?;
    append(path, &text)
}

/// Appends one iteration to `<test>/results/keyval`: attr keys, perf keys, then a blank line.
pub fn append_iteration<K1, V1, K2, V2>(
    path: &Path,
    attr: &[(K1, V1)],
    perf: &[(K2, V2)],
) -> Result<(), KeyvalError>
where
    K1: AsRef<str>,
    V1: AsRef<str>,
    K2: AsRef<str>,
    V2: AsRef<str>,
{
    let mut text = render_keyvals(path, attr, Some(KeyvalType::Attr))?;
    text.push_str(&render_keyvals(path, perf, Some(KeyvalType::Perf))?);
    text.push('\n');
    append(path, &text)
}

fn append(path: &Path, text: &str) -> Result<(), KeyvalError> {
    let io = |source| KeyvalError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)
}

/// Parses keyval text: `key=value` pairs in order; blank lines and `#` comments are skipped.
/// Typed keys keep their tag (`name{perf}`). A line without `=` is an error naming the line.
pub fn parse_keyvals(path: &Path, text: &str) -> Result<Vec<(String, String)>, KeyvalError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(KeyvalError::Malformed {
                path: path.to_owned(),
                line: i + 1,
                text: line.to_owned(),
            });
        };
        out.push((k.trim().to_owned(), v.to_owned()));
    }
    Ok(out)
}

/// Reads a keyval file (see [`parse_keyvals`]).
pub fn read_keyvals(path: &Path) -> Result<Vec<(String, String)>, KeyvalError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyvalError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_keyvals(path, &text)
}

/// Parses iteration keyvals: blank lines separate iterations; `{perf}` values are numbers.
pub fn parse_iterations(path: &Path, text: &str) -> Result<Vec<Iteration>, KeyvalError> {
    let mut out = Vec::new();
    let mut cur = Iteration::default();
    let mut open = false;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if open {
                out.push(std::mem::take(&mut cur));
                open = false;
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(KeyvalError::Malformed {
                path: path.to_owned(),
                line: i + 1,
                text: line.to_owned(),
            });
        };
        open = true;
        if let Some(name) = k.strip_suffix("{perf}") {
            let n = v
                .trim()
                .parse::<f64>()
                .map_err(|_| KeyvalError::PerfNotANumber {
                    path: path.to_owned(),
                    line: i + 1,
                    key: name.to_owned(),
                    value: v.to_owned(),
                })?;
            cur.perf.push((name.to_owned(), n));
        } else if let Some(name) = k.strip_suffix("{attr}") {
            cur.attr.push((name.to_owned(), v.to_owned()));
        } else {
            cur.plain.push((k.to_owned(), v.to_owned()));
        }
    }
    if open {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_iterations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("results/keyval");
        append_iteration(&p, &[("kernel", "6.6")], &[("throughput", "12.5")]).unwrap();
        append_iteration::<&str, &str, _, _>(&p, &[], &[("throughput", "13")]).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "kernel{attr}=6.6\nthroughput{perf}=12.5\n\nthroughput{perf}=13\n\n"
        );
        let it = parse_iterations(&p, &text).unwrap();
        assert_eq!(it.len(), 2);
        assert_eq!(it[1].perf, vec![("throughput".to_owned(), 13.0)]);
    }

    #[test]
    fn rejects_bad_keys_and_values() {
        let p = Path::new("k");
        assert!(matches!(
            render_keyvals(p, &[("a b", "1")], None),
            Err(KeyvalError::InvalidKey { .. })
        ));
        assert!(matches!(
            render_keyvals(p, &[("a", "fast")], Some(KeyvalType::Perf)),
            Err(KeyvalError::NotANumber { .. })
        ));
    }
}
