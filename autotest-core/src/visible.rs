//! Text from tests and files made safe to show on a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with its control characters shown instead of acted on: ESC, the other C0 controls
/// except TAB and newline, DEL and the C1 controls (U+0080 to U+009F) become `\xNN` (for C1,
/// NN is the code point). A terminal then cannot be recoloured, cleared or retitled by what a
/// test printed.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
}

#[cfg(test)]
mod tests {
    use super::visible;

    #[test]
    fn controls_are_shown_not_sent() {
        assert_eq!(visible("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
        assert_eq!(visible("a\tb\nc"), "a\tb\nc");
        assert_eq!(
            visible("\r\x07\x7f\u{9b}2J\0"),
            "\\x0d\\x07\\x7f\\x9b2J\\x00"
        );
        assert_eq!(visible("grüße \\x1b"), "grüße \\x1b");
        assert!(matches!(visible("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
