//! How reports reach stdout: aligned tables for people, `--json` for scripts. Every list and
//! stat command uses these two, so the shapes and the layout stay one convention.

use std::io::Write;

use serde::Serialize;

/// A table with a header row, printed with columns padded to their widest cell.
#[derive(Debug, Default)]
pub(crate) struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: &[&'static str]) -> Table {
        Table {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; cells past the headers are dropped, missing ones are empty.
    pub(crate) fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells.into_iter().map(Into::into).collect();
        row.resize(self.headers.len(), String::new());
        self.rows.push(row);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text: the header line, then one line per row, no trailing spaces. Control
    /// characters in cells are escaped: cells quote names from the database.
    pub(crate) fn render(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(|c| cell_text(c)).collect())
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.headers.iter().map(|h| (*h).to_owned()).collect();
        for row in std::iter::once(&header).chain(cells.iter()) {
            let mut line = String::new();
            for (i, (c, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(c);
                if i + 1 < row.len() {
                    line.extend(std::iter::repeat_n(' ', w - c.chars().count()));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Prints the table on stdout.
    pub(crate) fn print(&self) -> anyhow::Result<()> {
        write_stdout(&self.render())
    }
}

/// A cell as one line: terminal controls escaped, and newlines and tabs too (they would break
/// the row).
fn cell_text(cell: &str) -> String {
    autotest_core::visible(cell)
        .replace('\n', "\\n")
        .replace('\t', "\\t")
}

/// Prints a value as pretty JSON on stdout, one document, newline-terminated.
pub(crate) fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_stdout(&text)
}

/// Prints text as it is on stdout (generated scripts and pages).
pub(crate) fn print_text(text: &str) -> anyhow::Result<()> {
    write_stdout(text)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth a message.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::Table;

    #[test]
    fn columns_are_padded_to_the_widest_cell_without_trailing_spaces() {
        let mut t = Table::new(&["Id", "Name", "Status"]);
        t.row(["1", "sleeptest", "Queued"]);
        t.row(["12", "a", ""]);
        assert_eq!(
            t.render(),
            "Id  Name       Status\n1   sleeptest  Queued\n12  a\n"
        );
    }

    #[test]
    fn control_characters_in_cells_are_escaped() {
        let mut t = Table::new(&["Name"]);
        t.row(["a\nb"]);
        assert_eq!(t.render(), "Name\na\\nb\n");
    }
}
