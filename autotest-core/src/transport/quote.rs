//! POSIX shell quoting: every argument becomes one word, whatever it holds.

/// Quotes one argument for a POSIX shell (`'...'`, with `'` written as `'\''`); plain words
/// made only of safe characters are left as they are.
pub fn quote_arg(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b'+' | b',' | b'@' | b'%'
                )
        });
    if safe {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Quotes every argument and joins them with spaces.
pub fn quote_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote_arg(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_a_shell_would_split_or_expand() {
        assert_eq!(quote_arg("plain-word_1.2/x"), "plain-word_1.2/x");
        assert_eq!(quote_arg(""), "''");
        assert_eq!(quote_arg("a b"), "'a b'");
        assert_eq!(quote_arg("it's"), "'it'\\''s'");
        assert_eq!(quote_arg("$(rm -rf /)"), "'$(rm -rf /)'");
        assert_eq!(quote_argv(&["echo", "a;b", "*"]), "echo 'a;b' '*'");
    }

    #[test]
    fn round_trips_through_sh() {
        let nasty = [
            "a b",
            "it's",
            "$HOME",
            "`x`",
            "\\n",
            "*",
            "\"q\"",
            "",
            "tab\there",
            "nl\nx",
        ];
        let mut argv = vec!["printf".to_owned(), "%s\\0".to_owned()];
        argv.extend(nasty.iter().map(|s| s.to_string()));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(quote_argv(&argv))
            .output()
            .unwrap();
        let got: Vec<String> = out
            .stdout
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        let want: Vec<String> = nasty
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
            .collect();
        assert_eq!(got, want);
    }
}
