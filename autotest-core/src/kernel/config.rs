//! Kernel `.config` text: extra options (`config_list`) merged over a base config before
//! `make olddefconfig`, and a check of which of them the kernel's Kconfig did not keep.

use super::KernelError;

/// One option of a `config_list`: `CONFIG_NAME=value`, or unset (`=n` / `# ... is not set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOption {
    /// `CONFIG_NAME`.
    pub name: String,
    /// The value (`y`, `m`, `64`, `"text"`), or None for "not set".
    pub value: Option<String>,
}

impl ConfigOption {
    /// The line this option is in a `.config`.
    pub fn line(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={v}", self.name),
            None => format!("# {} is not set", self.name),
        }
    }
}

fn valid_name(name: &str) -> bool {
    name.strip_prefix("CONFIG_").is_some_and(|rest| {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Reads one `.config` line: `Some((name, value))` for an assignment or a "not set" comment.
fn config_line(line: &str) -> Option<(&str, Option<&str>)> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("# ") {
        let name = rest.strip_suffix(" is not set")?;
        return valid_name(name).then_some((name, None));
    }
    let (name, value) = line.split_once('=')?;
    valid_name(name).then_some((name, Some(value)))
}

/// Parses `config_list` entries; an entry that is not an option is an error naming it.
pub fn parse_config_list<S: AsRef<str>>(entries: &[S]) -> Result<Vec<ConfigOption>, KernelError> {
    let mut out: Vec<ConfigOption> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let text = e.as_ref().trim();
        let bad = || KernelError::BadConfigOption {
            index: i + 1,
            entry: text.to_owned(),
        };
        let (name, value) = config_line(text).ok_or_else(bad)?;
        let value = match value {
            Some("n") => None,
            Some("") => return Err(bad()),
            Some(v) => Some(v.to_owned()),
            None => None,
        };
        // A later entry for the same option wins, as a later line of a .config would.
        out.retain(|o| o.name != name);
        out.push(ConfigOption {
            name: name.to_owned(),
            value,
        });
    }
    Ok(out)
}

/// `base` with every option of `options` set as asked: an existing line of the option is
/// replaced in place (later duplicates dropped), a new one is appended. Other lines are kept.
pub fn merge_config(base: &str, options: &[ConfigOption]) -> String {
    let mut written = vec![false; options.len()];
    let mut out = String::with_capacity(base.len() + options.len() * 32);
    for line in base.lines() {
        let hit =
            config_line(line).and_then(|(name, _)| options.iter().position(|o| o.name == name));
        match hit {
            Some(i) if written[i] => {}
            Some(i) => {
                out.push_str(&options[i].line());
                out.push('\n');
                written[i] = true;
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    for (o, w) in options.iter().zip(written) {
        if !w {
            out.push_str(&o.line());
            out.push('\n');
        }
    }
    out
}

/// The options of `options` that `config` (the `.config` after `olddefconfig`) does not have
/// as asked, each as `CONFIG_X=y (now: not set)`: Kconfig drops what its dependencies forbid.
pub fn config_mismatches(config: &str, options: &[ConfigOption]) -> Vec<String> {
    options
        .iter()
        .filter_map(|o| {
            let now = config
                .lines()
                .filter_map(config_line)
                .find(|(n, _)| *n == o.name)
                .and_then(|(_, v)| v);
            (now != o.value.as_deref()).then(|| {
                format!(
                    "{} (now: {})",
                    o.line(),
                    now.map_or_else(|| "not set".to_owned(), |v| format!("{}={v}", o.name))
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_SMP=y\n# CONFIG_MODULES is not set\nCONFIG_LOG_BUF_SHIFT=17\nCONFIG_LOCALVERSION=\"\"\nCONFIG_SMP=y\n";

    #[test]
    fn merge_cases() {
        // (config_list, expected merged text)
        let cases: &[(&[&str], &str)] = &[
            (&[], BASE),
            (
                &["CONFIG_MODULES=y"],
                "#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_SMP=y\nCONFIG_MODULES=y\nCONFIG_LOG_BUF_SHIFT=17\nCONFIG_LOCALVERSION=\"\"\nCONFIG_SMP=y\n",
            ),
            (
                &["CONFIG_SMP=n", "CONFIG_LOG_BUF_SHIFT=20", "CONFIG_NEW=m"],
                "#\n# Automatically generated file; DO NOT EDIT.\n#\n# CONFIG_SMP is not set\n# CONFIG_MODULES is not set\nCONFIG_LOG_BUF_SHIFT=20\nCONFIG_LOCALVERSION=\"\"\nCONFIG_NEW=m\n",
            ),
            (
                &[
                    "# CONFIG_SMP is not set",
                    "CONFIG_LOCALVERSION=\"-lab\"",
                    "CONFIG_SMP=y",
                ],
                "#\n# Automatically generated file; DO NOT EDIT.\n#\nCONFIG_SMP=y\n# CONFIG_MODULES is not set\nCONFIG_LOG_BUF_SHIFT=17\nCONFIG_LOCALVERSION=\"-lab\"\n",
            ),
        ];
        for (list, want) in cases {
            let opts = parse_config_list(list).unwrap();
            assert_eq!(merge_config(BASE, &opts), *want, "{list:?}");
        }
    }

    #[test]
    fn bad_entries_name_position_and_fix() {
        for (list, index) in [
            (&["CONFIG_A=y", "SMP=y"][..], 2),
            (&["CONFIG_=y"][..], 1),
            (&["CONFIG_A="][..], 1),
            (&["CONFIG_A y"][..], 1),
            (&["# CONFIG_A is set"][..], 1),
        ] {
            let e = parse_config_list(list).unwrap_err().to_string();
            assert!(e.starts_with(&format!("config_list entry {index} ")), "{e}");
            assert!(e.contains("CONFIG_NAME=value"), "{e}");
        }
    }

    #[test]
    fn mismatches_after_olddefconfig() {
        let opts = parse_config_list(&[
            "CONFIG_SMP=y",
            "CONFIG_MODULES=n",
            "CONFIG_NEW=m",
            "CONFIG_GONE=n",
        ])
        .unwrap();
        let after = "CONFIG_SMP=y\nCONFIG_MODULES=y\n# CONFIG_NEW is not set\n";
        assert_eq!(
            config_mismatches(after, &opts),
            [
                "# CONFIG_MODULES is not set (now: CONFIG_MODULES=y)",
                "CONFIG_NEW=m (now: not set)"
            ]
        );
    }
}
