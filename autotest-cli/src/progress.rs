//! Renders the progress events of autotest-core (target `autotest::progress`) on stderr: a
//! spinner line per task on a terminal, plain `autotest: <task>: ...` lines otherwise, nothing
//! with -q. Never on stdout, so `--json` output stays one document.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

/// The fields of one progress event.
#[derive(Default)]
struct Fields {
    task: String,
    message: String,
    counters: Vec<(&'static str, u64)>,
    finished: bool,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "task" {
            self.task = value.to_owned();
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.counters.push((field.name(), value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.counters.push((field.name(), value.max(0) as u64));
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

impl Fields {
    /// `mirror sync: 3 files, 1.2 MiB: v6.x/linux-6.1.tar.xz`
    fn line(&self) -> String {
        let mut text = format!("{}:", self.task);
        for (i, (name, value)) in self.counters.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            if *name == "bytes" {
                let _ = write!(text, "{sep}{}", indicatif::HumanBytes(*value));
            } else {
                let _ = write!(text, "{sep}{value} {name}");
            }
        }
        if !self.message.is_empty() {
            // `task: message` without counters, `task: counters: message` with them.
            let sep = if self.counters.is_empty() { " " } else { ": " };
            let _ = write!(text, "{sep}{}", autotest_core::visible(&self.message));
        }
        text
    }
}

/// The layer: one spinner per task on a terminal.
pub(crate) struct ProgressLayer {
    terminal: bool,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl ProgressLayer {
    pub(crate) fn new(terminal: bool) -> Self {
        ProgressLayer {
            terminal,
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProgressLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if !self.terminal {
            eprintln!("autotest: {}", f.line());
            return;
        }
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(f.task.clone()).or_insert_with(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        bar.set_message(f.line());
        if f.finished {
            bar.finish();
            bars.remove(&f.task);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn a_line_without_counters_has_one_separator() {
        let f = Fields {
            task: "results copy".into(),
            message: "m1:/x".into(),
            ..Fields::default()
        };
        assert_eq!(f.line(), "results copy: m1:/x");
        let f = Fields {
            task: "scheduler stop".into(),
            message: "left".into(),
            counters: vec![("running", 2)],
            finished: true,
        };
        assert_eq!(f.line(), "scheduler stop: 2 running: left");
    }
}
