//! `.cf` parsing: the legacy examples, our directives, and errors naming file, line and fix.

use std::path::Path;

use autotest_conmux::cf::{ConsoleSource, Listener};
use autotest_conmux::{CfError, ConsoleConfig};

#[test]
fn legacy_command_example_parses() {
    let text = "listener ppc64\n\
                # a comment\n\
                application console 'ppc64 console' 'hmc open-term -m bigppc -p \"lpar 1\"'\n  \
                command 'hardreset' 'initated a hard reset' \\\n      'hmc reboot -m bigppc'\n  \
                help 'hardreset' 'initiate a system hard reset for this machine'\n";
    let cfg = ConsoleConfig::parse(Path::new("/etc/conmux/ppc64.cf"), text).unwrap();
    assert_eq!(
        cfg.listener,
        Listener::Registered {
            registry: None,
            name: "ppc64".into()
        }
    );
    assert_eq!(cfg.name, "console");
    assert_eq!(cfg.title, "ppc64 console");
    assert_eq!(
        cfg.source,
        ConsoleSource::Application {
            command: "hmc open-term -m bigppc -p \"lpar 1\"".into(),
            pty: true
        }
    );
    assert_eq!(cfg.commands[0].name, "hardreset");
    assert_eq!(cfg.commands[0].announcement, "initated a hard reset");
    assert_eq!(cfg.commands[0].command, "hmc reboot -m bigppc");
    assert_eq!(
        cfg.help,
        vec![(
            "hardreset".into(),
            "initiate a system hard reset for this machine".into()
        )]
    );
    assert_eq!(cfg.bind.to_string(), "127.0.0.1");
    assert_eq!(cfg.log.path, Path::new("/etc/conmux/ppc64.log"));
}

#[test]
fn our_directives_and_listener_forms() {
    let text = "listener reg1:6300/box\nsocket console \"Box \\\"1\\\"\" 10.0.0.5:2001\n\
                bind 0.0.0.0\nallow 127.0.0.1 10.0.0.0/8\nlog logs/box.log 1000 2\nclient-buffer 2048\n";
    let cfg = ConsoleConfig::parse(Path::new("/c/box.cf"), text).unwrap();
    assert_eq!(
        cfg.listener,
        Listener::Registered {
            registry: Some("reg1:6300".into()),
            name: "box".into()
        }
    );
    assert_eq!(cfg.title, "Box \"1\"");
    assert_eq!(cfg.source, ConsoleSource::Socket("10.0.0.5:2001".into()));
    assert_eq!(cfg.bind.to_string(), "0.0.0.0");
    assert_eq!(cfg.client_buffer, 2048);
    assert!(cfg.allow[1].contains("10.9.8.7".parse().unwrap()));
    assert!(!cfg.allow[1].contains("11.0.0.1".parse().unwrap()));
    assert!(cfg.allow[0].contains("::ffff:127.0.0.1".parse().unwrap()));
    assert_eq!(
        (cfg.log.path.as_path(), cfg.log.max_bytes, cfg.log.keep),
        (Path::new("/c/logs/box.log"), 1000, 2)
    );
    let port = ConsoleConfig::parse(Path::new("p.cf"), "listener 7001\nsocket c t h:1\n").unwrap();
    assert_eq!(port.listener, Listener::Port(7001));
}

#[test]
fn errors_name_file_line_and_fix() {
    let cases = [
        (
            "listener a\nsocket console 'x' 1.2.3.4:5\nfrobnicate 1\n",
            "box.cf:3: unknown directive `frobnicate`",
            "use listener, socket",
        ),
        (
            "listener a\nsocket console 'unterminated 1.2.3.4:5\n",
            "box.cf:2: unterminated '-quoted word",
            "close the quote",
        ),
        (
            "listener a\nsocket console 'x'\n",
            "box.cf:2: `socket` takes 3 argument(s), found 2",
            "socket <name> '<title>' <host:port>",
        ),
        (
            "listener a\ncommand hardreset 'x' 'y'\n",
            "box.cf:2: `command` before the console",
            "put the `socket`",
        ),
        (
            "listener a\nsocket console x nothost\n",
            "box.cf:2: `nothost` is not a host:port",
            "host:port",
        ),
        (
            "listener 99999\nsocket c t h:1\n",
            "box.cf:1: port `99999` is out of range",
            "1 to 65535",
        ),
        (
            "listener a\nsocket c t h:1\nallow 10.0.0.0/33\n",
            "box.cf:3: `10.0.0.0/33`",
            "10.0.0.0/8",
        ),
        (
            "listener a\n# c\nsocket c t h:1\nsocket d t h:2\n",
            "box.cf:4: a second console; line 3",
            "one `socket`",
        ),
        (
            "socket c t h:1\n",
            "box.cf: no `listener` line",
            "add `listener",
        ),
        ("listener a\n", "box.cf: no console", "add `socket console"),
        (
            "listener a\nsocket c t h:1\npty on\n",
            "box.cf:3: `pty` applies to an `application`",
            "remove the `pty`",
        ),
        (
            "listener a\nsocket c t \\\n  h:1 extra\n",
            "box.cf:2: `socket` takes 3",
            "quote words",
        ),
        (
            "listener a\nsocket c t h:1\nclient-buffer 0\n",
            "box.cf:3: client-buffer `0`",
            "client-buffer 1048576",
        ),
    ];
    for (text, want, fix) in cases {
        let err = ConsoleConfig::parse(Path::new("/d/box.cf"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{text:?}: got {err}");
        assert!(
            err.contains("fix: ") && err.contains(fix),
            "{text:?}: no fix {fix:?} in {err}"
        );
        assert!(err.starts_with("/d/box.cf"), "{err}");
    }
    let missing = ConsoleConfig::load(Path::new("/nonexistent/x.cf")).unwrap_err();
    assert!(matches!(missing, CfError::Io { .. }), "{missing}");
}
