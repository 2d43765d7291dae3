//! `autotest web`: the lab on the web. Results files (`/results/...`, with retrieve_logs for
//! jobs whose results are elsewhere), the REST API, `/metrics` and server-rendered pages. Every
//! query and rule is autotest-core's; this crate only translates them to HTTP.

mod api;
mod files;
mod pages;
mod retrieve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use autotest_core::store::Store;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use retrieve::probe_order;

/// What the server serves.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The results tree served under `/results/` (canonicalized by [`router`]).
    pub root: PathBuf,
    /// The lab database (`None`: results files only, as on a drone without database access).
    pub store: Option<Store>,
    /// Hosts asked, in order, for a job's file not here when the store does not know where it
    /// is: results_host, each drone, archive_host, localhost already left out
    /// ([`probe_order`]). `host` or `host:port` (port 8080 when not given).
    pub probe_hosts: Vec<String>,
    /// Whether API reads are answered without a token for clients not on loopback.
    pub public_reads: bool,
}

/// Errors of the web server, each answered with its status and a message saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The results root cannot be used.
    #[error("results directory {path}: {source} (give an existing directory)")]
    Root {
        /// The directory given.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A path that leaves the results root.
    #[error("{0} is outside the results directory")]
    Outside(String),
    /// Nothing at that path.
    #[error("{0}")]
    NotFound(String),
    /// A request the server refuses (bad filter, bad body).
    #[error("{0}")]
    BadRequest(String),
    /// A write without a token, or a read from afar without one.
    #[error("{0}")]
    Unauthorized(String),
    /// A token that is not one of ours.
    #[error("the token given is not known: make one with `autotest web token create <user>`")]
    Forbidden,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] autotest_core::store::StoreError),
    /// Reading a results file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file (relative to the root).
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serving on {addr}: {source}")]
    Serve {
        /// The listening address.
        addr: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        use autotest_core::store::StoreError;
        let status = match &self {
            WebError::Outside(_) => StatusCode::FORBIDDEN,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
            WebError::Store(StoreError::Invalid(_) | StoreError::BadValue { .. }) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({ "error": self.to_string() });
        (status, axum::Json(body)).into_response()
    }
}

pub(crate) struct State {
    pub(crate) config: WebConfig,
}

pub(crate) type Shared = Arc<State>;

impl State {
    pub(crate) fn store(&self) -> Result<&Store, WebError> {
        self.config.store.as_ref().ok_or_else(|| {
            WebError::NotFound(
                "this server has no lab database: start `autotest web` with --db".into(),
            )
        })
    }
}

/// The whole application. Needs `ConnectInfo<SocketAddr>` (given by [`serve`]) for the API's
/// loopback rule.
pub fn router(mut config: WebConfig) -> Result<Router, WebError> {
    config.root = config
        .root
        .canonicalize()
        .map_err(|source| WebError::Root {
            path: config.root.clone(),
            source,
        })?;
    let state: Shared = Arc::new(State { config });
    Ok(Router::new()
        .route("/", get(pages::index))
        .route("/results", get(files::root))
        .route("/results/", get(files::root))
        .route("/results/{*path}", get(files::serve))
        .route("/metrics", get(api::metrics))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/events", get(pages::events))
        .route("/hosts", get(pages::hosts))
        .route("/hosts/{name}", get(pages::host))
        .merge(api::routes())
        .with_state(state))
}

/// Serves `config` on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, config: WebConfig) -> Result<(), WebError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let app = router(config)?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|source| WebError::Serve { addr, source })
}

/// Escapes text for HTML.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
