//! WebAssembly transforms (--transform, docs/plugins.md) in
//! console-producer, console-consumer, topic-export and topic-import,
//! against a broker the test starts. The modules are the committed .wat
//! ones of examples/transforms/wat; the Rust example is built for wasm32
//! when the target is installed and checked against its .wat twin.

use crate::harness;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gregor::client::bulk::export::read_manifest;
use gregor::client::bulk::Format;
use gregor::client::transform::engine::DEFAULT_FUEL;
use gregor::client::transform::{Applied, OnError, Record, Transforms, SOURCE_HEADER};
use harness::{consume, run_tool, BrokerProcess};

const PRODUCER: &str = env!("CARGO_BIN_EXE_console-producer");
const CONSUMER: &str = env!("CARGO_BIN_EXE_console-consumer");
const EXPORT: &str = env!("CARGO_BIN_EXE_topic-export");
const IMPORT: &str = env!("CARGO_BIN_EXE_topic-import");
const TOPICS: &str = env!("CARGO_BIN_EXE_topic-admin");

fn wat(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("examples/transforms/wat/{name}.wat"))
        .display()
        .to_string()
}

fn create(bs: &str, topics: &[&str]) {
    for t in topics {
        run_tool(TOPICS, bs, &["create", "-t", t, "--partitions", "1"], b"").ok();
    }
}

/// The values of partition 0 of `topic`, `count` of them.
fn values(bs: &str, topic: &str, count: usize) -> Vec<String> {
    harness::record_values(&consume(bs, topic, 0, 0, count, Duration::from_secs(20)))
}

fn produce(bs: &str, topic: &str, lines: &str, extra: &[&str]) -> harness::ToolOutput {
    let mut args = vec!["-t", topic];
    args.extend_from_slice(extra);
    run_tool(PRODUCER, bs, &args, lines.as_bytes())
}

fn read(bs: &str, topic: &str, count: &str, extra: &[&str]) -> harness::ToolOutput {
    let mut args = vec![
        "-t",
        topic,
        "--from-beginning",
        "--max-messages",
        count,
        "--timeout-ms",
        "10000",
    ];
    args.extend_from_slice(extra);
    run_tool(CONSUMER, bs, &args, b"")
}

#[test]
fn console_tools_filter_map_route_and_redact() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, &["events", "alerts"]);
    let (filter, route) = (wat("filter"), wat("route"));
    let sent = produce(
        &bs,
        "events",
        "#skip\n+dup\n!fire 1\ncard 4111\n",
        &["--transform", &filter, "--transform", &route],
    );
    sent.ok();
    assert!(
        sent.stderr
            .contains("Sent 4 records (0 failed, 1 dropped by transforms)"),
        "{}",
        sent.stderr
    );
    assert_eq!(values(&bs, "events", 3), ["+dup", "+dup", "card 4111"]);
    assert_eq!(values(&bs, "alerts", 1), ["!fire 1"]);

    let (upper, redact) = (wat("upper"), wat("redact"));
    let out = read(
        &bs,
        "events",
        "3",
        &["--transform", &upper, "--transform", &redact],
    );
    assert_eq!(out.ok(), "+DUP\n+DUP\nCARD ****\n");
}

#[test]
fn export_and_import_run_their_transforms() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, &["src", "dst", "alerts"]);
    produce(&bs, "src", "a1\n#b\n!c2\nd\n", &[]).ok();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let (filter, redact, route) = (wat("filter"), wat("redact"), wat("route"));
    let exported = run_tool(
        EXPORT,
        &bs,
        &[
            "-t",
            "src",
            "--to",
            dir.to_str().unwrap(),
            "--transform",
            &filter,
            "--transform",
            &redact,
        ],
        b"",
    );
    exported.ok();
    assert!(
        exported.stderr.contains("Exported 3 records")
            && exported.stderr.contains("1 dropped by transforms"),
        "{}",
        exported.stderr
    );
    let files: Vec<PathBuf> = read_manifest(&dir)
        .unwrap()
        .iter()
        .map(|e| dir.join(&e.file))
        .collect();
    let mut written = Vec::new();
    for path in &files {
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        for (place, r) in Format::Jsonl.records(Box::new(file)) {
            let r = r.unwrap_or_else(|e| panic!("{}:{place}: {e}", path.display()));
            written.push((r.offset, String::from_utf8(r.value.unwrap()).unwrap()));
        }
    }
    // Each record where it was read; the one the filter dropped is gone.
    assert_eq!(
        written,
        [(0, "a*".into()), (2, "!c*".into()), (3, "d".to_string())]
    );

    let mut args = vec!["-t", "dst", "--transform", &route, "--from"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let imported = run_tool(IMPORT, &bs, &args, b"");
    imported.ok();
    assert_eq!(values(&bs, "dst", 2), ["a*", "d"]);
    assert_eq!(values(&bs, "alerts", 1), ["!c*"]);
}

#[test]
fn a_trap_fails_is_skipped_or_dead_lettered() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, &["in", "dlq"]);
    produce(&bs, "in", "ok1\nxbad\nok2\n", &[]).ok();
    let trap = wat("trap");

    let failed = read(&bs, "in", "2", &["--transform", &trap]);
    assert_ne!(failed.code, Some(0));
    let error: Vec<&str> = failed
        .stderr
        .lines()
        .filter(|l| l.contains("transform"))
        .collect();
    assert_eq!(error.len(), 1, "{}", failed.stderr);
    assert!(
        error[0].contains(&format!(
            "transform {trap} failed on in-0 at offset 1: it trapped: wasm `unreachable` instruction executed"
        )),
        "{}",
        failed.stderr
    );

    let skipped = read(
        &bs,
        "in",
        "2",
        &["--transform", &trap, "--on-error", "skip"],
    );
    assert_eq!(skipped.ok(), "ok1\nok2\n");
    assert!(
        skipped.stderr.contains("1 skipped on transform errors"),
        "{}",
        skipped.stderr
    );

    let dead = read(
        &bs,
        "in",
        "2",
        &["--transform", &trap, "--on-error", "dead-letter", "dlq"],
    );
    assert_eq!(dead.ok(), "ok1\nok2\n");
    let letters = consume(&bs, "dlq", 0, 0, 1, Duration::from_secs(20));
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].value.as_deref(), Some(&b"xbad"[..]));
    let source = letters[0]
        .headers
        .iter()
        .find(|(k, _)| k == SOURCE_HEADER)
        .and_then(|(_, v)| v.clone());
    assert_eq!(source.as_deref(), Some(&b"in-0 at offset 1"[..]));

    // The producer names the line, and stops there.
    let sent = produce(&bs, "in", "fine\nxbad\n", &["--transform", &trap]);
    assert_ne!(sent.code, Some(0));
    assert!(
        sent.stderr.contains("failed on line 2: it trapped"),
        "{}",
        sent.stderr
    );
}

#[test]
fn a_runaway_transform_is_stopped_by_fuel() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, &["t"]);
    let looping = wat("loop");
    // Little fuel: a debug build interprets a few million instructions a second.
    let out = produce(
        &bs,
        "t",
        "v\n",
        &["--transform", &looping, "--transform-fuel", "1000000"],
    );
    assert_ne!(out.code, Some(0));
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].contains(
            "failed on line 1: it ran out of fuel (1000000 per record; --transform-fuel): a runaway loop?"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_module_asking_for_the_host_is_refused_before_connecting() {
    let wasi = wat("wasi");
    // Nothing listens there: the module is refused before any connection.
    let out = run_tool(
        CONSUMER,
        "127.0.0.1:1",
        &["-t", "t", "--transform", &wasi],
        b"",
    );
    assert_ne!(out.code, Some(0));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "transform {wasi} cannot be loaded: it imports wasi_snapshot_preview1.fd_write, which is not offered"
        )),
        "{}",
        out.stderr
    );
    let no_transform = run_tool(
        PRODUCER,
        "127.0.0.1:1",
        &["-t", "t", "--on-error", "skip"],
        b"",
    );
    assert_eq!(no_transform.code, Some(2), "{}", no_transform.stderr);
}

/// Whether rustup has the wasm32-unknown-unknown standard library.
fn wasm32_installed() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"))
}

#[test]
fn the_rust_example_does_what_its_wat_twin_does() {
    if !wasm32_installed() {
        eprintln!(
            "skipped: the wasm32-unknown-unknown target is not installed (scripts/install-deps adds it when rustup can reach its server); the .wat twin is tested on its own"
        );
        return;
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/transforms/redact");
    let target = tempfile::tempdir().unwrap();
    let built = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--manifest-path",
        ])
        .arg(example.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target.path())
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let wasm = target
        .path()
        .join("wasm32-unknown-unknown/release/gregor_redact.wasm");
    let load = |path: PathBuf| Transforms::load(&[path], OnError::Fail, DEFAULT_FUEL).unwrap();
    let (mut rust, mut text) = (load(wasm), load(PathBuf::from(wat("redact"))));
    let inputs = [
        (Some("card 4111-1111"), Some("k1"), vec![("h", Some("9"))]),
        (None, None, vec![]),
        (Some(""), Some(""), vec![("n", None)]),
        (Some("no digits"), None, vec![]),
        (Some("0123456789 \u{e9}9"), Some("7"), vec![]),
    ];
    for (n, (value, key, headers)) in inputs.into_iter().enumerate() {
        let record = Record {
            topic: "orders".into(),
            partition: 3,
            offset: n as i64,
            timestamp: Some(1_700_000_000_000 + n as i64),
            key: key.map(|k| k.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.map(|v| v.as_bytes().to_vec())))
                .collect(),
        };
        let from_rust = rust.apply(record.clone(), &n).unwrap();
        let from_text = text.apply(record.clone(), &n).unwrap();
        assert_eq!(from_rust, from_text, "input {n}");
        assert!(matches!(from_rust, Applied::Records(r) if r.len() == 1));
    }
}
