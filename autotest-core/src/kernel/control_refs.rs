//! What kernel sources a control file asks for, read without executing it: the string literals
//! of the mirror preamble (`kernel = '6.1.5'`, `patches = ['p1', 'p2']`, FORMATS §8) and of
//! `job.kernel('...')` / `.patch('...')` calls. Anything computed at run time is not seen; the
//! client then finds its files itself (its kernels directory, a mirror URL) or says what it
//! tried.

use crate::pyliteral::{self, StrKind};

/// Kernel sources and patches named by string literals in a control file, in order, once each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelRefs {
    /// `kernel = '...'` and `job.kernel('...')` arguments.
    pub kernels: Vec<String>,
    /// `patches = [...]` items and `.patch('...')` arguments.
    pub patches: Vec<String>,
}

/// Reads a Python string literal at the start of `s` (the crate's one literal reader); returns
/// its text and the rest. Bytes, f-strings and unterminated literals are not names of files.
fn literal(s: &str) -> Option<(String, &str)> {
    match pyliteral::read_str(s)? {
        Ok((lit, rest)) if lit.kind == StrKind::Text => Some((lit.value, rest)),
        _ => None,
    }
}

/// Literals of a comma-separated sequence (of a list or call); stops at the first
/// non-literal item (a variable, `*patches`): those are run-time values.
fn literal_items(mut s: &str) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let Some((lit, rest)) = literal(s) else {
            return out;
        };
        out.push(lit);
        let rest = rest.trim_start();
        match rest.strip_prefix(',') {
            Some(r) => s = r,
            None => return out,
        }
    }
}

fn push_unique(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for i in items {
        if !i.is_empty() && !list.contains(&i) {
            list.push(i);
        }
    }
}

/// The value after `name =` at the start of a line (not `==`).
fn assignment<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?.trim_start();
    let rest = rest.strip_prefix('=')?;
    (!rest.starts_with('=')).then_some(rest)
}

/// Scans `control` for the kernel sources and patches it names literally.
pub fn kernel_refs(control: &str) -> KernelRefs {
    let mut refs = KernelRefs::default();
    for line in control.lines() {
        let code = line.trim_start();
        if code.starts_with('#') {
            continue;
        }
        if let Some(v) = assignment(code, "kernel").and_then(literal) {
            push_unique(&mut refs.kernels, [v.0]);
        }
        if let Some(rest) = assignment(code, "patches")
            && let Some(list) = rest.trim_start().strip_prefix('[')
        {
            push_unique(&mut refs.patches, literal_items(list));
        }
        for (i, _) in code.match_indices("job.kernel(") {
            if let Some((v, _)) = literal(&code[i + "job.kernel(".len()..]) {
                push_unique(&mut refs.kernels, [v]);
            }
        }
        for (i, _) in code.match_indices(".patch(") {
            push_unique(
                &mut refs.patches,
                literal_items(&code[i + ".patch(".len()..]),
            );
        }
    }
    refs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_and_calls() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "# Autotest kernel test\nkernel = '6.1.5'\nconfig = '/boot/config'\npatches = None\n\ndef step_init():\n    job.next_step([step_test])\n    k = job.kernel(kernel)\n",
                &["6.1.5"],
                &[],
            ),
            (
                "kernel = \"6.8-rc3\"\npatches = ['patch-a.xz', \"b.patch\"]\nk = job.kernel('/tmp/linux.tar.gz')\nk.patch('c.gz', patches[0], 'd')\n",
                &["6.8-rc3", "/tmp/linux.tar.gz"],
                &["patch-a.xz", "b.patch", "c.gz"],
            ),
            (
                "if kernel == '6.1': pass\n# kernel = '5.0'\nk = job.kernel(v)\nk.patch(*patches)\nx = job.kernel( 'it\\'s' )\n",
                &["it's"],
                &[],
            ),
            ("kernel = '6.1'\nkernel = '6.1'\n", &["6.1"], &[]),
            // Literals as Python reads them (the shared reader): prefixes, escapes, triple
            // quotes; bytes, f-strings and unterminated strings name nothing.
            (
                "kernel = r'/k\\x41'\nk = job.kernel(u'/k/\\x41\\u00e9')\nk.patch('''p1''', \"p\\\\2\")\n",
                &["/k\\x41", "/k/Aé"],
                &["p1", "p\\2"],
            ),
            (
                "kernel = f'{v}'\nk = job.kernel(b'/k')\nk.patch('open\npatches = ['a', rb'b']\n",
                &[],
                &["a"],
            ),
        ];
        for (text, kernels, patches) in cases {
            let r = kernel_refs(text);
            assert_eq!(r.kernels, *kernels, "{text}");
            assert_eq!(r.patches, *patches, "{text}");
        }
    }
}
