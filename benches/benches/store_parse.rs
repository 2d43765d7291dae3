//! Benchmark (a) of the lab database: tests stored per second for a 1,000-test job with
//! iteration perf keyvals, by `Store::parse_results` (read, parse, store in one transaction) and
//! by the `autotest parse` process, into SQLite and into a real PostgreSQL, beside the anchor in
//! the same run: the legacy-style Python parse of the same status log alone
//! (benches/legacy_parse.py). Medians of N runs, each into a new database.
//!
//! `cargo bench -p autotest-benches --bench store_parse` (release build; the CLI timed is
//! `$AUTOTEST_BIN`, else target/release/autotest). `BENCH_RUNS` (5) and `BENCH_TESTS` (1000)
//! change the size.

#![allow(clippy::print_stdout)] // a benchmark's report

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use autotest_core::store::{DbUrl, Store};
use autotest_testlab::postgres::PgServer;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Times `Store::parse_results` of `job` into new databases made by `new_db`: the first parse
/// and a reparse (which replaces the rows), `runs` times each.
fn core_runs(
    rt: &tokio::runtime::Runtime,
    runs: usize,
    tests: usize,
    job: &Path,
    mut new_db: impl FnMut(usize) -> DbUrl,
) -> (Duration, Duration) {
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let url = new_db(i);
        rt.block_on(async {
            let (s, _) = Store::migrate(&url).await.unwrap();
            let t0 = Instant::now();
            let r = s.parse_results(job).await.unwrap();
            first.push(t0.elapsed());
            assert_eq!(r.jobs[0].tests, tests, "{:?}", r.problems);
            let t0 = Instant::now();
            s.parse_results(job).await.unwrap();
            again.push(t0.elapsed());
            assert_eq!(s.tko_row_counts().await.unwrap().tests, tests as i64);
            s.close().await;
        });
    }
    (median(first), median(again))
}

/// Times the `autotest parse` process into new databases (migrated beforehand, not timed).
fn cli_runs(
    bin: &Path,
    runs: usize,
    job: &Path,
    mut new_db: impl FnMut(usize) -> String,
) -> Duration {
    let mut times = Vec::new();
    for i in 0..runs {
        let db = new_db(i);
        let ok = |c: &mut Command| {
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ok(Command::new(bin).args(["db", "migrate", "--db", &db]));
        let t0 = Instant::now();
        ok(Command::new(bin).args(["parse", "--db", &db]).arg(job));
        times.push(t0.elapsed());
    }
    median(times)
}

fn main() {
    let runs = env_usize("BENCH_RUNS", 5);
    let tests = env_usize("BENCH_TESTS", 1000);
    let benches = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = std::env::var_os("AUTOTEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| benches.join("../target/release/autotest"));
    assert!(
        bin.exists(),
        "{} missing: cargo build --release -p autotest-cli, or set AUTOTEST_BIN",
        bin.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let job = dir.path().join("1-bench");
    let out = Command::new("python3")
        .arg(benches.join("gen_results.py"))
        .arg(&job)
        .arg(tests.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = job.join("status.log");
    let log_bytes = std::fs::metadata(&log).unwrap().len();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // The anchor first, in the same run.
    let out = Command::new("python3")
        .arg(benches.join("legacy_parse.py"))
        .arg(&log)
        .arg(runs.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let secs: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("median_seconds="))
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected legacy_parse.py output: {text}"));
    let anchor = Duration::from_secs_f64(secs);

    let sqlite_file = |i: usize| dir.path().join(format!("lab-{i}.db"));
    let (sq_first, sq_again) = core_runs(&rt, runs, tests, &job, |i| {
        DbUrl::sqlite(sqlite_file(i), "bench")
    });
    let sq_cli = cli_runs(&bin, runs, &job, |i| {
        format!(
            "sqlite:{}",
            dir.path().join(format!("cli-{i}.db")).display()
        )
    });
    let pg = PgServer::start().expect("PostgreSQL is needed for this benchmark");
    let (pg_first, pg_again) = core_runs(&rt, runs, tests, &job, |i| {
        DbUrl::parse(&pg.create_database(&format!("core{i}")), "bench").unwrap()
    });
    let pg_cli = cli_runs(&bin, runs, &job, |i| pg.create_database(&format!("cli{i}")));

    let rate = |d: Duration| tests as f64 / d.as_secs_f64();
    println!(
        "{tests} tests of 3 iterations of 8 perf and 1 attr keyvals (gen_results.py), status.log {:.1} KiB, median of {runs} runs",
        log_bytes as f64 / 1024.0
    );
    println!("| what | median | tests/s | vs. anchor |");
    println!("|---|---|---|---|");
    let row = |what: &str, d: Duration| {
        println!(
            "| {what} | {:.1} ms | {:.0} | {:.2} |",
            d.as_secs_f64() * 1e3,
            rate(d),
            rate(d) / rate(anchor)
        );
    };
    row(
        "anchor: legacy-style Python parse of the status log alone",
        anchor,
    );
    row("`Store::parse_results`, SQLite, first parse", sq_first);
    row(
        "`Store::parse_results`, SQLite, reparse (rows replaced)",
        sq_again,
    );
    row("`autotest parse` process, SQLite", sq_cli);
    row("`Store::parse_results`, PostgreSQL, first parse", pg_first);
    row(
        "`Store::parse_results`, PostgreSQL, reparse (rows replaced)",
        pg_again,
    );
    row("`autotest parse` process, PostgreSQL", pg_cli);
}
