//! conmux fan-out: console bytes per second delivered to 1, 10 and 100 attached clients, and
//! the latency conmux adds to a one-byte round trip, each beside a direct TCP connection to the
//! same console (what a user without conmux would use), measured in one run.
//!
//! The console is a TCP server on loopback (as ser2net exports a serial port): on `G` it sends
//! `BLAST` bytes, anything else it echoes. The conmux server runs in this process on its own
//! two-thread runtime; the clients run on another. Medians of `RUNS` runs. The console here
//! produces as fast as loopback TCP allows, so `client-buffer` is raised to 32 MiB (more than
//! one blast): this measures fan-out capacity, not the slow-client policy (at the default 1 MiB
//! a client that falls 1 MiB behind such a console is dropped, which the `dropped` column shows).
//!
//! Run: `cargo bench -p autotest-benches --bench conmux_fanout`.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use autotest_conmux::{ClientId, ConnectType, ConsoleConfig, ConsoleServer, Request, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BLAST: usize = 16 * 1024 * 1024;
const RUNS: usize = 5;
const ROUND_TRIPS: usize = 2000;

async fn console() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            sock.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = sock.into_split();
                let block = vec![b'x'; 64 * 1024];
                let mut buf = [0u8; 4096];
                while let Ok(n) = r.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    if buf[..n].contains(&b'G') {
                        for _ in 0..BLAST / block.len() {
                            if w.write_all(&block).await.is_err() {
                                return;
                            }
                        }
                    } else if w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

async fn read_exactly(s: &mut TcpStream, want: usize) -> bool {
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0;
    while got < want {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    true
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Waits until the previous run's sessions are gone, so the first new client gets the write.
async fn idle(server: &ConsoleServer) {
    while server.status().clients > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Seconds for `BLAST` bytes to reach every one of `clients` conmux clients (None: direct).
async fn blast(server: Option<&ConsoleServer>, console: &str, clients: usize) -> (f64, usize) {
    let mut streams = Vec::new();
    match server {
        None => streams.push(TcpStream::connect(console).await.unwrap()),
        Some(server) => {
            idle(server).await;
            let addr = server.local_addr().to_string();
            let addr = addr.as_str();
            for i in 0..clients {
                let kind = if i == 0 {
                    ConnectType::Client
                } else {
                    ConnectType::Watch
                };
                let req = Request::connect(&ClientId::Bot(format!("b{i}")), kind).with("hide", "1");
                streams.push(Session::open_with(addr, req).await.unwrap().into_stream());
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    streams[0].write_all(b"G").await.unwrap();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut s| tokio::spawn(async move { read_exactly(&mut s, BLAST).await }))
        .collect();
    let mut complete = 0;
    for r in readers {
        complete += usize::from(r.await.unwrap());
    }
    (start.elapsed().as_secs_f64(), complete)
}

/// Median one-byte round trip, in microseconds.
async fn round_trip(mut s: TcpStream) -> f64 {
    s.set_nodelay(true).unwrap();
    let mut samples = Vec::with_capacity(ROUND_TRIPS);
    let mut b = [0u8; 1];
    for i in 0..ROUND_TRIPS {
        let byte = b'a' + (i % 26) as u8;
        let t = Instant::now();
        s.write_all(&[byte]).await.unwrap();
        s.read_exact(&mut b).await.unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(b[0], byte);
    }
    median(samples)
}

fn main() {
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let console_addr = server_rt.block_on(console());
    let cf = dir.path().join("bench.cf");
    std::fs::write(&cf, format!("listener 0\nsocket console 'bench' {console_addr}\nlog bench.log 1073741824 1\nclient-buffer 33554432\n")).unwrap();
    let server = server_rt
        .block_on(ConsoleServer::start(ConsoleConfig::load(&cf).unwrap()))
        .unwrap();
    let addr = server.local_addr().to_string();
    std::thread::sleep(Duration::from_millis(200));

    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "conmux fan-out of {} MiB from a TCP console, median of {RUNS} runs (loadavg {})",
        BLAST >> 20,
        load.trim()
    );
    println!(
        "{:<28} {:>10} {:>14} {:>14} {:>9}",
        "path", "seconds", "MiB/s/client", "MiB/s total", "dropped"
    );
    let direct = client_rt.block_on(async {
        let mut t = Vec::new();
        for _ in 0..RUNS {
            t.push(blast(None, &console_addr, 1).await.0);
        }
        median(t)
    });
    let mib = (BLAST >> 20) as f64;
    println!(
        "{:<28} {direct:>10.3} {:>14.0} {:>14.0} {:>9}",
        "direct TCP, 1 reader",
        mib / direct,
        mib / direct,
        0
    );
    for clients in [1usize, 10, 100] {
        let (secs, dropped) = client_rt.block_on(async {
            let mut t = Vec::new();
            let mut dropped = 0;
            for _ in 0..RUNS {
                let (s, complete) = blast(Some(&server), &console_addr, clients).await;
                t.push(s);
                dropped += clients - complete;
            }
            (median(t), dropped)
        });
        println!(
            "{:<28} {secs:>10.3} {:>14.0} {:>14.0} {:>9}  ({:.2}x direct time)",
            format!("conmux, {clients} client(s)"),
            mib / secs,
            mib * clients as f64 / secs,
            dropped,
            secs / direct
        );
    }

    let (direct_rtt, conmux_rtt) = client_rt.block_on(async {
        let mut d = Vec::new();
        let mut c = Vec::new();
        for _ in 0..RUNS {
            d.push(round_trip(TcpStream::connect(&console_addr).await.unwrap()).await);
            idle(&server).await;
            let req = Request::connect(&ClientId::Bot("rtt".into()), ConnectType::Client)
                .with("hide", "1");
            c.push(round_trip(Session::open_with(&addr, req).await.unwrap().into_stream()).await);
        }
        (median(d), median(c))
    });
    println!(
        "one-byte round trip (client -> console -> client), median of {ROUND_TRIPS} x {RUNS}:"
    );
    println!(
        "  direct TCP {direct_rtt:.1} us, through conmux {conmux_rtt:.1} us: conmux adds {:.1} us per byte ({:.2}x)",
        conmux_rtt - direct_rtt,
        conmux_rtt / direct_rtt
    );
    drop(server);
}
