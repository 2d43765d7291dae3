//! The `.cf` line parser: joins continued lines, splits words, checks each directive.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use super::words::{SplitError, split_words};
use super::{
    AddressRange, CfError, ConsoleCommand, ConsoleConfig, ConsoleSource, DEFAULT_CLIENT_BUFFER,
    DEFAULT_LOG_KEEP, DEFAULT_LOG_MAX_BYTES, Listener, LogSettings,
};

pub(super) struct Parser<'a> {
    path: &'a Path,
    listener: Option<Listener>,
    console: Option<(String, String, ConsoleSource, usize)>,
    pty: Option<(bool, usize)>,
    commands: Vec<ConsoleCommand>,
    help: Vec<(String, String)>,
    bind: Option<IpAddr>,
    allow: Vec<AddressRange>,
    log: Option<LogSettings>,
    client_buffer: Option<usize>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(path: &'a Path) -> Self {
        Self {
            path,
            listener: None,
            console: None,
            pty: None,
            commands: Vec::new(),
            help: Vec::new(),
            bind: None,
            allow: Vec::new(),
            log: None,
            client_buffer: None,
        }
    }

    fn err(&self, line: usize, message: impl Into<String>, fix: impl Into<String>) -> CfError {
        CfError::Line {
            path: self.path.to_owned(),
            line,
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub(super) fn run(mut self, text: &str) -> Result<ConsoleConfig, CfError> {
        // Joins continued lines, remembering where each logical line started.
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let seg = raw.trim_start();
            if seg.starts_with('#') {
                continue;
            }
            let (start, mut line) = pending.take().unwrap_or((i + 1, String::new()));
            line.push_str(seg);
            if let Some(stripped) = line.strip_suffix('\\') {
                pending = Some((start, stripped.to_owned()));
                continue;
            }
            self.directive(start, &line)?;
        }
        // A continuation on the last line: the line ends there.
        if let Some((start, line)) = pending {
            self.directive(start, &line)?;
        }
        self.finish()
    }

    fn directive(&mut self, n: usize, line: &str) -> Result<(), CfError> {
        let words = split_words(line).map_err(|SplitError::Unterminated { quote }| {
            self.err(
                n,
                format!("unterminated {quote}-quoted word"),
                format!("close the quote with {quote} (use \\ to continue a line)"),
            )
        })?;
        let Some((verb, args)) = words.split_first() else {
            return Ok(());
        };
        let want = |count: usize, usage: &str| {
            if args.len() == count {
                Ok(())
            } else {
                Err(self.err(
                    n,
                    format!("`{verb}` takes {count} argument(s), found {}", args.len()),
                    format!("write `{usage}` (quote words holding spaces)"),
                ))
            }
        };
        match verb.as_str() {
            "listener" => {
                want(1, "listener [<registry>/]<name> or listener <port>")?;
                self.listener = Some(self.listener_of(n, &args[0])?);
            }
            "socket" | "application" => {
                let usage = if verb == "socket" {
                    "socket <name> '<title>' <host:port>"
                } else {
                    "application <name> '<title>' '<command>'"
                };
                want(3, usage)?;
                if let Some((.., first)) = &self.console {
                    return Err(self.err(
                        n,
                        format!("a second console; line {first} already defines one"),
                        "keep one `socket` or `application` line per .cf file",
                    ));
                }
                let source = if verb == "socket" {
                    if !args[2].contains(':') {
                        return Err(self.err(
                            n,
                            format!("`{}` is not a host:port address", args[2]),
                            "write the console's address as host:port, e.g. 127.0.0.1:2001",
                        ));
                    }
                    ConsoleSource::Socket(args[2].clone())
                } else {
                    if split_words(&args[2]).map(|w| w.is_empty()).unwrap_or(true) {
                        return Err(self.err(
                            n,
                            "empty or badly quoted application command",
                            "give the program to run, e.g. 'telnet 10.0.0.5 2001'",
                        ));
                    }
                    ConsoleSource::Application {
                        command: args[2].clone(),
                        pty: true,
                    }
                };
                self.console = Some((args[0].clone(), args[1].clone(), source, n));
            }
            "command" => {
                want(3, "command <name> '<announcement>' '<command>'")?;
                self.need_console(n, verb)?;
                if split_words(&args[2]).map(|w| w.is_empty()).unwrap_or(true) {
                    return Err(self.err(
                        n,
                        format!("empty or badly quoted command for `{}`", args[0]),
                        "give the program to run, e.g. 'reboot-apc pdu1 4'",
                    ));
                }
                self.commands.push(ConsoleCommand {
                    name: args[0].clone(),
                    announcement: args[1].clone(),
                    command: args[2].clone(),
                });
            }
            "help" => {
                want(2, "help <name> '<text>'")?;
                self.need_console(n, verb)?;
                self.help.push((args[0].clone(), args[1].clone()));
            }
            "bind" => {
                want(1, "bind <address>")?;
                let addr = args[0].parse().map_err(|_| {
                    self.err(
                        n,
                        format!("`{}` is not an IP address", args[0]),
                        "write an address such as 127.0.0.1, 0.0.0.0 or ::",
                    )
                })?;
                self.bind = Some(addr);
            }
            "allow" => {
                if args.is_empty() {
                    return Err(self.err(
                        n,
                        "`allow` without addresses",
                        "write `allow <address>[/<prefix>] ...`, e.g. allow 10.0.0.0/8",
                    ));
                }
                for a in args {
                    let range = self.range_of(n, a)?;
                    self.allow.push(range);
                }
            }
            "log" => {
                if args.is_empty() || args.len() > 3 {
                    want(1, "log <path> [<max-bytes> [<keep>]]")?;
                }
                let number = |s: &String, what: &str| {
                    s.parse::<u64>().map_err(|_| {
                        self.err(
                            n,
                            format!("{what} `{s}` is not a whole number"),
                            "write `log <path> [<max-bytes> [<keep>]]`, e.g. log x.log 1048576 3",
                        )
                    })
                };
                let max_bytes = match args.get(1) {
                    Some(s) => number(s, "max-bytes")?.max(1),
                    None => DEFAULT_LOG_MAX_BYTES,
                };
                let keep = match args.get(2) {
                    Some(s) => u32::try_from(number(s, "keep")?).unwrap_or(u32::MAX),
                    None => DEFAULT_LOG_KEEP,
                };
                let path = self.relative(&args[0]);
                self.log = Some(LogSettings {
                    path,
                    max_bytes,
                    keep,
                });
            }
            "client-buffer" => {
                want(1, "client-buffer <bytes>")?;
                let n = args[0]
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        self.err(
                            n,
                            format!("client-buffer `{}` is not a positive whole number", args[0]),
                            "write e.g. `client-buffer 1048576`",
                        )
                    })?;
                self.client_buffer = Some(n);
            }
            "pty" => {
                want(1, "pty on|off")?;
                let on = match args[0].as_str() {
                    "on" | "yes" | "true" => true,
                    "off" | "no" | "false" => false,
                    other => {
                        return Err(self.err(
                            n,
                            format!("`pty {other}`"),
                            "write `pty on` or `pty off`",
                        ));
                    }
                };
                self.pty = Some((on, n));
            }
            other => {
                return Err(self.err(
                    n,
                    format!("unknown directive `{other}`"),
                    "use listener, socket, application, command, help, bind, allow, log, pty or client-buffer",
                ));
            }
        }
        Ok(())
    }

    fn need_console(&self, n: usize, verb: &str) -> Result<(), CfError> {
        if self.console.is_none() {
            return Err(self.err(
                n,
                format!("`{verb}` before the console is defined"),
                "put the `socket` or `application` line first",
            ));
        }
        Ok(())
    }

    fn relative(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        match self.path.parent() {
            Some(dir) if p.is_relative() => dir.join(p),
            _ => p.to_owned(),
        }
    }

    fn listener_of(&self, n: usize, word: &str) -> Result<Listener, CfError> {
        if word.bytes().all(|b| b.is_ascii_digit()) {
            return word.parse().map(Listener::Port).map_err(|_| {
                self.err(
                    n,
                    format!("port `{word}` is out of range"),
                    "use a port from 1 to 65535",
                )
            });
        }
        let (registry, name) = match word.rsplit_once('/') {
            Some((r, name)) => (
                Some(r.to_owned()).filter(|r| !r.is_empty() && r != "-"),
                name,
            ),
            None => (None, word),
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(self.err(
                n,
                format!("`{word}` has no console name"),
                "write `listener <registry>/<name>`, e.g. listener localhost/box1",
            ));
        }
        Ok(Listener::Registered {
            registry,
            name: name.to_owned(),
        })
    }

    fn range_of(&self, n: usize, word: &str) -> Result<AddressRange, CfError> {
        let bad = || {
            self.err(
                n,
                format!("`{word}` is not an address or address/prefix"),
                "write e.g. 127.0.0.1, 10.0.0.0/8 or ::1/128",
            )
        };
        let (addr, prefix) = match word.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (word, None),
        };
        let address: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(AddressRange { address, prefix })
    }

    fn finish(self) -> Result<ConsoleConfig, CfError> {
        let missing = |message: &str, fix: &str| CfError::Missing {
            path: self.path.to_owned(),
            message: message.into(),
            fix: fix.into(),
        };
        let listener = self.listener.clone().ok_or_else(|| {
            missing(
                "no `listener` line",
                "add `listener <registry>/<name>` (or `listener <port>`)",
            )
        })?;
        let Some((name, title, mut source, _)) = self.console.clone() else {
            return Err(missing(
                "no console: neither a `socket` nor an `application` line",
                "add `socket console '<title>' <host:port>` or `application console '<title>' '<command>'`",
            ));
        };
        if let Some((on, n)) = self.pty {
            match &mut source {
                ConsoleSource::Application { pty, .. } => *pty = on,
                ConsoleSource::Socket(_) => {
                    return Err(self.err(
                        n,
                        "`pty` applies to an `application` console only",
                        "remove the `pty` line for a `socket` console",
                    ));
                }
            }
        }
        let log = self.log.clone().unwrap_or_else(|| LogSettings {
            path: self
                .path
                .with_file_name(format!("{}.log", ConsoleConfig::file_stem(self.path))),
            max_bytes: DEFAULT_LOG_MAX_BYTES,
            keep: DEFAULT_LOG_KEEP,
        });
        Ok(ConsoleConfig {
            path: self.path.to_owned(),
            listener,
            name,
            title,
            source,
            commands: self.commands,
            help: self.help,
            bind: self.bind.unwrap_or(IpAddr::from([127, 0, 0, 1])),
            allow: self.allow,
            log,
            client_buffer: self.client_buffer.unwrap_or(DEFAULT_CLIENT_BUFFER),
        })
    }
}
