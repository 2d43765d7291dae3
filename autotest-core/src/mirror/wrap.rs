//! What a queued file says: the preamble (`kernel`, `config`, `patches`), the two-step wrapper
//! around a client control file, and a `.srv` file behind the preamble (FORMATS §8).

use super::configs::KernelConfig;

/// The release and build settings a queued file is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelJob {
    /// The kernel version, e.g. `6.1.5` or `2.6.23-rc6-git3`.
    pub kernel: String,
    /// The config to build it with.
    pub config: KernelConfig,
    /// Patches to apply after unpacking (none for a release the machine resolves itself).
    pub patches: Vec<String>,
}

/// The preamble every queued file starts with: a comment naming the source, then `kernel`,
/// `config` (`None` for defconfig) and `patches` (`None` when there are none).
pub fn preamble(job: &KernelJob, source: &str) -> String {
    let config = match &job.config {
        KernelConfig::Path(p) => py_str(p),
        KernelConfig::Defconfig => "None".to_owned(),
    };
    let patches = if job.patches.is_empty() {
        "None".to_owned()
    } else {
        format!(
            "[{}]",
            job.patches
                .iter()
                .map(|p| py_str(p))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "# Queued by autotest mirror for kernel {}, from {}\nkernel = {}\nconfig = {config}\npatches = {patches}\n",
        one_line(&job.kernel),
        one_line(source),
        py_str(&job.kernel)
    )
}

/// A `.srv` file as queued: the preamble, then the file unchanged (it may use `kernel`,
/// `config`, `patches` and `machines`).
pub fn wrap_server_control(job: &KernelJob, source: &str, body: &str) -> String {
    format!("{}\n{body}", preamble(job, source))
}

/// A client control file as queued: `step_init` builds and boots the release, `step_test` holds
/// the original body re-indented by four spaces (leading tabs expanded to Python's 8-column
/// stops first, so legacy files mixing tabs and spaces compile under Python 3). Top-level
/// `from __future__ import ...` and `from ... import *` lines, which Python 3 allows only at
/// module level, are moved above the steps. A file with its own `step_init` has it called at
/// the end of `step_test`.
pub fn wrap_client_control(job: &KernelJob, source: &str, body: &str) -> String {
    let mut future = String::new();
    let mut star_imports = String::new();
    let mut step_body = String::new();
    let mut has_statement = false;
    for raw in body.lines() {
        let line = expand_leading_tabs(raw.strip_suffix('\r').unwrap_or(raw));
        if is_future_import(&line) {
            future.push_str(&line);
            future.push('\n');
            continue;
        }
        if is_star_import(&line) {
            star_imports.push_str(&line);
            star_imports.push('\n');
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            step_body.push('\n');
            continue;
        }
        has_statement |= !trimmed.starts_with('#');
        step_body.push_str("    ");
        step_body.push_str(line.trim_end());
        step_body.push('\n');
    }
    if !has_statement {
        step_body.push_str("    pass\n");
    }
    // A control file that uses steps itself defines its own step_init, which the runner would
    // no longer see: step_test starts it, and returns its locals so the steps it queues (nested
    // in step_test now) are found.
    if body.lines().any(|l| l.starts_with("def step_init(")) {
        step_body.push_str("    step_init()\n    return locals()\n");
    }
    let (comment, assignments) = preamble(job, source)
        .split_once('\n')
        .map(|(c, a)| (c.to_owned(), a.to_owned()))
        .unwrap_or_default();
    let mut out = format!("{comment}\n{future}{assignments}");
    if !star_imports.is_empty() {
        out.push('\n');
        out.push_str(&star_imports);
    }
    out.push_str(
        "\n\ndef step_init():\n    job.next_step([step_test])\n    k = job.kernel(kernel)\n",
    );
    if !job.patches.is_empty() {
        out.push_str("    k.patch(*patches)\n");
    }
    match job.config {
        KernelConfig::Path(_) => out.push_str("    k.config(config)\n"),
        KernelConfig::Defconfig => out.push_str("    k.config('', None, True)\n"),
    }
    out.push_str("    k.build()\n    k.boot()\n\n\ndef step_test():\n");
    out.push_str(&step_body);
    out
}

fn is_future_import(line: &str) -> bool {
    line.strip_prefix("from")
        .is_some_and(|r| r.starts_with([' ', '\t']) && r.trim_start().starts_with("__future__"))
}

fn is_star_import(line: &str) -> bool {
    let code = line.split('#').next().unwrap_or("").trim_end();
    line.starts_with("from ") && code.ends_with("import *") && !code.contains(['(', '\\', ';'])
}

/// Leading tabs go to the next multiple of 8 columns, as Python's tokenizer counts them.
fn expand_leading_tabs(line: &str) -> String {
    let indent_len = line.len() - line.trim_start_matches([' ', '\t']).len();
    let mut col = 0;
    for c in line[..indent_len].chars() {
        col = if c == '\t' {
            (col / 8 + 1) * 8
        } else {
            col + 1
        };
    }
    format!("{}{}", " ".repeat(col), &line[indent_len..])
}

/// A Python 3 string literal for `s`.
fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Text for a comment line: newlines would end the comment.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(config: KernelConfig, patches: &[&str]) -> KernelJob {
        KernelJob {
            kernel: "6.1.5".to_owned(),
            config,
            patches: patches.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    #[test]
    fn wraps_a_client_file_in_two_steps() {
        let body = "# basic tests\njob.run_test('kernbench', 2)\nif True:\n\tjob.run_test('dbench')\n        \tjob.run_test('tbench')\n";
        let out = wrap_client_control(
            &job(KernelConfig::Path("/boot/config".into()), &[]),
            "/ctl/basic-tests",
            body,
        );
        assert_eq!(
            out,
            "# Queued by autotest mirror for kernel 6.1.5, from /ctl/basic-tests\n\
             kernel = '6.1.5'\n\
             config = '/boot/config'\n\
             patches = None\n\
             \n\n\
             def step_init():\n    job.next_step([step_test])\n    k = job.kernel(kernel)\n    k.config(config)\n    k.build()\n    k.boot()\n\
             \n\n\
             def step_test():\n    # basic tests\n    job.run_test('kernbench', 2)\n    if True:\n            job.run_test('dbench')\n                    job.run_test('tbench')\n"
        );
    }

    #[test]
    fn defconfig_patches_and_module_level_imports() {
        let body = "from __future__ import print_function\nfrom autotest_lib.client.bin.utils import *\n\n# only comments\n";
        let out = wrap_client_control(
            &job(KernelConfig::Defconfig, &["/m/patch-1.xz", "it's"]),
            "c",
            body,
        );
        assert_eq!(
            out,
            "# Queued by autotest mirror for kernel 6.1.5, from c\n\
             from __future__ import print_function\n\
             kernel = '6.1.5'\n\
             config = None\n\
             patches = ['/m/patch-1.xz', 'it\\'s']\n\
             \nfrom autotest_lib.client.bin.utils import *\n\
             \n\n\
             def step_init():\n    job.next_step([step_test])\n    k = job.kernel(kernel)\n    k.patch(*patches)\n    k.config('', None, True)\n    k.build()\n    k.boot()\n\
             \n\n\
             def step_test():\n\n    # only comments\n    pass\n"
        );
    }

    #[test]
    fn a_file_with_its_own_steps_is_started_from_step_test() {
        let body = "def step_init():\n    job.next_step(step_two)\n\ndef step_two():\n    job.run_test('sleeptest')\n";
        let out = wrap_client_control(
            &job(KernelConfig::Path("/boot/config".into()), &[]),
            "c",
            body,
        );
        assert!(
            out.ends_with("def step_test():\n    def step_init():\n        job.next_step(step_two)\n\n    def step_two():\n        job.run_test('sleeptest')\n    step_init()\n    return locals()\n"),
            "{out}"
        );
    }

    #[test]
    fn server_file_follows_the_preamble_unchanged() {
        let body = "def run(machine):\n\tpass\nparallel_simple(run, machines)\n";
        let out = wrap_server_control(
            &job(KernelConfig::Path("/cfg/x86".into()), &[]),
            "/ctl/a.srv",
            body,
        );
        assert_eq!(
            out,
            format!(
                "# Queued by autotest mirror for kernel 6.1.5, from /ctl/a.srv\nkernel = '6.1.5'\nconfig = '/cfg/x86'\npatches = None\n\n{body}"
            )
        );
    }

    /// Every wrapped file is Python 3, whatever mix of tabs and spaces the original used.
    #[test]
    fn wrapped_files_compile_as_python3() {
        let d = tempfile::tempdir().unwrap();
        let seed = include_str!("../../../examples/control/basic-tests");
        let bodies = [
            seed,
            "",
            "def step_init():\n\tjob.next_step([step_two])\n\ndef step_two():\n        if 1:\n\t    job.run_test('sleeptest')\n",
            "from __future__ import print_function\nfrom os.path import *\nimport os\nfor t in ('dbench', 'tbench'):\n\tjob.run_test(t)\n",
            "x = \"\"\"\nmulti\n  line\n\"\"\"\r\njob.run_test('sleeptest')\r\n",
        ];
        let configs = [
            KernelConfig::Path("/boot/config".into()),
            KernelConfig::Defconfig,
        ];
        let mut files = Vec::new();
        for (i, body) in bodies.iter().enumerate() {
            for (j, config) in configs.iter().enumerate() {
                let path = d.path().join(format!("c{i}_{j}.py"));
                std::fs::write(
                    &path,
                    wrap_client_control(&job(config.clone(), &["/p/1.xz"]), "src", body),
                )
                .unwrap();
                files.push(path);
            }
        }
        let srv = d.path().join("s.py");
        std::fs::write(
            &srv,
            wrap_server_control(
                &job(KernelConfig::Defconfig, &[]),
                "s",
                "print(kernel, config, patches)\n",
            ),
        )
        .unwrap();
        files.push(srv);
        let out = std::process::Command::new("python3")
            .arg("-m")
            .arg("py_compile")
            .args(&files)
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn python_literals_escape_what_they_must() {
        assert_eq!(py_str("a'b\\c\nd\u{1}"), "'a\\'b\\\\c\\nd\\x01'");
        assert_eq!(expand_leading_tabs("  \t x\ty"), "         x\ty");
    }
}
