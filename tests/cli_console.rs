//! console-producer and console-consumer against a broker the test starts:
//! lines in, the same lines out, keys placed by murmur2, groups committing.

mod common;

use std::collections::BTreeMap;

use common::{run_tool, spawn_tool, BrokerProcess};
use gregor::client::partitioner::{Murmur2Partitioner, Partitioner};

const PRODUCER: &str = env!("CARGO_BIN_EXE_console-producer");
const CONSUMER: &str = env!("CARGO_BIN_EXE_console-consumer");
const TOPICS: &str = env!("CARGO_BIN_EXE_topic-admin");

fn create(bs: &str, topic: &str, partitions: &str) {
    run_tool(
        TOPICS,
        bs,
        &["create", "-t", topic, "--partitions", partitions],
        b"",
    )
    .ok();
}

/// (partition, rest of the line) for output printed with print.partition=true.
fn by_partition(out: &str) -> BTreeMap<i32, Vec<String>> {
    let mut parts: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for line in out.lines() {
        let (p, rest) = line.split_once('\t').expect("partition\\trest");
        let p = p
            .strip_prefix("Partition:")
            .expect("Partition:N")
            .parse()
            .unwrap();
        parts.entry(p).or_default().push(rest.to_string());
    }
    parts
}

#[test]
fn a_thousand_lines_come_back_in_per_partition_order() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "lines", "3");
    let input: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    let produced = run_tool(PRODUCER, &bs, &["--topic", "lines"], input.as_bytes());
    produced.ok();
    assert!(
        produced.stderr.contains("Sent 1000 records (0 failed)"),
        "{}",
        produced.stderr
    );

    let consumed = run_tool(
        CONSUMER,
        &bs,
        &[
            "--topic",
            "lines",
            "--from-beginning",
            "--property",
            "print.partition=true",
            "--max-messages",
            "1000",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let parts = by_partition(consumed.ok());
    assert!(consumed
        .stderr
        .contains("Processed a total of 1000 messages"));
    let mut all: Vec<u32> = Vec::new();
    for (p, values) in &parts {
        let values: Vec<u32> = values.iter().map(|v| v.parse().unwrap()).collect();
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "partition {p} out of order"
        );
        all.extend(values);
    }
    all.sort();
    assert_eq!(
        all,
        (1..=1000).collect::<Vec<u32>>(),
        "exactly the lines sent"
    );
    assert_eq!(parts.len(), 3, "keyless lines spread over the partitions");
}

#[test]
fn keys_land_where_the_java_client_puts_them() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "keyed", "6");
    let keys: Vec<String> = (0..40).map(|i| format!("user-{i}")).collect();
    let input: String = keys.iter().map(|k| format!("{k}:v-{k}\n")).collect();
    let sync = run_tool(
        PRODUCER,
        &bs,
        &[
            "-t",
            "keyed",
            "--sync",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=:",
            "--header",
            "source=test",
        ],
        input.as_bytes(),
    );
    let acks: Vec<&str> = sync.ok().lines().collect();
    assert_eq!(acks.len(), 40);
    assert!(
        acks.iter().all(|l| l.starts_with("Produced to partition ")),
        "{acks:?}"
    );

    let consumed = run_tool(
        CONSUMER,
        &bs,
        &[
            "-t",
            "keyed",
            "--offset",
            "earliest",
            "--max-messages",
            "40",
            "--timeout-ms",
            "10000",
            "--property",
            "print.partition=true",
            "--property",
            "print.key=true",
            "--property",
            "print.headers=true",
        ],
        b"",
    );
    let parts = by_partition(consumed.ok());
    let mut seen = 0;
    for (p, lines) in parts {
        for line in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let [headers, key, value] = fields[..] else {
                panic!("unexpected line {line:?}");
            };
            assert_eq!(headers, "source:test");
            assert_eq!(value, format!("v-{key}"));
            assert_eq!(
                p,
                Murmur2Partitioner.partition("keyed", Some(key.as_bytes()), 6),
                "key {key}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 40);
}

#[test]
fn json_output_is_binary_safe_and_offsets_select_records() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "bytes", "1");
    run_tool(
        PRODUCER,
        &bs,
        &["-t", "bytes", "--value-serializer", "hex"],
        b"00ff\n6869\n",
    )
    .ok();
    let out = run_tool(
        CONSUMER,
        &bs,
        &[
            "-t",
            "bytes",
            "--partition",
            "0",
            "--offset",
            "-2",
            "--format",
            "json",
            "--max-messages",
            "2",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let records: Vec<serde_json::Value> = out
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(
        (
            records[0]["value"].as_str(),
            records[0]["value_encoding"].as_str()
        ),
        (Some("AP8="), Some("base64"))
    );
    assert_eq!(
        (
            records[1]["value"].as_str(),
            records[1]["value_encoding"].as_str()
        ),
        (Some("hi"), Some("utf8"))
    );
    let last = run_tool(
        CONSUMER,
        &bs,
        &[
            "-t",
            "bytes",
            "--partition",
            "0",
            "--offset",
            "1",
            "--max-messages",
            "1",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    assert_eq!(last.ok(), "hi\n");
}

#[test]
fn until_stops_at_a_time_and_groups_commit_what_they_printed() {
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap();
    create(&bs, "timed", "2");
    run_tool(PRODUCER, &bs, &["-t", "timed"], b"a\nb\nc\n").ok();
    std::thread::sleep(std::time::Duration::from_millis(50)); // the records' timestamps must be earlier than the cut
    let cut = gregor::client::offset_spec::now_ms();
    std::thread::sleep(std::time::Duration::from_millis(50));
    run_tool(PRODUCER, &bs, &["-t", "timed"], b"d\ne\n").ok();

    let until = format!("@{cut}");
    let early = run_tool(
        CONSUMER,
        &bs,
        &["-t", "timed", "--from-beginning", "--until", &until],
        b"",
    );
    let mut lines: Vec<&str> = early.ok().lines().collect();
    lines.sort();
    assert_eq!(lines, ["a", "b", "c"], "stops by itself at the time");

    let group = [
        "-t",
        "timed",
        "--group",
        "readers",
        "--from-beginning",
        "--timeout-ms",
        "4000",
    ];
    let first = run_tool(CONSUMER, &bs, &group, b"");
    let mut lines: Vec<&str> = first.ok().lines().collect();
    lines.sort();
    assert_eq!(lines, ["a", "b", "c", "d", "e"]);
    run_tool(PRODUCER, &bs, &["-t", "timed"], b"f\n").ok();
    let second = run_tool(CONSUMER, &bs, &group, b"");
    assert_eq!(
        second.ok(),
        "f\n",
        "the group resumes after what it committed"
    );
}

#[test]
fn producer_and_consumer_mistakes_are_one_line() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "t", "1");
    for (bin, args, stdin, expected) in [
        (
            PRODUCER,
            &["-t", "t", "--value-serializer", "int"][..],
            &b"forty\n"[..],
            "line 1",
        ),
        (
            PRODUCER,
            &["-t", "t", "--partition", "5"],
            b"x\n",
            "no partition 5",
        ),
        (
            PRODUCER,
            &["-t", "t", "--property", "parse.key=true"],
            b"no-tab\n",
            "no key separator",
        ),
        (
            PRODUCER,
            &["-t", "t", "--property", "bogus=1"],
            b"",
            "unknown property",
        ),
        (PRODUCER, &["-t", "t", "--acks", "2"], b"", "--acks"),
        (
            CONSUMER,
            &["-t", "t", "--offset", "soon"],
            b"",
            "is not an offset",
        ),
        (CONSUMER, &["--partition", "0"], b"", "--topic"),
        (
            CONSUMER,
            &["-t", "missing", "--from-beginning"],
            b"",
            "does not exist",
        ),
        (
            CONSUMER,
            &["-t", "t", "--until", "tomorrow"],
            b"",
            "--until",
        ),
    ] {
        let out = run_tool(bin, &bs, args, stdin);
        assert_ne!(out.code, Some(0), "{args:?} should fail");
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| !l.starts_with("Processed"))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {:?}", out.stderr);
        assert!(errors[0].contains(expected), "{args:?}: {:?}", out.stderr);
    }
}

#[test]
fn a_file_is_produced_through_the_interceptors_with_statistics() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "filed", "2");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.txt");
    let lines: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    std::fs::write(&file, lines).unwrap();
    let produced = run_tool(
        PRODUCER,
        &bs,
        &[
            "-t",
            "filed",
            "--file",
            file.to_str().unwrap(),
            "--filter",
            "[05]$",
            "--compression",
            "lz4",
            "--partitioner",
            "round-robin",
            "--stats",
        ],
        b"",
    );
    produced.ok();
    let stderr = &produced.stderr;
    assert!(
        stderr.contains("Sent 20 records (0 failed, 80 filtered out)"),
        "{stderr}"
    );
    assert!(stderr.contains("Latency ms: p50"), "{stderr}");
    let table: Vec<Vec<&str>> = stderr
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 2 && f[0].parse::<i32>().is_ok())
        .collect();
    assert_eq!(table, vec![vec!["0", "10"], vec!["1", "10"]], "{stderr}");
    let consumed = run_tool(
        CONSUMER,
        &bs,
        &[
            "-t",
            "filed",
            "--from-beginning",
            "--max-messages",
            "20",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    let mut values: Vec<&str> = consumed.ok().lines().collect();
    values.sort();
    let mut expected: Vec<String> = (1..=100)
        .filter(|i| i % 5 == 0)
        .map(|i| format!("line {i}"))
        .collect();
    expected.sort();
    assert_eq!(values, expected);
}

/// Ctrl-C on a consumer in a group: it says how many records it printed,
/// commits them, and the group's next reader starts after them.
#[test]
fn ctrl_c_reports_the_count_and_commits() {
    use std::io::{BufRead, BufReader};
    use std::process::Command;

    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap();
    create(&bs, "interrupted", "1");
    run_tool(PRODUCER, &bs, &["-t", "interrupted"], b"1\n2\n3\n").ok();
    let mut child = spawn_tool(
        CONSUMER,
        &bs,
        &["-t", "interrupted", "--group", "tail", "--from-beginning"],
    );
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let printed: Vec<String> = lines.by_ref().take(3).map_while(Result::ok).collect();
    assert_eq!(printed, ["1", "2", "3"]);
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    let out = child.wait_with_output().expect("console-consumer exits");
    assert!(out.status.success(), "{:?}", out.status);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Processed a total of 3 messages"),
        "{stderr}"
    );

    run_tool(PRODUCER, &bs, &["-t", "interrupted"], b"4\n").ok();
    let next = run_tool(
        CONSUMER,
        &bs,
        &[
            "-t",
            "interrupted",
            "--group",
            "tail",
            "--max-messages",
            "1",
        ],
        b"",
    );
    assert_eq!(
        next.ok(),
        "4\n",
        "the interrupted reader committed what it printed"
    );
}

/// --include without a group follows the pattern: a topic created while it
/// reads is picked up, from its beginning.
#[test]
fn an_include_pattern_picks_up_topics_created_while_reading() {
    use std::io::{BufRead, BufReader};

    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "news-a", "1");
    run_tool(PRODUCER, &bs, &["-t", "news-a"], b"a\n").ok();
    let mut child = spawn_tool(
        CONSUMER,
        &bs,
        &[
            "--include",
            "news-.*",
            "--from-beginning",
            "--max-messages",
            "2",
            "--timeout-ms",
            "30000",
        ],
    );
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("a"));
    create(&bs, "news-b", "1");
    run_tool(PRODUCER, &bs, &["-t", "news-b"], b"b\n").ok();
    assert_eq!(
        lines.next().and_then(Result::ok).as_deref(),
        Some("b"),
        "the new topic's record arrives"
    );
    let out = child.wait_with_output().expect("console-consumer exits");
    assert!(out.status.success(), "{:?}", out.status);
}
