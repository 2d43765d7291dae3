//! Starting an `application` console: on a raw pseudo-terminal (for programs that insist on a
//! terminal: telnet, ipmitool sol, virsh console) or on plain pipes as the legacy daemon did.
//! The program leads its own session, so the whole process group can be ended with it.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Stdio;

use tokio::net::unix::pipe;

/// A running application console: its output, its input, and the process (group) to end.
pub(crate) struct AppConsole {
    pub output: pipe::Receiver,
    pub input: pipe::Sender,
    pub child: ChildGroup,
}

/// Kills the program's process group when dropped.
pub(crate) struct ChildGroup {
    child: tokio::process::Child,
}

impl Drop for ChildGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
            unsafe {
                libc::kill(-pid, libc::SIGHUP);
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

fn check(r: libc::c_int) -> std::io::Result<libc::c_int> {
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn nonblocking(fd: &OwnedFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = check(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
        check(libc::fcntl(
            fd.as_raw_fd(),
            libc::F_SETFL,
            flags | libc::O_NONBLOCK,
        ))?;
    }
    Ok(())
}

fn openpty() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors into the integers given; the rest may be null.
    unsafe {
        check(libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        ))?;
    }
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    // Raw: bytes pass through both ways unchanged (no echo, no CR/LF mapping).
    // SAFETY: termios is plain data; the calls read/write it for the slave we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        check(libc::tcgetattr(slave.as_raw_fd(), &mut t))?;
        libc::cfmakeraw(&mut t);
        check(libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t))?;
    }
    Ok((master, slave))
}

fn pipe_pair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array.
    unsafe { check(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC))? };
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Starts `command` (a shell command line, as the legacy daemon ran it).
pub(crate) fn spawn(command: &str, use_pty: bool) -> std::io::Result<AppConsole> {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(format!("exec {command}"));
    cmd.kill_on_drop(true);
    let (output, input, child) = if use_pty {
        let (master, slave) = openpty()?;
        cmd.stdin(Stdio::from(slave.try_clone()?))
            .stdout(Stdio::from(slave.try_clone()?))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                check(libc::setsid())?;
                check(libc::ioctl(0, libc::TIOCSCTTY, 0))?;
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        drop(cmd); // closes our copies of the slave
        let writer = master.try_clone()?;
        (master, writer, child)
    } else {
        let (out_r, out_w) = pipe_pair()?;
        let (in_r, in_w) = pipe_pair()?;
        cmd.stdin(Stdio::from(in_r))
            .stdout(Stdio::from(out_w.try_clone()?))
            .stderr(Stdio::from(out_w));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                check(libc::setsid())?;
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        drop(cmd);
        (out_r, in_w, child)
    };
    nonblocking(&output)?;
    nonblocking(&input)?;
    Ok(AppConsole {
        output: pipe::Receiver::from_owned_fd_unchecked(output)?,
        input: pipe::Sender::from_owned_fd_unchecked(input)?,
        child: ChildGroup { child },
    })
}
