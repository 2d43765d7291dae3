//! Every command's `--help`, snapshotted: a changed flag or text shows up as a snapshot diff to
//! review. Walks the command tree, so commands added later are covered (their first run writes
//! the snapshot to review; under CI=true a missing snapshot fails).

use clap::CommandFactory;

/// Each command with its full name (`autotest db migrate`), the root first.
fn walk(cmd: &clap::Command, name: String, out: &mut Vec<(String, clap::Command)>) {
    // The values of AUTOTEST_CONFIG_DIR and the like in this shell are not part of the help.
    out.push((
        name.clone(),
        cmd.clone().mut_args(|a| a.hide_env_values(true)),
    ));
    for sub in cmd.get_subcommands() {
        if sub.get_name() != "help" {
            walk(sub, format!("{name} {}", sub.get_name()), out);
        }
    }
}

fn commands() -> Vec<(String, clap::Command)> {
    let mut root = crate::Cli::command();
    root.build();
    let mut all = Vec::new();
    walk(&root, "autotest".to_owned(), &mut all);
    all
}

#[test]
fn the_command_tree_is_consistent() {
    crate::Cli::command().debug_assert();
}

#[test]
fn every_help_is_as_reviewed() {
    for (name, mut cmd) in commands() {
        let help = cmd.render_long_help().to_string();
        insta::assert_snapshot!(format!("help-{}", name.replace(' ', "-")), help, &name);
    }
}

#[test]
fn every_command_without_subcommands_documents_its_exit_status() {
    for (name, mut cmd) in commands() {
        if cmd.has_subcommands() {
            continue;
        }
        let help = cmd.render_long_help().to_string();
        assert!(help.contains("\nExit status:\n"), "{name} --help:\n{help}");
    }
}
