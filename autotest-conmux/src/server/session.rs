//! One client connection: the legacy command phase (`CONNECT ...` answered by a reply line),
//! then the byte stream both ways, with `~$` command mode read from the client's input.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;

use super::escape::{Action, Escape};
use super::hub::{Chunk, Role};
use super::payload::{BREAK, ToConsole};
use super::{Shared, command};
use crate::protocol::{MAX_LINE_LEN, Reply, Request};

/// What a client dropped for being too slow reads last.
pub const DROPPED_NOTICE: &str =
    "\r\n<<<DROPPED: this client fell too far behind the console>>>\r\n";

/// Bytes a lagging client's writer gathers into one write.
const BATCH: usize = 256 * 1024;

/// Built-in command-mode help, after the console's own entries (legacy order and wording).
const BUILTIN_HELP: &[(&str, &str)] = &[
    ("msg", "send a message to all connected clients"),
    ("quit", "disconnect from the console"),
    ("write", "take over writing to the console"),
];

struct Session {
    id: u64,
    who: String,
    role: Role,
    hide: bool,
}

pub(crate) async fn serve(sock: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = sock.set_nodelay(true);
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    if !shared.allowed(peer.ip()) {
        tracing::warn!("{}: refused {peer}: not in the allow list", shared.name);
        let reply = Reply::new().with("status", "EACCES address not allowed");
        let _ = w.write_all(format!("{reply}\n").as_bytes()).await;
        return;
    }
    let Some(session) = handshake(&mut r, &mut w, &shared).await else {
        return;
    };
    // Announced before attaching, so (as in legacy) the newcomer does not see its own arrival.
    let announce = !session.hide && session.role != Role::Status;
    if announce {
        shared.hub.announce(&format!("({}) connected", session.who));
    }
    let attached = shared.hub.attach(&session.who, session.role);
    let session = Session {
        id: attached.id,
        ..session
    };
    // The reply goes out before any console bytes: written here, before the queue is read.
    let reply = connect_reply(&shared, &attached.others);
    if w.write_all(format!("{reply}\n").as_bytes()).await.is_err() {
        shared.hub.detach(session.id);
        return;
    }
    tracing::info!(
        "{} connected to {}/{}",
        session.who,
        shared.name,
        super::hub::role_word(session.role)
    );
    let mut writer = tokio::spawn(write_out(w, attached.rx, attached.queued, attached.dropped));
    if session.role == Role::Client && !shared.hub.may_write(session.id) {
        if let Some(writer) = shared.hub.writer() {
            let note = format!("({writer} is writing; you are watching; ~$write takes over)\r\n");
            shared.hub.echo_to(session.id, note.as_bytes());
        }
    }
    let writer_done = tokio::select! {
        () = read_in(&mut r, &session, &shared) => false,
        _ = &mut writer => true,
    };
    shared.hub.detach(session.id);
    if announce {
        shared
            .hub
            .announce(&format!("({}) disconnected", session.who));
    }
    tracing::info!("{} disconnected from {}", session.who, shared.name);
    if !writer_done {
        // Let it deliver what was queued (and a drop notice) before the socket closes.
        let _ = tokio::time::timeout(Duration::from_secs(5), writer).await;
    }
}

fn connect_reply(shared: &Shared, others: &[String]) -> Reply {
    let state = shared.hub.state().as_str();
    let mut reply = Reply::new()
        .with("status", "OK")
        .with("title", format!("{} [channel {state}]", shared.title))
        .with("state", state);
    if !others.is_empty() {
        let motd: String = others
            .iter()
            .map(|o| format!("({o}) is already connected\n"))
            .collect();
        reply = reply.with("motd", motd);
    }
    reply
}

/// The command phase; `None` when the client left or sent something it cannot recover from.
async fn handshake(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: &mut OwnedWriteHalf,
    shared: &Shared,
) -> Option<Session> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut *r)
            .take(MAX_LINE_LEN as u64 + 2)
            .read_until(b'\n', &mut line)
            .await
            .ok()?;
        if n == 0 || !line.ends_with(b"\n") && n > MAX_LINE_LEN {
            return None;
        }
        let (reply, session) = match Request::parse(&String::from_utf8_lossy(&line)) {
            Err(e) => (
                Some(Reply::new().with("status", format!("EINVAL {e}"))),
                None,
            ),
            Ok(req) => answer(&req, shared),
        };
        if let Some(reply) = reply {
            w.write_all(format!("{reply}\n").as_bytes()).await.ok()?;
        }
        if session.is_some() {
            return session;
        }
    }
}

/// The reply to a request of the command phase (`None`: the caller writes the `CONNECT` reply
/// once attached), and the session a successful `CONNECT` opens.
fn answer(req: &Request, shared: &Shared) -> (Option<Reply>, Option<Session>) {
    let fail = |status: String| (Some(Reply::new().with("status", status)), None);
    let Some(id) = req.get("id") else {
        return fail("EACCES identifier required".into());
    };
    if req.verb != "CONNECT" {
        return fail("ENOSYS unknown command".into());
    }
    let Some(to) = req.get("to") else {
        // Legacy wording, double space included.
        return fail("EINVAL CONNECT  requires 'to' specifier".into());
    };
    if to != shared.name {
        return fail(format!("EINVAL '{to}' not a  valid destination specifier"));
    }
    let role = match req.get("type").unwrap_or("client") {
        "client" => Role::Client,
        "watch" => Role::Watch,
        "status" => Role::Status,
        other => return fail(format!("EINVAL '{other}' not a valid destination type")),
    };
    let hide = req.get("hide").is_some_and(|h| !h.is_empty() && h != "0");
    let session = Session {
        id: 0,
        who: id.to_owned(),
        role,
        hide,
    };
    (None, Some(session))
}

async fn write_out(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Chunk>,
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(chunk) = rx.recv().await {
        // A client that lags gets what is queued in few large writes rather than many small.
        let mut data: &[u8] = &chunk;
        if let Ok(next) = rx.try_recv() {
            batch.clear();
            batch.extend_from_slice(&chunk);
            batch.extend_from_slice(&next);
            while batch.len() < BATCH {
                let Ok(more) = rx.try_recv() else { break };
                batch.extend_from_slice(&more);
            }
            data = &batch;
        }
        if w.write_all(data).await.is_err() {
            return;
        }
        queued.fetch_sub(data.len(), Ordering::SeqCst);
    }
    if dropped.load(Ordering::SeqCst) {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            w.write_all(DROPPED_NOTICE.as_bytes()),
        )
        .await;
    }
    let _ = w.shutdown().await;
}

async fn read_in(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    s: &Session,
    shared: &Arc<Shared>,
) {
    let hub = &shared.hub;
    let mut escape = Escape::default();
    let mut buf = vec![0u8; super::READ_CHUNK];
    let mut told_read_only = false;
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for action in escape.feed(&buf[..n]) {
            match action {
                Action::Data(bytes) => match s.role {
                    Role::Status => hub.broadcast(Arc::from(bytes)),
                    Role::Client if hub.may_write(s.id) => {
                        told_read_only = false;
                        let msg = ToConsole { from: s.id, bytes };
                        if shared.to_console.send(msg).await.is_err() {
                            return;
                        }
                    }
                    Role::Client | Role::Watch => {
                        if !told_read_only {
                            told_read_only = true;
                            let note = match s.role {
                                Role::Watch => {
                                    "<<<READ-ONLY: this session watches only>>>\r\n".to_owned()
                                }
                                _ => format!(
                                    "<<<READ-ONLY: {} is writing; ~$write takes over>>>\r\n",
                                    hub.writer().unwrap_or_default()
                                ),
                            };
                            hub.echo_to(s.id, note.as_bytes());
                        }
                    }
                },
                Action::Prompt => {
                    hub.echo_to(s.id, format!("\r\nCommand({})> ", shared.title).as_bytes())
                }
                Action::Echo(bytes) => hub.echo_to(s.id, &bytes),
                Action::Command(line) => {
                    if !command_mode(&line, s, shared).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Runs one `~$` command; false when the session should end (`quit`).
async fn command_mode(line: &str, s: &Session, shared: &Arc<Shared>) -> bool {
    let hub = &shared.hub;
    let line = line.trim();
    let (cmd, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let args = args.trim();
    let writes = s.role == Role::Client;
    match cmd {
        "" => {}
        "quit" => return false,
        "help" => {
            let mut help = String::from("Conmux commands:\n");
            let own = shared.help.iter().map(|(c, t)| (c.as_str(), t.as_str()));
            for (c, t) in std::iter::once(("break", "send a break sequence"))
                .chain(own)
                .chain(BUILTIN_HELP.iter().copied())
            {
                help.push_str(&format!("  {c:<20} {t}\n"));
            }
            hub.echo_to(s.id, help.as_bytes());
        }
        "msg" => hub.announce(&format!("({}) {args}", s.who)),
        _ if !writes => hub.echo_to(
            s.id,
            format!("{cmd}: not allowed, this session is read-only\n").as_bytes(),
        ),
        "write" => match hub.take_write(s.id) {
            Some(prev) => hub.announce(&format!("({}) took over writing from {prev}", s.who)),
            None => hub.echo_to(s.id, b"you are writing to the console\n"),
        },
        "break" => {
            hub.log(super::log::LogEvent::Mark(format!(
                "break sent by {}",
                s.who
            )));
            let msg = ToConsole {
                from: s.id,
                bytes: BREAK.to_vec(),
            };
            let _ = shared.to_console.send(msg).await;
        }
        name => match shared.commands.iter().find(|c| c.name == name) {
            Some(c) => {
                tokio::spawn(command::run(
                    hub.clone(),
                    s.id,
                    s.who.clone(),
                    c.clone(),
                    args.to_owned(),
                ));
            }
            None => hub.echo_to(s.id, b"Command not recognised\n"),
        },
    }
    true
}
