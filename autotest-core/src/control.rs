//! Control-file metadata read without running the file (FORMATS §5).
//!
//! A control file is Python. Its metadata are top-level assignments of literals:
//!
//! ```python
//! AUTHOR = "Jane Doe <jane@example.com>"
//! NAME = 'dbench'
//! TIME = 'SHORT'
//! TEST_TYPE = 'client'
//! DEPENDENCIES = 'gpu, x86_64'
//! SYNC_COUNT = 2
//! DOC = """
//! Runs dbench.
//! """
//! ```
//!
//! A small hand-written tokenizer splits the file into logical lines (strings, comments, brackets
//! and backslash continuations understood); only lines starting in column 0 that assign a
//! metadata variable are looked at, everything else (imports, function definitions,
//! `job.run_test` calls, other variables) is ignored. Values may be string literals (`'..'`,
//! `".."`, `'''..'''`, `""".."""`, with `r`/`u` prefixes and escapes, adjacent literals
//! concatenated, parenthesized across lines, joined by `+`), integers (`SYNC_COUNT`), or for
//! `DEPENDENCIES` a comma-separated string or a list/tuple of strings. A metadata variable
//! assigned anything else is reported in [`ControlMeta::problems`] and otherwise ignored.

use std::path::{Path, PathBuf};

use crate::pyliteral::{self, StrKind};

/// Errors reading control-file metadata. Only an unreadable file or one the tokenizer cannot
/// split (an unterminated string) is an error; odd values are [`MetaProblem`]s.
#[derive(Debug, thiserror::Error)]
pub enum ControlMetaError {
    /// The control file could not be read.
    #[error("control file {path}: {source}")]
    Io {
        /// The control file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file cannot be tokenized as Python.
    #[error("control file {path}:{line}: {message}")]
    Syntax {
        /// The control file.
        path: PathBuf,
        /// 1-based line where the problem starts.
        line: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A metadata assignment that could not be used (not fatal).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MetaProblem {
    /// The control file.
    pub path: PathBuf,
    /// 1-based line of the assignment.
    pub line: usize,
    /// The metadata variable, e.g. `SYNC_COUNT`.
    pub variable: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// The metadata of a control file. Variables the file does not assign are `None` (or empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ControlMeta {
    /// `NAME`: the test's name.
    pub name: Option<String>,
    /// `AUTHOR`.
    pub author: Option<String>,
    /// `DOC`: the description, as written (not dedented).
    pub doc: Option<String>,
    /// `TIME`: `SHORT`, `MEDIUM` or `LONG` by convention (other values are kept and reported).
    pub time: Option<String>,
    /// `TEST_TYPE`: `client` or `server` by convention (other values are kept and reported).
    pub test_type: Option<String>,
    /// `TEST_CLASS`, e.g. `kernel`.
    pub test_class: Option<String>,
    /// `TEST_CATEGORY`, e.g. `Functional` or `Benchmark`.
    pub test_category: Option<String>,
    /// `CRITERIA`: what passing means.
    pub criteria: Option<String>,
    /// `PURPOSE`.
    pub purpose: Option<String>,
    /// `DEPENDENCIES`: labels a machine needs, trimmed, empty entries dropped, in file order.
    pub dependencies: Vec<String>,
    /// `SYNC_COUNT`: machines to run on together (at least 1).
    pub sync_count: Option<u32>,
    /// Metadata assignments that could not be used, in file order.
    pub problems: Vec<MetaProblem>,
}

/// The metadata variables recognised, in the order documented in FORMATS §5.
const META_VARS: &[&str] = &[
    "AUTHOR",
    "DOC",
    "NAME",
    "TIME",
    "TEST_TYPE",
    "TEST_CLASS",
    "TEST_CATEGORY",
    "DEPENDENCIES",
    "SYNC_COUNT",
    "CRITERIA",
    "PURPOSE",
];

impl ControlMeta {
    /// Reads the metadata of the control file at `path`. Bytes that are not UTF-8 are replaced
    /// (legacy files are sometimes Latin-1).
    pub fn from_file(path: impl AsRef<Path>) -> Result<ControlMeta, ControlMetaError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ControlMetaError::Io {
            path: path.to_owned(),
            source,
        })?;
        ControlMeta::parse(&String::from_utf8_lossy(&bytes), path)
    }

    /// Reads the metadata from control-file text; `path` is used in messages only.
    pub fn parse(source: &str, path: impl AsRef<Path>) -> Result<ControlMeta, ControlMetaError> {
        let path = path.as_ref();
        let source = source.strip_prefix('\u{feff}').unwrap_or(source);
        let lines = tokenize(source).map_err(|(line, message)| ControlMetaError::Syntax {
            path: path.to_owned(),
            line,
            message,
        })?;
        let mut meta = ControlMeta::default();
        for logical in &lines {
            if logical.first().is_none_or(|t| t.col != 0) {
                continue;
            }
            for stmt in split_statements(logical) {
                meta.statement(stmt, path);
            }
        }
        Ok(meta)
    }

    /// Looks at one top-level statement; assignments to metadata variables are recorded.
    fn statement(&mut self, stmt: &[Token], path: &Path) {
        let segments = split_at_depth0(stmt, "=");
        if segments.len() < 2 {
            return;
        }
        let (value_tokens, targets) = segments.split_last().expect("at least two segments");
        let mut names = Vec::new();
        for target in targets {
            match target {
                [
                    Token {
                        kind: Tok::Name(n), ..
                    },
                ] => names.push(n.as_str()),
                // Tuple unpacking, attribute or subscript targets: not metadata.
                _ => return,
            }
        }
        let line = stmt[0].line;
        let value = parse_value(value_tokens);
        for name in names {
            if !META_VARS.contains(&name) {
                continue;
            }
            let mut problem = |message: String| {
                self.problems.push(MetaProblem {
                    path: path.to_owned(),
                    line,
                    variable: name.to_owned(),
                    message,
                });
            };
            let value = match &value {
                Ok(v) => v,
                Err(why) => {
                    problem(format!(
                        "{name} is assigned {why}, not a literal, so it cannot be read without running the file; assign a plain {} such as {}",
                        expected_kind(name),
                        example(name)
                    ));
                    continue;
                }
            };
            match name {
                "SYNC_COUNT" => {
                    let n = match value {
                        Value::Int(text) => text.parse::<u32>().ok(),
                        Value::Str(text) => text.trim().parse::<u32>().ok(),
                        Value::List(_) => None,
                    };
                    match n {
                        Some(n) if n >= 1 => self.sync_count = Some(n),
                        _ => problem(format!(
                            "SYNC_COUNT is {}, but it must be a whole number of machines, at least 1; write e.g. SYNC_COUNT = 2",
                            value.describe()
                        )),
                    }
                }
                "DEPENDENCIES" => match value {
                    Value::Str(text) => self.dependencies = split_list(text.split(',')),
                    Value::List(items) => {
                        let mut strings = Vec::new();
                        for item in items {
                            match item {
                                Value::Str(s) => strings.push(s.as_str()),
                                other => {
                                    problem(format!(
                                        "DEPENDENCIES holds {}, but every entry must be a string; write e.g. DEPENDENCIES = 'label1, label2'",
                                        other.describe()
                                    ));
                                    strings.clear();
                                    break;
                                }
                            }
                        }
                        if !strings.is_empty() || items.is_empty() {
                            self.dependencies = split_list(strings.into_iter());
                        }
                    }
                    Value::Int(_) => problem(format!(
                        "DEPENDENCIES is {}, but it must be a comma-separated string; write e.g. DEPENDENCIES = 'label1, label2'",
                        value.describe()
                    )),
                },
                _ => {
                    let Value::Str(text) = value else {
                        problem(format!(
                            "{name} is {}, but it must be a string; write e.g. {}",
                            value.describe(),
                            example(name)
                        ));
                        continue;
                    };
                    let text = text.clone();
                    match name {
                        "TIME" => {
                            if !["short", "medium", "long"].contains(&text.to_lowercase().as_str())
                            {
                                problem(format!(
                                    "TIME is {text:?}; it should be 'SHORT', 'MEDIUM' or 'LONG' (the value is kept as written)"
                                ));
                            }
                            self.time = Some(text);
                        }
                        "TEST_TYPE" => {
                            if !["client", "server"].contains(&text.to_lowercase().as_str()) {
                                problem(format!(
                                    "TEST_TYPE is {text:?}; it should be 'client' or 'server' (the value is kept as written)"
                                ));
                            }
                            self.test_type = Some(text);
                        }
                        "AUTHOR" => self.author = Some(text),
                        "DOC" => self.doc = Some(text),
                        "NAME" => self.name = Some(text),
                        "TEST_CLASS" => self.test_class = Some(text),
                        "TEST_CATEGORY" => self.test_category = Some(text),
                        "CRITERIA" => self.criteria = Some(text),
                        "PURPOSE" => self.purpose = Some(text),
                        _ => {}
                    }
                }
            }
        }
    }
}

fn split_list<'a>(items: impl Iterator<Item = &'a str>) -> Vec<String> {
    items
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn expected_kind(name: &str) -> &'static str {
    match name {
        "SYNC_COUNT" => "integer",
        "DEPENDENCIES" => "comma-separated string",
        _ => "string",
    }
}

fn example(name: &str) -> &'static str {
    match name {
        "SYNC_COUNT" => "SYNC_COUNT = 2",
        "DEPENDENCIES" => "DEPENDENCIES = 'label1, label2'",
        "TIME" => "TIME = 'SHORT'",
        "TEST_TYPE" => "TEST_TYPE = 'client'",
        "DOC" => "DOC = \"\"\"text\"\"\"",
        "NAME" => "NAME = 'mytest'",
        "AUTHOR" => "AUTHOR = 'Name <mail@example.com>'",
        _ => "NAME = 'text'",
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// A literal value on the right of a metadata assignment.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    /// Decimal digits, underscores removed.
    Int(String),
    List(Vec<Value>),
}

impl Value {
    fn describe(&self) -> String {
        match self {
            Value::Str(s) => format!("the string {s:?}"),
            Value::Int(n) => format!("the integer {n}"),
            Value::List(_) => "a list".to_owned(),
        }
    }
}

/// Parses the tokens right of `=` as a literal; the error describes what was found instead.
fn parse_value(tokens: &[Token]) -> Result<Value, String> {
    if tokens.is_empty() {
        return Err("nothing".to_owned());
    }
    let mut pos = 0;
    let value = parse_sum(tokens, &mut pos)?;
    if pos != tokens.len() {
        return Err(format!(
            "an expression (unexpected {} on line {})",
            tokens[pos].kind.describe(),
            tokens[pos].line
        ));
    }
    Ok(value)
}

/// sum := atom ('+' atom)*, where '+' joins strings only.
fn parse_sum(tokens: &[Token], pos: &mut usize) -> Result<Value, String> {
    let mut value = parse_atom(tokens, pos)?;
    while matches!(tokens.get(*pos), Some(Token { kind: Tok::Op(op), .. }) if op == "+") {
        *pos += 1;
        let rhs = parse_atom(tokens, pos)?;
        value = match (value, rhs) {
            (Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            _ => return Err("an arithmetic expression".to_owned()),
        };
    }
    Ok(value)
}

/// atom := STRING+ | NUMBER | '(' sum ')' | '(' [sum (',' sum)* [',']] ')' | '[' ... ']'
fn parse_atom(tokens: &[Token], pos: &mut usize) -> Result<Value, String> {
    let Some(tok) = tokens.get(*pos) else {
        return Err("an incomplete expression".to_owned());
    };
    match &tok.kind {
        Tok::Str(s, StrKind::Text) => {
            let mut text = s.clone();
            *pos += 1;
            while let Some(Token {
                kind: Tok::Str(more, kind),
                ..
            }) = tokens.get(*pos)
            {
                if *kind != StrKind::Text {
                    return Err(kind.describe().to_owned());
                }
                text.push_str(more);
                *pos += 1;
            }
            Ok(Value::Str(text))
        }
        Tok::Str(_, kind) => Err(kind.describe().to_owned()),
        Tok::Number(n) => {
            *pos += 1;
            let digits: String = n.chars().filter(|c| *c != '_').collect();
            let digits = digits.strip_suffix(['l', 'L']).unwrap_or(&digits);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(Value::Int(digits.to_owned()))
            } else {
                Err(format!("the number {n}, which is not a decimal integer"))
            }
        }
        Tok::Op(op) if op == "(" || op == "[" => {
            let close = if op == "(" { ")" } else { "]" };
            *pos += 1;
            let mut items = Vec::new();
            let mut trailing_comma = false;
            loop {
                match tokens.get(*pos) {
                    Some(Token {
                        kind: Tok::Op(c), ..
                    }) if c == close => {
                        *pos += 1;
                        break;
                    }
                    None => return Err("an unclosed bracket".to_owned()),
                    _ => {}
                }
                items.push(parse_sum(tokens, pos)?);
                trailing_comma = false;
                match tokens.get(*pos) {
                    Some(Token {
                        kind: Tok::Op(c), ..
                    }) if c == "," => {
                        *pos += 1;
                        trailing_comma = true;
                    }
                    Some(Token {
                        kind: Tok::Op(c), ..
                    }) if c == close => {}
                    Some(other) => {
                        return Err(format!(
                            "an expression (unexpected {} on line {})",
                            other.kind.describe(),
                            other.line
                        ));
                    }
                    None => return Err("an unclosed bracket".to_owned()),
                }
            }
            if close == ")" && items.len() == 1 && !trailing_comma {
                Ok(items.pop().expect("one item"))
            } else {
                Ok(Value::List(items))
            }
        }
        Tok::Name(n) => Err(format!("the name {n:?}")),
        other => Err(format!("an expression starting with {}", other.describe())),
    }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String, StrKind),
    Number(String),
    Op(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Name(n) => format!("name {n:?}"),
            Tok::Str(_, kind) => kind.describe().to_owned(),
            Tok::Number(n) => format!("number {n}"),
            Tok::Op(op) => format!("{op:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: Tok,
    /// 1-based line where the token starts.
    line: usize,
    /// 0-based column (in characters) where the token starts.
    col: usize,
}

const OPS3: &[&str] = &["**=", "//=", ">>=", "<<=", "..."];
const OPS2: &[&str] = &[
    "==", "!=", "<>", "<=", ">=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", "->", "**",
    "//", "<<", ">>", ":=",
];

/// Splits Python source into logical lines of tokens. Comments and blank lines vanish; a logical
/// line continues across brackets and backslash-newlines. The error is (line, message).
fn tokenize(src: &str) -> Result<Vec<Vec<Token>>, (usize, String)> {
    let chars: Vec<char> = src.chars().collect();
    let n = chars.len();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = 0;
    let mut depth = 0usize;
    let mut current: Vec<Token> = Vec::new();
    let mut lines = Vec::new();
    while i < n {
        let c = chars[i];
        let col = i - line_start;
        match c {
            '\n' => {
                i += 1;
                line += 1;
                line_start = i;
                if depth == 0 && !current.is_empty() {
                    lines.push(std::mem::take(&mut current));
                }
            }
            ' ' | '\t' | '\r' | '\x0c' => i += 1,
            '#' => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if matches!(chars.get(i + 1), Some('\n'))
                || (chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n')) =>
            {
                i += if chars[i + 1] == '\r' { 3 } else { 2 };
                line += 1;
                line_start = i;
            }
            _ if pyliteral::starts_at(&chars, i) => {
                let start_line = line;
                let lit = pyliteral::read(&chars, &mut i, &mut line, &mut line_start)
                    .map_err(|e| (e.line, e.message))?;
                current.push(Token {
                    kind: Tok::Str(lit.value, lit.kind),
                    line: start_line,
                    col,
                });
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                current.push(Token {
                    kind: Tok::Name(word),
                    line,
                    col,
                });
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                let start = i;
                while i < n && (chars[i].is_ascii_alphanumeric() || matches!(chars[i], '_' | '.')) {
                    i += 1;
                }
                current.push(Token {
                    kind: Tok::Number(chars[start..i].iter().collect()),
                    line,
                    col,
                });
            }
            _ => {
                let rest = |len: usize| -> Option<String> {
                    (i + len <= n).then(|| chars[i..i + len].iter().collect())
                };
                let op = [(3, OPS3), (2, OPS2)]
                    .iter()
                    .find_map(|(len, ops)| rest(*len).filter(|s| ops.contains(&s.as_str())))
                    .unwrap_or_else(|| c.to_string());
                match op.as_str() {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => depth = depth.saturating_sub(1),
                    _ => {}
                }
                i += op.chars().count();
                current.push(Token {
                    kind: Tok::Op(op),
                    line,
                    col,
                });
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    Ok(lines)
}

/// Splits a logical line at top-level `;`.
fn split_statements(tokens: &[Token]) -> Vec<&[Token]> {
    split_at_depth0(tokens, ";")
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

/// Splits `tokens` at operator `sep` outside brackets.
fn split_at_depth0<'a>(tokens: &'a [Token], sep: &str) -> Vec<&'a [Token]> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (idx, tok) in tokens.iter().enumerate() {
        if let Tok::Op(op) = &tok.kind {
            match op.as_str() {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => depth = depth.saturating_sub(1),
                o if o == sep && depth == 0 => {
                    parts.push(&tokens[start..idx]);
                    start = idx + 1;
                }
                _ => {}
            }
        }
    }
    parts.push(&tokens[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(src: &str) -> ControlMeta {
        ControlMeta::parse(src, "control").unwrap()
    }

    #[test]
    fn simple_strings_and_int() {
        let m = meta("NAME = 'sleeptest'\nAUTHOR = \"me\"\nSYNC_COUNT = 3\nTIME='SHORT'\n");
        assert_eq!(m.name.as_deref(), Some("sleeptest"));
        assert_eq!(m.author.as_deref(), Some("me"));
        assert_eq!(m.sync_count, Some(3));
        assert_eq!(m.time.as_deref(), Some("SHORT"));
        assert!(m.problems.is_empty(), "{:?}", m.problems);
    }

    #[test]
    fn escapes_and_prefixes() {
        let m = meta(
            r#"NAME = 'it\'s\ttab\x41\u00e9\101\q'
AUTHOR = r'C:\path\n'
DOC = u"uni"
PURPOSE = ur'x\y'
"#,
        );
        assert_eq!(m.name.as_deref(), Some("it's\ttabAé\u{41}\\q"));
        assert_eq!(m.author.as_deref(), Some("C:\\path\\n"));
        assert_eq!(m.doc.as_deref(), Some("uni"));
        assert_eq!(m.purpose.as_deref(), Some("x\\y"));
    }

    #[test]
    fn concatenation_parens_and_plus() {
        let m =
            meta("DOC = ('a'\n       \"b\"  # comment\n       '''c''')\nNAME = 'x' + 'y' 'z'\n");
        assert_eq!(m.doc.as_deref(), Some("abc"));
        assert_eq!(m.name.as_deref(), Some("xyz"));
    }

    #[test]
    fn triple_quoted_spanning_lines() {
        let m = meta("DOC = \"\"\"\nline 1\nNAME = 'not me'\n\"\"\"\nNAME = 'me'\n");
        assert_eq!(m.doc.as_deref(), Some("\nline 1\nNAME = 'not me'\n"));
        assert_eq!(m.name.as_deref(), Some("me"));
    }

    #[test]
    fn backslash_continuation() {
        let m = meta("NAME = \\\n  'cont'\nAUTHOR = 'a\\\nb'\n");
        assert_eq!(m.name.as_deref(), Some("cont"));
        assert_eq!(m.author.as_deref(), Some("ab"));
    }

    #[test]
    fn ignores_indented_and_other_statements() {
        let m = meta(
            "def step_init():\n    NAME = 'inner'\n\nif True:\n  AUTHOR = 'no'\njob.run_test('x', NAME='kw')\nOTHER = 'x'\nNAME == 'cmp'\n",
        );
        assert_eq!(m, ControlMeta::default());
    }

    #[test]
    fn semicolons_and_chained_assignment() {
        let m = meta("NAME = 'a'; AUTHOR = 'b'\nTEST_CLASS = TEST_CATEGORY = 'kernel'\n");
        assert_eq!(m.name.as_deref(), Some("a"));
        assert_eq!(m.author.as_deref(), Some("b"));
        assert_eq!(m.test_class.as_deref(), Some("kernel"));
        assert_eq!(m.test_category.as_deref(), Some("kernel"));
    }

    #[test]
    fn dependencies_forms() {
        let m = meta("DEPENDENCIES = ' gpu, ,x86_64 ,'\n");
        assert_eq!(m.dependencies, vec!["gpu", "x86_64"]);
        let m = meta("DEPENDENCIES = ['a', 'b ']\n");
        assert_eq!(m.dependencies, vec!["a", "b"]);
        let m = meta("DEPENDENCIES = ('a',)\n");
        assert_eq!(m.dependencies, vec!["a"]);
        let m = meta("DEPENDENCIES = ['a', 3]\n");
        assert!(m.dependencies.is_empty());
        assert_eq!(m.problems.len(), 1);
    }

    #[test]
    fn non_literal_is_a_problem_with_line() {
        let m = meta(
            "import os\nNAME = os.path.basename(__file__)\nDOC = 'x' % 3\nSYNC_COUNT = 0\nTIME = f'x'\n",
        );
        assert_eq!(m.name, None);
        assert_eq!(m.doc, None);
        assert_eq!(m.sync_count, None);
        let lines: Vec<_> = m
            .problems
            .iter()
            .map(|p| (p.line, p.variable.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![(2, "NAME"), (3, "DOC"), (4, "SYNC_COUNT"), (5, "TIME")]
        );
        assert!(
            m.problems[0]
                .to_string()
                .starts_with("control:2: NAME is assigned")
        );
    }

    #[test]
    fn sync_count_forms() {
        assert_eq!(meta("SYNC_COUNT = '2'\n").sync_count, Some(2));
        assert_eq!(meta("SYNC_COUNT = (4)\n").sync_count, Some(4));
        assert_eq!(meta("SYNC_COUNT = 2L\n").sync_count, Some(2));
        let m = meta("SYNC_COUNT = -1\n");
        assert_eq!(m.sync_count, None);
        assert_eq!(m.problems.len(), 1);
        let m = meta("SYNC_COUNT = 1.5\n");
        assert_eq!(m.problems.len(), 1);
    }

    #[test]
    fn unconventional_values_are_kept_and_reported() {
        let m = meta("TIME = 'forever'\nTEST_TYPE = 'Client'\n");
        assert_eq!(m.time.as_deref(), Some("forever"));
        assert_eq!(m.test_type.as_deref(), Some("Client"));
        assert_eq!(m.problems.len(), 1);
    }

    #[test]
    fn unterminated_strings_are_errors_with_line() {
        let err = ControlMeta::parse("NAME = 'x'\nDOC = 'oops\nx = 1\n", "c").unwrap_err();
        assert!(err.to_string().starts_with("control file c:2:"), "{err}");
        let err = ControlMeta::parse("\n\nDOC = \"\"\"never closed\n", "c").unwrap_err();
        assert!(err.to_string().starts_with("control file c:3:"), "{err}");
        assert!(err.to_string().contains("never closed"), "{err}");
        assert!(ControlMeta::parse("x = 'a\\", "c").is_err());
    }

    #[test]
    fn odd_input_does_not_panic() {
        for src in [
            "",
            ")))\n",
            "NAME =",
            "NAME = (",
            "NAME = ('a',",
            "= 'x'",
            "NAME = [",
            "\\",
            "'''",
            "NAME = 'a' +",
            "NAME = ()",
            "NAME = []",
            "é = 'x'\nNAME = 'ü'",
            "\u{feff}NAME='b'",
            "NAME = 'x'\r\nAUTHOR = 'y'\r\n",
            "NAME = '\\",
            "NAME = 'a\\x4'",
            "SYNC_COUNT = 99999999999999",
        ] {
            let _ = ControlMeta::parse(src, "c");
        }
        assert_eq!(meta("\u{feff}NAME='b'").name.as_deref(), Some("b"));
        let m = meta("NAME = 'x'\r\nAUTHOR = 'y'\r\n");
        assert_eq!(m.author.as_deref(), Some("y"));
    }
}
