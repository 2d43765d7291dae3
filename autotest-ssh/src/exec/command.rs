//! The remote command line: `cd -- DIR && exec env K=V... ARGV`, every word quoted.
//!
//! Built here rather than with `CommandSpec::to_shell`, which (as of this writing) puts `env`
//! before `exec` (`env K=V exec prog`), so `env` looks for a program named `exec` whenever a
//! command has environment variables.

use autotest_core::{CommandSpec, quote_arg, quote_argv};

/// `cmd` as one POSIX shell command line.
pub(crate) fn shell_line(cmd: &CommandSpec) -> String {
    let mut s = String::new();
    if let Some(dir) = &cmd.cwd {
        s.push_str("cd -- ");
        s.push_str(&quote_arg(dir));
        s.push_str(" && ");
    }
    s.push_str("exec ");
    if !cmd.env.is_empty() {
        s.push_str("env ");
        for (k, v) in &cmd.env {
            s.push_str(&quote_arg(&format!("{k}={v}")));
            s.push(' ');
        }
    }
    s.push_str(&quote_argv(&cmd.argv));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwd_env_and_argv_reach_the_program_intact() {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path().join("-odd dir 'x'");
        std::fs::create_dir(&cwd).unwrap();
        let cmd = CommandSpec::new([
            "sh",
            "-c",
            "pwd; printf '%s|' \"$A\" \"$B\" \"$1\"",
            "sh",
            "$x y",
        ])
        .cwd(cwd.to_str().unwrap())
        .env("A", "1 2")
        .env("B", "$(echo no)");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(shell_line(&cmd))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{}\n1 2|$(echo no)|$x y|", cwd.display())
        );
    }
}
