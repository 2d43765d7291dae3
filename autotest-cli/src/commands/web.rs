//! `autotest web [--listen ADDR] <resultsdir>`: the lab on the web (autotest-web), and
//! `autotest web token create <user>` for the API's writes. The server and its rules are
//! autotest-web's and autotest-core's; this front end reads the config and opens the database.

use std::path::PathBuf;

use anyhow::Context;
use autotest_core::config::SchedulerConfig;
use autotest_core::store::Store;
use autotest_web::{WebConfig, probe_order};
use clap::{Args, Subcommand};

use super::db::DbLocation;

/// Arguments of `autotest web`.
#[derive(Args, Debug)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "\
Exit status:
  0  stopped by SIGTERM or SIGINT
  1  could not start (results directory, database, or the address is taken)
  2  bad usage

A job's file not in <RESULTS_DIR> is looked up where the database says its results are, else
on results_host, each drone and archive_host of [SCHEDULER] (skipping localhost), each asked
through its own `autotest web`; the client is redirected to the first that has it."
)]
pub struct WebArgs {
    #[command(subcommand)]
    command: Option<WebCommand>,
    #[command(flatten)]
    location: DbLocation,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: String,
    /// Serve results files only, without the lab database (a drone or the archive host).
    #[arg(long)]
    no_db: bool,
    /// Answer API reads from other machines without a token (loopback never needs one).
    #[arg(long)]
    public_reads: bool,
    /// The results tree served under /results/.
    #[arg(value_name = "RESULTS_DIR")]
    results: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum WebCommand {
    /// API tokens for writes (create a job, abort, lock and unlock hosts).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Make a token for <user> and print it once (only its SHA-256 is stored).
    #[command(after_help = "\
Exit status:
  0  the token was stored and printed on stdout
  1  the database could not be opened or written
  2  bad usage")]
    Create {
        #[command(flatten)]
        location: DbLocation,
        /// Who writes with the token.
        user: String,
    },
}

pub fn run(a: WebArgs) -> anyhow::Result<i32> {
    if let Some(WebCommand::Token {
        command: TokenCommand::Create { location, user },
    }) = a.command
    {
        let url = location.resolve()?;
        let rt = super::runtime()?;
        let token = rt.block_on(async {
            let store = Store::open(&url).await?;
            let t = store.create_api_token(&user).await?;
            store.close().await;
            Ok::<_, anyhow::Error>(t)
        })?;
        println!("{token}");
        return Ok(0);
    }
    let Some(results) = a.results else {
        anyhow::bail!(
            "autotest web: give the results directory to serve: autotest web [--listen ADDR] <RESULTS_DIR>"
        );
    };
    super::init_logging();
    let sched = match a.location.config()? {
        Some(gc) => gc.scheduler()?,
        None => SchedulerConfig::default(),
    };
    let rt = super::runtime()?;
    rt.block_on(async {
        let store = if a.no_db {
            None
        } else {
            let url = a.location.resolve()?;
            Some(Store::open(&url).await.with_context(|| {
                format!("autotest web: cannot open the lab database {url} (run `autotest db migrate`, or serve files only with --no-db)")
            })?)
        };
        let listener = tokio::net::TcpListener::bind(&a.listen)
            .await
            .with_context(|| format!("autotest web: cannot listen on {}", a.listen))?;
        tracing::info!("serving {} on http://{}", results.display(), a.listen);
        let config = WebConfig {
            root: results,
            store,
            probe_hosts: probe_order(&sched),
            public_reads: a.public_reads,
        };
        tokio::select! {
            r = autotest_web::serve(listener, config) => r?,
            _ = stop() => {}
        }
        Ok::<_, anyhow::Error>(0)
    })
}

async fn stop() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
