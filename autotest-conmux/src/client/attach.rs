//! `conmux-attach`: a program with its standard input and output on a console, as legacy
//! `conmux-attach` ran reset and expect scripts against a machine's serial line.

use std::process::Stdio;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ClientError, Session};
use crate::protocol::{ClientId, ConnectType};

/// Runs `program args...` with what the console prints on its standard input and its standard
/// output written to the console (a writing `type=client` session, named after the program).
/// Returns the program's exit code (1 when it was killed by a signal).
pub async fn attach_program(
    console: &str,
    program: &str,
    args: &[String],
) -> Result<i32, ClientError> {
    let bot = std::path::Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| program.to_owned());
    let session = Session::open(console, &ClientId::Bot(bot), ConnectType::Client).await?;
    let (mut from_console, mut to_console) = session.into_stream().into_split();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ClientError::io(&format!("{program}: cannot start it"), e))?;
    let (Some(mut child_in), Some(mut child_out)) = (child.stdin.take(), child.stdout.take())
    else {
        return Err(ClientError::io(
            program,
            std::io::Error::other("no pipes to the program"),
        ));
    };
    let inbound = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = from_console.read(&mut buf).await {
            if n == 0 || child_in.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let outbound = async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = child_out.read(&mut buf).await {
            if n == 0 || to_console.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = to_console.shutdown().await;
    };
    let (status, ()) = tokio::join!(child.wait(), outbound);
    inbound.abort();
    let status = status.map_err(|e| ClientError::io(program, e))?;
    Ok(status.code().unwrap_or(1))
}
