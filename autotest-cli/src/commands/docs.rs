//! `autotest completions` and `autotest man`: generated from the command tree itself, so every
//! command (those added later too) is covered without more work.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};

/// The shells `autotest completions` writes for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// bash (source it, or put it in ~/.local/share/bash-completion/completions/autotest).
    Bash,
    /// zsh (put it as _autotest in a directory of $fpath).
    Zsh,
    /// fish (put it in ~/.config/fish/completions/autotest.fish).
    Fish,
}

/// Arguments of `autotest completions`.
#[derive(Args, Debug)]
#[command(after_help = "\\
Exit status:
  0  the script was written on stdout
  1  it could not be written
  2  bad usage")]
pub struct CompletionsArgs {
    /// The shell.
    shell: Shell,
}

/// Arguments of `autotest man`.
#[derive(Args, Debug)]
#[command(after_help = "\\
Exit status:
  0  the page(s) were written
  1  a page could not be written (the error names the file)
  2  bad usage")]
pub struct ManArgs {
    /// Write one page per command (autotest.1, autotest-run.1, autotest-db-migrate.1, ...) into
    /// this directory (created if missing) instead of autotest.1 on stdout.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Writes the completion script for `shell` on stdout.
pub fn completions(a: CompletionsArgs, mut cmd: clap::Command) -> anyhow::Result<i32> {
    use clap_complete::Shell as S;
    let shell = match a.shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "autotest", &mut out);
    crate::output::print_text(&String::from_utf8_lossy(&out))?;
    Ok(0)
}

/// Writes autotest.1 on stdout, or one page per command into `--dir`.
pub fn man(a: ManArgs, cmd: clap::Command) -> anyhow::Result<i32> {
    let mut cmd = cmd;
    cmd.build();
    match a.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            crate::output::print_text(&String::from_utf8_lossy(&out))?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| {
                format!("cannot create the man page directory {}", dir.display())
            })?;
            let mut list = String::new();
            for path in write_pages(&cmd, "autotest", &dir)? {
                list.push_str(&format!("{}\n", path.display()));
            }
            crate::output::print_text(&list)?;
        }
    }
    Ok(0)
}

/// Writes the page of `cmd` (named `name`, e.g. autotest-db-migrate) and of each subcommand
/// under it; returns the files written.
fn write_pages(cmd: &clap::Command, name: &str, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    // The page's title and NAME section use the full command name, as git's pages do.
    let page = cmd
        .clone()
        .name(name.to_owned())
        .display_name(name.to_owned());
    let path = dir.join(format!("{name}.1"));
    let mut out = Vec::new();
    clap_mangen::Man::new(page).render(&mut out)?;
    std::fs::write(&path, out)
        .with_context(|| format!("cannot write the man page {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        written.extend(write_pages(
            sub,
            &format!("{name}-{}", sub.get_name()),
            dir,
        )?);
    }
    Ok(written)
}
