pub mod autoserv;
pub mod conmux;
pub mod console;
pub mod db;
pub mod docs;
pub mod drone;
pub mod host;
pub mod job;
pub mod label;
pub mod mirror;
pub mod queue;
pub mod results;
pub mod run;
pub mod scheduler;
pub mod status;
pub mod web;

/// The root's `--help` footer: the conventions every command shares.
pub(crate) const GLOBAL_AFTER_HELP: &str = "\
Exit status: 0 success, 1 failure (the error says what failed and what to do), 2 bad usage;
each command's --help lists its own.

Environment: RUST_LOG (log filter; wins over -q/-v), NO_COLOR (no colour; colour is only
ever used on a terminal), AUTOTEST_CONFIG_DIR, AUTOTEST_DB, AUTOTEST_PYTHON.";

/// How much the user asked to hear on stderr: the global `-q` and `-v` counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Verbosity {
    pub(crate) quiet: u8,
    pub(crate) verbose: u8,
}

impl Verbosity {
    /// The tracing level for a command whose default is `base` (0 off, 1 error, 2 warn,
    /// 3 info, 4 debug, 5 trace): each `-v` one level more, each `-q` one fewer.
    fn level(self, base: u8) -> &'static str {
        let n = i16::from(base) + i16::from(self.verbose) - i16::from(self.quiet);
        ["off", "error", "warn", "info", "debug", "trace"][n.clamp(0, 5) as usize]
    }

    /// True with `-q`: no progress display, nothing but results and errors.
    pub(crate) fn is_quiet(self) -> bool {
        self.quiet > 0
    }
}

static VERBOSITY: std::sync::OnceLock<Verbosity> = std::sync::OnceLock::new();

/// The global `-q`/`-v` of this invocation (default when main has not set them, as in tests).
pub(crate) fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or_default()
}

/// The long-running commands: they log what they do at `info` by default; every other command
/// only warns unless asked (`-v`), so its stdout and stderr stay the report.
const DAEMONS: &[&str] = &[
    "monitor-queue",
    "start-all-queues",
    "conmux",
    "mirror",
    "scheduler",
    "drone",
    "web",
];

/// True when NO_COLOR (https://no-color.org) is set to something: no colour anywhere.
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Colour on stderr: only on a terminal, and never under NO_COLOR.
pub(crate) fn stderr_color() -> bool {
    use std::io::IsTerminal;
    !no_color() && std::io::stderr().is_terminal()
}

/// Installs the one log subscriber for this run, writing to stderr: `RUST_LOG` when set (it
/// wins over `-q`/`-v`), else the command's default level moved by `-q`/`-v`. Called once by
/// main before the command runs.
pub(crate) fn init_logging_for(command: Option<&str>, v: Verbosity) {
    let _ = VERBOSITY.set(v);
    let base = if command.is_some_and(|c| DAEMONS.contains(&c)) {
        3
    } else {
        2
    };
    use std::io::IsTerminal;
    use tracing_subscriber::prelude::*;
    let spec = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => spec,
        _ => v.level(base).to_owned(),
    };
    // Progress events are the progress layer's, never log lines.
    let logs = tracing_subscriber::fmt::layer()
        .with_ansi(stderr_color())
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::EnvFilter::new(format!(
            "{spec},{}=off",
            autotest_core::progress::PROGRESS_TARGET
        )));
    let progress = (!v.is_quiet()).then(|| {
        crate::progress::ProgressLayer::new(std::io::stderr().is_terminal()).with_filter(
            tracing_subscriber::filter::Targets::new().with_target(
                autotest_core::progress::PROGRESS_TARGET,
                tracing::Level::INFO,
            ),
        )
    });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(progress)
        .try_init();
}

/// Logs to stderr at `info` unless main already installed the subscriber (it always does;
/// kept so a command can rely on logging without knowing main).
pub(crate) fn init_logging() {
    init_logging_for(Some("monitor-queue"), verbosity());
}

/// The multi-threaded tokio runtime the async commands run on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The error and its causes, each once, fit for a terminal: most error messages already include
/// their source's text ("cannot read X: No such file or directory"), so a cause that the text
/// so far already says is left out instead of repeated; control characters are escaped (errors
/// quote files and tests).
pub(crate) fn report(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    autotest_core::visible(&text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{Verbosity, report};

    #[test]
    fn each_v_is_one_level_more_and_each_q_one_fewer() {
        let v = |quiet, verbose| Verbosity { quiet, verbose };
        assert_eq!(v(0, 0).level(2), "warn");
        assert_eq!(v(0, 1).level(2), "info");
        assert_eq!(v(0, 2).level(3), "trace");
        assert_eq!(v(0, 9).level(3), "trace");
        assert_eq!(v(1, 0).level(3), "warn");
        assert_eq!(v(2, 0).level(2), "off");
        assert_eq!(v(5, 0).level(2), "off");
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let inner = format!("cannot read x: {io}");
        let e = anyhow::Error::new(io).context(inner).context("autoserv");
        assert_eq!(report(&e), "autoserv: cannot read x: entity not found");
    }
}
