//! perf-test against a broker the test starts: each workload moves the
//! records it says it did and reports them as JSON. Speed is never asserted
//! here; docs/benchmarks.md records it.

mod common;

use common::{run_tool, BrokerProcess};
use serde_json::Value;

const PERF: &str = env!("CARGO_BIN_EXE_perf-test");
const TOPICS: &str = env!("CARGO_BIN_EXE_topic-admin");

fn json(bs: &str, args: &[&str]) -> Value {
    let out = run_tool(PERF, bs, args, b"");
    serde_json::from_str(out.ok().trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

#[test]
fn produce_consume_and_end_to_end_report_what_they_moved() {
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    let bs = broker.bootstrap();
    run_tool(
        TOPICS,
        &bs,
        &["create", "-t", "load", "--partitions", "3"],
        b"",
    )
    .ok();

    let produced = json(
        &bs,
        &[
            "produce",
            "-t",
            "load",
            "--num-records",
            "3000",
            "--record-size",
            "200",
            "--acks",
            "all",
            "--compression",
            "lz4",
            "--json",
        ],
    );
    assert_eq!(produced["records"], 3000);
    assert_eq!(produced["failed"], 0);
    assert_eq!(produced["bytes"], 600_000);
    for key in ["p50", "p99", "p999", "max"] {
        assert!(
            produced["latency_ms"][key]
                .as_f64()
                .is_some_and(|v| v > 0.0),
            "{key}"
        );
    }
    assert!(produced["records_per_sec"].as_f64().unwrap() > 0.0);
    assert!(produced["mb_per_sec"].as_f64().unwrap() > 0.0);

    let consumed = json(
        &bs,
        &["consume", "-t", "load", "--num-records", "3000", "--json"],
    );
    assert_eq!(consumed["records"], 3000);
    assert_eq!(consumed["bytes"], 600_000);

    let grouped = json(
        &bs,
        &[
            "consume",
            "-t",
            "load",
            "--num-records",
            "3000",
            "--group",
            "perf",
            "--json",
        ],
    );
    assert_eq!(grouped["records"], 3000);

    let limited = json(
        &bs,
        &[
            "produce",
            "-t",
            "load",
            "--num-records",
            "200",
            "--throughput",
            "400",
            "--json",
        ],
    );
    assert!(
        limited["elapsed_secs"].as_f64().unwrap() >= 0.45,
        "200 records at 400/s take half a second: {limited}"
    );

    let e2e = json(
        &bs,
        &[
            "end-to-end",
            "-t",
            "load",
            "--rate",
            "500",
            "--duration",
            "1",
            "--interval-ms",
            "250",
            "--json",
        ],
    );
    assert_eq!(e2e["records"], 500);
    assert_eq!(e2e["failed"], 0);
    let max = e2e["latency_ms"]["max"].as_f64().unwrap();
    assert!(max > 0.0);
    // Every record falls in one interval of its send time, and no
    // interval's worst can exceed the run's (up to the per-interval
    // histogram's 2 significant digits).
    let intervals = e2e["intervals"].as_array().unwrap();
    assert!((4..=6).contains(&intervals.len()), "{intervals:?}");
    let counted: u64 = intervals
        .iter()
        .map(|i| i["records"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 500);
    assert!(intervals
        .iter()
        .all(|i| i["max"].as_f64().unwrap() <= max * 1.01));
    assert!(intervals
        .windows(2)
        .all(|w| w[1]["start_ms"].as_u64() > w[0]["start_ms"].as_u64()));

    // Asking for more than the topic holds ends in a one-line failure. It
    // holds 3000 + 200 produced, 500 timed and one warm-up record for each of
    // the 3 partitions from end-to-end.
    let short = run_tool(
        PERF,
        &bs,
        &[
            "consume",
            "-t",
            "load",
            "--num-records",
            "99999",
            "--timeout-ms",
            "500",
        ],
        b"",
    );
    assert_eq!(short.code, Some(1));
    assert!(
        short.stderr.contains("only 3703 of 99999"),
        "{}",
        short.stderr
    );
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    for args in [
        &["produce", "-t", "t"][..],
        &["produce", "-t", "t", "--num-records", "0"],
        &[
            "produce",
            "-t",
            "t",
            "--num-records",
            "5",
            "--throughput",
            "-1",
        ],
        &["end-to-end", "-t", "t", "--rate", "0", "--duration", "1"],
        &["consume", "--num-records", "5"],
    ] {
        let out = run_tool(PERF, "127.0.0.1:1", args, b"");
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
    }
}
