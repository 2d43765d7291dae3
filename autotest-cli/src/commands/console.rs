//! `autotest console`: an interactive session on a console (raw terminal; `~$` commands are
//! read by the server), or `--list` / `--status`.

use std::io::IsTerminal;

use autotest_conmux::{ClientId, ConnectType, Request, Session, client};
use clap::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Arguments of `autotest console`.
#[derive(Args, Debug)]
#[command(after_help = "\
Exit status:
  0  the session ended, or the list or state was printed (an unreachable console's state is
     `unavailable`)
  1  the registry or the console could not be reached (the error says why)
  2  bad usage

--json (with --list or --status) prints JSON on stdout: --list a list of
{\"name\", \"location\"} (autotest_conmux::client::RegistryEntry), --status one
{\"console\", \"state\"} (autotest_conmux::client::ConsoleState).")]
pub struct ConsoleArgs {
    /// List the registry's consoles (the argument, if given, is the registry).
    #[arg(short, long)]
    list: bool,
    /// Print the console's state (connected, transition, disconnected, unavailable).
    #[arg(short, long, conflicts_with = "list")]
    status: bool,
    /// Connect as `bot:<name>` rather than `user:$LOGNAME`.
    #[arg(short, long)]
    bot: Option<String>,
    /// Watch only: never write to the console.
    #[arg(short, long)]
    watch: bool,
    /// With --list or --status: print JSON on stdout (shapes below).
    #[arg(long)]
    json: bool,
    /// [<registry>/]<name> or host:port (with --list: a registry).
    target: Option<String>,
}

/// Puts the terminal in raw mode until dropped (legacy: `stty raw -echo opost onlret`).
struct RawTerminal(Option<libc::termios>);

impl RawTerminal {
    fn enter() -> Self {
        if !std::io::stdin().is_terminal() {
            return Self(None);
        }
        // SAFETY: termios is plain data; tcgetattr/tcsetattr read and write it for fd 0.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return Self(None);
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            raw.c_oflag |= libc::OPOST | libc::ONLRET;
            libc::tcsetattr(0, libc::TCSANOW, &raw);
            Self(Some(saved))
        }
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            // SAFETY: restores the settings read in `enter`.
            unsafe { libc::tcsetattr(0, libc::TCSANOW, saved) };
        }
    }
}

pub fn run(a: ConsoleArgs) -> anyhow::Result<i32> {
    let rt = super::runtime()?;
    let result = rt.block_on(async {
        if a.list {
            let entries = client::list(a.target.as_deref()).await?;
            if a.json {
                let entries: Vec<client::RegistryEntry> =
                    entries.into_iter().map(Into::into).collect();
                crate::output::print_json(&entries)?;
                return Ok(0);
            }
            for (name, location) in entries {
                println!("{name} {location}");
            }
            return Ok(0);
        }
        let Some(target) = a.target else {
            anyhow::bail!("usage: autotest console [<registry>/]<name> | --list [<registry>] | --status <name>");
        };
        let id = match a.bot {
            Some(b) => ClientId::Bot(b),
            None => ClientId::User(std::env::var("LOGNAME").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into())),
        };
        if a.status {
            let req = Request::connect(&id, ConnectType::Client).with("hide", "1");
            let state = match Session::open_with(&target, req).await {
                Ok(s) => s.state().to_owned(),
                Err(_) => "unavailable".to_owned(),
            };
            if a.json {
                crate::output::print_json(&client::ConsoleState { console: target, state })?;
            } else {
                println!("{state}");
            }
            return Ok(0);
        }
        let kind = if a.watch { ConnectType::Watch } else { ConnectType::Client };
        let session = Session::open(&target, &id, kind).await?;
        print!("Connected to {} (~$quit to exit)\r\n{}", session.title(), session.motd().replace('\n', "\r\n"));
        let (mut from, mut to) = session.into_stream().into_split();
        let _raw = RawTerminal::enter();
        let typing = tokio::spawn(async move {
            let mut stdin = tokio::io::stdin();
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = stdin.read(&mut buf).await {
                if n == 0 || to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = to.shutdown().await;
        });
        let mut stdout = tokio::io::stdout();
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 || stdout.write_all(&buf[..n]).await.is_err() {
                break;
            }
            let _ = stdout.flush().await;
        }
        typing.abort();
        drop(_raw);
        eprintln!("\r\nConnection Closed (server)");
        Ok(0)
    });
    // The stdin reader may be blocked in read(2) on a thread; do not wait for it.
    rt.shutdown_background();
    result
}
