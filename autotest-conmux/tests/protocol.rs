//! The conmux codec against the exact lines of the legacy Perl implementation.

use autotest_conmux::{
    ClientId,
    ConnectType::{Client, Status},
    MAX_LINE_LEN, ProtocolError, Reply, Request, escape, unescape,
};
use proptest::prelude::*;

#[test]
fn escape_matches_uri_escape_defaults() {
    assert_eq!(escape("AZaz09-._~"), "AZaz09-._~");
    assert_eq!(
        escape("a b/c:d|e@f=g%h\n"),
        "a%20b%2Fc%3Ad%7Ce%40f%3Dg%25h%0A"
    );
    assert_eq!(escape("é"), "%C3%A9");
    assert_eq!(unescape("a%2fb%2Fc/d%C3%A9").unwrap(), "a/b/c/dé");
}

/// Each message with its exact legacy wire line.
#[test]
fn legacy_lines() {
    let requests = [
        Request::add("mybox", "c1:12345"),
        Request::lookup("mybox"),
        Request::list(),
        Request::connect(&ClientId::User("root".into()), Client),
        Request::connect(&ClientId::Bot("autoserv".into()), Status),
    ];
    let lines = [
        "ADD location=c1%3A12345 service=mybox",
        "LOOKUP service=mybox",
        "LIST",
        "CONNECT id=user%3Aroot to=console type=client",
        "CONNECT id=bot%3Aautoserv to=console type=status",
    ];
    for (req, line) in requests.into_iter().zip(lines) {
        assert_eq!(req.encode(), line);
        assert_eq!(Request::parse(&format!("{line}\n")), Ok(req));
    }
    let replies = [
        Reply::registry_ok(),
        Reply::registry_lookup(Some("c1:1")),
        Reply::registry_lookup(None),
        Reply::registry_list([("a", "h:1"), ("b", "h:2")]),
        Reply::registry_list([]),
    ];
    let lines = [
        "status=OK title=registry",
        "result=c1%3A1 status=OK title=registry",
        "status=ENOENT%20entry%20not%20found title=registry",
        "result=a%20h%3A1%0Ab%20h%3A2%0A status=OK title=registry",
        "result= status=OK title=registry",
    ];
    for (reply, line) in replies.into_iter().zip(lines) {
        assert_eq!(reply.encode(), line);
        assert_eq!(Reply::parse(line), Ok(reply));
    }
    // The legacy client sends `LIST ` (trailing space) when there are no arguments.
    assert_eq!(Request::parse("LIST \n"), Ok(Request::list()));
}

#[test]
fn reply_helpers() {
    let missing = Reply::registry_lookup(None);
    assert_eq!(missing.status(), Some("ENOENT entry not found"));
    assert_eq!((missing.errno(), missing.is_ok()), (Some("ENOENT"), false));
    let found = Reply::registry_lookup(Some("h:1"));
    assert_eq!(
        (found.errno(), found.is_ok(), found.get("result")),
        (None, true, Some("h:1"))
    );
    let list = Reply::registry_list([("a", "h:1"), ("b", "h:2")]);
    assert_eq!(list.get("result"), Some("a h:1\nb h:2\n"));
    let r = Reply::new().with("z", "1").with("a", "2");
    assert_eq!(r.encode(), "a=2 z=1", "keys in sorted order");
}

#[test]
fn lenient_like_legacy() {
    let r = Reply::parse("  a=1\t b=x=y  c=  a=2 d=a/b:c%2f\r\n").unwrap();
    let got: Vec<_> = r.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(got, ["a=2", "b=x=y", "c=", "d=a/b:c/"]);
}

#[test]
fn errors() {
    use ProtocolError::*;
    let cases = [
        ("", EmptyLine),
        (" \r\n", EmptyLine),
        ("a=1 b=%4", BadEscape { position: 6 }),
        ("a=%zz", BadEscape { position: 2 }),
        ("a=%+1", BadEscape { position: 2 }),
        ("a=%FF", InvalidUtf8 { position: 2 }),
        (
            "a=1 b",
            MissingEquals {
                position: 4,
                word: "b".into(),
            },
        ),
    ];
    for (line, want) in cases {
        assert_eq!(Reply::parse(line), Err(want), "{line:?}");
    }
    assert_eq!(Request::parse("LIST %4=x"), Err(BadEscape { position: 5 }));
    let msg = Request::parse("LOOKUP service").unwrap_err().to_string();
    assert!(msg.contains("`service` at byte 7"), "{msg}");
    assert!(msg.contains("`VERB key=value ...`"), "{msg}");
    assert!(matches!(Request::parse("a=1"), Err(MissingVerb { .. })));
    let long = format!("k={}", "x".repeat(MAX_LINE_LEN));
    let len = MAX_LINE_LEN + 2;
    assert_eq!(Reply::parse(&long), Err(LineTooLong { len }));
    let msg = Reply::parse(&"y".repeat(1000)).unwrap_err().to_string();
    assert!(msg.len() < 300, "long words are shortened: {msg}");
}

proptest! {
    #[test]
    fn request_round_trip(
        verb in "(?s).+",
        pairs in prop::collection::btree_map("(?s).*", "(?s).*", 0..6),
    ) {
        let req = Request { verb, pairs };
        prop_assert_eq!(Request::parse(&req.encode()), Ok(req));
    }

    #[test]
    fn reply_round_trip(pairs in prop::collection::btree_map("(?s).*", "(?s).*", 1..6)) {
        let reply = Reply { pairs };
        let line = format!("{}\n", reply.encode());
        prop_assert_eq!(Reply::parse(&line), Ok(reply));
    }

    #[test]
    fn parse_never_panics(line in ".*", bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Request::parse(&line);
        let _ = Reply::parse(&line);
        let raw = String::from_utf8_lossy(&bytes);
        let _ = Request::parse(&raw);
        let _ = Reply::parse(&raw);
    }

    #[test]
    fn escaped_is_unreserved(s in any::<String>()) {
        let e = escape(&s);
        prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        prop_assert_eq!(unescape(&e), Ok(s));
    }
}
