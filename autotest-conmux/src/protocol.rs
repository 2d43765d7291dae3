//! The conmux line codec: requests `VERB key=value ...` and replies `key=value ...`.
//!
//! Compatible with the legacy Perl `Conmux::encodeArgs`/`decodeArgs`: keys, values (and here the
//! verb too, which is unchanged for the usual upper-case verbs) are percent-escaped like
//! `URI::Escape::uri_escape` with its defaults (every byte outside `A-Za-z0-9-._~` becomes `%XX`,
//! upper-case hex), pairs are written in sorted key order separated by one space. Parsing is as
//! lenient as the legacy one where that is harmless (runs of whitespace, lower-case hex, raw
//! reserved characters, a repeated key keeps its last value) and strict where the legacy code
//! silently lost data (a `%` without two hex digits, a word without `=`).

use std::collections::BTreeMap;
use std::fmt;

/// Longest line [`Request::parse`] and [`Reply::parse`] accept, in bytes, not counting the
/// line terminator (64 KiB). Encoding does not enforce it: a sender with a larger message (a
/// huge `LIST`) must split it.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// TCP port the conmux registry listens on.
pub const REGISTRY_PORT: u16 = 63000;

const VALID: &str = "a valid line is `VERB key=value ...` (request) or `key=value ...` (reply), \
                     with `%XX` escapes, e.g. `LOOKUP service=my%20box`";

/// Why a conmux line could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The line holds nothing but whitespace.
    #[error("empty conmux line; {VALID}")]
    EmptyLine,
    /// The line is longer than [`MAX_LINE_LEN`].
    #[error("conmux line is {len} bytes, over the {MAX_LINE_LEN}-byte limit; {VALID}")]
    LineTooLong {
        /// Length of the line in bytes.
        len: usize,
    },
    /// A `%` not followed by two hex digits.
    #[error("bad escape at byte {position}: `%` must be followed by two hex digits; {VALID}")]
    BadEscape {
        /// Byte offset of the `%` in the line.
        position: usize,
    },
    /// A word after the verb (or any word of a reply) has no `=`.
    #[error("missing `=` in `{word}` at byte {position}: each pair must be `key=value`; {VALID}")]
    MissingEquals {
        /// Byte offset of the word in the line.
        position: usize,
        /// The word (shortened if long).
        word: String,
    },
    /// A request's first word contains `=`, so the verb is missing.
    #[error("request starts with the pair `{word}` instead of a verb; {VALID}")]
    MissingVerb {
        /// The first word (shortened if long).
        word: String,
    },
    /// Escapes decode to bytes that are not UTF-8.
    #[error("escaped text at byte {position} does not decode to UTF-8; {VALID}")]
    InvalidUtf8 {
        /// Byte offset of the word in the line.
        position: usize,
    },
}

/// Percent-escapes `s` like Perl's `uri_escape` with its defaults: every byte outside
/// `A-Za-z0-9-._~` becomes `%XX` (upper-case hex).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes in `s` (either hex case); other characters pass through unchanged.
pub fn unescape(s: &str) -> Result<String, ProtocolError> {
    unescape_at(s, 0)
}

/// [`unescape`], reporting positions as `offset` plus the index in `s`.
fn unescape_at(s: &str, offset: usize) -> Result<String, ProtocolError> {
    if !s.contains('%') {
        return Ok(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let position = offset + i;
            let digit = |j: usize| bytes.get(j).and_then(|&c| char::from(c).to_digit(16));
            match (digit(i + 1), digit(i + 2)) {
                // Both digits are < 16, so the byte fits.
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(ProtocolError::BadEscape { position }),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProtocolError::InvalidUtf8 { position: offset })
}

/// Shortens a word for an error message.
fn shorten(word: &str) -> String {
    match word.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &word[..i]),
        None => word.to_owned(),
    }
}

/// Splits a line (terminator stripped) into words with their byte offsets.
fn words(line: &str) -> Result<Vec<(usize, &str)>, ProtocolError> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.len() > MAX_LINE_LEN {
        return Err(ProtocolError::LineTooLong { len: line.len() });
    }
    let base = line.as_ptr() as usize;
    let words: Vec<_> = line
        .split_ascii_whitespace()
        .map(|w| (w.as_ptr() as usize - base, w))
        .collect();
    if words.is_empty() {
        return Err(ProtocolError::EmptyLine);
    }
    Ok(words)
}

/// Decodes `key=value` words into a map (a repeated key keeps its last value).
fn decode_pairs(words: &[(usize, &str)]) -> Result<BTreeMap<String, String>, ProtocolError> {
    let mut pairs = BTreeMap::new();
    for &(position, word) in words {
        let Some((k, v)) = word.split_once('=') else {
            let word = shorten(word);
            return Err(ProtocolError::MissingEquals { position, word });
        };
        let value = unescape_at(v, position + k.len() + 1)?;
        pairs.insert(unescape_at(k, position)?, value);
    }
    Ok(pairs)
}

/// The escaped `k=v` words of `pairs`, in sorted key order.
fn pair_words(pairs: &BTreeMap<String, String>) -> impl Iterator<Item = String> + '_ {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape(k), escape(v)))
}

/// Who opens a console connection: the `id` of a `CONNECT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// A person, by login name (`user:<login>`).
    User(String),
    /// A program such as the autotest server (`bot:<name>`).
    Bot(String),
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User(login) => write!(f, "user:{login}"),
            Self::Bot(name) => write!(f, "bot:{name}"),
        }
    }
}

/// The `type` of a `CONNECT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectType {
    /// Read and write the console (`type=client`).
    Client,
    /// Legacy `type=status`: receives nothing; what it sends is shown to every client.
    Status,
    /// Ours (`type=watch`): read the console output, never write it.
    Watch,
}

impl ConnectType {
    /// The wire word: `client` or `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Status => "status",
            Self::Watch => "watch",
        }
    }
}

/// A request line `VERB key=value ...`; pairs are kept (and written) in sorted key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The command word, e.g. `LOOKUP` (must not be empty to round-trip).
    pub verb: String,
    /// The arguments.
    pub pairs: BTreeMap<String, String>,
}

impl Request {
    /// A request with no arguments.
    pub fn new(verb: impl Into<String>) -> Self {
        let (verb, pairs) = (verb.into(), BTreeMap::new());
        Self { verb, pairs }
    }

    /// Adds (or replaces) the argument `key=value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.insert(key.into(), value.into());
        self
    }

    /// Registry `ADD service=<service> location=<host:port>`.
    pub fn add(service: &str, location: &str) -> Self {
        Self::new("ADD")
            .with("service", service)
            .with("location", location)
    }

    /// Registry `LOOKUP service=<service>`.
    pub fn lookup(service: &str) -> Self {
        Self::new("LOOKUP").with("service", service)
    }

    /// Registry `LIST`.
    pub fn list() -> Self {
        Self::new("LIST")
    }

    /// Console `CONNECT id=<id> to=console type=<kind>`.
    pub fn connect(id: &ClientId, kind: ConnectType) -> Self {
        Self::new("CONNECT")
            .with("id", id.to_string())
            .with("to", "console")
            .with("type", kind.as_str())
    }

    /// The value of argument `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str)
    }

    /// The line without terminator (same as `to_string()`).
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Parses one request line (a trailing `\n` or `\r\n` is ignored).
    pub fn parse(line: &str) -> Result<Self, ProtocolError> {
        let words = words(line)?;
        let (position, word) = words[0];
        if word.contains('=') {
            let word = shorten(word);
            return Err(ProtocolError::MissingVerb { word });
        }
        let verb = unescape_at(word, position)?;
        let pairs = decode_pairs(&words[1..])?;
        Ok(Self { verb, pairs })
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = std::iter::once(escape(&self.verb));
        f.write_str(
            &verb
                .chain(pair_words(&self.pairs))
                .collect::<Vec<_>>()
                .join(" "),
        )
    }
}

/// A reply line `key=value ...`, written in sorted key order; must not be empty to round-trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    /// The fields, e.g. `status`, `title`, `result`.
    pub pairs: BTreeMap<String, String>,
}

impl Reply {
    /// An empty reply (add at least one pair before sending it).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the field `key=value`.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.pairs.insert(key.into(), value.into());
        self
    }

    /// `status=OK title=registry`: the registry's answer to `ADD`.
    pub fn registry_ok() -> Self {
        Self::new().with("status", "OK").with("title", "registry")
    }

    /// The registry's answer to `LOOKUP`: `result=<location> status=OK title=registry` when
    /// found, else `status=ENOENT entry not found title=registry`.
    pub fn registry_lookup(location: Option<&str>) -> Self {
        match location {
            Some(loc) => Self::registry_ok().with("result", loc),
            None => Self::registry_ok().with("status", "ENOENT entry not found"),
        }
    }

    /// The registry's answer to `LIST`: `result` holds one `name location\n` line per entry,
    /// in the order given (the legacy registry sorts by name).
    pub fn registry_list<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let result: String = entries
            .into_iter()
            .map(|(n, l)| format!("{n} {l}\n"))
            .collect();
        Self::registry_ok().with("result", result)
    }

    /// The value of field `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str)
    }

    /// The `status` field: `OK` or `<ERRNO> <text>`, e.g. `ENOENT entry not found`.
    pub fn status(&self) -> Option<&str> {
        self.get("status")
    }

    /// Whether `status` is exactly `OK`.
    pub fn is_ok(&self) -> bool {
        self.status() == Some("OK")
    }

    /// The errno word of a failed status (`ENOENT` for `ENOENT entry not found`); `None` when
    /// the status is `OK` or absent.
    pub fn errno(&self) -> Option<&str> {
        self.status()
            .filter(|s| *s != "OK")?
            .split_whitespace()
            .next()
    }

    /// The line without terminator (same as `to_string()`).
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Parses one reply line (a trailing `\n` or `\r\n` is ignored).
    pub fn parse(line: &str) -> Result<Self, ProtocolError> {
        let pairs = decode_pairs(&words(line)?)?;
        Ok(Self { pairs })
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&pair_words(&self.pairs).collect::<Vec<_>>().join(" "))
    }
}
