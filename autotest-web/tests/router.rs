//! Every route of `autotest web`, through the router, on a real results tree and a real SQLite
//! lab database; retrieve_logs against real servers on loopback ports.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use autotest_core::store::{ControlType, DbUrl, NewJob, Store};
use autotest_web::{WebConfig, router};
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use tower::ServiceExt;

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 40000);

struct Lab {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    store: Store,
}

/// A results tree with a parsed job (id 1, alice, on host h1) and a lab database.
async fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("results");
    std::fs::create_dir_all(&root).unwrap();
    let url = DbUrl::sqlite(dir.path().join("lab.db"), "test");
    let (store, _) = Store::migrate(&url).await.unwrap();
    store.create_host("h1").await.unwrap();
    store.create_host("h2").await.unwrap();
    let mut new = NewJob::new(
        "alice",
        "smoke",
        "job.run_test('sleeptest')\n",
        ControlType::Client,
    );
    new.hosts = vec!["h1".into()];
    let job = store.create_job(&new).await.unwrap();
    assert_eq!(job.id, 1);
    let jd = root.join("1-alice");
    std::fs::create_dir_all(jd.join("sleeptest/results")).unwrap();
    std::fs::write(
        jd.join("status.log"),
        "START\t----\t----\ttimestamp=1700000000\tlocaltime=Nov 14 22:13:20\t\n\
         \tSTART\tsleeptest\tsleeptest\ttimestamp=1700000000\tlocaltime=Nov 14 22:13:20\t\n\
         \t\tGOOD\tsleeptest\tsleeptest\ttimestamp=1700000001\tkernel=6.6.1\tlocaltime=Nov 14 22:13:21\tcompleted successfully\n\
         \tEND GOOD\tsleeptest\tsleeptest\ttimestamp=1700000001\tlocaltime=Nov 14 22:13:21\t\n\
         END GOOD\t----\t----\t\n",
    )
    .unwrap();
    std::fs::write(jd.join("keyval"), "user=alice\nlabel=smoke\nhostname=h1\n").unwrap();
    std::fs::write(jd.join("sleeptest/results/keyval"), "ops{perf}=10.5\n").unwrap();
    store.parse_results(&jd).await.unwrap();
    Lab {
        _dir: dir,
        root,
        store,
    }
}

fn config(lab: &Lab) -> WebConfig {
    WebConfig {
        root: lab.root.clone(),
        store: Some(lab.store.clone()),
        probe_hosts: Vec::new(),
        public_reads: false,
    }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (Response<Body>, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (Response::from_parts(parts, Body::empty()), bytes)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn app_at(cfg: WebConfig, peer: ([u8; 4], u16)) -> axum::Router {
    router(cfg)
        .unwrap()
        .layer(MockConnectInfo(SocketAddr::from(peer)))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test]
async fn results_files_listings_and_ranges() {
    let lab = lab().await;
    let app = app_at(config(&lab), LOOPBACK);
    let (r, b) = call(&app, get("/results/1-alice/keyval")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(text(&b), "user=alice\nlabel=smoke\nhostname=h1\n");
    assert_eq!(r.headers()[header::ACCEPT_RANGES], "bytes");

    let (r, b) = call(&app, get("/results/1-alice/")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = text(&b);
    assert!(
        html.contains("href=\"sleeptest/\"") && html.contains("href=\"status.log\""),
        "{html}"
    );

    let (r, _) = call(&app, get("/results/1-alice")).await;
    assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.headers()[header::LOCATION], "/results/1-alice/");

    let range = |v: &str| {
        Request::get("/results/1-alice/keyval")
            .header(header::RANGE, v)
            .body(Body::empty())
            .unwrap()
    };
    let (r, b) = call(&app, range("bytes=5-9")).await;
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(text(&b), "alice");
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes 5-9/35");
    let (r, b) = call(&app, range("bytes=-3")).await;
    assert_eq!(
        (r.status(), text(&b).as_str()),
        (StatusCode::PARTIAL_CONTENT, "h1\n")
    );
    let (r, b) = call(&app, range("bytes=31-")).await;
    assert_eq!(
        (r.status(), text(&b).as_str()),
        (StatusCode::PARTIAL_CONTENT, "=h1\n")
    );
    let (r, _) = call(&app, range("bytes=35-40")).await;
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */35");

    // HEAD answers without a body (what retrieve_logs' probes send).
    let (r, b) = call(
        &app,
        Request::head("/results/1-alice/keyval")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(b.is_empty());

    // A file bigger than a chunk comes out whole, in order.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(lab.root.join("1-alice/big.bin"), &big).unwrap();
    let (r, b) = call(&app, get("/results/1-alice/big.bin")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_LENGTH], "3000000");
    assert!(b == big);
}

#[tokio::test]
async fn results_paths_cannot_leave_the_root() {
    let lab = lab().await;
    std::fs::write(lab._dir.path().join("secret"), "s3cret").unwrap();
    std::os::unix::fs::symlink(lab._dir.path().join("secret"), lab.root.join("1-alice/out"))
        .unwrap();
    std::os::unix::fs::symlink(lab._dir.path(), lab.root.join("updir")).unwrap();
    // A link inside the root is fine.
    std::os::unix::fs::symlink(lab.root.join("1-alice/keyval"), lab.root.join("1-alice/in"))
        .unwrap();
    let app = app_at(config(&lab), LOOPBACK);
    for uri in [
        "/results/../secret",
        "/results/1-alice/../../secret",
        "/results/%2e%2e/secret",
        "/results/1-alice/%2E%2E/%2E%2E/secret",
        "/results/1-alice/out",
        "/results/updir/secret",
        "/results/updir/",
        "/results//etc/passwd",
    ] {
        let (r, b) = call(&app, get(uri)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}: {}", text(&b));
        assert!(!text(&b).contains("s3cret"), "{uri}");
        assert!(
            text(&b).contains("outside the results directory"),
            "{uri}: {}",
            text(&b)
        );
    }
    let (r, b) = call(&app, get("/results/1-alice/in")).await;
    assert_eq!(
        (r.status(), text(&b).starts_with("user=alice")),
        (StatusCode::OK, true)
    );
    let (r, b) = call(&app, get("/results/nosuchdir/x")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "{}", text(&b));
}

#[tokio::test]
async fn gz_logs_decoded_or_passed_as_content_encoding() {
    let lab = lab().await;
    let plain: String = (0..20000).map(|i| format!("line {i}\n")).collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(plain.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    std::fs::write(lab.root.join("1-alice/debug.log.gz"), &gz).unwrap();
    let app = app_at(config(&lab), LOOPBACK);
    for uri in [
        "/results/1-alice/debug.log",
        "/results/1-alice/debug.log.gz",
    ] {
        // A client that does not take gzip gets the text.
        let (r, b) = call(&app, get(uri)).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        assert!(r.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(text(&b), plain, "{uri}");
        // One that does gets the stored bytes, marked.
        let req = Request::get(uri)
            .header(header::ACCEPT_ENCODING, "br, gzip;q=0.8")
            .body(Body::empty())
            .unwrap();
        let (r, b) = call(&app, req).await;
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{uri}");
        assert!(
            r.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        assert!(b == gz, "{uri}");
        // gzip refused with q=0 means text.
        let req = Request::get(uri)
            .header(header::ACCEPT_ENCODING, "gzip;q=0")
            .body(Body::empty())
            .unwrap();
        let (_, b) = call(&app, req).await;
        assert_eq!(text(&b), plain);
    }
}

fn json(b: &[u8]) -> serde_json::Value {
    serde_json::from_slice(b).unwrap_or_else(|e| panic!("{e}: {}", text(b)))
}

#[tokio::test]
async fn api_reads_return_the_store_shapes() {
    let lab = lab().await;
    for i in 0..4 {
        let mut n = NewJob::new("bob", format!("b{i}"), "pass\n", ControlType::Server);
        n.hosts = vec!["h2".into()];
        lab.store.create_job(&n).await.unwrap();
    }
    let app = app_at(config(&lab), LOOPBACK);
    let (r, b) = call(&app, get("/api/jobs?owner=bob&limit=3")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v = json(&b);
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![5, 4, 3]);
    assert_eq!(v[0]["status_counts"]["Queued"], 1);
    let link = r.headers()[header::LINK].to_str().unwrap().to_owned();
    assert!(
        link.starts_with("</api/jobs?before=3&limit=3&owner=bob>"),
        "{link}"
    );
    let (r, b) = call(&app, get("/api/jobs?owner=bob&limit=3&before=3")).await;
    assert_eq!(json(&b).as_array().unwrap().len(), 1);
    assert!(r.headers().get(header::LINK).is_none());
    let (_, b) = call(&app, get("/api/jobs?status=Queued&name=smoke")).await;
    assert_eq!(json(&b)[0]["id"], 1);
    // The same shape the CLI's --json prints: the store's own types.
    let expected = serde_json::to_value(
        lab.store
            .job_page(&autotest_core::store::JobPage {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap(),
    )
    .unwrap();
    let (_, b) = call(&app, get("/api/jobs")).await;
    assert_eq!(json(&b), expected);

    let (r, b) = call(&app, get("/api/jobs/1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        json(&b),
        serde_json::to_value(lab.store.job_stat(1).await.unwrap()).unwrap()
    );
    let (_, b) = call(&app, get("/api/jobs/1/entries")).await;
    assert_eq!(json(&b)[0]["host"], "h1");
    let (r, b) = call(&app, get("/api/jobs/999")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND, "{}", text(&b));

    let (r, b) = call(&app, get("/api/jobs/1/results_location")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(text(&b).contains("not recorded"));
    lab.store
        .set_results_location(1, "drone1", "/r/1-alice")
        .await
        .unwrap();
    let (_, b) = call(&app, get("/api/jobs/1/results_location")).await;
    assert_eq!(
        json(&b),
        serde_json::json!({"host": "drone1", "path": "/r/1-alice"})
    );

    let (_, b) = call(&app, get("/api/hosts")).await;
    let v = json(&b);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["h1", "h2"]);
    let (_, b) = call(&app, get("/api/hosts?locked=true")).await;
    assert_eq!(json(&b), serde_json::json!([]));
    let (r, _) = call(&app, get("/api/hosts?status=Sleeping")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (_, b) = call(&app, get("/api/hosts/h1")).await;
    assert_eq!(json(&b)["hostname"], "h1");
    let (r, _) = call(&app, get("/api/hosts/nope")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    lab.store
        .create_label(&autotest_core::store::NewLabel::new("x86"))
        .await
        .unwrap();
    let (_, b) = call(&app, get("/api/labels")).await;
    assert_eq!(json(&b)[0]["name"], "x86");
    let (_, b) = call(&app, get("/api/results?job=1")).await;
    let v = json(&b);
    assert_eq!(v[0]["test"], "sleeptest");
    assert_eq!(v[0]["status"], "GOOD");
    assert_eq!(v[0]["perf"][0]["attribute"], "ops");

    let (r, b) = call(&app, get("/api/openapi.json")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let doc = json(&b);
    for p in [
        "/api/jobs",
        "/api/jobs/{id}",
        "/api/jobs/{id}/entries",
        "/api/jobs/{id}/results_location",
        "/api/jobs/{id}/abort",
        "/api/hosts",
        "/api/hosts/{name}",
        "/api/hosts/{name}/lock",
        "/api/hosts/{name}/unlock",
        "/api/labels",
        "/api/results",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} not described");
    }
}

#[tokio::test]
async fn api_reads_from_afar_need_a_token_unless_public() {
    let lab = lab().await;
    let far = ([10, 1, 2, 3], 5555);
    let app = app_at(config(&lab), far);
    let (r, b) = call(&app, get("/api/jobs")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(text(&b).contains("--public-reads"));
    let token = lab.store.create_api_token("carol").await.unwrap();
    let req = Request::get("/api/jobs")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, req).await.0.status(), StatusCode::OK);
    let mut cfg = config(&lab);
    cfg.public_reads = true;
    let app = app_at(cfg, far);
    assert_eq!(
        call(&app, get("/api/jobs")).await.0.status(),
        StatusCode::OK
    );
}

fn post(uri: &str, token: Option<&str>, body: &str) -> Request<Body> {
    let mut r = Request::post(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_owned())).unwrap()
}

#[tokio::test]
async fn api_writes_need_a_known_token() {
    let lab = lab().await;
    let app = app_at(config(&lab), LOOPBACK);
    let create =
        r#"{"name": "web job", "control_file": "job.run_test('sleeptest')\n", "hosts": ["h2"]}"#;
    for (uri, body) in [
        ("/api/jobs", create),
        ("/api/jobs/1/abort", ""),
        ("/api/hosts/h1/lock", ""),
        ("/api/hosts/h1/unlock", ""),
    ] {
        let (r, b) = call(&app, post(uri, None, body)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert!(
            text(&b).contains("autotest web token create"),
            "{uri}: {}",
            text(&b)
        );
        let (r, _) = call(&app, post(uri, Some("not-a-token"), body)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{uri}");
    }
    // Nothing was written.
    assert_eq!(lab.store.job_ids().await.unwrap(), vec![1]);
    assert!(!lab.store.host_named("h1").await.unwrap().locked);

    let token = lab.store.create_api_token("dave").await.unwrap();
    // Only the hash is kept.
    assert!(lab.store.token_user(&token).await.unwrap().is_some());
    let t = Some(token.as_str());
    let (r, b) = call(&app, post("/api/jobs", t, create)).await;
    assert_eq!(r.status(), StatusCode::CREATED, "{}", text(&b));
    let job = json(&b);
    assert_eq!(
        (job["owner"].as_str(), job["name"].as_str()),
        (Some("dave"), Some("web job"))
    );
    let (r, b) = call(&app, post("/api/jobs", t, r#"{"name": 3}"#)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(&b).contains("openapi"), "{}", text(&b));
    let (r, b) = call(&app, post("/api/hosts/h1/lock", t, "")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", text(&b));
    assert_eq!(json(&b)["locked_by"], "dave");
    let (r, _) = call(&app, post("/api/hosts/h1/unlock", t, "")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!lab.store.host_named("h1").await.unwrap().locked);
    let (r, b) = call(&app, post(&format!("/api/jobs/{}/abort", job["id"]), t, "")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", text(&b));
    assert_eq!(json(&b)["aborted_entries"], 1);
    let (r, _) = call(&app, post("/api/jobs/999/abort", t, "")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_counts_entries_hosts_and_outcomes() {
    let lab = lab().await;
    lab.store
        .set_results_location(1, "drone1", "/r")
        .await
        .unwrap();
    let e = lab.store.queue_entries(1).await.unwrap()[0].clone();
    let h1 = lab.store.host_named("h1").await.unwrap();
    lab.store.assign_entry(e.id, h1.id, "h1").await.unwrap();
    lab.store
        .set_entry_status(e.id, autotest_core::store::EntryStatus::Running, 1)
        .await
        .unwrap();
    let mut n = NewJob::new("bob", "q", "pass\n", ControlType::Server);
    n.hosts = vec!["h2".into()];
    lab.store.create_job(&n).await.unwrap();
    lab.store.lock_host("h2", "bob", 1).await.unwrap();
    let app = app_at(config(&lab), LOOPBACK);
    let (r, b) = call(&app, get("/metrics")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let m = text(&b);
    for line in [
        "autotest_entries_open{status=\"Running\"} 1",
        "autotest_entries_open{status=\"Queued\"} 1",
        "autotest_entries_active_per_drone{drone=\"drone1\"} 1",
        "autotest_hosts_locked 1",
        "# TYPE autotest_hosts gauge",
    ] {
        assert!(m.lines().any(|l| l == line), "{line} missing from\n{m}");
    }
}

#[tokio::test]
async fn pages_show_jobs_tests_and_hosts() {
    let lab = lab().await;
    let app = app_at(config(&lab), LOOPBACK);
    let (r, _) = call(&app, get("/")).await;
    assert_eq!(r.headers()[header::LOCATION], "/jobs");
    let (_, b) = call(&app, get("/jobs?owner=alice")).await;
    let html = text(&b);
    assert!(html.contains("<a href=\"/jobs/1\">smoke</a>"), "{html}");
    let (_, b) = call(&app, get("/jobs?owner=nobody")).await;
    assert!(!text(&b).contains("/jobs/1\""));
    let (r, b) = call(&app, get("/jobs/1")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = text(&b);
    assert!(html.contains("id=\"tests\""), "{html}");
    assert!(
        html.contains("<td>GOOD</td>") && html.contains("ops[1]=10.5"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/results/1-alice/sleeptest/\""),
        "{html}"
    );
    assert!(html.contains("job.run_test(&#39;sleeptest&#39;)"), "{html}");
    assert!(html.contains("END GOOD"), "{html}");
    let (r, _) = call(&app, get("/jobs/77")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, b) = call(&app, get("/hosts")).await;
    assert!(text(&b).contains("<a href=\"/hosts/h1\">h1</a>"));
    let (r, b) = call(&app, get("/hosts/h2")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(text(&b).contains("Host h2"));
}

/// Pages of jobs: the cursor walks a deep list without repeating or skipping.
#[tokio::test]
async fn job_pages_walk_by_cursor() {
    let lab = lab().await;
    for i in 0..25 {
        let mut n = NewJob::new("bob", format!("j{i}"), "pass\n", ControlType::Server);
        n.hosts = vec!["h2".into()];
        lab.store.create_job(&n).await.unwrap();
    }
    let app = app_at(config(&lab), LOOPBACK);
    let mut seen = Vec::new();
    let mut uri = "/jobs?limit=10".to_owned();
    loop {
        let (_, b) = call(&app, get(&uri)).await;
        let html = text(&b);
        for part in html.split("<tr><td><a href=\"/jobs/").skip(1) {
            seen.push(part.split('"').next().unwrap().parse::<i64>().unwrap());
        }
        match html.split("id=\"older\" href=\"").nth(1) {
            Some(rest) => uri = rest.split('"').next().unwrap().replace("&amp;", "&"),
            None => break,
        }
    }
    assert_eq!(seen, (1..=26).rev().collect::<Vec<i64>>());
}

/// A running job's status.log followed as Server-Sent Events: what is there, then what is
/// appended, then `end` once the job completes.
#[tokio::test]
async fn status_log_followed_live() {
    let lab = lab().await;
    let app = app_at(config(&lab), LOOPBACK);
    let resp = app.clone().oneshot(get("/jobs/1/events")).await.unwrap();
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = resp.into_body().into_data_stream();
    use futures_util::StreamExt;
    let mut got = String::new();
    while !got.contains("END GOOD\t----") {
        got.push_str(&text(&body.next().await.unwrap().unwrap()));
    }
    assert!(got.starts_with("data: START\t----"), "{got}");
    let log = lab.root.join("1-alice/status.log");
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(b"INFO\t----\t----\tappended later\n").unwrap();
    while !got.contains("appended later") {
        got.push_str(&text(&body.next().await.unwrap().unwrap()));
    }
    let e = lab.store.queue_entries(1).await.unwrap()[0].clone();
    lab.store
        .set_entry_status(e.id, autotest_core::store::EntryStatus::Completed, 2)
        .await
        .unwrap();
    while let Some(chunk) = body.next().await {
        got.push_str(&text(&chunk.unwrap()));
    }
    assert!(got.contains("event: end"), "{got}");
}

/// Serves `root` on a loopback port of its own, as `autotest web` does.
async fn server(root: &Path, store: Option<Store>, probe: Vec<String>) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let cfg = WebConfig {
        root: root.to_owned(),
        store,
        probe_hosts: probe,
        public_reads: false,
    };
    tokio::spawn(autotest_web::serve(l, cfg));
    addr
}

async fn http_get(addr: &str, path: &str) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let code = out[9..12].parse().unwrap();
    let location = out
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or("")
        .to_owned();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (code, location, body)
}

/// retrieve_logs' legacy order: results host, a drone, the archive host, each its own server;
/// the file only on the last; the front server redirects there. Then the store's location wins.
#[tokio::test]
async fn retrieve_logs_asks_hosts_in_order_and_redirects() {
    let lab = lab().await;
    let trees: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let job2 = "2-bob/h2";
    std::fs::create_dir_all(trees[2].path().join(job2)).unwrap();
    std::fs::write(
        trees[2].path().join(job2).join("status.log"),
        "from the archive\n",
    )
    .unwrap();
    let mut hosts = Vec::new();
    for t in &trees {
        hosts.push(server(t.path(), None, Vec::new()).await);
    }
    let sched = {
        let mut c = autotest_core::config::SchedulerConfig::default();
        c.results_host = hosts[0].clone();
        c.drones = vec!["localhost".into(), hosts[1].clone()];
        c.archive_host = Some(hosts[2].clone());
        c
    };
    let order = autotest_web::probe_order(&sched);
    assert_eq!(order, hosts);
    let front = server(&lab.root, Some(lab.store.clone()), order).await;
    let (code, loc, _) = http_get(&front, "/results/2-bob/h2/status.log").await;
    assert_eq!(code, 307);
    assert_eq!(
        loc,
        format!("http://{}/results/2-bob/h2/status.log", hosts[2])
    );
    let (code, _, body) = http_get(&hosts[2], "/results/2-bob/h2/status.log").await;
    assert_eq!((code, body.as_str()), (200, "from the archive\n"));

    let (code, _, body) = http_get(&front, "/results/2-bob/h2/nothing.log").await;
    assert_eq!(code, 404);
    for h in &hosts {
        assert!(body.contains(h.as_str()), "{h} not named in {body}");
    }
    // A host asked by another server answers from its own tree only (no probe loops).
    let (code, _, _) = http_get(&hosts[0], "/results/2-bob/h2/status.log").await;
    assert_eq!(code, 404);

    // The store knows where job 1's results went: no probing, straight there.
    lab.store
        .set_results_location(1, &hosts[1], "/r/1-alice")
        .await
        .unwrap();
    let (code, loc, _) = http_get(&front, "/results/1-alice/elsewhere.log").await;
    assert_eq!(
        (code, loc),
        (
            307,
            format!("http://{}/results/1-alice/elsewhere.log", hosts[1])
        )
    );
}
