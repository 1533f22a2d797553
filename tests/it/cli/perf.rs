//! perf-test against a broker the test starts: each workload moves the
//! records it says it did and reports them as JSON. Speed is never asserted
//! here; docs/benchmarks.md records it.

use crate::harness;

use harness::pki::{pem_keystore, write, Ca};
use harness::scrape::{sample, scrape};
use harness::{free_port, run_tool, BrokerProcess};
use rcgen::DnType;
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

/// `--client wire` over each listener: it creates the topic as librdkafka
/// would, and librdkafka reads back every record it says it sent.
#[test]
fn the_own_client_produces_what_a_consumer_then_reads_over_plaintext_and_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("perf CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&[(DnType::CommonName, "broker")], 1));
    let broker = BrokerProcess::start(&[
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        &format!("ssl.keystore.location={}", keystore.display()),
        "num.partitions=3",
    ]);
    let ssl = [
        "-X",
        "security.protocol=ssl",
        "-X",
        &format!("ssl.ca.location={}", ca_path.display()),
    ];
    for (listener, security) in [("PLAINTEXT", &[][..]), ("SSL", &ssl[..])] {
        let bs = format!("127.0.0.1:{}", broker.listener_port(listener));
        let topic = format!("wire-{listener}");
        let run = |args: &[&str]| {
            let args: Vec<&str> = security
                .iter()
                .copied()
                .chain(args.iter().copied())
                .collect();
            json(&bs, &args)
        };
        // 4 KiB batches of 300-byte records: 13 to a request, 385 requests
        // over two connections, three in flight on each.
        let produced = run(&[
            "produce",
            "-t",
            &topic,
            "--client",
            "wire",
            "--num-records",
            "5000",
            "--record-size",
            "300",
            "--batch-size",
            "4096",
            "--connections",
            "2",
            "--max-in-flight",
            "3",
            "--acks",
            "all",
            "--json",
        ]);
        assert_eq!(produced["records"], 5000, "{listener}: {produced}");
        assert_eq!(produced["failed"], 0);
        assert_eq!(produced["bytes"], 1_500_000);
        assert!(produced["latency_ms"]["max"]
            .as_f64()
            .is_some_and(|v| v > 0.0));
        let consumed = run(&["consume", "-t", &topic, "--num-records", "5000", "--json"]);
        assert_eq!(consumed["records"], 5000, "{listener}: {consumed}");
        assert_eq!(consumed["bytes"], 1_500_000);
        // Nothing more than it said: the topic's partitions end at 5000 in all.
        let more = run_tool(
            PERF,
            &bs,
            &[
                security,
                &[
                    "consume",
                    "-t",
                    &topic,
                    "--num-records",
                    "5001",
                    "--timeout-ms",
                    "300",
                ],
            ]
            .concat(),
            b"",
        );
        assert!(more.stderr.contains("only 5000 of 5001"), "{}", more.stderr);
    }
}

/// `end-to-end --client wire`: several producers, each its own connection,
/// every record read back by the consumer and counted once, with both
/// latencies reported; nothing but their records and one warm-up record
/// from each producer lands in the topic.
#[test]
fn many_wire_producers_report_end_to_end_and_produce_ack_latency() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    run_tool(
        TOPICS,
        &bs,
        &["create", "-t", "low", "--partitions", "3"],
        b"",
    )
    .ok();
    let e2e = json(
        &bs,
        &[
            "end-to-end",
            "-t",
            "low",
            "--client",
            "wire",
            "--producers",
            "5",
            "--rate",
            "100",
            "--duration",
            "1",
            "--record-size",
            "50",
            "--acks",
            "all",
            "--interval-ms",
            "250",
            "--json",
        ],
    );
    assert_eq!(e2e["records"], 100, "{e2e}");
    assert_eq!(e2e["failed"], 0);
    assert_eq!(e2e["bytes"], 5000);
    for latency in ["latency_ms", "ack_latency_ms"] {
        let l = &e2e[latency];
        let at = |key: &str| {
            l[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{latency}: {e2e}"))
        };
        assert!(at("p50") > 0.0, "{latency}: {e2e}");
        assert!(at("p50") <= at("p99") && at("p99") <= at("p999") && at("p999") <= at("max"));
    }
    let intervals = e2e["intervals"].as_array().unwrap();
    let counted: u64 = intervals
        .iter()
        .map(|i| i["records"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 100);

    // Without acknowledgements there is no produce latency to report.
    let unacked = json(
        &bs,
        &[
            "end-to-end",
            "-t",
            "low",
            "--client",
            "wire",
            "--producers",
            "3",
            "--rate",
            "30",
            "--duration",
            "1",
            "--acks",
            "0",
            "--json",
        ],
    );
    assert_eq!(unacked["records"], 30, "{unacked}");
    assert!(unacked.get("ack_latency_ms").is_none(), "{unacked}");

    let all = json(
        &bs,
        &["consume", "-t", "low", "--num-records", "138", "--json"],
    );
    assert_eq!(all["records"], 138);
    let more = run_tool(
        PERF,
        &bs,
        &[
            "consume",
            "-t",
            "low",
            "--num-records",
            "139",
            // The quiet time counts from before the consumer's first
            // fetch, which a loaded machine can hold up for a second.
            "--timeout-ms",
            "3000",
        ],
        b"",
    );
    assert!(more.stderr.contains("only 138 of 139"), "{}", more.stderr);
}

/// `consume --client wire` counts every record librdkafka produced, over
/// several partitions and in batches compressed or not, from one fetch
/// session per leader, which the broker's FetchSessionCache gauges show.
#[test]
fn the_own_consumer_counts_what_librdkafka_produced_in_a_fetch_session() {
    let metrics_port = free_port();
    let broker = BrokerProcess::start(&[
        "num.partitions=8",
        &format!("metrics.listener=http://127.0.0.1:{metrics_port}"),
    ]);
    let bs = broker.bootstrap();
    for compression in ["none", "lz4"] {
        let produced = json(
            &bs,
            &[
                "produce",
                "-t",
                "wide",
                "--num-records",
                "3000",
                "--record-size",
                "200",
                "--compression",
                compression,
                "--json",
            ],
        );
        assert_eq!(produced["records"], 3000, "{compression}: {produced}");
    }
    let consumed = json(
        &bs,
        &[
            "consume",
            "-t",
            "wide",
            "--client",
            "wire",
            "--num-records",
            "6000",
            "--json",
        ],
    );
    assert_eq!(consumed["records"], 6000, "{consumed}");
    assert_eq!(consumed["bytes"], 1_200_000);
    let samples = scrape(metrics_port);
    let gauge = |name: &str| sample(&samples, name, &[]).unwrap_or(-1.0);
    assert_eq!(
        gauge("kafka_server_fetchsessioncache_numincrementalfetchsessions"),
        1.0
    );
    assert_eq!(
        gauge("kafka_server_fetchsessioncache_numincrementalfetchpartitionscached"),
        8.0
    );
    // Nothing more than there is: a second session finds the same 6000.
    let more = run_tool(
        PERF,
        &bs,
        &[
            "consume",
            "-t",
            "wide",
            "--client",
            "wire",
            "--num-records",
            "6001",
            "--timeout-ms",
            "1500",
        ],
        b"",
    );
    assert!(more.stderr.contains("only 6000 of 6001"), "{}", more.stderr);
    let missing = run_tool(
        PERF,
        &bs,
        &[
            "consume",
            "-t",
            "nowhere",
            "--client",
            "wire",
            "--num-records",
            "1",
        ],
        b"",
    );
    assert_eq!(missing.code, Some(1), "{}", missing.stderr);
    assert!(
        missing.stderr.contains("topic 'nowhere' does not exist"),
        "{}",
        missing.stderr
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
    // The own client refuses what it cannot do before it connects.
    let wire = [
        "produce",
        "-t",
        "t",
        "--num-records",
        "5",
        "--client",
        "wire",
    ];
    for extra in [&["--throughput", "10"][..], &["--compression", "lz4"]] {
        let out = run_tool(PERF, "127.0.0.1:1", &[&wire[..], extra].concat(), b"");
        assert_eq!(out.code, Some(1), "{extra:?}: {}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("{} needs --client rdkafka", extra[0])),
            "{}",
            out.stderr
        );
    }
    // Many producers are the own client's alone, and it does not compress.
    let e2e = ["end-to-end", "-t", "t", "--rate", "10", "--duration", "1"];
    for (extra, says) in [
        (&["--producers", "2"][..], "--producers needs --client wire"),
        (
            &["--client", "wire", "--compression", "lz4"],
            "--compression needs --client rdkafka",
        ),
    ] {
        let out = run_tool(PERF, "127.0.0.1:1", &[&e2e[..], extra].concat(), b"");
        assert_eq!(out.code, Some(1), "{extra:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
    }
    let grouped = run_tool(
        PERF,
        "127.0.0.1:1",
        &[
            "consume",
            "-t",
            "t",
            "--num-records",
            "5",
            "--client",
            "wire",
            "-g",
            "g",
        ],
        b"",
    );
    assert_eq!(grouped.code, Some(1), "{}", grouped.stderr);
    assert_eq!(grouped.stderr.lines().count(), 1, "{}", grouped.stderr);
    assert!(
        grouped.stderr.contains("--group needs --client rdkafka"),
        "{}",
        grouped.stderr
    );
}

/// `consume --share-group` reads as a share-group member and accepts what it
/// reads: a second run in the same group finds nothing left to deliver,
/// while a run in another group reads everything again.
#[test]
fn a_share_group_consume_accepts_every_record_it_counts() {
    let broker = BrokerProcess::start(&["group.share.enable=true"]);
    let bs = broker.bootstrap();
    run_tool(
        TOPICS,
        &bs,
        &["create", "-t", "queue", "--partitions", "2"],
        b"",
    )
    .ok();
    let produced = json(
        &bs,
        &[
            "produce",
            "-t",
            "queue",
            "--num-records",
            "2000",
            "--record-size",
            "100",
            "--json",
        ],
    );
    assert_eq!(produced["records"], 2000);
    let mut client = harness::RawClient::connect(broker.port);
    harness::share_from_earliest(&mut client, "workers");
    harness::share_from_earliest(&mut client, "auditors");

    let share_consume = |group: &str, records: &str, timeout_ms: &str| {
        run_tool(
            PERF,
            &bs,
            &[
                "consume",
                "-t",
                "queue",
                "--share-group",
                group,
                "--num-records",
                records,
                "--timeout-ms",
                timeout_ms,
                "--json",
            ],
            b"",
        )
    };
    let read: Value = serde_json::from_str(share_consume("workers", "2000", "10000").ok().trim())
        .expect("a JSON report");
    assert_eq!(read["records"], 2000);
    assert_eq!(read["bytes"], 200_000);

    let again = share_consume("workers", "1", "1500");
    assert_ne!(
        again.code,
        Some(0),
        "every record was accepted: {}",
        again.stdout
    );
    assert!(
        again.stderr.contains("only 0 of 1 records arrived"),
        "{}",
        again.stderr
    );

    let other: Value = serde_json::from_str(share_consume("auditors", "2000", "10000").ok().trim())
        .expect("a JSON report");
    assert_eq!(other["records"], 2000);

    let refused = run_tool(
        PERF,
        &bs,
        &[
            "consume",
            "-t",
            "queue",
            "--num-records",
            "1",
            "--share-group",
            "w",
            "--group",
            "g",
        ],
        b"",
    );
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
}
