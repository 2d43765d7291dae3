//! The registry's store file: one `name host:port` line per console, sorted by name, replaced
//! atomically (written beside it, synced, renamed) on every change so a crash never leaves half
//! a file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RegistryError;

/// The registry's entries and the file that keeps them.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    entries: BTreeMap<String, String>,
}

impl Store {
    /// Loads `path`; a missing file is an empty store (created on the first `ADD`).
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        let io = |source| RegistryError::Store {
            path: path.to_owned(),
            source,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(e)),
        };
        let mut entries = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [] => {}
                [name, location] => {
                    entries.insert((*name).to_owned(), (*location).to_owned());
                }
                _ => {
                    return Err(RegistryError::BadStoreLine {
                        path: path.to_owned(),
                        line: i + 1,
                        text: line.to_owned(),
                    });
                }
            }
        }
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// Where `name` is, if registered.
    pub fn lookup(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(String::as_str)
    }

    /// All entries, sorted by name.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(n, l)| (n.as_str(), l.as_str()))
    }

    /// Records `name` at `location` and rewrites the file (not when nothing changed: a refresh
    /// of an entry costs no write).
    pub fn add(&mut self, name: &str, location: &str) -> Result<(), RegistryError> {
        if self.lookup(name) == Some(location) {
            return Ok(());
        }
        self.entries.insert(name.to_owned(), location.to_owned());
        self.save()
    }

    fn save(&self) -> Result<(), RegistryError> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".new");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            for (n, l) in &self.entries {
                writeln!(f, "{n} {l}")?;
            }
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|source| RegistryError::Store {
            path: self.path.clone(),
            source,
        })
    }
}
