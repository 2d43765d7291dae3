//! Facts about processes of this machine, read from `/proc`.

use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When process `pid` started, if it runs (a zombie counts) and that can be told.
pub(crate) fn start_time(pid: u32) -> Option<SystemTime> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold anything; fields after it start
    // at field 3, and the start time is field 22, in clock ticks since boot.
    let rest = &stat[stat.rfind(')')? + 1..];
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 = fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz <= 0 {
        return None;
    }
    let hz = hz as u64;
    Some(
        UNIX_EPOCH
            + Duration::from_secs(boot)
            + Duration::from_secs(ticks / hz)
            + Duration::from_millis((ticks % hz) * 1000 / hz),
    )
}

/// The pids of running processes whose command line has `arg` as one of its arguments.
pub(crate) fn pids_with_arg(arg: &std::ffi::OsStr) -> Vec<u32> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id();
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
        })
        .collect()
}

/// This machine's host name.
pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_started_before_now() {
        let started = start_time(std::process::id()).unwrap();
        assert!(started <= SystemTime::now() + Duration::from_secs(2));
        assert!(start_time(0x7fff_fff0).is_none());
        assert!(!hostname().is_empty());
    }
}
