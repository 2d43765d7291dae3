//! `/results/<path>`: files and listings of the results tree, confined to it. Files are
//! streamed in chunks (never read whole), with single byte ranges; `.gz` logs go out as
//! `Content-Encoding: gzip` to clients that accept it and decompressed on the fly otherwise.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::stream;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::{Shared, WebError, esc, retrieve};

const CHUNK: usize = 64 * 1024;

pub(crate) async fn root(State(s): State<Shared>, headers: HeaderMap) -> Response {
    answer(&s, String::new(), &headers).await
}

pub(crate) async fn serve(
    State(s): State<Shared>,
    UrlPath(path): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    answer(&s, path, &headers).await
}

async fn answer(s: &Shared, path: String, headers: &HeaderMap) -> Response {
    match local(s, &path, headers).await {
        Ok(Some(r)) => r,
        // Not here: a job's file may be on another host (retrieve_logs), unless this request is
        // itself another server's probe (answering it from elsewhere could loop).
        Ok(None) if headers.contains_key(retrieve::PROBE_HEADER) => {
            WebError::NotFound(format!("{path} is not in this results directory")).into_response()
        }
        Ok(None) => retrieve::elsewhere(s, &path).await.into_response(),
        Err(e) => e.into_response(),
    }
}

/// The relative path, refused when any part of it could leave the root.
fn relative(path: &str) -> Result<PathBuf, WebError> {
    let p = Path::new(path);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            _ => return Err(WebError::Outside(path.to_owned())),
        }
    }
    if path.contains('\0') {
        return Err(WebError::Outside(path.to_owned()));
    }
    Ok(out)
}

/// The file's real path if it exists under the root (symlinks resolved and checked).
fn confined(root: &Path, rel: &Path, shown: &str) -> Result<Option<PathBuf>, WebError> {
    match root.join(rel).canonicalize() {
        Ok(real) if real.starts_with(root) => Ok(Some(real)),
        Ok(_) => Err(WebError::Outside(shown.to_owned())),
        Err(_) => Ok(None),
    }
}

/// Answers from the local tree; `None` when the path is not there.
async fn local(s: &Shared, path: &str, headers: &HeaderMap) -> Result<Option<Response>, WebError> {
    let root = &s.config.root;
    let rel = relative(path)?;
    let real = match confined(root, &rel, path)? {
        Some(real) => real,
        None => {
            // `status.log` asked for and only `status.log.gz` kept (a compressed old job).
            let mut gz = rel.clone().into_os_string();
            gz.push(".gz");
            match confined(root, Path::new(&gz), path)? {
                Some(real) if real.is_file() => {
                    return gzip_file(real, path, headers).await.map(Some);
                }
                _ => return Ok(None),
            }
        }
    };
    if real.is_dir() {
        if !path.is_empty() && !path.ends_with('/') {
            return Ok(Some(
                Redirect::permanent(&format!("/results/{path}/")).into_response(),
            ));
        }
        return listing(&real, path).await.map(Some);
    }
    if real.extension().is_some_and(|e| e == "gz") {
        return gzip_file(real, path, headers).await.map(Some);
    }
    plain_file(real, path, headers).await.map(Some)
}

fn io(path: &str) -> impl FnOnce(std::io::Error) -> WebError + '_ {
    move |source| WebError::Io {
        path: path.to_owned(),
        source,
    }
}

async fn listing(dir: &Path, shown: &str) -> Result<Response, WebError> {
    let mut rd = tokio::fs::read_dir(dir).await.map_err(io(shown))?;
    let mut names = Vec::new();
    while let Some(e) = rd.next_entry().await.map_err(io(shown))? {
        let is_dir = e.file_type().await.map(|t| t.is_dir()).unwrap_or(false);
        let mut name = e.file_name().to_string_lossy().into_owned();
        if is_dir {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>/results/{0}</title></head><body><h1>/results/{0}</h1><ul>",
        esc(shown)
    );
    if !shown.is_empty() {
        html.push_str("<li><a href=\"../\">../</a></li>");
    }
    for n in &names {
        let href = percent_encoding::utf8_percent_encode(n, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
            .replace("%2F", "/")
            .replace("%2E", ".")
            .replace("%2D", "-")
            .replace("%5F", "_");
        html.push_str(&format!("<li><a href=\"{href}\">{}</a></li>", esc(n)));
    }
    html.push_str("</ul></body></html>");
    Ok(axum::response::Html(html).into_response())
}

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "xml" => "application/xml",
        "tgz" | "bz2" | "xz" | "tar" => "application/octet-stream",
        _ => "text/plain; charset=utf-8",
    }
}

/// A single `bytes=` range of a `len`-byte file: `Ok(None)` for none (or several: served whole),
/// `Err` when it cannot be satisfied.
fn byte_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = v.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
        }
        (a, "") => (a.parse().map_err(|_| ())?, len.checked_sub(1).ok_or(())?),
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| ())?, b.parse().map_err(|_| ())?);
            (a, b.min(len.saturating_sub(1)))
        }
    };
    if start > end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

async fn plain_file(real: PathBuf, shown: &str, headers: &HeaderMap) -> Result<Response, WebError> {
    let mut file = tokio::fs::File::open(&real).await.map_err(io(shown))?;
    let meta = file.metadata().await.map_err(io(shown))?;
    let len = meta.len();
    let mut resp = Response::builder()
        .header(header::CONTENT_TYPE, content_type(shown))
        .header(header::ACCEPT_RANGES, "bytes");
    if let Ok(m) = meta.modified() {
        resp = resp.header(header::LAST_MODIFIED, httpdate::fmt_http_date(m));
    }
    let (status, start, count) = match byte_range(headers, len) {
        Ok(None) => (StatusCode::OK, 0, len),
        Ok(Some((a, b))) => {
            resp = resp.header(header::CONTENT_RANGE, format!("bytes {a}-{b}/{len}"));
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        Err(()) => {
            return Ok(Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .body(Body::from(format!(
                    "{shown}: the range asked for is outside its {len} bytes\n"
                )))
                .unwrap_or_default());
        }
    };
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(io(shown))?;
    }
    let body = Body::from_stream(stream::unfold(
        (file.take(count), vec![0u8; CHUNK]),
        |(mut f, mut buf)| async move {
            match f.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => Some((Ok(axum::body::Bytes::copy_from_slice(&buf[..n])), (f, buf))),
                Err(e) => Some((Err(e), (f, buf))),
            }
        },
    ));
    Ok(resp
        .status(status)
        .header(header::CONTENT_LENGTH, count)
        .body(body)
        .unwrap_or_default())
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.split(';');
            let name = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name == "gzip" || name == "*") && !refused
        })
}

async fn gzip_file(real: PathBuf, shown: &str, headers: &HeaderMap) -> Result<Response, WebError> {
    let inner = shown.strip_suffix(".gz").unwrap_or(shown);
    let ctype = HeaderValue::from_static(content_type(inner));
    if accepts_gzip(headers) {
        // The client decompresses: the bytes go out as they are, streamed.
        let mut r = plain_file(real, shown, &HeaderMap::new()).await?;
        r.headers_mut().insert(header::CONTENT_TYPE, ctype);
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r.headers_mut().remove(header::ACCEPT_RANGES);
        return Ok(r);
    }
    // Decompressed on a blocking thread, chunk by chunk, into a small channel: the reader
    // waits while the client is slow, so memory stays at a few chunks.
    let file = std::fs::File::open(&real).map_err(io(shown))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<axum::body::Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let mut gz = flate2::read::MultiGzDecoder::new(file);
        let mut buf = vec![0u8; CHUNK];
        loop {
            match gz.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(axum::body::Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let body = Body::from_stream(stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, ctype)
        .header(header::VARY, "Accept-Encoding")
        .body(body)
        .unwrap_or_default())
}
