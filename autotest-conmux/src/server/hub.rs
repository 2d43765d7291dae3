//! The fan-out point of one console: who is attached, who may write, and the bounded queue of
//! each attached client. Console output is pushed to every queue without waiting; a client whose
//! queue is full is detached (its writer task then tells it why) so it never stalls the others.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use super::log::LogEvent;

/// A chunk of bytes shared by every queue it is pushed to.
pub(crate) type Chunk = Arc<[u8]>;

/// How a session is attached (the `type=` of its `CONNECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// `type=client`: sees the console, may write it when it holds (or takes) the write.
    Client,
    /// `type=watch` (ours): sees the console, never writes it.
    Watch,
    /// `type=status` (legacy): sees nothing; what it sends is shown to every client.
    Status,
}

struct Slot {
    who: String,
    role: Role,
    tx: mpsc::UnboundedSender<Chunk>,
    /// Bytes queued and not yet written to the client (the writer task subtracts).
    queued: Arc<AtomicUsize>,
    dropped: Arc<AtomicBool>,
}

impl Slot {
    /// Queues `data` unless that would put the client over `limit` bytes behind; false when
    /// the client is gone or too slow (then `dropped` is set).
    fn push(&self, data: &Chunk, limit: usize) -> bool {
        if self.queued.load(Ordering::SeqCst) + data.len() > limit {
            self.dropped.store(true, Ordering::SeqCst);
            return false;
        }
        self.queued.fetch_add(data.len(), Ordering::SeqCst);
        self.tx.send(data.clone()).is_ok()
    }
}

#[derive(Default)]
struct Inner {
    slots: HashMap<u64, Slot>,
    writer: Option<u64>,
    next: u64,
    connected_since: Option<Instant>,
    last_transition: Option<Instant>,
    major_transition: Option<Instant>,
}

/// Console state as the legacy daemon names it in `CONNECT` replies and `console --status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Connected for more than 30 s.
    Connected,
    /// (Re)connected or lost within the last minute.
    Transition,
    /// Not connected, and not recently.
    Disconnected,
}

impl ChannelState {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Transition => "transition",
            Self::Disconnected => "disconnected",
        }
    }
}

/// The shared state of one console server.
pub(crate) struct Hub {
    inner: Mutex<Inner>,
    log: mpsc::UnboundedSender<LogEvent>,
    /// How far (bytes) a client may fall behind before it is dropped.
    client_buffer: usize,
}

/// What a newly attached session gets.
pub(crate) struct Attached {
    pub id: u64,
    pub rx: mpsc::UnboundedReceiver<Chunk>,
    pub queued: Arc<AtomicUsize>,
    pub dropped: Arc<AtomicBool>,
    /// Who else is attached (for the legacy `motd`).
    pub others: Vec<String>,
}

impl Hub {
    pub fn new(log: mpsc::UnboundedSender<LogEvent>, client_buffer: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            log,
            client_buffer,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn log(&self, event: LogEvent) {
        let _ = self.log.send(event);
    }

    /// Adds a session; a `Client` becomes the writer when nobody writes.
    pub fn attach(&self, who: &str, role: Role) -> Attached {
        let (tx, rx) = mpsc::unbounded_channel();
        let dropped = Arc::new(AtomicBool::new(false));
        let queued = Arc::new(AtomicUsize::new(0));
        let mut inner = self.lock();
        let others = inner
            .slots
            .values()
            .filter(|s| s.role != Role::Status)
            .map(|s| s.who.clone())
            .collect();
        let id = inner.next;
        inner.next += 1;
        if role == Role::Client && inner.writer.is_none() {
            inner.writer = Some(id);
        }
        let slot = Slot {
            who: who.to_owned(),
            role,
            tx,
            queued: queued.clone(),
            dropped: dropped.clone(),
        };
        inner.slots.insert(id, slot);
        drop(inner);
        self.log(LogEvent::Mark(format!(
            "attach {who} ({})",
            role_word(role)
        )));
        Attached {
            id,
            rx,
            queued,
            dropped,
            others,
        }
    }

    /// Removes a session (its queue closes); frees the write if it held it.
    pub fn detach(&self, id: u64) {
        let mut inner = self.lock();
        if inner.writer == Some(id) {
            inner.writer = None;
        }
        if let Some(slot) = inner.slots.remove(&id) {
            drop(inner);
            self.log(LogEvent::Mark(format!("detach {}", slot.who)));
        }
    }

    /// Whether session `id` may write now; a `Client` takes a free write.
    pub fn may_write(&self, id: u64) -> bool {
        let mut inner = self.lock();
        match inner.writer {
            Some(w) => w == id,
            None if inner.slots.get(&id).map(|s| s.role) == Some(Role::Client) => {
                inner.writer = Some(id);
                true
            }
            None => false,
        }
    }

    /// Gives the write to `id`; returns who held it before (if someone else did).
    pub fn take_write(&self, id: u64) -> Option<String> {
        let mut inner = self.lock();
        let before = inner.writer.replace(id).filter(|w| *w != id);
        before.and_then(|w| inner.slots.get(&w).map(|s| s.who.clone()))
    }

    /// Who holds the write.
    pub fn writer(&self) -> Option<String> {
        let inner = self.lock();
        inner
            .writer
            .and_then(|w| inner.slots.get(&w).map(|s| s.who.clone()))
    }

    /// Number of attached sessions that see the console.
    pub fn viewers(&self) -> usize {
        self.lock()
            .slots
            .values()
            .filter(|s| s.role != Role::Status)
            .count()
    }

    /// Console output (or an announcement): logged and queued to every viewer.
    pub fn broadcast(&self, data: Chunk) {
        self.log(LogEvent::Output(data.clone()));
        let mut inner = self.lock();
        let mut gone = Vec::new();
        for (id, slot) in &inner.slots {
            if slot.role == Role::Status {
                continue;
            }
            if !slot.push(&data, self.client_buffer) {
                gone.push(*id);
            }
        }
        for id in gone {
            if inner.writer == Some(id) {
                inner.writer = None;
            }
            if let Some(slot) = inner.slots.remove(&id) {
                let reason = if slot.dropped.load(Ordering::SeqCst) {
                    "too slow"
                } else {
                    "gone"
                };
                self.log(LogEvent::Mark(format!("detach {} ({reason})", slot.who)));
            }
        }
    }

    /// A line for every viewer, e.g. `(user:x) connected`.
    pub fn announce(&self, text: &str) {
        self.broadcast(Arc::from(format!("{text}\n").into_bytes()));
    }

    /// Bytes for one session only (logged too, as everything shown is).
    pub fn send_to(&self, id: u64, data: &[u8]) {
        self.log(LogEvent::Output(Arc::from(data)));
        let inner = self.lock();
        if let Some(slot) = inner.slots.get(&id) {
            // Over the limit it is dropped by the next broadcast.
            slot.push(&Arc::from(data), self.client_buffer);
        }
    }

    /// Bytes for one session that are not console content (prompts, echo): not logged.
    pub fn echo_to(&self, id: u64, data: &[u8]) {
        let inner = self.lock();
        if let Some(slot) = inner.slots.get(&id) {
            slot.push(&Arc::from(data), usize::MAX);
        }
    }

    pub fn set_connected(&self, connected: bool) {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.connected_since = connected.then_some(now);
        // Legacy: a transition more than 30 s after the previous one starts a new major one.
        if inner
            .last_transition
            .is_none_or(|t| now.duration_since(t).as_secs() > 30)
        {
            inner.major_transition = Some(now);
        }
        inner.last_transition = Some(now);
    }

    pub fn state(&self) -> ChannelState {
        let inner = self.lock();
        match (inner.connected_since, inner.major_transition) {
            (Some(c), _) if c.elapsed().as_secs() > 30 => ChannelState::Connected,
            (_, Some(t)) if t.elapsed().as_secs() < 60 => ChannelState::Transition,
            _ => ChannelState::Disconnected,
        }
    }

    pub fn is_connected(&self) -> bool {
        self.lock().connected_since.is_some()
    }

    /// Seconds to wait before reconnecting a lost console (legacy: 1 s in the first minute
    /// of trouble, 10 s in the second, then 30 s).
    pub fn retry_secs(&self) -> u64 {
        let inner = self.lock();
        match inner.major_transition.map(|t| t.elapsed().as_secs()) {
            Some(s) if s < 60 => 1,
            Some(s) if s < 120 => 10,
            Some(_) => 30,
            None => 1,
        }
    }
}

pub(crate) fn role_word(role: Role) -> &'static str {
    match role {
        Role::Client => "client",
        Role::Watch => "watch",
        Role::Status => "status",
    }
}
