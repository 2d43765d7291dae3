//! The registry over real loopback TCP, spoken to in raw legacy lines (FORMATS.md section 11).

use autotest_conmux::RegistryServer;
use autotest_conmux::client;
use autotest_testlab::tcp_console::legacy;

#[tokio::test]
async fn legacy_lines_and_persistence_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("registry");
    let reg = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let addr = reg.local_addr().to_string();
    let exchanges = [
        (
            "ADD service=box1 location=127.0.0.1%3A5001",
            "status=OK title=registry",
        ),
        (
            "ADD location=127.0.0.1%3A5000 service=alpha",
            "status=OK title=registry",
        ),
        (
            "LOOKUP service=box1",
            "result=127.0.0.1%3A5001 status=OK title=registry",
        ),
        (
            "LOOKUP service=nope",
            "status=ENOENT%20entry%20not%20found title=registry",
        ),
        (
            "LIST",
            "result=alpha%20127.0.0.1%3A5000%0Abox1%20127.0.0.1%3A5001%0A status=OK title=registry",
        ),
        ("FROB", "status=ENOSYS title=registry"),
        ("LOOKUP service=%zz", "title=registry"),
    ];
    for (line, want) in exchanges {
        let (reply, _) = legacy(&addr, line).await;
        if line.contains("%zz") {
            assert!(reply.starts_with("status=EINVAL%20bad%20escape"), "{reply}");
        }
        assert!(reply.ends_with(want), "{line} -> {reply}, want {want}");
    }
    // Several requests on one connection, as the legacy client library may send.
    let (reply, mut s) = legacy(&addr, "LOOKUP service=alpha").await;
    assert_eq!(reply, "result=127.0.0.1%3A5000 status=OK title=registry");
    tokio::io::AsyncWriteExt::write_all(&mut s, b"LOOKUP service=box1\n")
        .await
        .unwrap();
    assert_eq!(
        autotest_testlab::tcp_console::read_line(&mut s).await,
        "result=127.0.0.1%3A5001 status=OK title=registry"
    );
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        "alpha 127.0.0.1:5000\nbox1 127.0.0.1:5001\n"
    );
    drop(reg);
    // A new registry on the same store knows everything the old one was told.
    let reg = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let at = reg.local_addr().to_string();
    assert_eq!(
        client::lookup(Some(&at), "box1").await.unwrap(),
        "127.0.0.1:5001"
    );
    assert_eq!(client::list(Some(&at)).await.unwrap().len(), 2);
    let err = client::lookup(Some(&at), "missing")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("ENOENT entry not found"), "{err}");
}

#[tokio::test]
async fn a_bad_store_line_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = autotest_testlab::write(dir.path(), "registry", "a 1.2.3.4:5\nthree words here\n");
    let err = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("registry:2: `three words here`") && err.contains("fix:"),
        "{err}"
    );
}

/// A registered console that is alive: something accepts connections at its address.
async fn live_address() -> (tokio::net::TcpListener, String) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap().to_string();
    (l, a)
}

#[tokio::test]
async fn an_add_over_a_live_entry_is_refused_and_the_store_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("registry");
    let reg = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let addr = reg.local_addr().to_string();
    let (_live, live) = live_address().await;
    let (reply, _) = legacy(&addr, &format!("ADD service=box location={live}")).await;
    assert_eq!(reply, "status=OK title=registry");
    let before = std::fs::read(&store).unwrap();

    // A plain TCP client tries to take the name over with another address.
    let (reply, _) = legacy(&addr, "ADD service=box location=127.0.0.1%3A9").await;
    let escaped_live = autotest_conmux::escape(&live);
    assert!(
        reply.starts_with(&format!(
            "status=EEXIST%20box%20is%20registered%20at%20{escaped_live}%2C%20which%20is%20live"
        )) && reply.ends_with(" title=registry")
            && reply.contains("fix%3A"),
        "{reply}"
    );
    assert_eq!(std::fs::read(&store).unwrap(), before, "store rewritten");
    assert_eq!(client::lookup(Some(&addr), "box").await.unwrap(), live);
    // Our client reports the refusal with the registry's reason.
    let err = client::add(Some(&addr), "box", "127.0.0.1:9")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("ADD refused: EEXIST box is registered at {live}")),
        "{err}"
    );
}

#[tokio::test]
async fn a_dead_entry_is_replaced_and_a_same_address_add_is_a_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("registry");
    let reg = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let addr = reg.local_addr().to_string();
    let (live, old) = live_address().await;
    client::add(Some(&addr), "box", &old).await.unwrap();

    // The same address again (a legacy server re-registering) is accepted while it is live.
    let (reply, _) = legacy(
        &addr,
        &format!("ADD service=box location={}", autotest_conmux::escape(&old)),
    )
    .await;
    assert_eq!(reply, "status=OK title=registry");
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("box {old}\n")
    );

    // The console at `old` dies; a new one takes the name over.
    drop(live);
    let (_live, new) = live_address().await;
    let (reply, _) = legacy(&addr, &format!("ADD service=box location={new}")).await;
    assert_eq!(reply, "status=OK title=registry");
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("box {new}\n")
    );
    assert_eq!(client::lookup(Some(&addr), "box").await.unwrap(), new);

    // An entry whose address cannot even be parsed counts as dead too.
    std::fs::write(&store, "box not-an-address\n").unwrap();
    drop(reg);
    let reg = RegistryServer::start("127.0.0.1:0".parse().unwrap(), &store)
        .await
        .unwrap();
    let addr = reg.local_addr().to_string();
    client::add(Some(&addr), "box", &new).await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&store).unwrap(),
        format!("box {new}\n")
    );
}
