//! The protocol's lines (data-driven), and the agent serving them on in-memory pipes with a
//! stand-in autoserv (a shell script that writes the pidfile the way autoserv does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::protocol::{Message, Op, Reply, parse_message, parse_request, to_line};
use super::*;
use crate::pidfile::{PidfileState, ProcessExit};

#[test]
fn request_lines_parse_or_become_error_replies() {
    // (line, Ok(op) or Err(id, words the error must hold))
    type Case = (&'static str, Result<Op, (Option<u64>, &'static str)>);
    let cases: Vec<Case> = vec![
        (r#"{"id":1,"op":"ping"}"#, Ok(Op::Ping)),
        (
            r#"{"id":2,"op":"hello","version":1}"#,
            Ok(Op::Hello { version: 1 }),
        ),
        (r#"{"id":3,"op":"list"}"#, Ok(Op::List)),
        (
            r#"{"id":4,"op":"kill","pid":77}"#,
            Ok(Op::Kill {
                pid: 77,
                signal: None,
            }),
        ),
        (
            r#"{"id":4,"op":"kill","pid":77,"signal":"KILL"}"#,
            Ok(Op::Kill {
                pid: 77,
                signal: Some("KILL".into()),
            }),
        ),
        (
            r#"{"id":5,"op":"launch","results_dir":"/r/1-a/h","control":"x","machines":["h"]}"#,
            Ok(Op::Launch {
                results_dir: "/r/1-a/h".into(),
                control: "x".into(),
                machines: vec!["h".into()],
                server: false,
                conmux: None,
            }),
        ),
        (
            r#"{"id":6,"op":"free_disk","path":"/"}"#,
            Ok(Op::FreeDisk { path: "/".into() }),
        ),
        (
            r#"{"id":7,"op":"manifest","results_dir":"/r"}"#,
            Ok(Op::Manifest {
                results_dir: "/r".into(),
            }),
        ),
        (r#"{"id":8,"op":"explode"}"#, Err((Some(8), "explode"))),
        (r#"{"id":9,"op":"kill"}"#, Err((Some(9), "pid"))),
        // Unknown fields are ignored: a newer scheduler's optional extras do not break an agent.
        (r#"{"id":10,"op":"ping","extra":1}"#, Ok(Op::Ping)),
        (r#"{"op":"ping"}"#, Err((None, "id"))),
        ("not json", Err((None, "request line 3"))),
        (r#"[1,2]"#, Err((None, "one JSON object per line"))),
    ];
    for (line, want) in cases {
        match (parse_request(3, line), want) {
            (Ok(req), Ok(op)) => assert_eq!(req.op, op, "{line}"),
            (Err(Message::Error { id, message }), Err((want_id, words))) => {
                assert_eq!(id, want_id, "{line}: {message}");
                assert!(message.contains(words), "{line}: {message}");
            }
            (got, want) => panic!("{line}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn messages_survive_a_round_trip() {
    let finished = PidfileState::Finished {
        pid: 9,
        exit_status: ProcessExit::Code(1),
        failed_tests: 2,
    };
    let messages = vec![
        Message::Reply {
            id: 1,
            result: Reply::Hello {
                version: 1,
                build_id: "abc-1".into(),
            },
        },
        Message::Reply {
            id: 2,
            result: Reply::Launched {
                pid: 5,
                command_line: "autotest autoserv".into(),
            },
        },
        Message::Reply {
            id: 3,
            result: Reply::Watched {
                state: Some(PidfileState::Running { pid: 5 }),
                pids: vec![5],
            },
        },
        Message::Reply {
            id: 3,
            result: Reply::Watched {
                state: None,
                pids: vec![],
            },
        },
        Message::Reply {
            id: 4,
            result: Reply::Listed {
                watched: vec![protocol::WatchedDir {
                    results_dir: "/r".into(),
                    state: Some(finished.clone()),
                }],
            },
        },
        Message::Reply {
            id: 5,
            result: Reply::Disk {
                free_bytes: 1,
                total_bytes: 2,
            },
        },
        Message::Reply {
            id: 6,
            result: Reply::Manifest {
                files: vec![("a/b".into(), 3)],
            },
        },
        Message::Reply {
            id: 7,
            result: Reply::Done {},
        },
        Message::Error {
            id: None,
            message: "m".into(),
        },
        Message::Pidfile {
            results_dir: "/r".into(),
            state: Some(finished),
        },
        Message::Exited {
            results_dir: "/r".into(),
            pid: 5,
            exit: Some(ProcessExit::Signal(15)),
        },
        Message::Heartbeat { seq: 4 },
    ];
    for m in messages {
        let line = to_line(&m);
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(parse_message(&line).unwrap(), m, "{line}");
    }
}

/// A stand-in for `autotest autoserv` (`$0 autoserv -m M -r DIR -c CONTROL`): writes the pid,
/// runs the control file as a shell script, writes its exit status and 0 failed tests.
fn stand_in(dir: &Path) -> PathBuf {
    let path = dir.join("fake-autotest");
    std::fs::write(
        &path,
        "#!/bin/sh\nr=\"$5\"\necho $$ > \"$r/.autoserv_execute\"\nsh \"$r/control\"\nrc=$?\n\
         printf '%s\\n%s\\n0\\n' $$ $((rc * 256)) > \"$r/.autoserv_execute.tmp\"\n\
         mv \"$r/.autoserv_execute.tmp\" \"$r/.autoserv_execute\"\nexit $rc\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

struct Pipe {
    to_agent: tokio::io::DuplexStream,
    from_agent: tokio::io::Lines<BufReader<tokio::io::DuplexStream>>,
    agent: tokio::task::JoinHandle<Result<(), DroneError>>,
}

impl Pipe {
    fn start(autotest: &Path) -> Pipe {
        let (to_agent, agent_in) = tokio::io::duplex(1 << 16);
        let (agent_out, from_agent) = tokio::io::duplex(1 << 16);
        let mut config = AgentConfig::new(autotest).unwrap();
        config.tick = Duration::from_millis(20);
        config.heartbeat = Duration::from_millis(100);
        let agent = tokio::spawn(run_agent(config, BufReader::new(agent_in), agent_out));
        Pipe {
            to_agent,
            from_agent: BufReader::new(from_agent).lines(),
            agent,
        }
    }

    async fn send(&mut self, line: &str) {
        self.to_agent.write_all(line.as_bytes()).await.unwrap();
        self.to_agent.write_all(b"\n").await.unwrap();
    }

    /// The next message that is not a heartbeat (heartbeats are counted).
    async fn next(&mut self, beats: &mut u64) -> Message {
        let mut only_beats = 0;
        loop {
            // A guard against a hang, not a timing check: the agent heartbeats every 100 ms.
            let line = tokio::time::timeout(Duration::from_secs(60), self.from_agent.next_line())
                .await
                .expect("nothing but heartbeats for 60 s")
                .unwrap()
                .expect("agent ended");
            match parse_message(&line).unwrap() {
                Message::Heartbeat { .. } => {
                    *beats += 1;
                    only_beats += 1;
                    assert!(
                        only_beats < 600,
                        "only heartbeats for a minute: the awaited message never came"
                    );
                }
                m => return m,
            }
        }
    }

    async fn reply(&mut self, id: u64, beats: &mut u64, events: &mut Vec<Message>) -> Message {
        loop {
            match self.next(beats).await {
                m @ (Message::Reply { id: i, .. } | Message::Error { id: Some(i), .. })
                    if i == id =>
                {
                    return m;
                }
                m => events.push(m),
            }
        }
    }
}

#[tokio::test]
async fn the_agent_launches_reports_kills_and_hands_over() {
    let tmp = tempfile::tempdir().unwrap();
    let autotest = stand_in(tmp.path());
    let mut p = Pipe::start(&autotest);
    let (mut beats, mut events) = (0u64, Vec::new());

    p.send(r#"{"id":1,"op":"hello","version":1}"#).await;
    let Message::Reply {
        result: Reply::Hello { build_id, .. },
        ..
    } = p.reply(1, &mut beats, &mut events).await
    else {
        panic!("hello")
    };
    assert_eq!(build_id, build_id_of(&autotest));
    p.send(r#"{"id":2,"op":"hello","version":99}"#).await;
    let Message::Error { message, .. } = p.reply(2, &mut beats, &mut events).await else {
        panic!("version 99 accepted")
    };
    assert!(message.contains("99"), "{message}");

    // Garbage is answered and the agent keeps serving.
    p.send("{{{").await;
    let Message::Error { id: None, message } = p.next(&mut beats).await else {
        panic!("no error for garbage")
    };
    assert!(message.contains("request line 3"), "{message}");

    // A job that ends by itself: pidfile states and the exit are pushed.
    let job = tmp.path().join("results/1-alice/host1");
    let launch = |id: u64, dir: &Path, control: &str| {
        to_line(&protocol::Request {
            id,
            op: Op::Launch {
                results_dir: dir.to_owned(),
                control: control.into(),
                machines: vec!["host1".into()],
                server: false,
                conmux: None,
            },
        })
    };
    p.send(&launch(3, &job, "echo out > out.txt; exit 3")).await;
    let Message::Reply {
        result: Reply::Launched { pid, command_line },
        ..
    } = p.reply(3, &mut beats, &mut events).await
    else {
        panic!("launch")
    };
    assert!(
        command_line.contains("autoserv -m host1 -r"),
        "{command_line}"
    );
    let mut exited = None;
    let mut finished = None;
    while exited.is_none() || finished.is_none() {
        match pop_or_next(&mut events, &mut p, &mut beats).await {
            Message::Exited {
                pid: x,
                exit,
                results_dir,
            } => {
                assert_eq!((x, results_dir.as_path()), (pid, job.as_path()));
                exited = exit;
            }
            Message::Pidfile {
                state: Some(s @ PidfileState::Finished { .. }),
                ..
            } => finished = Some(s),
            _ => {}
        }
    }
    assert_eq!(exited, Some(ProcessExit::Code(3)));
    assert_eq!(
        finished,
        Some(PidfileState::Finished {
            pid,
            exit_status: ProcessExit::Code(3),
            failed_tests: 0
        })
    );

    // The manifest is what is on disk; the tree is removed only once its autoserv ended.
    p.send(&to_line(&protocol::Request {
        id: 4,
        op: Op::Manifest {
            results_dir: job.clone(),
        },
    }))
    .await;
    let Message::Reply {
        result: Reply::Manifest { files },
        ..
    } = p.reply(4, &mut beats, &mut events).await
    else {
        panic!("manifest")
    };
    assert_eq!(manifest(&job).unwrap(), files);
    assert!(files.contains(&("out.txt".into(), 4)), "{files:?}");
    assert!(
        files.iter().any(|(f, _)| f == "debug/autoserv.cmd"),
        "{files:?}"
    );

    // A job that runs until killed: kill reaches its process group.
    let long = tmp.path().join("results/2-alice/host1");
    p.send(&launch(5, &long, "sleep 600")).await;
    let Message::Reply {
        result: Reply::Launched { pid: long_pid, .. },
        ..
    } = p.reply(5, &mut beats, &mut events).await
    else {
        panic!("launch")
    };
    p.send(&to_line(&protocol::Request {
        id: 6,
        op: Op::Remove {
            results_dir: long.clone(),
        },
    }))
    .await;
    let m = p.reply(6, &mut beats, &mut events).await;
    assert!(
        matches!(m, Message::Error { .. }),
        "a running job's tree removed: {m:?}"
    );
    assert!(long.exists());
    p.send(&format!(r#"{{"id":7,"op":"kill","pid":{long_pid}}}"#))
        .await;
    assert_eq!(
        p.reply(7, &mut beats, &mut events).await,
        Message::Reply {
            id: 7,
            result: Reply::Done {}
        }
    );
    loop {
        match pop_or_next(&mut events, &mut p, &mut beats).await {
            Message::Exited { pid, exit, .. } if pid == long_pid => {
                assert_eq!(exit, Some(ProcessExit::Signal(libc::SIGTERM)));
                break;
            }
            _ => {}
        }
    }
    p.send(r#"{"id":8,"op":"kill","pid":1}"#).await;
    assert!(matches!(
        p.reply(8, &mut beats, &mut events).await,
        Message::Error { .. }
    ));

    // Re-attach as a new agent would: watch gives the state and running pids.
    p.send(&to_line(&protocol::Request {
        id: 9,
        op: Op::Watch {
            results_dir: job.clone(),
        },
    }))
    .await;
    let Message::Reply {
        result: Reply::Watched { state, pids },
        ..
    } = p.reply(9, &mut beats, &mut events).await
    else {
        panic!("watch")
    };
    assert!(
        matches!(state, Some(PidfileState::Finished { .. })),
        "{state:?}"
    );
    assert!(pids.is_empty(), "{pids:?}");

    p.send(r#"{"id":10,"op":"free_disk","path":"/"}"#).await;
    let Message::Reply {
        result: Reply::Disk {
            free_bytes,
            total_bytes,
        },
        ..
    } = p.reply(10, &mut beats, &mut events).await
    else {
        panic!("free_disk")
    };
    assert!(total_bytes > 0 && free_bytes <= total_bytes);

    p.send(&to_line(&protocol::Request {
        id: 11,
        op: Op::Remove {
            results_dir: job.clone(),
        },
    }))
    .await;
    assert!(matches!(
        p.reply(11, &mut beats, &mut events).await,
        Message::Reply { .. }
    ));
    assert!(!job.exists());
    p.send(r#"{"id":12,"op":"list"}"#).await;
    let Message::Reply {
        result: Reply::Listed { watched },
        ..
    } = p.reply(12, &mut beats, &mut events).await
    else {
        panic!("list")
    };
    assert_eq!(
        watched
            .iter()
            .map(|w| w.results_dir.clone())
            .collect::<Vec<_>>(),
        vec![long.clone()]
    );

    // Heartbeats came on their own; end of input ends the agent cleanly.
    while beats == 0 {
        // Any line, heartbeats included (next() returns only other messages).
        let line = p
            .from_agent
            .next_line()
            .await
            .unwrap()
            .expect("agent ended");
        if matches!(parse_message(&line).unwrap(), Message::Heartbeat { .. }) {
            beats += 1;
        }
    }
    drop(p.to_agent);
    p.agent.await.unwrap().unwrap();
}

async fn pop_or_next(events: &mut Vec<Message>, p: &mut Pipe, beats: &mut u64) -> Message {
    match events.pop() {
        Some(m) => m,
        None => p.next(beats).await,
    }
}

fn build_id_of(p: &Path) -> String {
    build_id(p).unwrap()
}
