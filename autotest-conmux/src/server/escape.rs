//! Client input as the legacy daemon reads it: `~$` anywhere switches to command mode, where the
//! line typed (echoed back, backspace honoured) up to CR or LF is one command; everything else
//! goes to the console unchanged.

/// What a piece of client input amounts to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Bytes for the console.
    Data(Vec<u8>),
    /// Command mode opened: show the prompt.
    Prompt,
    /// Bytes to echo back to the typing client only.
    Echo(Vec<u8>),
    /// A complete command line (without the `~$`), possibly empty.
    Command(String),
}

/// Per-client input state.
#[derive(Debug, Default)]
pub(crate) struct Escape {
    /// A `~` at the end of the previous read, which may start `~$`.
    tilde: bool,
    /// The command being typed, when in command mode.
    command: Option<Vec<u8>>,
}

impl Escape {
    /// Splits `input` into actions, keeping state across calls.
    pub fn feed(&mut self, input: &[u8]) -> Vec<Action> {
        let mut out = Vec::new();
        let mut data = Vec::new();
        let mut i = 0;
        let mut bytes: Vec<u8> = Vec::with_capacity(input.len() + 1);
        if std::mem::take(&mut self.tilde) {
            bytes.push(b'~');
        }
        bytes.extend_from_slice(input);
        while i < bytes.len() {
            let b = bytes[i];
            if let Some(cmd) = &mut self.command {
                match b {
                    b'\r' | b'\n' => {
                        // A run of line ends ends the command once.
                        while i < bytes.len() && matches!(bytes[i], b'\r' | b'\n') {
                            i += 1;
                        }
                        let line = String::from_utf8_lossy(cmd).into_owned();
                        self.command = None;
                        out.push(Action::Echo(b"\n".to_vec()));
                        out.push(Action::Command(line));
                        continue;
                    }
                    0x08 | 0x7f => {
                        if cmd.pop().is_some() {
                            out.push(Action::Echo(b"\x08 \x08".to_vec()));
                        }
                    }
                    _ => {
                        cmd.push(b);
                        out.push(Action::Echo(vec![b]));
                    }
                }
                i += 1;
                continue;
            }
            if b == b'~' {
                match bytes.get(i + 1) {
                    None => {
                        self.tilde = true;
                        i += 1;
                        continue;
                    }
                    Some(b'$') => {
                        if !data.is_empty() {
                            out.push(Action::Data(std::mem::take(&mut data)));
                        }
                        self.command = Some(Vec::new());
                        out.push(Action::Prompt);
                        i += 2;
                        continue;
                    }
                    Some(_) => {}
                }
            }
            data.push(b);
            i += 1;
        }
        if !data.is_empty() {
            out.push(Action::Data(data));
        }
        // Merge the echo bytes of one read into one write.
        let mut merged: Vec<Action> = Vec::with_capacity(out.len());
        for a in out {
            match (merged.last_mut(), a) {
                (Some(Action::Echo(prev)), Action::Echo(more)) => prev.extend(more),
                (_, a) => merged.push(a),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::{Action::*, Escape};

    #[test]
    fn cases() {
        let cases: &[(&[&[u8]], Vec<super::Action>)] = &[
            (&[b"ls\r"], vec![Data(b"ls\r".to_vec())]),
            (&[b"a~b"], vec![Data(b"a~b".to_vec())]),
            (
                &[b"a~", b"$quit\r"],
                vec![
                    Data(b"a".to_vec()),
                    Prompt,
                    Echo(b"quit\n".to_vec()),
                    Command("quit".into()),
                ],
            ),
            (
                &[b"~$msg hi\r\nx"],
                vec![
                    Prompt,
                    Echo(b"msg hi\n".to_vec()),
                    Command("msg hi".into()),
                    Data(b"x".to_vec()),
                ],
            ),
            (
                &[b"~$hx\x7f\x7f\x7fhelp\n"],
                vec![
                    Prompt,
                    Echo(b"hx\x08 \x08\x08 \x08help\n".to_vec()),
                    Command("help".into()),
                ],
            ),
            (&[b"~", b"x"], vec![Data(b"~x".to_vec())]),
        ];
        for (reads, want) in cases {
            let mut e = Escape::default();
            let got: Vec<_> = reads.iter().flat_map(|r| e.feed(r)).collect();
            assert_eq!(&got, want, "reads {reads:?}");
        }
    }
}
