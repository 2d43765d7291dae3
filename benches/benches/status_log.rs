//! Status log parsing throughput (MB/s) beside a floor: splitting the same text into lines and
//! counting TABs, the least any parser has to do.
//!
//! Run: `cargo bench -p autotest-benches --bench status_log` (add `-- --quick` for a short run).

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use autotest_core::status::{StatusLog, StatusLogRef, summarize, summarize_ref};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Size of the generated log.
const TARGET_BYTES: usize = 20 * 1024 * 1024;

/// A small deterministic generator (xorshift), so every run parses the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const TESTS: [&str; 8] = [
    "sleeptest",
    "dbench",
    "kernbench",
    "ltp",
    "bonnie",
    "netperf2",
    "hackbench",
    "fsx",
];

/// Writes one entry; `extra` holds fields written before the timestamp (each with its TAB).
#[allow(clippy::too_many_arguments)]
fn line(
    out: &mut String,
    depth: usize,
    code: &str,
    subdir: &str,
    op: &str,
    ts: u64,
    extra: &str,
    msg: &str,
) {
    for _ in 0..depth {
        out.push('\t');
    }
    let (h, m, s) = ((ts / 3600) % 24, (ts / 60) % 60, ts % 60);
    writeln!(
        out,
        "{code}\t{subdir}\t{op}\t{extra}timestamp={ts}\tlocaltime=Nov 14 {h:02}:{m:02}:{s:02}\t{msg}"
    )
    .unwrap();
}

/// A realistic log of about [`TARGET_BYTES`]: jobs of tests (some with iterations and nested
/// groups, warnings, failures with tracebacks) and reboots onto new kernels.
fn generate() -> String {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = String::with_capacity(TARGET_BYTES + 4096);
    let mut ts = 1_700_000_000;
    let mut kernel = 0;
    while out.len() < TARGET_BYTES {
        line(&mut out, 0, "START", "----", "----", ts, "", "");
        for _ in 0..20 {
            ts += 1 + rng.below(30);
            if rng.below(6) == 0 {
                kernel += 1;
                let k = format!("kernel=6.{kernel}.0-autotest\t");
                line(&mut out, 1, "START", "----", "reboot", ts, "", "");
                line(&mut out, 2, "GOOD", "----", "reboot.start", ts, "", "");
                ts += 60;
                line(
                    &mut out,
                    2,
                    "GOOD",
                    "----",
                    "reboot.verify",
                    ts,
                    "",
                    &format!("6.{kernel}.0-autotest"),
                );
                line(&mut out, 1, "END GOOD", "----", "reboot", ts, &k, "");
                continue;
            }
            let test = TESTS[rng.below(TESTS.len() as u64) as usize];
            let tag = rng.below(1000);
            let subdir = format!("{test}.{tag}");
            line(&mut out, 1, "START", &subdir, test, ts, "", "");
            let mut worst = "GOOD";
            for i in 0..rng.below(4) {
                ts += rng.below(20);
                line(
                    &mut out,
                    2,
                    "START",
                    &subdir,
                    &format!("{test}.iteration.{i}"),
                    ts,
                    "",
                    "",
                );
                line(
                    &mut out,
                    3,
                    "INFO",
                    "----",
                    "----",
                    ts,
                    "",
                    &format!("iteration {i} of {test}: collecting profiles"),
                );
                line(
                    &mut out,
                    3,
                    "GOOD",
                    &subdir,
                    test,
                    ts,
                    "",
                    "iteration completed",
                );
                line(
                    &mut out,
                    2,
                    "END GOOD",
                    &subdir,
                    &format!("{test}.iteration.{i}"),
                    ts,
                    "",
                    "",
                );
            }
            ts += rng.below(120);
            match rng.below(10) {
                0 => {
                    worst = "FAIL";
                    line(
                        &mut out,
                        2,
                        "FAIL",
                        &subdir,
                        test,
                        ts,
                        "",
                        "Command <./run --all> failed, rc=1",
                    );
                    for l in [
                        "Traceback (most recent call last):",
                        "  File \"/usr/local/autotest/client/test.py\", line 612, in _exec",
                        "    self.execute(*p_args, **p_dargs)",
                        "CmdError: Command <./run --all> failed, rc=1",
                    ] {
                        out.push_str("\t\t  ");
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                1 => {
                    worst = "WARN";
                    line(
                        &mut out,
                        2,
                        "WARN",
                        &subdir,
                        test,
                        ts,
                        "",
                        "dmesg shows a soft lockup warning",
                    );
                }
                _ => line(
                    &mut out,
                    2,
                    "GOOD",
                    &subdir,
                    test,
                    ts,
                    "",
                    "completed successfully",
                ),
            }
            line(
                &mut out,
                1,
                &format!("END {worst}"),
                &subdir,
                test,
                ts,
                "",
                "",
            );
        }
        line(&mut out, 0, "END GOOD", "----", "----", ts, "", "");
    }
    out
}

fn floor(text: &str) -> usize {
    text.lines()
        .map(|l| l.bytes().filter(|&b| b == b'\t').count())
        .sum()
}

fn bench_status_log(c: &mut Criterion) {
    let text = generate();
    // The Python anchor (benches/legacy_parse.py) parses this same text, in the same run.
    if let Ok(path) = std::env::var("STATUS_LOG_BENCH_OUT") {
        std::fs::write(&path, &text).expect("write the generated status log");
    }
    let mut group = c.benchmark_group("status_log");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("floor_lines_and_tabs", |b| {
        b.iter(|| floor(black_box(&text)))
    });
    // Parsing and dropping the result, as a caller pays for it: entries borrowed from the text,
    // and (`parse`) every entry copied into owned strings.
    group.bench_function("parse_borrowed", |b| {
        b.iter(|| StatusLogRef::parse(black_box(&text)))
    });
    group.bench_function("parse", |b| b.iter(|| StatusLog::parse(black_box(&text))));
    let log = StatusLog::parse(&text);
    group.bench_function("summarize", |b| b.iter(|| summarize(black_box(&log))));
    let borrowed = StatusLogRef::parse(&text);
    group.bench_function("summarize_ref", |b| {
        b.iter(|| summarize_ref(black_box(&borrowed)))
    });
    group.finish();
}

criterion_group!(benches, bench_status_log);
criterion_main!(benches);
