//! The REST API under `/api/` (shapes: the store's Serialize types, as `--json` prints them),
//! its OpenAPI description, and `/metrics`.

use std::fmt::Write as _;
use std::net::SocketAddr;

use autotest_core::store::{
    ControlType, HostFilter, HostStatus, JobPage, NewJob, ResultFilter, Store,
};
use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::{Shared, WebError};

pub(crate) fn routes() -> axum::Router<Shared> {
    axum::Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/api/jobs", get(list_jobs).post(create_job))
        .route("/api/jobs/{id}", get(job_stat))
        .route("/api/jobs/{id}/entries", get(job_entries))
        .route("/api/jobs/{id}/results_location", get(results_location))
        .route("/api/jobs/{id}/abort", post(abort_job))
        .route("/api/hosts", get(hosts))
        .route("/api/hosts/{name}", get(host))
        .route("/api/hosts/{name}/lock", post(lock_host))
        .route("/api/hosts/{name}/unlock", post(unlock_host))
        .route("/api/labels", get(labels))
        .route("/api/results", get(results))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
        .into_response()
}

/// The client's address, when the server was started with it ([`crate::serve`] does).
pub(crate) struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Peer, Self::Rejection> {
        // ConnectInfo's own extractor (it also takes the tests' MockConnectInfo); none means a
        // server started without addresses: treated as not loopback.
        Ok(Peer(
            ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
                .await
                .ok()
                .map(|ConnectInfo(a)| a),
        ))
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The user a write is made as: a valid token is required.
async fn writer(s: &Shared, headers: &HeaderMap) -> Result<String, WebError> {
    let store = s.store()?;
    let token = bearer(headers).ok_or_else(|| {
        WebError::Unauthorized(
            "writes need a token: send `Authorization: Bearer <token>` (make one with `autotest web token create <user>`)"
                .into(),
        )
    })?;
    Ok(store
        .token_user(token)
        .await?
        .ok_or(WebError::Forbidden)?
        .user)
}

/// Reads are open to loopback clients, and to everyone with `--public-reads`; others need a
/// token.
async fn reader<'a>(s: &'a Shared, peer: Peer, headers: &HeaderMap) -> Result<&'a Store, WebError> {
    let store = s.store()?;
    let near = peer.0.is_some_and(|a| a.ip().is_loopback());
    if near || s.config.public_reads {
        return Ok(store);
    }
    let token = bearer(headers).ok_or_else(|| {
        WebError::Unauthorized(
            "reads from other machines need a token (`Authorization: Bearer <token>`), or start the server with --public-reads"
                .into(),
        )
    })?;
    store.token_user(token).await?.ok_or(WebError::Forbidden)?;
    Ok(store)
}

#[derive(Deserialize, Default)]
pub(crate) struct JobQuery {
    owner: Option<String>,
    name: Option<String>,
    status: Option<String>,
    before: Option<i64>,
    limit: Option<i64>,
}

impl JobQuery {
    pub(crate) fn page(&self) -> JobPage {
        let blank = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        JobPage {
            owner: blank(&self.owner),
            name: blank(&self.name),
            status: blank(&self.status),
            before: self.before,
            limit: self.limit.unwrap_or(50),
        }
    }
}

async fn list_jobs(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<JobQuery>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    let page = q.page();
    let jobs = store.job_page(&page).await?;
    let mut r = Json(&jobs).into_response();
    // The next page is the jobs below the last one shown (a cursor, not an offset).
    if jobs.len() as i64 == page.limit.clamp(1, 1000)
        && let Some(last) = jobs.last()
    {
        let mut link = format!("</api/jobs?before={}&limit={}", last.id, page.limit);
        for (k, v) in [
            ("owner", &page.owner),
            ("name", &page.name),
            ("status", &page.status),
        ] {
            if let Some(v) = v {
                let _ = write!(
                    link,
                    "&{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                );
            }
        }
        link.push_str(">; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(r)
}

async fn job_stat(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    Ok(Json(store.job_stat(id).await?).into_response())
}

async fn job_entries(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    Ok(Json(store.job_stat(id).await?.entries).into_response())
}

async fn results_location(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    store.job(id).await?;
    match store.results_location(id).await? {
        Some(loc) => Ok(Json(loc).into_response()),
        None => Err(WebError::NotFound(format!(
            "job {id}: where its results are is not recorded (ask /results/<jobid>-<owner>/, which probes the configured hosts)"
        ))),
    }
}

#[derive(Deserialize, Default)]
struct HostQuery {
    label: Option<String>,
    status: Option<String>,
    locked: Option<bool>,
}

async fn hosts(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<HostQuery>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    let filter = HostFilter {
        label: q.label,
        status: q.status.as_deref().map(HostStatus::parse).transpose()?,
        locked: q.locked,
    };
    Ok(Json(store.host_list(&filter).await?).into_response())
}

async fn host(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    Ok(Json(store.host_details(&name).await?).into_response())
}

async fn labels(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    Ok(Json(store.label_list().await?).into_response())
}

#[derive(Deserialize, Default)]
struct ResultQuery {
    job: Option<i64>,
    test: Option<String>,
    kernel: Option<String>,
    status: Option<String>,
    machine: Option<String>,
    limit: Option<i64>,
}

async fn results(
    State(s): State<Shared>,
    peer: Peer,
    headers: HeaderMap,
    Query(q): Query<ResultQuery>,
) -> Result<Response, WebError> {
    let store = reader(&s, peer, &headers).await?;
    let f = ResultFilter {
        job: q.job,
        test: q.test,
        kernel: q.kernel,
        status: q.status,
        machine: q.machine,
        limit: q.limit.unwrap_or(100).clamp(1, 10_000),
    };
    Ok(Json(store.test_results(&f).await?).into_response())
}

/// The body of `POST /api/jobs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateJob {
    name: String,
    control_file: String,
    #[serde(default)]
    control_type: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    meta_hosts: Vec<String>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    synch_count: Option<i64>,
}

async fn create_job(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, WebError> {
    let user = writer(&s, &headers).await?;
    let c: CreateJob = serde_json::from_slice(&body).map_err(|e| {
        WebError::BadRequest(format!(
            "POST /api/jobs: the body is not a job ({e}); send {{\"name\", \"control_file\", \"hosts\": [..]}} (see /api/openapi.json)"
        ))
    })?;
    let ct = match c.control_type.as_deref() {
        None => ControlType::Client,
        Some(t) => ControlType::parse(t)?,
    };
    let mut new = NewJob::new(user, c.name, c.control_file, ct);
    new.hosts = c.hosts;
    new.meta_hosts = c.meta_hosts;
    if let Some(p) = c.priority {
        new.priority = p;
    }
    if let Some(n) = c.synch_count {
        new.synch_count = n;
    }
    let store = s.store()?;
    let job = store.create_job(&new).await?;
    Ok((axum::http::StatusCode::CREATED, Json(job)).into_response())
}

async fn abort_job(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let user = writer(&s, &headers).await?;
    let store = s.store()?;
    store.job(id).await?;
    let n = store.abort_job(id, &user, now()).await?;
    Ok(Json(serde_json::json!({ "job": id, "aborted_entries": n })).into_response())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

async fn lock_host(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let user = writer(&s, &headers).await?;
    Ok(Json(s.store()?.lock_host(&name, &user, now()).await?).into_response())
}

async fn unlock_host(
    State(s): State<Shared>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    writer(&s, &headers).await?;
    Ok(Json(s.store()?.unlock_host(&name).await?).into_response())
}

fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `/metrics`: the lab's counts in Prometheus' text format. (The scheduler's pass time and
/// pickup latency histograms need the scheduler to record them: not yet.)
pub(crate) async fn metrics(State(s): State<Shared>) -> Result<Response, WebError> {
    let m = s.store()?.lab_metrics().await?;
    let mut out = String::new();
    let mut family =
        |name: &str, help: &str, label: &str, rows: &std::collections::BTreeMap<String, i64>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (k, v) in rows {
                let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {v}", label_value(k));
            }
        };
    family(
        "autotest_entries_open",
        "Host queue entries not complete, by status.",
        "status",
        &m.open_entries,
    );
    family(
        "autotest_entries_active_per_drone",
        "Active host queue entries by the drone holding their job's results.",
        "drone",
        &m.active_entries_per_drone,
    );
    family("autotest_hosts", "Hosts by status.", "status", &m.hosts);
    family(
        "autotest_entries_finished",
        "Complete host queue entries by final status (job outcomes).",
        "status",
        &m.finished_entries,
    );
    let _ = writeln!(
        out,
        "# HELP autotest_hosts_locked Locked hosts.\n# TYPE autotest_hosts_locked gauge\nautotest_hosts_locked {}",
        m.locked_hosts
    );
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}
