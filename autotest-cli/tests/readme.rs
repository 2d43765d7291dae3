//! The README's commands are the program's: every `autotest ...` line of README.md's code
//! blocks is parsed out, and its command path (the subcommand words before the first option or
//! placeholder; `a|b` is each of a and b) must be a command of this binary (`<path> --help`
//! exits 0), so a renamed or removed command cannot stay documented.
//!
//! Left for a later change (not run for real here): running the safe ones against a temporary
//! lab database and the demo's localhost machine.

use std::process::Command;

/// Every `autotest ...` line inside a fenced code block of README.md.
fn readme_commands() -> Vec<(usize, String)> {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let text = std::fs::read_to_string(readme).expect("read README.md");
    let mut inside = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("```") {
            inside = !inside;
            continue;
        }
        let t = t.strip_prefix("$ ").unwrap_or(t);
        if inside && t.starts_with("autotest ") {
            out.push((i + 1, t.to_owned()));
        }
    }
    out
}

/// The command paths a README line names: its leading lowercase words, `a|b` expanded.
fn paths(line: &str) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![Vec::new()];
    for word in line.split_whitespace().skip(1) {
        let alternatives: Vec<&str> = word.split('|').collect();
        let is_word = |w: &str| {
            !w.is_empty()
                && w.chars().next().unwrap().is_ascii_lowercase()
                && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        };
        if !alternatives.iter().all(|w| is_word(w)) {
            break;
        }
        out = out
            .into_iter()
            .flat_map(|p| {
                alternatives.iter().map(move |w| {
                    let mut p = p.clone();
                    p.push((*w).to_owned());
                    p
                })
            })
            .collect();
    }
    out
}

#[test]
fn every_readme_command_is_a_command() {
    let lines = readme_commands();
    assert!(
        lines.len() >= 10,
        "README.md's commands were not found: {lines:?}"
    );
    let mut bad = Vec::new();
    for (n, line) in &lines {
        for path in paths(line) {
            let out = Command::new(env!("CARGO_BIN_EXE_autotest"))
                .args(&path)
                .arg("--help")
                .output()
                .unwrap();
            if !out.status.success() {
                bad.push(format!(
                    "README.md:{n}: `autotest {}` is not a command ({}): {line}",
                    path.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_word_that_is_no_command_is_caught() {
    // The check itself: a misspelt subcommand fails `--help`, so drift cannot pass.
    let out = Command::new(env!("CARGO_BIN_EXE_autotest"))
        .args(["results", "exprot", "--help"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(paths("autotest label add|remove <label>").len(), 2);
}
