//! Splits the client runtime's output: prefixed status lines into the server's status log as
//! they arrive, everything else into the machine's debug logs.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use super::STATUS_PREFIX;
use super::status_sink::StatusSink;
use crate::transport::OutputStream;

/// Consumes output chunks until the sender is dropped.
pub(crate) async fn consume(
    mut rx: UnboundedReceiver<(OutputStream, Vec<u8>)>,
    status: Arc<StatusSink>,
    debug_dir: &Path,
    indent: usize,
) -> std::io::Result<()> {
    let indent = "\t".repeat(indent);
    let open = |p: &Path| -> std::io::Result<File> {
        OpenOptions::new().create(true).append(true).open(p)
    };
    std::fs::create_dir_all(debug_dir)?;
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
                    route(&line, &indent, &status, &mut stdout)?;
                }
            }
        }
    }
    if !pending.is_empty() {
        pending.push(b'\n');
        route(&pending, &indent, &status, &mut stdout)?;
    }
    Ok(())
}

/// Status lines go to the status log, nested `indent` deeper (a client job run by a server
/// control file sits inside the server job's groups); other lines to the client's stdout log.
fn route(line: &[u8], indent: &str, status: &StatusSink, stdout: &mut File) -> std::io::Result<()> {
    match line.strip_prefix(STATUS_PREFIX.as_bytes()) {
        Some(rest) => {
            let mut l = Vec::with_capacity(indent.len() + rest.len());
            l.extend_from_slice(indent.as_bytes());
            l.extend_from_slice(rest);
            status.client_line(&l)
        }
        None => stdout.write_all(line),
    }
}
