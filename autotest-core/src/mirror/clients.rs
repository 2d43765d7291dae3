//! The clients file (`-c`, default `~/.autotest_mirror_clients`): which control files each queue
//! runs for a new release. Lines `<queue> <control> [<control>...]`; `#` lines and blank lines
//! are skipped; `~` in a control path is the home directory.
//!
//! Refused with file and line (and left out; the other lines still count, the run reports it): a
//! queue without control files, a queue that is not one directory name, a queue already listed
//! on an earlier line (named in the message; the first line counts). A control file repeated on
//! its line is reported and queued once. Missing queue directories and control files are found
//! when the run looks for them, also against their line.

use std::path::{Path, PathBuf};

use super::error::MirrorProblem;

/// One line of the clients file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientsEntry {
    /// The queue: the directory `<queuedir>/<queue>`.
    pub queue: String,
    /// The control files to queue, `~` expanded.
    pub controls: Vec<PathBuf>,
    /// 1-based line in the clients file.
    pub line: usize,
}

/// Parses the clients file `text` read from `path`. Lines that cannot be used are returned as
/// problems (file and line) and left out; the others still count.
pub fn parse_clients(
    text: &str,
    path: &Path,
    home: Option<&Path>,
) -> (Vec<ClientsEntry>, Vec<MirrorProblem>) {
    let mut entries: Vec<ClientsEntry> = Vec::new();
    let mut problems = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let words: Vec<&str> = raw.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            [first, ..] if first.starts_with('#') => {}
            [only] => problems.push(MirrorProblem::at(
                path,
                line,
                format!("'{only}' names a queue but no control file; write '<queue> <control file> [<control file>...]'"),
            )),
            [queue, controls @ ..] => {
                if let Err(why) = check_queue_name(queue) {
                    problems.push(MirrorProblem::at(path, line, why));
                    continue;
                }
                // A queue listed twice would get each release's jobs twice, or from two places
                // nobody meant to combine: the first line counts, the later one is refused.
                if let Some(first) = entries.iter().find(|e| e.queue == *queue) {
                    problems.push(MirrorProblem::at(
                        path,
                        line,
                        format!(
                            "queue '{queue}' is already listed on line {}; the first line counts, so put all its control files on that line and remove this one",
                            first.line
                        ),
                    ));
                    continue;
                }
                let mut kept: Vec<PathBuf> = Vec::new();
                for control in controls {
                    let control = expand_home(control, home);
                    if kept.contains(&control) {
                        // Queued twice per release otherwise; the line's other files still count.
                        problems.push(MirrorProblem::at(
                            path,
                            line,
                            format!("control file {} is listed twice for queue '{queue}'; it is queued once, remove the repeat", control.display()),
                        ));
                        continue;
                    }
                    kept.push(control);
                }
                entries.push(ClientsEntry {
                    queue: (*queue).to_owned(),
                    controls: kept,
                    line,
                });
            }
        }
    }
    (entries, problems)
}

/// A queue name is one directory name inside the queue directory.
pub(super) fn check_queue_name(queue: &str) -> Result<(), String> {
    if queue.contains('/') || queue.starts_with('.') {
        Err(format!(
            "queue '{queue}' is not a directory name: a queue is one directory inside the queue directory (no '/', not starting with '.')"
        ))
    } else {
        Ok(())
    }
}

fn expand_home(word: &str, home: Option<&Path>) -> PathBuf {
    match (word.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_owned(),
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(word),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_sample_and_reports_bad_lines() {
        let text = "# queues\nx86_64 /home/testing/control_files/basic-tests ~/more-tests\n\nsparc   /home/testing/control_files/basic-tests\nlonely\n../etc /x\nlonehost.someplace.net ~\n";
        let (entries, problems) =
            parse_clients(text, Path::new("/c/clients"), Some(Path::new("/root")));
        assert_eq!(
            entries,
            [
                ClientsEntry {
                    queue: "x86_64".into(),
                    controls: vec![
                        "/home/testing/control_files/basic-tests".into(),
                        "/root/more-tests".into()
                    ],
                    line: 2
                },
                ClientsEntry {
                    queue: "sparc".into(),
                    controls: vec!["/home/testing/control_files/basic-tests".into()],
                    line: 4
                },
                ClientsEntry {
                    queue: "lonehost.someplace.net".into(),
                    controls: vec!["/root".into()],
                    line: 7
                },
            ]
        );
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].starts_with("/c/clients:5: 'lonely' names a queue but no control file"),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with("/c/clients:6: queue '../etc' is not a directory name"),
            "{problems:?}"
        );
    }

    #[test]
    fn repeated_queues_and_control_files_are_refused_naming_the_first() {
        let text = "x86 /c/a ~/b\nsparc /c/a\nx86 /c/other\nsparc /c/a /c/b /c/a /root/b ~/b\n";
        let (entries, problems) =
            parse_clients(text, Path::new("/c/clients"), Some(Path::new("/root")));
        let got: Vec<(&str, Vec<&str>, usize)> = entries
            .iter()
            .map(|e| {
                (
                    e.queue.as_str(),
                    e.controls.iter().map(|c| c.to_str().unwrap()).collect(),
                    e.line,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("x86", vec!["/c/a", "/root/b"], 1),
                ("sparc", vec!["/c/a"], 2)
            ]
        );
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "/c/clients:3: queue 'x86' is already listed on line 1; the first line counts, so put all its control files on that line and remove this one",
                "/c/clients:4: queue 'sparc' is already listed on line 2; the first line counts, so put all its control files on that line and remove this one",
            ]
        );
        let (entries, problems) = parse_clients(
            "x86 /c/a ~/b /c/a /root/b /c/c\n",
            Path::new("/c/clients"),
            Some(Path::new("/root")),
        );
        assert_eq!(
            entries[0].controls,
            [PathBuf::from("/c/a"), "/root/b".into(), "/c/c".into()]
        );
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "/c/clients:1: control file /c/a is listed twice for queue 'x86'; it is queued once, remove the repeat",
                "/c/clients:1: control file /root/b is listed twice for queue 'x86'; it is queued once, remove the repeat",
            ]
        );
    }
}
