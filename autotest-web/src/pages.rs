//! Server-rendered pages: plain HTML forms and links (usable without JavaScript); the job page's
//! live status log is the one script, following Server-Sent Events.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use autotest_core::store::{HostFilter, ResultFilter, format_utc};
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use futures_util::stream::{self, Stream};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::api::JobQuery;
use crate::{Shared, WebError, esc};

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t} - autotest</title>\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:2px 6px;text-align:left}}pre{{background:#f6f6f6;padding:4px}}</style>\
         </head><body><nav><a href=\"/jobs\">Jobs</a> | <a href=\"/hosts\">Hosts</a> | \
         <a href=\"/results/\">Results</a></nav><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    ))
}

pub(crate) async fn index() -> Redirect {
    Redirect::to("/jobs")
}

fn when(t: Option<i64>) -> String {
    t.map(format_utc).unwrap_or_default()
}

pub(crate) async fn jobs(
    State(s): State<Shared>,
    Query(q): Query<JobQuery>,
) -> Result<Response, WebError> {
    let store = s.store()?;
    let p = q.page();
    let jobs = store.job_page(&p).await?;
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let mut b = format!(
        "<form method=\"get\" action=\"/jobs\">Owner <input name=\"owner\" value=\"{}\"> \
         Name <input name=\"name\" value=\"{}\"> Status <input name=\"status\" value=\"{}\"> \
         <button type=\"submit\">Filter</button></form>\
         <table id=\"jobs\"><tr><th>Id</th><th>Owner</th><th>Name</th><th>Created</th><th>Entries</th></tr>",
        v(&p.owner),
        v(&p.name),
        v(&p.status)
    );
    for j in &jobs {
        let counts: Vec<String> = j
            .status_counts
            .iter()
            .map(|(k, n)| format!("{}: {n}", esc(k)))
            .collect();
        let _ = write!(
            b,
            "<tr><td><a href=\"/jobs/{id}\">{id}</a></td><td>{}</td><td><a href=\"/jobs/{id}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            esc(&j.owner),
            esc(&j.name),
            format_utc(j.created_on),
            counts.join(", "),
            id = j.id
        );
    }
    b.push_str("</table>");
    if jobs.len() as i64 == p.limit.clamp(1, 1000)
        && let Some(last) = jobs.last()
    {
        let enc = |o: &Option<String>| {
            percent_encoding::utf8_percent_encode(
                o.as_deref().unwrap_or(""),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string()
        };
        let _ = write!(
            b,
            "<p><a id=\"older\" href=\"/jobs?before={}&amp;limit={}&amp;owner={}&amp;name={}&amp;status={}\">Older jobs</a></p>",
            last.id,
            p.limit,
            enc(&p.owner),
            enc(&p.name),
            enc(&p.status)
        );
    }
    Ok(page("Jobs", &b).into_response())
}

/// Where a job's `status.log` is: the job's directory, else its first host's.
fn status_log(s: &Shared, dir: &str) -> Option<PathBuf> {
    let jobdir = s.config.root.join(dir);
    let top = jobdir.join("status.log");
    if top.is_file() {
        return Some(top);
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(&jobdir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("status.log")))
        .filter(|p| p.is_file())
        .collect();
    subs.sort();
    subs.into_iter().next()
}

pub(crate) async fn job(
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let store = s.store()?;
    let stat = store.job_stat(id).await?;
    let job = &stat.job;
    let dir = format!("{}-{}", job.id, job.owner);
    let mut b = format!(
        "<p>Owner {} · created {} · <a href=\"/results/{}/\">all logs</a></p><h2>Entries</h2>\
         <table id=\"entries\"><tr><th>Host</th><th>Status</th><th>Started</th><th>Finished</th><th>Logs</th></tr>",
        esc(&job.owner),
        format_utc(job.created_on),
        esc(&dir)
    );
    for e in &stat.entries {
        let host = e
            .host
            .clone()
            .or_else(|| e.meta_host_label.as_ref().map(|l| format!("any {l}")))
            .unwrap_or_default();
        let sub = &e.entry.execution_subdir;
        let logs = if sub.is_empty() {
            String::new()
        } else {
            format!(
                "<a href=\"/results/{}/{}/\">{}</a>",
                esc(&dir),
                esc(sub),
                esc(sub)
            )
        };
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{logs}</td></tr>",
            esc(&host),
            esc(e.entry.status.as_str()),
            when(e.entry.started_on),
            when(e.entry.finished_on)
        );
    }
    b.push_str("</table><h2>Tests</h2><table id=\"tests\"><tr><th>Test</th><th>Status</th><th>Reason</th><th>Kernel</th><th>Machine</th><th>Perf keyvals</th></tr>");
    let tests = store
        .test_results(&ResultFilter {
            job: Some(id),
            limit: 0,
            ..ResultFilter::default()
        })
        .await?;
    for t in &tests {
        let perf: Vec<String> = t
            .perf
            .iter()
            .map(|p| format!("{}[{}]={}", esc(&p.attribute), p.iteration, p.value))
            .collect();
        let name = if t.test.subdir.is_empty() {
            esc(&t.test.test)
        } else {
            format!(
                "<a href=\"/results/{}/{}/\">{}</a>",
                esc(&dir),
                esc(&t.test.subdir),
                esc(&t.test.test)
            )
        };
        let _ = write!(
            b,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.test.status),
            esc(&t.test.reason),
            esc(t.test.kernel.as_deref().unwrap_or("")),
            esc(&t.test.machine),
            perf.join(" ")
        );
    }
    b.push_str("</table>");
    let complete = stat.entries.iter().all(|e| e.entry.complete);
    if let Some(log) = status_log(&s, &dir) {
        let rel = log
            .strip_prefix(&s.config.root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = tokio::fs::read_to_string(&log).await.unwrap_or_default();
        // Without JavaScript the page shows the log as it was; with it, the lines that come.
        let _ = write!(
            b,
            "<h2>status.log <a href=\"/results/{}\">(raw)</a></h2><pre id=\"status\">{}</pre>",
            esc(&rel),
            esc(&text)
        );
        if !complete {
            let _ = write!(
                b,
                "<script>var p=document.getElementById('status');p.textContent='';\
                 var es=new EventSource('/jobs/{id}/events');\
                 es.onmessage=function(m){{p.textContent+=m.data+'\\n';}};\
                 es.addEventListener('end',function(){{es.close();}});</script>"
            );
        }
    }
    let _ = write!(
        b,
        "<h2>Control file</h2><pre id=\"control\">{}</pre>",
        esc(&job.control_file)
    );
    Ok(page(&format!("Job {id}: {}", job.name), &b).into_response())
}

/// Follows a job's `status.log` from its start: one event per line as lines arrive, `end` once
/// the job is complete and the log has no more.
pub(crate) async fn events(
    State(s): State<Shared>,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let store = s.store()?.clone();
    let job = store.job(id).await?;
    let dir = format!("{}-{}", job.id, job.owner);
    struct Follow {
        s: Shared,
        store: autotest_core::store::Store,
        id: i64,
        dir: String,
        file: Option<tokio::fs::File>,
        pending: Vec<u8>,
        lines: std::collections::VecDeque<String>,
        done: bool,
    }
    let f = Follow {
        s,
        store,
        id,
        dir,
        file: None,
        pending: Vec::new(),
        lines: Default::default(),
        done: false,
    };
    let st = stream::unfold(f, |mut f| async move {
        loop {
            if let Some(line) = f.lines.pop_front() {
                return Some((Ok(Event::default().data(line)), f));
            }
            if f.done {
                return None;
            }
            if f.file.is_none()
                && let Some(p) = status_log(&f.s, &f.dir)
            {
                f.file = tokio::fs::File::open(p).await.ok();
            }
            let mut got = 0;
            if let Some(file) = f.file.as_mut() {
                let mut buf = vec![0u8; 64 * 1024];
                if let Ok(n) = file.read(&mut buf).await {
                    got = n;
                    f.pending.extend_from_slice(&buf[..n]);
                }
                let _ = file.stream_position().await;
            }
            while let Some(nl) = f.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = f.pending.drain(..=nl).collect();
                f.lines
                    .push_back(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned());
            }
            if got == 0 && f.lines.is_empty() {
                let complete = match f.store.queue_entries(f.id).await {
                    Ok(es) => es.iter().all(|e| e.complete),
                    Err(_) => true,
                };
                if complete {
                    f.done = true;
                    return Some((Ok(Event::default().event("end").data("")), f));
                }
                // A log has no change notification here that works on every filesystem
                // (results may be on NFS): poll it.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    });
    Ok(Sse::new(st))
}

pub(crate) async fn hosts(State(s): State<Shared>) -> Result<Response, WebError> {
    let store = s.store()?;
    let hosts = store.host_list(&HostFilter::default()).await?;
    let mut b = String::from(
        "<table id=\"hosts\"><tr><th>Host</th><th>Status</th><th>Locked</th><th>Platform</th><th>Labels</th></tr>",
    );
    for h in &hosts {
        let _ = write!(
            b,
            "<tr><td><a href=\"/hosts/{n}\">{n}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(h.host.status.as_str()),
            if h.host.locked { "yes" } else { "no" },
            esc(h.platform.as_deref().unwrap_or("")),
            esc(&h.labels.join(", ")),
            n = esc(&h.host.hostname)
        );
    }
    b.push_str("</table>");
    Ok(page("Hosts", &b).into_response())
}

pub(crate) async fn host(
    State(s): State<Shared>,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let store = s.store()?;
    let d = store.host_details(&name).await?;
    let labels: Vec<&str> = d.labels.iter().map(|l| l.name.as_str()).collect();
    let mut b = format!(
        "<p>Status {} · locked {} · labels {}</p><h2>Recent special tasks</h2>\
         <table id=\"tasks\"><tr><th>Task</th><th>Requested</th><th>Finished</th><th>Success</th></tr>",
        esc(d.host.status.as_str()),
        if d.host.locked {
            format!("by {}", esc(d.host.locked_by.as_deref().unwrap_or("?")))
        } else {
            "no".to_owned()
        },
        esc(&labels.join(", "))
    );
    for t in &d.recent_tasks {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(t.task.as_str()),
            format_utc(t.time_requested),
            when(t.time_finished),
            if t.is_complete {
                if t.success { "yes" } else { "no" }
            } else {
                ""
            }
        );
    }
    b.push_str("</table>");
    Ok(page(&format!("Host {name}"), &b).into_response())
}
