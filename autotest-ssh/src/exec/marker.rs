//! The process-id marker: the wrapper prints `\x1eautotest-ssh-pid=<pid>\n` on stderr before it
//! `exec`s the command, so a timed-out or abandoned command can be killed by its process group.
//! The marker is cut out of stderr; whatever the login shell printed around it passes through.

/// The bytes before the pid.
const MARKER: &[u8] = b"\x1eautotest-ssh-pid=";

/// Give up looking for the marker after this much stderr (a shell that ate it).
const MAX_SEARCH: usize = 64 * 1024;

/// Prefixes `shell` (a POSIX command line) with the marker. The login shell's `$$` is the pid of
/// the shell that `exec`s the command, which sshd made a session and process-group leader.
pub(crate) fn wrap(shell: &str) -> String {
    format!("printf '\\036autotest-ssh-pid=%s\\n' \"$$\" >&2; {shell}")
}

/// Finds the marker in the first bytes of stderr.
#[derive(Debug)]
pub(crate) struct PidMarker {
    searching: bool,
    buf: Vec<u8>,
}

impl PidMarker {
    /// A finder; when `enabled` is false every byte passes straight through.
    pub(crate) fn new(enabled: bool) -> Self {
        PidMarker {
            searching: enabled,
            buf: Vec::new(),
        }
    }

    /// Takes a chunk of stderr; returns the pid once found and the bytes that are real stderr.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> (Option<u32>, Vec<u8>) {
        if !self.searching {
            return (None, chunk.to_vec());
        }
        self.buf.extend_from_slice(chunk);
        if let Some(at) = find(&self.buf, MARKER) {
            let rest = &self.buf[at + MARKER.len()..];
            if let Some(nl) = rest.iter().position(|b| *b == b'\n') {
                let pid = std::str::from_utf8(&rest[..nl])
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok());
                let mut pass = self.buf[..at].to_vec();
                pass.extend_from_slice(&rest[nl + 1..]);
                self.searching = false;
                self.buf = Vec::new();
                return (pid.filter(|p| *p > 1), pass);
            }
        }
        if self.buf.len() > MAX_SEARCH {
            self.searching = false;
            return (None, std::mem::take(&mut self.buf));
        }
        (None, Vec::new())
    }

    /// The end of stderr: whatever is still held back.
    pub(crate) fn finish(&mut self) -> Vec<u8> {
        self.searching = false;
        std::mem::take(&mut self.buf)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_cut_out_even_when_split_and_surrounded() {
        let mut m = PidMarker::new(true);
        assert_eq!(m.feed(b"motd\n\x1eautotest-ssh"), (None, vec![]));
        assert_eq!(m.feed(b"-pid=4321"), (None, vec![]));
        assert_eq!(m.feed(b"\nerr1\n"), (Some(4321), b"motd\nerr1\n".to_vec()));
        assert_eq!(
            m.feed(b"\x1eautotest-ssh-pid=9\n"),
            (None, b"\x1eautotest-ssh-pid=9\n".to_vec())
        );
        let mut off = PidMarker::new(false);
        assert_eq!(off.feed(b"x"), (None, b"x".to_vec()));
        let mut never = PidMarker::new(true);
        assert_eq!(never.feed(b"partial"), (None, vec![]));
        assert_eq!(never.finish(), b"partial".to_vec());
    }

    #[test]
    fn wrapper_prints_the_marker_through_sh() {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(wrap("echo hi"))
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"hi\n");
        let mut m = PidMarker::new(true);
        let (pid, pass) = m.feed(&out.stderr);
        assert!(
            pid.is_some() && pass.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
