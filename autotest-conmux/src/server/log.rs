//! The console log: every byte shown to clients, whether or not anyone is attached, each line
//! prefixed with a UTC timestamp; attach/detach and command results as `[-- ... --]` marks;
//! rotated by size to `<log>.1` .. `<log>.<keep>`. Written by one task fed through a queue so
//! the fan-out never waits for the disk.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cf::LogSettings;

/// What the log task is given.
pub(crate) enum LogEvent {
    /// Bytes shown to clients.
    Output(Arc<[u8]>),
    /// An event line, written as `[-- <text> --]`.
    Mark(String),
}

struct LogFile {
    settings: LogSettings,
    file: BufWriter<File>,
    size: u64,
    at_line_start: bool,
}

fn stamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.3f ")
        .to_string()
}

impl LogFile {
    fn open(settings: LogSettings) -> std::io::Result<Self> {
        if let Some(dir) = settings.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&settings.path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            settings,
            file: BufWriter::new(file),
            size,
            at_line_start: true,
        })
    }

    fn rotated(&self, n: u32) -> PathBuf {
        let mut p = self.settings.path.clone().into_os_string();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    }

    fn rotate_if_full(&mut self) -> std::io::Result<()> {
        if self.size < self.settings.max_bytes
            || !self.at_line_start && self.size < 2 * self.settings.max_bytes
        {
            return Ok(());
        }
        self.file.flush()?;
        if self.settings.keep == 0 {
            self.file.get_ref().set_len(0)?;
        } else {
            for n in (1..self.settings.keep).rev() {
                let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
            }
            std::fs::rename(&self.settings.path, self.rotated(1))?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.settings.path)?;
            self.file = BufWriter::new(file);
        }
        self.size = 0;
        Ok(())
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.size += bytes.len() as u64;
        Ok(())
    }

    fn output(&mut self, data: &[u8]) -> std::io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            if self.at_line_start {
                self.rotate_if_full()?;
                self.put(stamp().as_bytes())?;
                self.at_line_start = false;
            }
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.put(&rest[..=i])?;
                    rest = &rest[i + 1..];
                    self.at_line_start = true;
                }
                None => {
                    self.put(rest)?;
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    fn mark(&mut self, text: &str) -> std::io::Result<()> {
        if !self.at_line_start {
            self.put(b"\n")?;
            self.at_line_start = true;
        }
        self.rotate_if_full()?;
        let line = format!("{}[-- {text} --]\n", stamp());
        self.put(line.as_bytes())
    }
}

/// Starts the log task; it ends when every sender is gone.
pub(crate) fn start(
    settings: LogSettings,
) -> std::io::Result<(mpsc::UnboundedSender<LogEvent>, tokio::task::JoinHandle<()>)> {
    let mut log = LogFile::open(settings)?;
    let (tx, mut rx) = mpsc::unbounded_channel::<LogEvent>();
    let task = tokio::task::spawn_blocking(move || {
        let path = log.settings.path.clone();
        while let Some(first) = rx.blocking_recv() {
            let mut event = Some(first);
            // Write everything queued, then flush once.
            while let Some(e) = event.take() {
                let r = match &e {
                    LogEvent::Output(d) => log.output(d),
                    LogEvent::Mark(t) => log.mark(t),
                };
                if let Err(err) = r {
                    tracing::error!("{}: console log: {err}", path.display());
                }
                event = rx.try_recv().ok();
            }
            let _ = log.file.flush();
        }
    });
    Ok((tx, task))
}
