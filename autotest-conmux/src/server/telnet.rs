//! Telnet negotiation from a TCP console (RFC 854), answered as the legacy daemon does: refuse
//! every option for ourselves, let the far end ECHO and SUPPRESS-GO-AHEAD, drop subnegotiation.

const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;
const ECHO: u8 = 1;
const SGA: u8 = 3;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Data,
    Iac,
    Verb(u8),
    Sub,
    SubIac,
}

/// Filter state carried across reads.
#[derive(Debug, Default)]
pub(crate) struct Telnet {
    state: State,
}

impl Telnet {
    /// Whether `input` holds (or continues) negotiation; nearly all console output does not,
    /// and is then shown as it is.
    pub fn involved(&self, input: &[u8]) -> bool {
        self.state != State::Data || input.contains(&IAC)
    }

    /// Splits `input` into bytes to show and negotiation replies to send back.
    pub fn filter(&mut self, input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut shown = Vec::with_capacity(input.len());
        let mut reply = Vec::new();
        for &b in input {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b) => {
                    shown.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    shown.push(IAC);
                    State::Data
                }
                (State::Iac, SB) => State::Sub,
                (State::Iac, v @ (DO | DONT | WILL | WONT)) => State::Verb(v),
                (State::Iac, _) => State::Data,
                (State::Verb(v), opt) => {
                    match v {
                        DO => reply.extend([IAC, WONT, opt]),
                        WILL if opt == ECHO || opt == SGA => reply.extend([IAC, DO, opt]),
                        WILL | WONT => reply.extend([IAC, DONT, opt]),
                        _ => {}
                    }
                    State::Data
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, _) => State::Sub,
                (State::SubIac, SE) => State::Data,
                (State::SubIac, _) => State::Sub,
            };
        }
        (shown, reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_is_answered_and_hidden() {
        let cases: &[(&[u8], &[u8], &[u8])] = &[
            (b"plain", b"plain", b""),
            (&[b'a', IAC, DO, 24, b'b'], b"ab", &[IAC, WONT, 24]),
            (
                &[IAC, WILL, ECHO, IAC, WILL, 5],
                b"",
                &[IAC, DO, ECHO, IAC, DONT, 5],
            ),
            (&[IAC, SB, 24, 1, IAC, SE, b'x'], b"x", b""),
            (&[IAC, IAC], &[IAC], b""),
        ];
        for (input, shown, reply) in cases {
            let (s, r) = Telnet::default().filter(input);
            assert_eq!((&s[..], &r[..]), (*shown, *reply), "{input:?}");
        }
    }
}
