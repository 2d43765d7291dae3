//! Python string literals, read without running Python: the one reader behind control-file
//! metadata ([`crate::control::ControlMeta`]) and the kernel sources a control file names
//! ([`crate::kernel::kernel_refs`]).
//!
//! Understood: quotes `'` `"` and their triple forms (spanning lines); prefixes of up to two of
//! `r u b f` in either case (`r` keeps backslashes, `b` and `f` are read but marked, because a
//! bytes literal is not text and an f-string is computed when run: callers refuse them); the
//! escapes `\\ \' \" \a \b \f \n \r \t \v`, octal `\ooo`, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`; a
//! backslash-newline inside a string joins the lines; CRLF reads as LF. Escapes Python does not
//! know, invalid hex and `\N{...}` are kept as written: this reads metadata, it is not a compiler.

/// What kind of string literal it is, from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrKind {
    /// A plain (or `r`/`u`) string: text.
    Text,
    /// `b'..'`: bytes, not text.
    Bytes,
    /// `f'..'`: computed when run.
    Formatted,
}

impl StrKind {
    /// For messages: "a string", "a bytes literal", "an f-string".
    pub(crate) fn describe(self) -> &'static str {
        match self {
            StrKind::Text => "a string",
            StrKind::Bytes => "a bytes literal",
            StrKind::Formatted => "an f-string",
        }
    }
}

/// A string literal read from source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Literal {
    /// Its value: escapes decoded unless raw.
    pub(crate) value: String,
    /// Its kind, from the prefix.
    pub(crate) kind: StrKind,
}

/// A string literal that is never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unterminated {
    /// 1-based line where the literal starts.
    pub(crate) line: usize,
    /// What is wrong and how to fix it.
    pub(crate) message: String,
}

fn is_prefix_char(c: char) -> bool {
    "rRuUbBfF".contains(c)
}

/// True when a string literal (its prefix, if any, then a quote) starts at `chars[i]`, `i`
/// being the start of a token.
pub(crate) fn starts_at(chars: &[char], i: usize) -> bool {
    let prefix = chars[i.min(chars.len())..]
        .iter()
        .take_while(|c| is_prefix_char(**c))
        .count();
    // A longer run of prefix letters is a name (`rbf'x'` is the name `rbf`, then a string).
    prefix <= 2 && matches!(chars.get(i + prefix), Some('\'' | '"'))
}

/// Reads the literal starting at `chars[*i]` (where [`starts_at`] is true) and leaves `*i` after
/// its closing quote. `*line` (1-based) and `*line_start` (index of the line's first char) follow
/// the newlines inside it.
pub(crate) fn read(
    chars: &[char],
    i: &mut usize,
    line: &mut usize,
    line_start: &mut usize,
) -> Result<Literal, Unterminated> {
    let mut raw = false;
    let mut kind = StrKind::Text;
    while let Some(&c) = chars.get(*i).filter(|c| is_prefix_char(**c)) {
        match c.to_ascii_lowercase() {
            'r' => raw = true,
            'f' => kind = StrKind::Formatted,
            'b' if kind != StrKind::Formatted => kind = StrKind::Bytes,
            _ => {}
        }
        *i += 1;
    }
    let value = read_quoted(chars, i, line, line_start, raw)?;
    Ok(Literal { value, kind })
}

/// Reads the literal at the start of `s` (after leading whitespace); returns it and the text
/// after it, or `None` when `s` does not start with one. For single-line scans.
pub(crate) fn read_str(s: &str) -> Option<Result<(Literal, &str), Unterminated>> {
    let s = s.trim_start();
    let chars: Vec<char> = s.chars().collect();
    if !starts_at(&chars, 0) {
        return None;
    }
    let (mut i, mut line, mut line_start) = (0, 1, 0);
    Some(read(&chars, &mut i, &mut line, &mut line_start).map(|lit| {
        let end = s.char_indices().nth(i).map_or(s.len(), |(b, _)| b);
        (lit, &s[end..])
    }))
}

/// Reads from the opening quote `chars[*i]` to after the closing one.
fn read_quoted(
    chars: &[char],
    i: &mut usize,
    line: &mut usize,
    line_start: &mut usize,
    raw: bool,
) -> Result<String, Unterminated> {
    let start_line = *line;
    let quote = chars[*i];
    let triple = chars.get(*i + 1) == Some(&quote) && chars.get(*i + 2) == Some(&quote);
    *i += if triple { 3 } else { 1 };
    let mut out = String::new();
    let unterminated = || Unterminated {
        line: start_line,
        message: if triple {
            format!(
                "the triple-quoted string opened here ({q}{q}{q}) is never closed; add the closing {q}{q}{q}",
                q = quote
            )
        } else {
            format!(
                "the string opened here ({quote}) is not closed on this line; close it, or use triple quotes for text spanning lines"
            )
        },
    };
    loop {
        let Some(&c) = chars.get(*i) else {
            return Err(unterminated());
        };
        if c == quote {
            if !triple {
                *i += 1;
                return Ok(out);
            }
            if chars.get(*i + 1) == Some(&quote) && chars.get(*i + 2) == Some(&quote) {
                *i += 3;
                return Ok(out);
            }
            out.push(c);
            *i += 1;
            continue;
        }
        if c == '\n' {
            if !triple {
                return Err(unterminated());
            }
            out.push('\n');
            *i += 1;
            *line += 1;
            *line_start = *i;
            continue;
        }
        if c == '\r' && chars.get(*i + 1) == Some(&'\n') {
            // CRLF inside a string reads as LF, as Python's universal newlines do.
            *i += 1;
            continue;
        }
        if c != '\\' {
            out.push(c);
            *i += 1;
            continue;
        }
        // A backslash.
        let Some(&next) = chars.get(*i + 1) else {
            return Err(unterminated());
        };
        let (next, skip_cr) = if next == '\r' && chars.get(*i + 2) == Some(&'\n') {
            ('\n', 1)
        } else {
            (next, 0)
        };
        if next == '\n' {
            if raw {
                out.push('\\');
                out.push('\n');
            }
            *i += 2 + skip_cr;
            *line += 1;
            *line_start = *i;
            continue;
        }
        if raw {
            out.push('\\');
            out.push(next);
            *i += 2;
            continue;
        }
        *i += 2;
        match next {
            '\\' | '\'' | '"' => out.push(next),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = next.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.get(*i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            *i += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let len = match next {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.iter().skip(*i).take(len).collect();
                match u32::from_str_radix(&hex, 16) {
                    Ok(v)
                        if hex.chars().count() == len
                            && hex.chars().all(|h| h.is_ascii_hexdigit()) =>
                    {
                        out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
                        *i += len;
                    }
                    // Invalid escapes are kept as written; this is metadata, not a compiler.
                    _ => {
                        out.push('\\');
                        out.push(next);
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the one literal `src` starts with; returns (value, kind, text after it, line after).
    fn lit(src: &str) -> Result<(String, StrKind, String, usize), Unterminated> {
        let chars: Vec<char> = src.chars().collect();
        assert!(starts_at(&chars, 0), "no literal starts {src:?}");
        let (mut i, mut line, mut line_start) = (0, 1, 0);
        let l = read(&chars, &mut i, &mut line, &mut line_start)?;
        Ok((l.value, l.kind, chars[i..].iter().collect(), line))
    }

    #[test]
    fn values_prefixes_and_escapes() {
        use StrKind::*;
        // (source, value, kind, rest)
        let cases: &[(&str, &str, StrKind, &str)] = &[
            ("'plain' x", "plain", Text, " x"),
            ("\"dq\"", "dq", Text, ""),
            ("''", "", Text, ""),
            ("u'uni'", "uni", Text, ""),
            ("U\"uni\"", "uni", Text, ""),
            (r"r'C:\path\n'", r"C:\path\n", Text, ""),
            (r"R'\''", r"\'", Text, ""),
            (r"ur'x\y'", r"x\y", Text, ""),
            (r"Ru'x\y'", r"x\y", Text, ""),
            ("b'bytes'", "bytes", Bytes, ""),
            (r"rb'\x41'", r"\x41", Bytes, ""),
            (r"Br'\n'", r"\n", Bytes, ""),
            ("f'{x}'", "{x}", Formatted, ""),
            (r"rf'\n{x}'", r"\n{x}", Formatted, ""),
            ("fb'x'", "x", Formatted, ""),
            // Simple escapes.
            (r"'it\'s\ttab\\'", "it's\ttab\\", Text, ""),
            (r#""say \"hi\"""#, "say \"hi\"", Text, ""),
            (r"'\a\b\f\n\r\v'", "\x07\x08\x0c\n\r\x0b", Text, ""),
            // Octal: up to three digits.
            (r"'\101\0\1234\8'", "A\0S4\\8", Text, ""),
            // Hex and Unicode; invalid ones kept as written.
            (r"'\x41\u00e9\U0001F600'", "Aé\u{1F600}", Text, ""),
            (r"'\x4'", r"\x4", Text, ""),
            (r"'\xzz'", r"\xzz", Text, ""),
            (r"'\uD800'", "\u{fffd}", Text, ""),
            // Not supported: named escapes and unknown ones stay as written.
            (r"'\N{BULLET}'", r"\N{BULLET}", Text, ""),
            (r"'\q'", r"\q", Text, ""),
            // Triple quotes: the other quote and single quotes inside; newlines kept.
            ("'''a 'b' ''c'''", "a 'b' ''c", Text, ""),
            ("\"\"\"\nline\n\"\"\" + 1", "\nline\n", Text, " + 1"),
            // Backslash-newline joins lines; raw keeps both.
            ("'a\\\nb'", "ab", Text, ""),
            ("'a\\\r\nb'", "ab", Text, ""),
            ("r'a\\\nb'", "a\\\nb", Text, ""),
            // CRLF inside a triple-quoted string reads as LF.
            ("'''a\r\nb'''", "a\nb", Text, ""),
            ("'é ü'", "é ü", Text, ""),
        ];
        for (src, value, kind, rest) in cases {
            let got = lit(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
            assert_eq!(
                (got.0.as_str(), got.1, got.2.as_str()),
                (*value, *kind, *rest),
                "{src:?}"
            );
        }
    }

    #[test]
    fn what_is_not_a_literal() {
        for src in ["x'a'", "rbf'a'", "ruu'a'", "r", "", "name", "3", " 'a'"] {
            let chars: Vec<char> = src.chars().collect();
            assert!(!starts_at(&chars, 0), "{src:?}");
        }
        assert!(starts_at(&"x = 'a'".chars().collect::<Vec<_>>(), 4));
        assert!(!starts_at(&['a'], 5), "past the end");
    }

    #[test]
    fn lines_are_followed_through_the_literal() {
        let chars: Vec<char> = "x = '''a\nb\nc''' + 'd\\\ne'\ny".chars().collect();
        let (mut i, mut line, mut line_start) = (4, 1, 0);
        read(&chars, &mut i, &mut line, &mut line_start).unwrap();
        assert_eq!((line, line_start), (3, 11));
        i += 3;
        let l = read(&chars, &mut i, &mut line, &mut line_start).unwrap();
        assert_eq!(l.value, "de");
        assert_eq!(line, 4);
        assert_eq!(chars[i], '\n');
    }

    #[test]
    fn unterminated_strings_name_their_first_line() {
        // (source, line the literal starts on when read from its first char, message part)
        let cases: &[(&str, &str)] = &[
            ("'oops\nx = 1", "is not closed on this line"),
            ("\"oops", "is not closed on this line"),
            ("'a\\", "is not closed on this line"),
            (
                "'''never\nclosed\n",
                "(''') is never closed; add the closing '''",
            ),
            ("\"\"\"x\"\"", "(\"\"\") is never closed"),
            ("r'x\\", "is not closed on this line"),
        ];
        for (src, message) in cases {
            let chars: Vec<char> = src.chars().collect();
            let (mut i, mut line, mut line_start) = (0, 7, 0);
            let err = read(&chars, &mut i, &mut line, &mut line_start).unwrap_err();
            assert_eq!(err.line, 7, "{src:?}");
            assert!(err.message.contains(message), "{src:?}: {}", err.message);
        }
    }

    #[test]
    fn reading_from_a_str_gives_the_rest() {
        let (l, rest) = read_str("  'it\\'s', 'b')").unwrap().unwrap();
        assert_eq!(
            (l.value.as_str(), l.kind, rest),
            ("it's", StrKind::Text, ", 'b')")
        );
        let (l, rest) = read_str("'é'ü").unwrap().unwrap();
        assert_eq!((l.value.as_str(), rest), ("é", "ü"));
        let (l, _) = read_str("f'x'").unwrap().unwrap();
        assert_eq!(l.kind, StrKind::Formatted);
        assert!(read_str("name").is_none());
        assert!(read_str("").is_none());
        assert_eq!(read_str("'open").unwrap().unwrap_err().line, 1);
    }
}
