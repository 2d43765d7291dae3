//! Keyval files: property round trips and data-driven reading.

use autotest_core::keyval::{
    KeyvalType, append_iteration, append_keyvals, parse_iterations, parse_keyvals,
};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = String> {
    "[-.A-Za-z0-9_]{1,24}"
}

fn value() -> impl Strategy<Value = String> {
    // Any text without line breaks (a value is one line; '=' inside is fine).
    "[^\r\n]{0,40}"
}

proptest! {
    #[test]
    fn plain_keyvals_round_trip(pairs in prop::collection::vec((key(), value()), 0..20)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyval");
        append_keyvals(&path, &pairs, None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let back = parse_keyvals(&path, &text).unwrap();
        // Keys are written as given; values come back exactly.
        prop_assert_eq!(back, pairs);
    }

    #[test]
    fn iterations_round_trip(
        iters in prop::collection::vec(
            (prop::collection::vec((key(), "[^\r\n]{1,30}"), 0..5),
             prop::collection::vec((key(), -1.0e12f64..1.0e12), 1..5)),
            1..6)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results/keyval");
        for (attr, perf) in &iters {
            let perf: Vec<(String, String)> =
                perf.iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
            append_iteration(&path, attr, &perf).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let back = parse_iterations(&path, &text).unwrap();
        prop_assert_eq!(back.len(), iters.len());
        for (got, (attr, perf)) in back.iter().zip(&iters) {
            prop_assert_eq!(&got.attr, attr);
            prop_assert_eq!(&got.perf, perf);
        }
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,200}") {
        let _ = parse_keyvals(std::path::Path::new("k"), &text);
        let _ = parse_iterations(std::path::Path::new("k"), &text);
    }
}

#[test]
fn legacy_iteration_file_reads() {
    let text = "kernel{attr}=6.6.1\nthroughput{perf}=412.5\nmax_latency{perf}=3.25\n\n\
                throughput{perf}=409\n\n";
    let it = parse_iterations(std::path::Path::new("results/keyval"), text).unwrap();
    assert_eq!(it.len(), 2);
    assert_eq!(it[0].attr, vec![("kernel".to_owned(), "6.6.1".to_owned())]);
    assert_eq!(
        it[0].perf,
        vec![
            ("throughput".to_owned(), 412.5),
            ("max_latency".to_owned(), 3.25)
        ]
    );
    assert_eq!(it[1].perf, vec![("throughput".to_owned(), 409.0)]);
}

#[test]
fn errors_name_the_file_and_line() {
    let p = std::path::Path::new("/r/keyval");
    let e = parse_keyvals(p, "a=1\nno equals here\n")
        .unwrap_err()
        .to_string();
    assert_eq!(e, "/r/keyval:2: not a key=value line: \"no equals here\"");
    let e = parse_iterations(p, "x{perf}=1\n\nx{perf}=fast\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("/r/keyval:3: perf keyval x has value \"fast\", which is not a number"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let e = append_keyvals(
        &dir.path().join("k"),
        &[("bad key", "1")],
        Some(KeyvalType::Attr),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("invalid keyval key \"bad key\""), "{e}");
}
