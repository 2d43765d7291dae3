//! Signal names: both transports report a signal the way OpenSSH does (`TERM`, `KILL`, without
//! `SIG`), so callers compare one spelling whichever machine the command ran on.

/// Linux signal numbers and their names (the set `kill -l` shows before the real-time ones).
const NAMES: &[(i32, &str)] = &[
    (1, "HUP"),
    (2, "INT"),
    (3, "QUIT"),
    (4, "ILL"),
    (5, "TRAP"),
    (6, "ABRT"),
    (7, "BUS"),
    (8, "FPE"),
    (9, "KILL"),
    (10, "USR1"),
    (11, "SEGV"),
    (12, "USR2"),
    (13, "PIPE"),
    (14, "ALRM"),
    (15, "TERM"),
    (16, "STKFLT"),
    (17, "CHLD"),
    (18, "CONT"),
    (19, "STOP"),
    (20, "TSTP"),
    (21, "TTIN"),
    (22, "TTOU"),
    (23, "URG"),
    (24, "XCPU"),
    (25, "XFSZ"),
    (26, "VTALRM"),
    (27, "PROF"),
    (28, "WINCH"),
    (29, "IO"),
    (30, "PWR"),
    (31, "SYS"),
];

/// The name of signal `n` (`15` → `TERM`); a number without a name stays a number.
pub fn signal_name(n: i32) -> String {
    NAMES
        .iter()
        .find(|(num, _)| *num == n)
        .map_or_else(|| n.to_string(), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::signal_name;

    #[test]
    fn names_match_libc_numbers() {
        for (n, name) in [
            (libc::SIGTERM, "TERM"),
            (libc::SIGKILL, "KILL"),
            (libc::SIGSEGV, "SEGV"),
            (libc::SIGHUP, "HUP"),
            (libc::SIGPIPE, "PIPE"),
            (libc::SIGSYS, "SYS"),
        ] {
            assert_eq!(signal_name(n), name);
        }
        assert_eq!(signal_name(40), "40");
    }
}
