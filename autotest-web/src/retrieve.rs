//! retrieve_logs (FORMATS §10): a job's file that is not in this results tree is looked up where
//! the store says the job's results are; when it does not know, each host of the legacy order is
//! asked (HEAD on its `/results/<path>`) and the client is redirected to the first that has it.

use std::time::Duration;

use autotest_core::config::SchedulerConfig;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Shared, WebError};

/// Marks a request as another server's probe: answered from the local tree only.
pub(crate) const PROBE_HEADER: &str = "x-autotest-probe";

/// How long one host may take to answer a probe before the next is asked.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The legacy order of hosts to ask: results_host, each drone in config order, archive_host,
/// leaving out `localhost` (this machine) and repeats.
pub fn probe_order(config: &SchedulerConfig) -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    let all = std::iter::once(&config.results_host)
        .chain(config.drones.iter())
        .chain(config.archive_host.iter());
    for h in all {
        let h = h.trim();
        if h.is_empty() || h.eq_ignore_ascii_case("localhost") || hosts.iter().any(|x| x == h) {
            continue;
        }
        hosts.push(h.to_owned());
    }
    hosts
}

/// `host` or `host:port` as a socket address text (our default port when none is given).
fn with_port(host: &str) -> String {
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:8080")
    }
}

fn url_path(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!(
        "/results/{}",
        percent_encoding::utf8_percent_encode(path, KEEP)
    )
}

/// The job id of a `<jobid>-<owner>/...` path.
fn job_of(path: &str) -> Option<i64> {
    let first = path.split('/').next()?;
    let (id, owner) = first.split_once('-')?;
    if owner.is_empty() {
        return None;
    }
    id.parse().ok()
}

/// Whether `host` has the file: a HEAD with the probe mark, 2xx meaning yes.
async fn has_file(host: &str, path: &str) -> bool {
    let addr = with_port(host);
    let req = format!(
        "HEAD {} HTTP/1.1\r\nHost: {addr}\r\n{PROBE_HEADER}: 1\r\nConnection: close\r\n\r\n",
        url_path(path)
    );
    let ask = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await.ok()?;
        s.write_all(req.as_bytes()).await.ok()?;
        let mut head = [0u8; 32];
        let mut got = 0;
        while got < 12 {
            let n = s.read(&mut head[got..]).await.ok()?;
            if n == 0 {
                break;
            }
            got += n;
        }
        let line = std::str::from_utf8(&head[..got]).ok()?;
        let code: u16 = line.split(' ').nth(1)?.get(..3)?.parse().ok()?;
        Some((200..300).contains(&code))
    };
    matches!(
        tokio::time::timeout(PROBE_TIMEOUT, ask).await,
        Ok(Some(true))
    )
}

fn redirect(host: &str, path: &str) -> Response {
    Redirect::temporary(&format!("http://{}{}", with_port(host), url_path(path))).into_response()
}

/// Answers a path not found in the local tree.
pub(crate) async fn elsewhere(s: &Shared, path: &str) -> Response {
    let here =
        || WebError::NotFound(format!("{path} is not in this results directory")).into_response();
    let Some(job) = job_of(path) else {
        return here();
    };
    // The common case: the store recorded where the job's results went.
    if let Some(store) = &s.config.store {
        match store.results_location(job).await {
            Ok(Some(loc)) if !loc.host.eq_ignore_ascii_case("localhost") => {
                return redirect(&loc.host, path);
            }
            Ok(Some(_)) => return here(),
            Ok(None) => {}
            Err(e) => return WebError::Store(e).into_response(),
        }
    }
    let hosts = &s.config.probe_hosts;
    for h in hosts {
        if has_file(h, path).await {
            return redirect(h, path);
        }
    }
    let tried = if hosts.is_empty() {
        "no other host is configured (results_host, drones and archive_host are all localhost)"
            .to_owned()
    } else {
        format!("asked {}, none has it", hosts.join(", "))
    };
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "error": format!("{path}: not in this results directory, and {tried}"),
            "hosts_tried": hosts,
        })),
    )
        .into_response()
}
