pub mod autoserv;
pub mod conmux;
pub mod console;
pub mod db;
pub mod host;
pub mod job;
pub mod label;
pub mod mirror;
pub mod queue;
pub mod results;
pub mod run;
pub mod scheduler;
pub mod status;

/// Logs to stderr, `RUST_LOG` choosing what (default `info`): for the long-running commands.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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
    use super::report;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let inner = format!("cannot read x: {io}");
        let e = anyhow::Error::new(io).context(inner).context("autoserv");
        assert_eq!(report(&e), "autoserv: cannot read x: entity not found");
    }
}
