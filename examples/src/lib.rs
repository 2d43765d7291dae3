//! Runnable examples live beside this crate: `status_summary.rs` (an example) and the programs
//! under `bin/` (`run-on-localhost`, `embed-queue-monitor`), which the tests in `tests/` run.
//!
//! This library holds the one helper the programs share: following a file that another part of
//! the program (or another process) appends to, the way `tail -f` does.

#![warn(missing_docs)]

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Reads the complete lines appended to a file since the last call.
///
/// The file may not exist yet (autoserv creates `status.log` once the job starts); a line is
/// only returned once its newline is written, so a line being written is never cut in two.
#[derive(Debug)]
pub struct FollowFile {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl FollowFile {
    /// Follows `path` from its beginning.
    pub fn new(path: impl Into<PathBuf>) -> FollowFile {
        FollowFile {
            path: path.into(),
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The lines completed since the last call, without their newline; none while the file is
    /// missing.
    pub fn new_lines(&mut self) -> io::Result<Vec<String>> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        self.partial.extend_from_slice(&bytes);
        // Keep what follows the last newline for the next call: that line is not finished.
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(end + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        Ok(String::from_utf8_lossy(&done)
            .lines()
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn returns_only_finished_lines_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut follow = FollowFile::new(&path);
        assert!(
            follow.new_lines().unwrap().is_empty(),
            "a missing file has no lines"
        );
        let mut f = File::create(&path).unwrap();
        f.write_all(b"one\ntw").unwrap();
        assert_eq!(follow.new_lines().unwrap(), ["one"]);
        f.write_all(b"o\nthree\n").unwrap();
        assert_eq!(follow.new_lines().unwrap(), ["two", "three"]);
        assert!(follow.new_lines().unwrap().is_empty());
    }
}
