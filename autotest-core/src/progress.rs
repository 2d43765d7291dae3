//! Progress of long operations, as tracing events for a front end to render (library crates
//! never print). Each event has the target [`PROGRESS_TARGET`], a `task` field naming the
//! operation (`"mirror sync"`), counters such as `files` and `bytes`, the message (what is
//! being worked on now) and, on its last event, `finished = true`.

/// The tracing target of progress events.
pub const PROGRESS_TARGET: &str = "autotest::progress";

/// Files and bytes of a local tree (what a copy moved), following no symlinks; unreadable
/// parts count as nothing (progress is informative, never a failure).
pub(crate) fn tree_size(path: &std::path::Path) -> (u64, u64) {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&p) {
                stack.extend(entries.flatten().map(|e| e.path()));
            }
        } else {
            files += 1;
            bytes += meta.len();
        }
    }
    (files, bytes)
}

/// Collects the progress events emitted on this thread (for the tests of each area).
#[cfg(test)]
pub(crate) mod capture {
    use std::sync::{Arc, Mutex};

    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, SubscriberExt as _};

    /// One progress event: its task, message, counters and whether it was the last.
    #[derive(Debug, Clone, Default, PartialEq)]
    pub(crate) struct Event {
        pub task: String,
        pub message: String,
        pub counters: Vec<(String, u64)>,
        pub finished: bool,
    }

    impl Event {
        pub(crate) fn counter(&self, name: &str) -> Option<u64> {
            self.counters
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| *v)
        }
    }

    impl Visit for Event {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "task" {
                self.task = value.to_owned();
            }
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            self.counters.push((field.name().to_owned(), value));
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            self.counters
                .push((field.name().to_owned(), value.max(0) as u64));
        }
        fn record_bool(&mut self, field: &Field, value: bool) {
            if field.name() == "finished" {
                self.finished = value;
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.message = format!("{value:?}");
            }
        }
    }

    struct Layer(Arc<Mutex<Vec<Event>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Layer {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if event.metadata().target() != super::PROGRESS_TARGET {
                return;
            }
            let mut e = Event::default();
            event.record(&mut e);
            self.0.lock().unwrap().push(e);
        }
    }

    /// Runs `f` with a subscriber that records the progress events, and returns them.
    pub(crate) fn progress_of<R>(f: impl FnOnce() -> R) -> (R, Vec<Event>) {
        let events = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Layer(events.clone()));
        let r = tracing::subscriber::with_default(subscriber, f);
        let events = events.lock().unwrap().clone();
        (r, events)
    }
}
