pub mod autoserv;
pub mod conmux;
pub mod console;
pub mod db;
pub mod mirror;
pub mod queue;
pub mod run;
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
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
