//! Splits the client runtime's output: prefixed status lines into the server's status log as
//! they arrive, everything else into the machine's debug logs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use tokio::sync::mpsc::UnboundedReceiver;

use super::STATUS_PREFIX;
use crate::transport::OutputStream;

/// Consumes output chunks until the sender is dropped.
pub(crate) async fn consume(
    mut rx: UnboundedReceiver<(OutputStream, Vec<u8>)>,
    status_log: &Path,
    debug_dir: &Path,
) -> std::io::Result<()> {
    let open = |p: &Path| -> std::io::Result<File> {
        OpenOptions::new().create(true).append(true).open(p)
    };
    std::fs::create_dir_all(debug_dir)?;
    let mut status = open(status_log)?;
    let mut stdout = open(&debug_dir.join("client.stdout"))?;
    let mut stderr = open(&debug_dir.join("client.stderr"))?;
    let mut pending = Vec::new();
    while let Some((stream, chunk)) = rx.recv().await {
        match stream {
            OutputStream::Stderr => stderr.write_all(&chunk)?,
            OutputStream::Stdout => {
                pending.extend_from_slice(&chunk);
                while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    route(&line, &mut status, &mut stdout)?;
                }
            }
        }
    }
    if !pending.is_empty() {
        pending.push(b'\n');
        route(&pending, &mut status, &mut stdout)?;
    }
    Ok(())
}

fn route(line: &[u8], status: &mut File, stdout: &mut File) -> std::io::Result<()> {
    match line.strip_prefix(STATUS_PREFIX.as_bytes()) {
        Some(rest) => status.write_all(rest),
        None => stdout.write_all(line),
    }
}
