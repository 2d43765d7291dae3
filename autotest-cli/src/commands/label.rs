//! `autotest label create|list|delete|add|remove`: atest's label verbs over the lab database.
//! Several labels or hosts in one command are each done or refused on their own.

use autotest_core::store::NewLabel;
use clap::{Args, Subcommand};

use super::db::DbLocation;
use super::host::{EXIT_CODES, each, refusal, with_store, yes_no};
use crate::output::{Table, print_json};

/// Arguments of `autotest label`.
#[derive(Args, Debug)]
pub struct LabelArgs {
    #[command(subcommand)]
    command: LabelCommand,
}

#[derive(Subcommand, Debug)]
enum LabelCommand {
    /// Create labels.
    #[command(after_help = EXIT_CODES)]
    Create(CreateArgs),
    /// List labels with how many hosts carry each.
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
    /// Delete labels no host carries and no unfinished job needs.
    #[command(after_help = EXIT_CODES)]
    Delete(DeleteArgs),
    /// Give a label to hosts.
    #[command(after_help = EXIT_CODES)]
    Add(HostsArgs),
    /// Take a label off hosts.
    #[command(after_help = EXIT_CODES)]
    Remove(HostsArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The labels name a platform (a host has at most one).
    #[arg(short = 't', long)]
    platform: bool,
    /// Hosts with the labels are used only by jobs that ask for them.
    #[arg(long = "only_if_needed", visible_alias = "only-if-needed")]
    only_if_needed: bool,
    /// The labels.
    #[arg(required = true, value_name = "LABEL")]
    labels: Vec<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    #[command(flatten)]
    location: DbLocation,
    /// Print JSON (an array of labels, each with its host count) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct DeleteArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The labels.
    #[arg(required = true, value_name = "LABEL")]
    labels: Vec<String>,
}

#[derive(Args, Debug)]
struct HostsArgs {
    #[command(flatten)]
    location: DbLocation,
    /// The hosts (comma-separated, or -m given several times).
    #[arg(
        short = 'm',
        long = "machine",
        required = true,
        value_delimiter = ',',
        value_name = "HOSTS"
    )]
    hosts: Vec<String>,
    /// The label.
    #[arg(value_name = "LABEL")]
    label: String,
}

pub fn run(a: LabelArgs) -> anyhow::Result<i32> {
    match a.command {
        LabelCommand::Create(a) => create(a),
        LabelCommand::List(a) => list(a),
        LabelCommand::Delete(a) => delete(a),
        LabelCommand::Add(a) => hosts(a, true),
        LabelCommand::Remove(a) => hosts(a, false),
    }
}

fn create(a: CreateArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "label create", |s| async move {
        let (s, a) = (&s, &a);
        let code = each("label create", &a.labels, |name| async move {
            let l = s
                .create_label(&NewLabel {
                    name,
                    platform: a.platform,
                    only_if_needed: a.only_if_needed,
                })
                .await?;
            let mut kind = Vec::new();
            if l.platform {
                kind.push("platform");
            }
            if l.only_if_needed {
                kind.push("only if needed");
            }
            Ok(if kind.is_empty() {
                format!("Created label {}", l.name)
            } else {
                format!("Created label {} ({})", l.name, kind.join(", "))
            })
        })
        .await;
        Ok(code)
    })
}

fn list(a: ListArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "label list", |s| async move {
        let labels = s.label_list().await?;
        if a.json {
            print_json(&labels)?;
        } else {
            let mut t = Table::new(&["Name", "Platform", "Only if needed", "Hosts"]);
            for l in &labels {
                t.row([
                    l.label.name.clone(),
                    yes_no(l.label.platform).to_owned(),
                    yes_no(l.label.only_if_needed).to_owned(),
                    l.hosts.to_string(),
                ]);
            }
            t.print()?;
        }
        Ok(0)
    })
}

fn delete(a: DeleteArgs) -> anyhow::Result<i32> {
    with_store(a.location.resolve()?, "label delete", |s| async move {
        let s = &s;
        let code = each("label delete", &a.labels, |name| async move {
            s.delete_label(&name).await?;
            Ok(format!("Deleted label {name}"))
        })
        .await;
        Ok(code)
    })
}

fn hosts(a: HostsArgs, add: bool) -> anyhow::Result<i32> {
    let what = if add { "label add" } else { "label remove" };
    with_store(a.location.resolve()?, what, |s| async move {
        // An unknown label would refuse every host alike: say it once.
        if let Err(e) = s.label_named(&a.label).await {
            eprintln!("autotest {what}: {}: no host changed", refusal(&e));
            return Ok(1);
        }
        let (s, label) = (&s, a.label.as_str());
        let code = each(what, &a.hosts, |host| async move {
            if add {
                s.add_host_label(&host, label).await?;
                Ok(format!("Host {host}: label {label} added"))
            } else {
                s.remove_host_label(&host, label).await?;
                Ok(format!("Host {host}: label {label} removed"))
            }
        })
        .await;
        Ok(code)
    })
}
