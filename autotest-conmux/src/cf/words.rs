//! Splitting a `.cf` line into words, quoting as the legacy daemon's `parse`: `'...'` and
//! `"..."` group words, `\` takes the next character literally outside single quotes, runs of
//! spaces separate words.

/// Why a line could not be split.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SplitError {
    /// A quote opened at this byte offset is never closed.
    Unterminated { quote: char },
}

/// The words of `line`.
pub(crate) fn split_words(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut current: Option<String> = None;
    let mut quote: Option<char> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('\''), c) => current.get_or_insert_with(String::new).push(c),
            (_, '\\') => {
                let word = current.get_or_insert_with(String::new);
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                current.get_or_insert_with(String::new);
            }
            (None, c) if c.is_whitespace() => {
                if let Some(w) = current.take() {
                    words.push(w);
                }
            }
            (_, c) => current.get_or_insert_with(String::new).push(c),
        }
    }
    if let Some(quote) = quote {
        return Err(SplitError::Unterminated { quote });
    }
    words.extend(current);
    Ok(words)
}
