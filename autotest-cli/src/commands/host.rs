//! `autotest host create|list|stat|mod|delete`: atest's host verbs over the lab database
//! (autotest_core::store). Several hosts in one command are each done or refused on their own.

use autotest_core::store::{
    DbUrl, HostDetails, HostFilter, HostListing, HostStatus, NewHost, Protection, Store,
    StoreError, utc_text,
};
use clap::{Args, Subcommand, ValueEnum};

use super::db::DbLocation;
use crate::output::{Table, print_json};

/// The exit codes every host and label command documents in its --help.
pub(crate) const EXIT_CODES: &str = "\
Exit status:
  0  done
  1  refused: an unknown host or label, a host or label that exists, a lock held by someone
     else, a label in use, an unreachable database; each refusal is on stderr with its fix,
     and the other names given are still done
  2  bad usage (an unknown flag or value)";

/// Arguments of `autotest host`.
#[derive(Args, Debug)]
pub struct HostArgs {
    #[command(subcommand)]
    command: HostCommand,
}

#[derive(Subcommand, Debug)]
enum HostCommand {
    /// Add hosts to the lab, with labels, a platform, and locked if asked.
    #[command(after_help = EXIT_CODES)]
    Create(CreateArgs),
    /// List hosts with their status, lock and labels.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// Show hosts in full: lock, protection, labels, attributes, newest special tasks.
    #[command(after_help = EXIT_CODES)]
    Stat(StatArgs),
    /// Lock, unlock, or set the repair protection of hosts.
    #[command(after_help = EXIT_CODES)]
    Mod(ModArgs),
    /// Delete hosts (their jobs' history keeps them; they leave every list).
    #[command(after_help = EXIT_CODES)]
    Delete(DeleteArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Labels to give every host (comma-separated; they must exist).
    #[arg(
        short = 'b',
        long = "labels",
        value_delimiter = ',',
        value_name = "LABELS"
    )]
    labels: Vec<String>,
    /// Lock the hosts at once, for you.
    #[arg(long)]
    lock: bool,
    /// The hosts' platform: a platform label (`autotest label create P --platform`).
    #[arg(short = 't', long, value_name = "PLATFORM")]
    platform: Option<String>,
    /// The hosts, by the name the lab reaches them by.
    #[arg(required = true, value_name = "HOST")]
    hosts: Vec<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Only hosts carrying this label.
    #[arg(short = 'b', long = "label", value_name = "LABEL")]
    label: Option<String>,
    /// Only hosts in this state (Ready, Verifying, Cleaning, Repairing, "Repair Failed",
    /// Pending, Running; any case, _ for a space).
    #[arg(short = 's', long, value_parser = parse_status, value_name = "STATUS")]
    status: Option<HostStatus>,
    /// Only locked hosts.
    #[arg(long, conflicts_with = "unlocked")]
    locked: bool,
    /// Only unlocked hosts.
    #[arg(long)]
    unlocked: bool,
    /// Print JSON (an array of hosts, each with its labels) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct StatArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Print JSON (an array, one object per host found) instead of tables.
    #[arg(long)]
    json: bool,
    /// The hosts.
    #[arg(required = true, value_name = "HOST")]
    hosts: Vec<String>,
}

#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["lock", "unlock", "protection"])))]
struct ModArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Lock the hosts for you (a host locked by someone else is refused, naming them).
    #[arg(long, conflicts_with = "unlock")]
    lock: bool,
    /// Unlock the hosts.
    #[arg(long)]
    unlock: bool,
    /// What the scheduler may do to repair the hosts.
    #[arg(long, value_enum, value_name = "P")]
    protection: Option<ProtectionArg>,
    /// The hosts.
    #[arg(required = true, value_name = "HOST")]
    hosts: Vec<String>,
}

#[derive(Args, Debug)]
struct DeleteArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The hosts.
    #[arg(required = true, value_name = "HOST")]
    hosts: Vec<String>,
}

/// atest's protection names.
#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "snake_case")]
enum ProtectionArg {
    /// Anything may be done to repair it.
    NoProtection,
    /// Reinstall software only.
    RepairSoftwareOnly,
    /// Repair the filesystem only.
    RepairFilesystemOnly,
    /// Never repair.
    DoNotRepair,
    /// Never verify (nor repair).
    DoNotVerify,
}

impl From<ProtectionArg> for Protection {
    fn from(p: ProtectionArg) -> Protection {
        match p {
            ProtectionArg::NoProtection => Protection::NoProtection,
            ProtectionArg::RepairSoftwareOnly => Protection::RepairSoftwareOnly,
            ProtectionArg::RepairFilesystemOnly => Protection::RepairFilesystemOnly,
            ProtectionArg::DoNotRepair => Protection::DoNotRepair,
            ProtectionArg::DoNotVerify => Protection::DoNotVerify,
        }
    }
}

fn parse_status(text: &str) -> Result<HostStatus, String> {
    let want = text.replace('_', " ");
    HostStatus::ALL
        .iter()
        .copied()
        .find(|s| s.as_str().eq_ignore_ascii_case(&want))
        .ok_or_else(|| {
            let all: Vec<&str> = HostStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!(
                "{text:?} is not a host status: give one of {}",
                all.join(", ")
            )
        })
}

/// Who is running this: the login name of the real uid, else $USER, else the uid.
pub(crate) fn current_user() -> String {
    // SAFETY: getpwuid_r writes only into the buffers given; the name is copied out before
    // they go.
    unsafe {
        let uid = libc::getuid();
        let mut pw: libc::passwd = std::mem::zeroed();
        let mut buf = vec![0 as libc::c_char; 4096];
        let mut out: *mut libc::passwd = std::ptr::null_mut();
        if libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) == 0
            && !out.is_null()
            && !pw.pw_name.is_null()
        {
            let name = std::ffi::CStr::from_ptr(pw.pw_name).to_string_lossy();
            if !name.is_empty() {
                return name.into_owned();
            }
        }
        std::env::var("USER")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| uid.to_string())
    }
}

/// A refusal as shown: the store's message, with the command that fixes an unknown name.
pub(crate) fn refusal(e: &StoreError) -> String {
    match e {
        StoreError::NotFound { kind: "host", name } => format!(
            "no host {name:?} in the lab database: check the name (`autotest host list`), or add it with `autotest host create {name}`"
        ),
        StoreError::NotFound {
            kind: "label",
            name,
        } => format!(
            "no label {name:?} in the lab database: check the name (`autotest label list`), or add it with `autotest label create {name}`"
        ),
        e => e.to_string(),
    }
}

pub(crate) fn yes_no(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn time_text(t: Option<i64>) -> String {
    t.map(utc_text).unwrap_or_default()
}

/// Opens the database, runs `f` with it, closes it: the shape of every host and label command.
pub(crate) fn with_store<F, Fut>(url: DbUrl, what: &str, f: F) -> anyhow::Result<i32>
where
    F: FnOnce(Store) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<i32>>,
{
    let rt = super::runtime()?;
    rt.block_on(async {
        let store = match Store::open(&url).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("autotest {what}: {e}");
                return Ok(1);
            }
        };
        let code = f(store.clone()).await;
        store.close().await;
        code
    })
}

/// Does `one` for each name; reports each refusal; 1 if any.
pub(crate) async fn each<F, Fut>(what: &str, names: &[String], mut one: F) -> i32
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, StoreError>>,
{
    let mut code = 0;
    for name in names {
        match one(name.clone()).await {
            Ok(done) => println!("{done}"),
            Err(e) => {
                eprintln!("autotest {what}: {name}: {}", refusal(&e));
                code = 1;
            }
        }
    }
    code
}

pub fn run(a: HostArgs) -> anyhow::Result<i32> {
    match a.command {
        HostCommand::Create(a) => create(a),
        HostCommand::List(a) => list(a),
        HostCommand::Stat(a) => stat(a),
        HostCommand::Mod(a) => modify(a),
        HostCommand::Delete(a) => delete(a),
    }
}

fn create(a: CreateArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "host create", |s| async move {
        // An unknown label would refuse every host alike: say it once, add none.
        for name in a.labels.iter().chain(&a.platform) {
            if let Err(e) = s.label_named(name).await {
                eprintln!("autotest host create: {}: no host added", refusal(&e));
                return Ok(1);
            }
        }
        let locked_by = a.lock.then(current_user);
        let (s, a, locked_by) = (&s, &a, &locked_by);
        let code = each("host create", &a.hosts, |host| {
            let new = NewHost {
                hostname: host,
                labels: a.labels.clone(),
                platform: a.platform.clone(),
                locked_by: locked_by.clone(),
            };
            async move {
                let h = s.add_host(&new).await?;
                Ok(format!(
                    "Added host {}{}",
                    h.hostname,
                    if h.locked { " (locked)" } else { "" }
                ))
            }
        })
        .await;
        Ok(code)
    })
}

fn list(a: ListArgs) -> anyhow::Result<i32> {
    let filter = HostFilter {
        label: a.label.clone(),
        status: a.status,
        locked: match (a.locked, a.unlocked) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
    };
    with_store(a.location.resolve()?, "host list", |s| async move {
        let hosts = match s.host_list(&filter).await {
            Ok(h) => h,
            Err(e) => {
                eprintln!("autotest host list: {}", refusal(&e));
                return Ok(1);
            }
        };
        if a.json {
            print_json(&hosts)?;
        } else {
            host_table(&hosts).print()?;
        }
        Ok(0)
    })
}

fn host_table(hosts: &[HostListing]) -> Table {
    let mut t = Table::new(&[
        "Host",
        "Status",
        "Locked",
        "Locked by",
        "Platform",
        "Labels",
    ]);
    for h in hosts {
        t.row([
            h.host.hostname.clone(),
            h.host.status.to_string(),
            yes_no(h.host.locked).to_owned(),
            h.host.locked_by.clone().unwrap_or_default(),
            h.platform.clone().unwrap_or_default(),
            h.labels.join(", "),
        ]);
    }
    t
}

fn stat(a: StatArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "host stat", |s| async move {
        let mut found = Vec::new();
        let mut code = 0;
        for host in &a.hosts {
            match s.host_details(host).await {
                Ok(d) => found.push(d),
                Err(e) => {
                    eprintln!("autotest host stat: {host}: {}", refusal(&e));
                    code = 1;
                }
            }
        }
        if a.json {
            print_json(&found)?;
        } else {
            for (i, d) in found.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print_details(d)?;
            }
        }
        Ok(code)
    })
}

fn print_details(d: &HostDetails) -> anyhow::Result<()> {
    let h = &d.host;
    let mut t = Table::new(&[
        "Host",
        "Status",
        "Locked",
        "Locked by",
        "Lock time",
        "Protection",
        "Dirty",
        "Platform",
    ]);
    t.row([
        h.hostname.clone(),
        h.status.to_string(),
        yes_no(h.locked).to_owned(),
        h.locked_by.clone().unwrap_or_default(),
        time_text(h.lock_time),
        h.protection.to_string(),
        yes_no(h.dirty).to_owned(),
        d.platform.clone().unwrap_or_default(),
    ]);
    t.print()?;
    let labels: Vec<&str> = d.labels.iter().map(|l| l.name.as_str()).collect();
    println!("\nLabels: {}", labels.join(", "));
    let mut t = Table::new(&["Attribute", "Value"]);
    for a in &d.attributes {
        t.row([a.attribute.as_str(), a.value.as_str()]);
    }
    if !t.is_empty() {
        println!("\nAttributes:");
        t.print()?;
    }
    if !d.recent_tasks.is_empty() {
        println!("\nSpecial tasks (newest first):");
        let mut t = Table::new(&[
            "Id",
            "Task",
            "Requested by",
            "Requested",
            "Started",
            "Finished",
            "Result",
        ]);
        for task in &d.recent_tasks {
            let result = match (task.is_complete, task.success, task.is_active) {
                (true, true, _) => "Passed",
                (true, false, _) => "Failed",
                (false, _, true) => "Running",
                (false, _, false) => "Queued",
            };
            t.row([
                task.id.to_string(),
                task.task.to_string(),
                task.requested_by.clone(),
                utc_text(task.time_requested),
                time_text(task.time_started),
                time_text(task.time_finished),
                result.to_owned(),
            ]);
        }
        t.print()?;
    }
    Ok(())
}

fn modify(a: ModArgs) -> anyhow::Result<i32> {
    let user = current_user();
    with_store(a.location.resolve()?, "host mod", |s| async move {
        let s = &s;
        let user = &user;
        let a = &a;
        let code = each("host mod", &a.hosts, |host| async move {
            let mut did = Vec::new();
            if a.lock {
                s.lock_host(&host, user, epoch_now()).await?;
                did.push(format!("locked by {user}"));
            }
            if a.unlock {
                s.unlock_host(&host).await?;
                did.push("unlocked".to_owned());
            }
            if let Some(p) = a.protection {
                let h = s.set_host_protection(&host, p.into()).await?;
                did.push(format!("protection {}", h.protection));
            }
            Ok(format!("Host {host}: {}", did.join(", ")))
        })
        .await;
        Ok(code)
    })
}

/// Now, in UTC epoch seconds.
fn epoch_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn delete(a: DeleteArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "host delete", |s| async move {
        let s = &s;
        let code = each("host delete", &a.hosts, |host| async move {
            s.delete_host(&host).await?;
            Ok(format!("Deleted host {host}"))
        })
        .await;
        Ok(code)
    })
}
