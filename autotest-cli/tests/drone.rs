//! `autotest drone` end to end: the real agent binary started through a transport and driven
//! by the scheduler's `DroneClient`; it runs a real `autotest autoserv` client job on
//! `localhost`, pushes its pidfile states and exit, hands over a verified manifest, and a
//! killed agent connection is reported down while its autoserv keeps running for a new agent
//! to re-attach to.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use autotest_core::drone::protocol::{Op, Reply};
use autotest_core::drone::{DroneClient, DroneEvent, build_id, manifest};
use autotest_core::pidfile::{PidfileState, ProcessExit};
use autotest_core::transport::{CommandSpec, LocalTransport, Transport};

fn agent_command(config_dir: &Path) -> CommandSpec {
    CommandSpec::new([
        env!("CARGO_BIN_EXE_autotest"),
        "drone",
        "--heartbeat-ms",
        "200",
    ])
    .env("AUTOTEST_CONFIG_DIR", &config_dir.to_string_lossy())
}

fn lab() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let autodir = dir.path().join("autodir");
    std::fs::create_dir(&autodir).unwrap();
    std::fs::write(
        dir.path().join("global_config.ini"),
        format!("[AUTOSERV]\nclient_autodir_paths: {}\n", autodir.display()),
    )
    .unwrap();
    dir
}

/// Events until `pred` holds (a deadline against a hang, not a timing check).
async fn until(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<DroneEvent>,
    mut pred: impl FnMut(&DroneEvent) -> bool,
) -> DroneEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(180), events.recv())
            .await
            .expect("no drone event for 3 minutes")
            .expect("drone event channel closed");
        if pred(&e) {
            return e;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the abort through a re-attached agent gets no final pidfile within 3 minutes (issue 12, open); run by hand with --run-ignored only"]
async fn a_real_agent_runs_a_client_job_and_survives_its_connection() {
    let lab = lab();
    let transport: Arc<dyn Transport> = Arc::new(LocalTransport::new("localhost"));
    let (drone, mut events) = DroneClient::connect(
        transport.clone(),
        agent_command(lab.path()),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(
        drone.build_id(),
        build_id(Path::new(env!("CARGO_BIN_EXE_autotest"))).unwrap(),
        "the agent is this build"
    );

    let dir = lab.path().join("results/1-alice/localhost");
    let reply = drone
        .request(Op::Launch {
            results_dir: dir.clone(),
            control: "job.run_test('sleeptest', seconds=0.1)\n".into(),
            machines: vec!["localhost".into()],
            server: false,
            conmux: None,
        })
        .await
        .unwrap();
    let Reply::Launched { pid, .. } = reply else {
        panic!("{reply:?}")
    };
    let finished = until(&mut events, |e| {
        matches!(
            e,
            DroneEvent::Message(autotest_core::drone::protocol::Message::Pidfile {
                state: Some(PidfileState::Finished { .. }),
                ..
            })
        )
    })
    .await;
    let DroneEvent::Message(autotest_core::drone::protocol::Message::Pidfile {
        state:
            Some(PidfileState::Finished {
                pid: p,
                exit_status,
                failed_tests,
            }),
        ..
    }) = finished
    else {
        unreachable!()
    };
    let log = std::fs::read_to_string(dir.join("debug/autoserv.stderr")).unwrap_or_default();
    assert_eq!(
        (p, exit_status, failed_tests),
        (pid, ProcessExit::Code(0), 0),
        "{log}"
    );
    let status = std::fs::read_to_string(dir.join("status.log")).unwrap();
    assert!(status.contains("GOOD"), "{status}");

    // The manifest the scheduler verifies a copy against is the tree on disk.
    let Reply::Manifest { files } = drone
        .request(Op::Manifest {
            results_dir: dir.clone(),
        })
        .await
        .unwrap()
    else {
        panic!("manifest")
    };
    assert_eq!(files, manifest(&dir).unwrap());
    assert!(files.iter().any(|(f, _)| f == "status.log"), "{files:?}");

    // A long job, then the connection is cut: the drone is reported down, autoserv runs on.
    let long = lab.path().join("results/2-alice/localhost");
    let Reply::Launched { pid: long_pid, .. } = drone
        .request(Op::Launch {
            results_dir: long.clone(),
            control: "job.run_test('sleeptest', seconds=600)\n".into(),
            machines: vec!["localhost".into()],
            server: false,
            conmux: None,
        })
        .await
        .unwrap()
    else {
        panic!("launch")
    };
    until(&mut events, |e| {
        matches!(
            e,
            DroneEvent::Message(autotest_core::drone::protocol::Message::Pidfile {
                state: Some(PidfileState::Running { .. }),
                ..
            })
        )
    })
    .await;
    // Kill the agent (not its autoservs, which run in their own process groups).
    let agents: Vec<u32> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| {
                    let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                    args.len() > 2
                        && args[0] == env!("CARGO_BIN_EXE_autotest").as_bytes()
                        && args[1] == b"drone"
                        && std::fs::read_to_string(format!("/proc/{pid}/environ"))
                            .unwrap_or_default()
                            .contains(&lab.path().to_string_lossy().to_string())
                })
                .unwrap_or(false)
        })
        .collect();
    assert_eq!(agents.len(), 1, "{agents:?}");
    // SAFETY: SIGKILL to the agent this test started.
    unsafe { libc::kill(agents[0] as i32, libc::SIGKILL) };
    let down = until(&mut events, |e| matches!(e, DroneEvent::Down { .. })).await;
    assert!(
        matches!(&down, DroneEvent::Down { reason } if reason.contains("closed")),
        "{down:?}"
    );
    assert!(drone.request(Op::Ping).await.is_err());
    // SAFETY: signal 0 only checks that the process exists.
    assert_eq!(
        unsafe { libc::kill(long_pid as i32, 0) },
        0,
        "autoserv died with its agent"
    );

    // A new agent re-attaches, then the job is aborted through it.
    let (drone2, mut events2) = DroneClient::connect(
        transport,
        agent_command(lab.path()),
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    let Reply::Watched { state, pids } = drone2
        .request(Op::Watch {
            results_dir: long.clone(),
        })
        .await
        .unwrap()
    else {
        panic!("watch")
    };
    assert_eq!(state, Some(PidfileState::Running { pid: long_pid }));
    assert!(pids.contains(&long_pid), "{pids:?}");
    drone2
        .request(Op::Kill {
            pid: long_pid,
            signal: None,
        })
        .await
        .unwrap();
    let ended = until(&mut events2, |e| {
        matches!(
            e,
            DroneEvent::Message(autotest_core::drone::protocol::Message::Pidfile {
                state: Some(PidfileState::Finished { .. } | PidfileState::Lost { .. }),
                ..
            })
        )
    })
    .await;
    assert!(matches!(ended, DroneEvent::Message(_)), "{ended:?}");
    let status = std::fs::read_to_string(long.join("status.log")).unwrap_or_default();
    assert!(status.contains("ABORT"), "{status}");
}
