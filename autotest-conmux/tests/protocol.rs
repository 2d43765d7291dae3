//! The conmux codec against the exact lines of the legacy Perl implementation.

use std::collections::BTreeMap;

use autotest_conmux::{
    escape, unescape, ClientId, ConnectType, ProtocolError, Reply, Request, MAX_LINE_LEN,
};
use proptest::prelude::*;

#[test]
fn escape_matches_uri_escape_defaults() {
    assert_eq!(escape("AZaz09-._~"), "AZaz09-._~");
    assert_eq!(escape("a b/c:d|e@f=g%h\n"), "a%20b%2Fc%3Ad%7Ce%40f%3Dg%25h%0A");
    assert_eq!(escape("é"), "%C3%A9");
    assert_eq!(unescape("a%2fb%2Fc/d%C3%A9").unwrap(), "a/b/c/dé");
}

#[test]
fn registry_requests() {
    assert_eq!(
        Request::add("mybox", "conmux1:12345").encode(),
        "ADD location=conmux1%3A12345 service=mybox"
    );
    assert_eq!(Request::lookup("mybox").encode(), "LOOKUP service=mybox");
    assert_eq!(Request::list().encode(), "LIST");
    let r = Request::parse("ADD service=mybox location=conmux1%3A12345\n").unwrap();
    assert_eq!(r, Request::add("mybox", "conmux1:12345"));
    // The legacy client sends `LIST ` (trailing space) for no arguments.
    assert_eq!(Request::parse("LIST \n").unwrap(), Request::list());
}

#[test]
fn registry_replies() {
    assert_eq!(Reply::registry_ok().encode(), "status=OK title=registry");
    let found = Reply::registry_lookup(Some("conmux1:12345"));
    assert_eq!(found.encode(), "result=conmux1%3A12345 status=OK title=registry");
    assert!(found.is_ok());
    let missing = Reply::registry_lookup(None);
    assert_eq!(missing.encode(), "status=ENOENT%20entry%20not%20found title=registry");
    assert_eq!(missing.status(), Some("ENOENT entry not found"));
    assert_eq!(missing.errno(), Some("ENOENT"));
    assert!(!missing.is_ok());
    assert_eq!(Reply::parse("status=ENOENT%20entry%20not%20found title=registry").unwrap(), missing);
    let list = Reply::registry_list([("a", "h:1"), ("b", "h:2")]);
    assert_eq!(list.encode(), "result=a%20h%3A1%0Ab%20h%3A2%0A status=OK title=registry");
    assert_eq!(list.get("result"), Some("a h:1\nb h:2\n"));
    // An empty registry lists as an empty result.
    assert_eq!(Reply::registry_list([]).encode(), "result= status=OK title=registry");
}

#[test]
fn console_connect() {
    let user = Request::connect(&ClientId::User("root".into()), ConnectType::Client);
    assert_eq!(user.encode(), "CONNECT id=user%3Aroot to=console type=client");
    let bot = Request::connect(&ClientId::Bot("autoserv".into()), ConnectType::Status);
    assert_eq!(bot.encode(), "CONNECT id=bot%3Aautoserv to=console type=status");
    assert_eq!(Request::parse(&bot.encode()).unwrap().get("id"), Some("bot:autoserv"));
}

#[test]
fn lenient_like_legacy() {
    let r = Reply::parse("  a=1\t b=x=y  c=  a=2\r\n").unwrap();
    assert_eq!(r.get("a"), Some("2"));
    assert_eq!(r.get("b"), Some("x=y"));
    assert_eq!(r.get("c"), Some(""));
    assert_eq!(Reply::parse("k=a/b:c").unwrap().get("k"), Some("a/b:c"));
}

#[test]
fn errors() {
    assert_eq!(Reply::parse(""), Err(ProtocolError::EmptyLine));
    assert_eq!(Request::parse(" \n"), Err(ProtocolError::EmptyLine));
    assert_eq!(Reply::parse("a=1 b=%4"), Err(ProtocolError::BadEscape { position: 6 }));
    assert_eq!(Reply::parse("a=%zz"), Err(ProtocolError::BadEscape { position: 2 }));
    assert_eq!(Reply::parse("a=%+1"), Err(ProtocolError::BadEscape { position: 2 }));
    assert_eq!(Request::parse("LOOKUP %4=x"), Err(ProtocolError::BadEscape { position: 7 }));
    assert_eq!(Reply::parse("a=%FF"), Err(ProtocolError::InvalidUtf8 { position: 2 }));
    let e = Request::parse("LOOKUP service").unwrap_err();
    assert_eq!(e, ProtocolError::MissingEquals { position: 7, word: "service".into() });
    let msg = e.to_string();
    assert!(msg.contains("missing `=`") && msg.contains("VERB key=value"), "{msg}");
    assert!(matches!(Request::parse("status=OK"), Err(ProtocolError::MissingVerb { .. })));
    let long = format!("k={}", "x".repeat(MAX_LINE_LEN));
    assert_eq!(Reply::parse(&long), Err(ProtocolError::LineTooLong { len: MAX_LINE_LEN + 2 }));
    let e = Reply::parse(&"y".repeat(1000)).unwrap_err();
    assert!(e.to_string().len() < 300, "long words are shortened in messages");
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

#[test]
fn btree_order_is_wire_order() {
    let pairs: BTreeMap<String, String> =
        [("z", "1"), ("a", "2")].into_iter().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(Reply { pairs }.encode(), "a=2 z=1");
}
