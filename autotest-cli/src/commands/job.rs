//! `autotest job create|list|stat|abort`: atest's job commands over the lab database. The checks
//! and queries are autotest-core's (`Store::create_job`, `Store::list_jobs`, ...), shared with
//! the Python SDK.

use std::path::PathBuf;

use anyhow::Context;
use autotest_core::store::{
    self, ControlType, HostSpec, JobFilter, JobRow, NewJob, Priority, RebootAfter, RebootBefore,
    Store,
};
use clap::{Args, Subcommand};

use super::db::DbLocation;
use crate::output::{Table, print_json};

const EXIT_CODES: &str = "\
Exit status:
  0  done
  1  refused or failed (the message names the input and the fix; with several ids, the
     others were still done)
  2  bad usage";

/// Arguments of `autotest job`.
#[derive(Args, Debug)]
pub struct JobArgs {
    #[command(subcommand)]
    command: JobCommand,
}

#[derive(Subcommand, Debug)]
enum JobCommand {
    /// Queue a job on hosts, metahosts (N*label) or every host of labels; prints `<name> (id N)`.
    #[command(after_help = EXIT_CODES)]
    Create(Box<CreateArgs>),
    /// List jobs, newest first: the current user's unless -u or --all.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// Show jobs (by id or by name) with their host queue entries and aborts.
    #[command(after_help = EXIT_CODES)]
    Stat(StatArgs),
    /// Abort jobs: every entry not complete is marked aborted, by the current user, now (UTC).
    #[command(after_help = EXIT_CODES)]
    Abort(AbortArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The control file (checked now: it must compile as Python 3).
    #[arg(short = 'f', long = "control-file", value_name = "FILE")]
    control_file: PathBuf,
    /// A server control file (default: client).
    #[arg(short = 's', long)]
    server: bool,
    /// Hosts and metahosts: host1,host2,2*label (N*label: N entries for any host with label).
    #[arg(short = 'm', long = "machine", value_name = "HOSTS")]
    machines: Vec<String>,
    /// A file of hosts, one a line (# starts a comment).
    #[arg(short = 'M', long = "mlist", value_name = "FILE")]
    machines_file: Vec<PathBuf>,
    /// Labels (comma list): every host carrying one becomes a host of the job.
    #[arg(short = 'b', long = "label", value_name = "LABELS")]
    labels: Vec<String>,
    /// Hosts that must run it at once.
    #[arg(
        short = 'y',
        long = "synch_count",
        value_name = "N",
        default_value_t = 1
    )]
    synch_count: i64,
    /// Priority: low, medium, high or urgent (stored as 0-3).
    #[arg(short = 'p', long, value_name = "PRIORITY", default_value = "medium")]
    priority: String,
    /// Labels every host of the job must carry (comma list).
    #[arg(long, value_name = "LABELS")]
    dependencies: Option<String>,
    /// Hours the job may wait before it times out.
    #[arg(long, value_name = "HOURS", default_value_t = 72)]
    timeout: i64,
    /// Hours the job may run.
    #[arg(long = "max_runtime", value_name = "HOURS", default_value_t = 72)]
    max_runtime: i64,
    /// Reboot hosts before: never, if_dirty or always.
    #[arg(
        long = "reboot_before",
        value_name = "WHEN",
        default_value = "if_dirty"
    )]
    reboot_before: String,
    /// Reboot hosts after: never, if_all_tests_passed or always.
    #[arg(long = "reboot_after", value_name = "WHEN", default_value = "never")]
    reboot_after: String,
    /// Do not verify the hosts first.
    #[arg(long)]
    noverify: bool,
    /// Who is mailed the results (comma list).
    #[arg(short = 'e', long = "email", value_name = "EMAILS", default_value = "")]
    email: String,
    /// The job's name.
    name: String,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Every owner's jobs.
    #[arg(long, conflicts_with = "user")]
    all: bool,
    /// This owner's jobs (default: the current user).
    #[arg(short = 'u', long, value_name = "USER")]
    user: Option<String>,
    /// Only jobs that started and have not finished.
    #[arg(short = 'r', long)]
    running: bool,
    /// Show at most this many jobs, newest first; 0 shows all.
    #[arg(long, value_name = "N", default_value_t = store::DEFAULT_LIST_LIMIT)]
    limit: i64,
    /// Print JSON (the store's JobRow list) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct StatArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Job ids or names (a name may match several jobs: all are shown).
    #[arg(required = true, value_name = "ID|NAME")]
    jobs: Vec<String>,
    /// Print JSON (a list of the store's JobStat) instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct AbortArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Job ids.
    #[arg(required = true, value_name = "ID")]
    ids: Vec<i64>,
}

pub fn run(a: JobArgs) -> anyhow::Result<i32> {
    match a.command {
        JobCommand::Create(a) => create(*a),
        JobCommand::List(a) => list(a),
        JobCommand::Stat(a) => stat(a),
        JobCommand::Abort(a) => abort(a),
    }
}

/// `never|if_dirty|always` (atest's spelling) or the stored text.
fn reboot_before(v: &str) -> anyhow::Result<RebootBefore> {
    Ok(match v.to_ascii_lowercase().replace(' ', "_").as_str() {
        "never" => RebootBefore::Never,
        "if_dirty" => RebootBefore::IfDirty,
        "always" => RebootBefore::Always,
        _ => anyhow::bail!("--reboot_before {v:?}: give never, if_dirty or always"),
    })
}

fn reboot_after(v: &str) -> anyhow::Result<RebootAfter> {
    Ok(match v.to_ascii_lowercase().replace(' ', "_").as_str() {
        "never" => RebootAfter::Never,
        "if_all_tests_passed" => RebootAfter::IfAllTestsPassed,
        "always" => RebootAfter::Always,
        _ => anyhow::bail!("--reboot_after {v:?}: give never, if_all_tests_passed or always"),
    })
}

fn create(a: CreateArgs) -> anyhow::Result<i32> {
    let priority = Priority::parse(&a.priority)
        .map_err(|_| anyhow::anyhow!("-p {:?}: give one of {}", a.priority, Priority::NAMES))?;
    let before = reboot_before(&a.reboot_before)?;
    let after = reboot_after(&a.reboot_after)?;
    let mut spec = HostSpec::default();
    for m in &a.machines {
        spec.add_list(m, "-m")?;
    }
    for f in &a.machines_file {
        spec.add_file(f)?;
    }
    for b in &a.labels {
        spec.add_labels(b)?;
    }
    let control = store::read_control_file(&a.control_file)?;
    let kind = if a.server {
        ControlType::Server
    } else {
        ControlType::Client
    };
    let mut new = NewJob::new(store::current_user(), &a.name, control, kind);
    new.control_origin = Some(a.control_file.clone());
    new.priority = priority.number();
    new.synch_count = a.synch_count;
    new.timeout_hrs = a.timeout;
    new.max_runtime_hrs = a.max_runtime;
    new.run_verify = !a.noverify;
    new.reboot_before = before;
    new.reboot_after = after;
    new.email_list = a.email.clone();
    new.dependencies = a
        .dependencies
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    spec.apply_to(&mut new);
    let url = a.location.resolve()?;
    let job = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let r = store.create_job(&new).await;
        store.close().await;
        r
    })?;
    println!("{} (id {})", job.name, job.id);
    Ok(0)
}

/// `Queued:2 Completed:1`.
fn counts_text(j: &JobRow) -> String {
    j.status_counts
        .iter()
        .map(|(s, n)| format!("{s}:{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn list(a: ListArgs) -> anyhow::Result<i32> {
    let filter = JobFilter {
        owner: if a.all {
            None
        } else {
            Some(a.user.clone().unwrap_or_else(store::current_user))
        },
        running: a.running,
        limit: a.limit.max(0),
    };
    let url = a.location.resolve()?;
    let jobs = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let r = store.list_jobs(&filter).await;
        store.close().await;
        r
    })?;
    if a.json {
        print_json(&jobs)?;
        return Ok(0);
    }
    let mut t = Table::new(&["Id", "Name", "Priority", "Owner", "Created On", "Status"]);
    for j in &jobs {
        t.row([
            j.id.to_string(),
            j.name.clone(),
            j.priority.to_string(),
            j.owner.clone(),
            store::format_utc(j.created_on),
            counts_text(j),
        ]);
    }
    t.print()?;
    if t.is_empty() && !a.all {
        eprintln!(
            "autotest job list: no jobs of {}: --all lists every owner's",
            filter.owner.as_deref().unwrap_or("")
        );
    }
    Ok(0)
}

fn stat(a: StatArgs) -> anyhow::Result<i32> {
    let url = a.location.resolve()?;
    let stats = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let mut stats = Vec::new();
        let r: anyhow::Result<()> = async {
            for key in &a.jobs {
                let ids = match key.parse::<i64>() {
                    Ok(id) => vec![id],
                    Err(_) => store.jobs_named(key).await?,
                };
                if ids.is_empty() {
                    anyhow::bail!("no job named {key:?}: see `autotest job list --all`");
                }
                for id in ids {
                    stats.push(store.job_stat(id).await.with_context(|| {
                        format!("job {key}: see `autotest job list --all` for the jobs there are")
                    })?);
                }
            }
            Ok(())
        }
        .await;
        store.close().await;
        r.map(|()| stats)
    })?;
    if a.json {
        print_json(&stats)?;
        return Ok(0);
    }
    for (i, s) in stats.iter().enumerate() {
        if i > 0 {
            println!();
        }
        let j = &s.job;
        let mut t = Table::new(&[
            "Id",
            "Name",
            "Owner",
            "Priority",
            "Type",
            "Synch",
            "Created On",
            "Dependencies",
        ]);
        t.row([
            j.id.to_string(),
            j.name.clone(),
            j.owner.clone(),
            j.priority.to_string(),
            j.control_type.to_string(),
            j.synch_count.to_string(),
            store::format_utc(j.created_on),
            j.dependencies.join(","),
        ]);
        t.print()?;
        println!();
        let mut t = Table::new(&[
            "Entry",
            "Host",
            "Metahost",
            "Status",
            "Aborted By",
            "Aborted On",
        ]);
        for e in &s.entries {
            t.row([
                e.entry.id.to_string(),
                e.host.clone().unwrap_or_default(),
                e.meta_host_label.clone().unwrap_or_default(),
                e.entry.status.to_string(),
                e.aborted_by.clone().unwrap_or_default(),
                e.aborted_on.map(store::format_utc).unwrap_or_default(),
            ]);
        }
        t.print()?;
    }
    Ok(0)
}

/// Aborts each id; an unknown id is reported and the others are still aborted (exit 1).
fn abort(a: AbortArgs) -> anyhow::Result<i32> {
    let url = a.location.resolve()?;
    let by = store::current_user();
    let at = chrono_now();
    let results = super::runtime()?.block_on(async {
        let store = Store::open(&url).await?;
        let mut results = Vec::new();
        for id in &a.ids {
            results.push((*id, store.abort_job(*id, &by, at).await));
        }
        store.close().await;
        Ok::<_, store::StoreError>(results)
    })?;
    let mut code = 0;
    for (id, r) in results {
        match r {
            Ok(n) => println!(
                "job {id}: {n} entr{} aborted",
                if n == 1 { "y" } else { "ies" }
            ),
            Err(store::StoreError::NotFound { kind: "job", .. }) => {
                eprintln!(
                    "autotest job abort: no job {id}: see `autotest job list --all` for the jobs there are"
                );
                code = 1;
            }
            Err(e) => {
                eprintln!("autotest job abort: job {id}: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
