//! Running a configured console command (`~$hardreset`): announced to every attached client,
//! its standard output shown to all and its standard error to the client who asked, both
//! logged, and its exit status announced and logged.

use std::process::Stdio;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};

use super::hub::Hub;
use super::log::LogEvent;
use crate::cf::{ConsoleCommand, split_words};

/// The line announcing a command's end, e.g. `(bot:autoserv) hardreset exited with status 0`.
pub(crate) fn finished_line(who: &str, name: &str, outcome: &str) -> String {
    format!("({who}) {name} {outcome}")
}

pub(crate) async fn run(
    hub: Arc<Hub>,
    from: u64,
    who: String,
    command: ConsoleCommand,
    args: String,
) {
    if !command.announcement.is_empty() {
        hub.announce(&format!("({who}) {}", command.announcement));
    }
    let mut words = split_words(&command.command).unwrap_or_default();
    words.extend(args.split_whitespace().map(str::to_owned));
    let outcome = match execute(&hub, from, &words).await {
        Ok(status) => match (
            status.code(),
            std::os::unix::process::ExitStatusExt::signal(&status),
        ) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "ended".to_owned(),
        },
        Err(e) => format!("could not start: {e}"),
    };
    hub.log(LogEvent::Mark(format!(
        "command {} by {who}: {outcome}",
        command.name
    )));
    hub.announce(&finished_line(&who, &command.name, &outcome));
}

async fn execute(
    hub: &Arc<Hub>,
    from: u64,
    words: &[String],
) -> std::io::Result<std::process::ExitStatus> {
    let (program, args) = words
        .split_first()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"))?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let out = child.stdout.take().map(|s| copy(s, hub.clone(), None));
    let err = child
        .stderr
        .take()
        .map(|s| copy(s, hub.clone(), Some(from)));
    if let (Some(out), Some(err)) = (out, err) {
        tokio::join!(out, err);
    }
    child.wait().await
}

/// Shows a command's stream: to everyone (`to: None`) or to one session.
async fn copy(mut r: impl AsyncRead + Unpin, hub: Arc<Hub>, to: Option<u64>) {
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        match to {
            None => hub.broadcast(Arc::from(&buf[..n])),
            Some(id) => hub.send_to(id, &buf[..n]),
        }
    }
}
