//! group-inspect against a broker the test starts: lag and its age before
//! and after a member commits, offset resets (dry run and --execute),
//! deleting offsets and groups, and both group protocols side by side.

use crate::harness;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use harness::{
    create_topic, poll_until, producer, run_tool, spawn_tool, subscribed_member, wait_until,
    BrokerProcess, ToolOutput,
};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, FutureRecord, Producer, ThreadedProducer,
};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

const INSPECT: &str = env!("CARGO_BIN_EXE_group-inspect");
const TOPIC_ADMIN: &str = env!("CARGO_BIN_EXE_topic-admin");
const GROUP_BROKER: &[&str] = &["group.initial.rebalance.delay.ms=0"];
const HOUR_MS: i64 = 3_600_000;

fn inspect(bs: &str, args: &[&str]) -> ToolOutput {
    run_tool(INSPECT, bs, args, b"")
}

/// The lag description of one group, as `--output json` gives it.
fn described(bs: &str, group: &str) -> Value {
    let out = inspect(bs, &["describe", "-g", group, "--output", "json"]);
    let mut all: Vec<Value> = serde_json::from_str(out.ok()).expect("describe prints JSON");
    assert_eq!(all.len(), 1);
    all.remove(0)
}

/// (partition, current offset, lag, lag time in ms).
type LagRow = (i64, Option<i64>, Option<i64>, Option<i64>);

/// The lag rows of a described group.
fn lag_rows(description: &Value) -> Vec<LagRow> {
    description["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap(),
                p["current_offset"].as_i64(),
                p["lag"].as_i64(),
                p["lag_time_ms"].as_i64(),
            )
        })
        .collect()
}

fn committed(bs: &str, group: &str) -> Vec<(i64, Option<i64>)> {
    lag_rows(&described(bs, group))
        .into_iter()
        .map(|(p, current, _, _)| (p, current))
        .collect()
}

/// Runs `reset-offsets -g group <args> --execute`; what the group then
/// has committed.
fn reset_executed(bs: &str, group: &str, args: &[&str]) -> Vec<(i64, Option<i64>)> {
    let mut all = vec!["reset-offsets", "-g", group];
    all.extend_from_slice(args);
    all.push("--execute");
    inspect(bs, &all).ok();
    committed(bs, group)
}

/// The group's state, Dead until its first member has joined: describe
/// then says that the group does not exist, as Kafka's tool does, and a
/// test waiting for members to settle asks again.
fn state(bs: &str, group: &str) -> String {
    let out = inspect(
        bs,
        &["describe", "-g", group, "--state", "--output", "json"],
    );
    if out.code == Some(1)
        && out
            .stderr
            .contains(&format!("consumer group '{group}' does not exist"))
    {
        return "Dead".to_string();
    }
    let all: Vec<Value> = serde_json::from_str(out.ok()).expect("JSON");
    all[0]["state"].as_str().unwrap_or_default().to_string()
}

/// Ten records in each of three partitions, all stamped an hour ago.
async fn produce_hour_old(bs: &str, topic: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let p = producer(bs, &[]);
    for i in 0..30 {
        let value = i.to_string();
        let record = FutureRecord::<(), _>::to(topic)
            .partition(i % 3)
            .timestamp(now - HOUR_MS)
            .payload(&value);
        p.send(record, Duration::from_secs(10))
            .await
            .expect("delivered");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn lag_before_and_after_a_commit_then_resets_and_deletes() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "lagging", 3, &[]).await;
    produce_hour_old(&bs, "lagging").await;

    let member = subscribed_member(&bs, "readers", "lagging", &[]);
    let seen = poll_until(&[&member], Duration::from_secs(30), |s| s[0].len() == 30);
    assert_eq!(seen[0].len(), 30, "the member reads every record");

    // Assigned but nothing committed: no offset, no lag, but an owner.
    let before = described(&bs, "readers");
    assert_eq!(before["state"], "Stable");
    assert_eq!(
        lag_rows(&before),
        vec![
            (0, None, None, None),
            (1, None, None, None),
            (2, None, None, None)
        ]
    );
    let owner = before["members"][0]["member_id"].as_str().unwrap();
    for p in before["partitions"].as_array().unwrap() {
        assert_eq!(p["consumer_id"], owner);
        assert_eq!(p["log_end_offset"], 10);
    }

    let mut commit = TopicPartitionList::new();
    for p in 0..3 {
        commit
            .add_partition_offset("lagging", p, Offset::Offset(4))
            .unwrap();
    }
    member.commit(&commit, CommitMode::Sync).expect("commit");

    // Six records behind in each partition; the oldest is an hour old.
    let after = described(&bs, "readers");
    for (partition, current, lag, lag_time) in lag_rows(&after) {
        assert_eq!((current, lag), (Some(4), Some(6)), "partition {partition}");
        let age = lag_time.expect("a lag time");
        assert!((HOUR_MS..HOUR_MS + 300_000).contains(&age), "{age}");
    }
    assert_eq!(after["total_lag"]["lagging"]["lag"], 18);
    let table = inspect(&bs, &["describe", "-g", "readers"]);
    let row = table
        .ok()
        .lines()
        .find(|l| l.starts_with("readers") && l.contains("lagging"))
        .expect("a lag row");
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..6], ["readers", "lagging", "0", "4", "10", "6"]);
    assert_eq!(cells[6], "1h", "LAG-TIME in {row}");

    let list = inspect(&bs, &["list"]);
    assert!(
        list.ok()
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["readers", "Classic", "consumer", "Stable"]),
        "{}",
        list.stdout
    );

    // Offsets of a group with members are theirs to move.
    let refused = inspect(
        &bs,
        &[
            "reset-offsets",
            "-g",
            "readers",
            "--all-topics",
            "--to-earliest",
            "--execute",
        ],
    );
    assert_eq!(refused.code, Some(1));
    assert!(
        refused.stderr.contains("inactive") && refused.stderr.contains("Stable"),
        "{}",
        refused.stderr
    );

    drop(member);
    assert!(
        wait_until(Duration::from_secs(30), || state(&bs, "readers") == "Empty"),
        "the group empties once its member leaves"
    );

    let dry = inspect(
        &bs,
        &[
            "reset-offsets",
            "-g",
            "readers",
            "--all-topics",
            "--to-earliest",
        ],
    );
    let rows: Vec<Vec<String>> = dry
        .ok()
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r[3] == "4" && r[4] == "0"), "{rows:?}");
    assert!(dry.stderr.contains("Dry run"), "{}", dry.stderr);
    assert_eq!(
        committed(&bs, "readers"),
        vec![(0, Some(4)), (1, Some(4)), (2, Some(4))],
        "a dry run commits nothing"
    );

    assert_eq!(
        reset_executed(
            &bs,
            "readers",
            &["--topic", "lagging:1", "--to-offset", "7"]
        ),
        vec![(0, Some(4)), (1, Some(7)), (2, Some(4))]
    );

    assert_eq!(
        reset_executed(&bs, "readers", &["--topic", "lagging", "--shift-by", "-5"]),
        vec![(0, Some(0)), (1, Some(2)), (2, Some(0))],
        "shifted back and kept at the log start"
    );

    // Every record is an hour old, so none is within the last half hour.
    assert_eq!(
        reset_executed(&bs, "readers", &["--all-topics", "--by-duration", "PT30M"]),
        vec![(0, Some(10)), (1, Some(10)), (2, Some(10))]
    );
    let two_hours_ago = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 2 * HOUR_MS)
        .to_string();
    let dated = ["--topic", "lagging:0", "--to-datetime", &two_hours_ago];
    assert_eq!(reset_executed(&bs, "readers", &dated)[0], (0, Some(0)));

    let deleted = inspect(
        &bs,
        &["delete-offsets", "-g", "readers", "-t", "lagging:2", "-y"],
    );
    assert!(deleted.ok().contains("Deleted"), "{}", deleted.stdout);
    assert_eq!(committed(&bs, "readers"), vec![(0, Some(0)), (1, Some(10))]);

    // The records at the committed offset are deleted: the oldest left
    // tells how far behind the group is.
    let trim = [
        "delete-records",
        "-t",
        "lagging",
        "--partition",
        "0",
        "--offset",
        "3",
        "--yes",
    ];
    run_tool(TOPIC_ADMIN, &bs, &trim, b"").ok();
    let (partition, current, _, lag_time) = lag_rows(&described(&bs, "readers"))[0];
    assert_eq!((partition, current), (0, Some(0)));
    let age = lag_time.expect("a lag time from the log start");
    assert!((HOUR_MS..HOUR_MS + 300_000).contains(&age), "{age}");

    let unconfirmed = inspect(&bs, &["delete", "-g", "readers"]);
    assert_eq!(unconfirmed.code, Some(1));
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.stderr
    );
    inspect(&bs, &["delete", "-g", "readers", "--yes"]).ok();
    let gone = inspect(&bs, &["describe", "-g", "readers"]);
    assert_eq!(gone.code, Some(1));
    assert!(gone.stderr.contains("does not exist"), "{}", gone.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn both_protocols_are_listed_described_and_protected() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "shared", 3, &[]).await;
    let classic = subscribed_member(&bs, "old-style", "shared", &[]);
    let modern = subscribed_member(
        &bs,
        "new-style",
        "shared",
        &[("group.protocol", "consumer")],
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            classic.poll(Duration::from_millis(50));
            modern.poll(Duration::from_millis(50));
            state(&bs, "old-style") == "Stable" && state(&bs, "new-style") == "Stable"
        }),
        "both groups settle"
    );

    let list = inspect(&bs, &["list", "--output", "json"]);
    let groups: Vec<Value> = serde_json::from_str(list.ok()).unwrap();
    let type_of = |g: &str| {
        groups
            .iter()
            .find(|v| v["group_id"] == g)
            .map(|v| v["group_type"].as_str().unwrap().to_string())
    };
    assert_eq!(type_of("old-style").as_deref(), Some("Classic"));
    assert_eq!(type_of("new-style").as_deref(), Some("Consumer"));
    let only_new = inspect(&bs, &["list", "--type", "consumer"]);
    let names: Vec<&str> = only_new
        .ok()
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["new-style"]);

    for group in ["old-style", "new-style"] {
        let members = inspect(&bs, &["describe", "-g", group, "--members"]);
        let row = members
            .ok()
            .lines()
            .find(|l| l.starts_with(group))
            .unwrap_or_else(|| panic!("a member row in {}", members.stdout));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[cells.len() - 2..], ["3", "shared(0,1,2)"], "{row}");

        watch_redraws(&bs, group);

        let refused = inspect(&bs, &["delete", "-g", group, "-y"]);
        assert_eq!(refused.code, Some(1));
        assert!(
            refused.stderr.contains("NonEmptyGroup"),
            "{}",
            refused.stderr
        );

        // Each partition says why it kept its offset, by Kafka's name.
        let kept = inspect(
            &bs,
            &["delete-offsets", "-g", group, "-t", "shared:0,1", "-y"],
        );
        assert_eq!(kept.code, Some(1), "{}", kept.stdout);
        let statuses: Vec<&str> = kept.stdout.lines().skip(1).collect();
        assert_eq!(statuses.len(), 2, "{}", kept.stdout);
        assert!(
            statuses
                .iter()
                .all(|l| l.ends_with("Error: GroupSubscribedToTopic")),
            "{}",
            kept.stdout
        );
        assert!(
            kept.stderr.contains("2 of 2 offsets were not deleted"),
            "{}",
            kept.stderr
        );
    }

    // A group the coordinator does not know fails as a whole.
    let unknown = inspect(
        &bs,
        &["delete-offsets", "-g", "nobody", "-t", "shared", "-y"],
    );
    assert_eq!(unknown.code, Some(1));
    assert!(
        unknown
            .stderr
            .contains("cannot delete offsets of group 'nobody': GroupIdNotFound"),
        "{}",
        unknown.stderr
    );
}

/// LAG-TIME is the age of the first record a read_committed consumer
/// would read: the records of a transaction aborted before a committed
/// one, older than it, are skipped, and so are the transaction markers.
#[tokio::test(flavor = "multi_thread")]
async fn lag_time_skips_aborted_transactions() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "txns", 1, &[]).await;
    let producer: ThreadedProducer<DefaultProducerContext> = harness::client_config(&bs)
        .set("transactional.id", "lag-time")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "15000")
        .create()
        .expect("transactional producer");
    let timeout = Duration::from_secs(15);
    producer.init_transactions(timeout).expect("init");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (age, values, commit) in [(2 * HOUR_MS, 3, false), (HOUR_MS, 2, true)] {
        producer.begin_transaction().expect("begin");
        for i in 0..values {
            let value = i.to_string();
            producer
                .send(
                    BaseRecord::<(), _>::to("txns")
                        .partition(0)
                        .timestamp(now - age)
                        .payload(&value),
                )
                .map_err(|(e, _)| e)
                .expect("enqueue");
        }
        producer.flush(timeout).expect("flush");
        if commit {
            producer.commit_transaction(timeout).expect("commit");
        } else {
            producer.abort_transaction(timeout).expect("abort");
        }
    }
    // Aborted 0..2, its marker 3, committed 4..5, its marker 6.
    commit_offset(&bs, "txn-readers", "txns", 0);
    let rows = lag_rows(&described(&bs, "txn-readers"));
    let [(0, Some(0), Some(7), Some(age))] = rows[..] else {
        panic!("one lagging partition: {rows:?}");
    };
    assert!(
        (HOUR_MS..HOUR_MS + 300_000).contains(&age),
        "the committed records' hour, not the aborted ones' two: {age}"
    );

    // Past the committed records only their marker is left: no lag time
    // to tell, since a consumer has nothing more to read.
    commit_offset(&bs, "txn-readers", "txns", 6);
    let rows = lag_rows(&described(&bs, "txn-readers"));
    assert_eq!(rows, vec![(0, Some(6), Some(1), None)]);
}

/// `--watch 1` prints the lag table again every second and stops cleanly
/// on Ctrl-C.
fn watch_redraws(bs: &str, group: &str) {
    let mut child = spawn_tool(INSPECT, bs, &["describe", "-g", group, "--watch", "1"]);
    // Kept open until the interrupt: a closed pipe would end the tool first.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let headers = lines
        .by_ref()
        .map_while(Result::ok)
        .filter(|l| l.starts_with("GROUP "))
        .take(2)
        .count();
    assert_eq!(headers, 2, "two redraws");
    let status = interrupt(&mut child);
    assert!(status.success(), "{status:?}");
}

/// Ctrl-C to `child`, as at a terminal; how it exited.
fn interrupt(child: &mut Child) -> ExitStatus {
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(interrupted.success());
    child.wait().expect("wait for group-inspect")
}

/// Commits `offset` for partition 0 of `topic` as `group`, with no member
/// joining it.
fn commit_offset(bs: &str, group: &str, topic: &str, offset: i64) {
    let member: rdkafka::consumer::BaseConsumer = harness::client_config(bs)
        .set("group.id", group)
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(topic, 0, Offset::Offset(offset))
        .expect("offset");
    member.commit(&offsets, CommitMode::Sync).expect("commit");
}

#[test]
fn bad_arguments_are_one_line_and_exit_2() {
    for args in [
        &["reset-offsets", "-g", "g", "--to-earliest"][..],
        &["reset-offsets", "-g", "g", "--all-topics"],
        &[
            "reset-offsets",
            "-g",
            "g",
            "--all-topics",
            "--to-earliest",
            "--to-latest",
        ],
        &[
            "reset-offsets",
            "-g",
            "g",
            "--all-topics",
            "--by-duration",
            "soon",
        ],
        &["delete-offsets", "-g", "g", "-t", "t:x"],
        &["describe"],
        &["describe", "-g", "g", "--watch", "0"],
    ] {
        let out = run_tool(INSPECT, "127.0.0.1:1", args, b"");
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("group-inspect: "), "{}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_are_named_positionally_as_rpk_does() {
    let broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    create_topic(&bs, "orders", 1, &[]).await;
    commit_offset(&bs, "billing", "orders", 0);

    let positional = inspect(&bs, &["describe", "billing", "--output", "json"]);
    let all: Vec<Value> = serde_json::from_str(positional.ok()).expect("JSON");
    assert_eq!(all.len(), 1);
    assert!(all[0].to_string().contains("\"billing\""), "{}", all[0]);
    let reset = inspect(
        &bs,
        &[
            "reset-offsets",
            "billing",
            "--topic",
            "orders",
            "--to-latest",
            "--output",
            "json",
        ],
    );
    assert!(
        reset.ok().contains("\"group\":\"billing\""),
        "{}",
        reset.stdout
    );
    // kafka-consumer-groups.sh's --export and --from-file round trip.
    let export = inspect(
        &bs,
        &[
            "reset-offsets",
            "billing",
            "--all-topics",
            "--to-current",
            "--export",
        ],
    );
    assert_eq!(export.ok(), "orders,0,0\n");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), "orders,0,0\n").expect("write");
    let path = file.path().to_str().expect("utf-8 path");
    let producer = producer(&bs, &[]);
    for v in ["a", "b", "c"] {
        producer
            .send(
                FutureRecord::<(), _>::to("orders").payload(v),
                Duration::from_secs(10),
            )
            .await
            .expect("delivered");
    }
    inspect(
        &bs,
        &[
            "reset-offsets",
            "billing",
            "--all-topics",
            "--to-latest",
            "--execute",
        ],
    )
    .ok();
    assert_eq!(committed(&bs, "billing"), vec![(0, Some(3))]);
    inspect(
        &bs,
        &["reset-offsets", "billing", "--from-file", path, "--execute"],
    )
    .ok();
    assert_eq!(committed(&bs, "billing"), vec![(0, Some(0))]);
    let both_scopes = inspect(
        &bs,
        &[
            "reset-offsets",
            "billing",
            "--from-file",
            path,
            "--all-topics",
        ],
    );
    assert_eq!(both_scopes.code, Some(2), "{}", both_scopes.stderr);

    let both = inspect(&bs, &["describe", "billing", "--group", "billing"]);
    assert_eq!(both.code, Some(2), "{}", both.stderr);
    assert_eq!(both.stderr.lines().count(), 1, "{}", both.stderr);
    inspect(&bs, &["delete", "billing", "--yes"]).ok();
    assert!(inspect(&bs, &["list"])
        .ok()
        .lines()
        .all(|l| !l.contains("billing")));
}

/// `describe --watch` lives through a broker restart, as a tail does: it
/// says once that the cluster is gone and once that it is back, and shows
/// the group again, with what was committed while it waited.
#[test]
fn a_watch_lives_through_a_broker_restart() {
    use std::io::Read;
    use std::sync::{Arc, Mutex};

    let mut broker = BrokerProcess::start(GROUP_BROKER);
    let bs = broker.bootstrap();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(create_topic(&bs, "watched", 1, &[]));
    commit_offset(&bs, "watchers", "watched", 0);

    let mut child = spawn_tool(INSPECT, &bs, &["describe", "watchers", "--watch", "1"]);
    let kept = |pipe: Box<dyn Read + Send>| {
        let text = Arc::new(Mutex::new(String::new()));
        let into = Arc::clone(&text);
        std::thread::spawn(move || {
            let mut pipe = pipe;
            let mut chunk = [0u8; 1024];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                into.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        text
    };
    let stdout = kept(Box::new(child.stdout.take().expect("stdout")));
    let stderr = kept(Box::new(child.stderr.take().expect("stderr")));
    // GROUP TOPIC PARTITION CURRENT-OFFSET: the rows showing `current`.
    let rows_at = |current: &str| {
        stdout
            .lock()
            .unwrap()
            .lines()
            .filter(|l| {
                l.split_whitespace().take(4).collect::<Vec<_>>()
                    == ["watchers", "watched", "0", current]
            })
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(30), || rows_at("0") > 0),
        "the watch shows the group: {}{}",
        stdout.lock().unwrap(),
        stderr.lock().unwrap()
    );

    broker.stop();
    assert!(
        wait_until(Duration::from_secs(30), || stderr
            .lock()
            .unwrap()
            .contains("retrying until the cluster is back")),
        "the watch says the cluster is gone: {}",
        stderr.lock().unwrap()
    );
    assert!(
        child.try_wait().expect("try_wait").is_none(),
        "the watch keeps running: {}",
        stderr.lock().unwrap()
    );
    broker.restart_on_same_port();
    commit_offset(&bs, "watchers", "watched", 1);
    assert!(
        wait_until(Duration::from_secs(60), || rows_at("1") > 0
            && stderr
                .lock()
                .unwrap()
                .contains("group-inspect: the cluster is back")),
        "the watch shows the group again: {}{}",
        stdout.lock().unwrap(),
        stderr.lock().unwrap()
    );
    let said = stderr.lock().unwrap().clone();
    assert_eq!(
        said.matches("retrying until the cluster is back").count(),
        1,
        "the outage is said once: {said}"
    );
    assert_eq!(
        said.lines()
            .filter(|l| *l == "group-inspect: the cluster is back")
            .count(),
        1,
        "{said}"
    );

    let status = interrupt(&mut child);
    assert!(status.success(), "{status:?}: {}", stderr.lock().unwrap());
}

/// The node id of the broker that coordinates `group`, as `describe
/// --state` tells it.
fn coordinator_of(bs: &str, group: &str) -> i64 {
    let out = inspect(
        bs,
        &["describe", "-g", group, "--state", "--output", "json"],
    );
    let all: Vec<Value> = serde_json::from_str(out.ok()).expect("JSON");
    all[0]["coordinator"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no coordinator for {group}: {}", out.stdout))
}

/// The group ids of a `list` table.
fn listed_ids(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_and_delete_ask_every_coordinator_and_name_what_failed() {
    let mut cluster = harness::start_cluster(2, GROUP_BROKER);
    let bs = format!("{},{}", cluster[0].bootstrap(), cluster[1].bootstrap());
    create_topic(&bs, "listed", 1, &[]).await;
    let groups: Vec<String> = (0..8).map(|i| format!("spread-{i}")).collect();
    for g in &groups {
        commit_offset(&bs, g, "listed", 1);
    }
    let mut by_coordinator: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for g in &groups {
        by_coordinator
            .entry(coordinator_of(&bs, g))
            .or_default()
            .push(g.clone());
    }
    assert_eq!(
        by_coordinator.keys().copied().collect::<Vec<_>>(),
        [1, 2],
        "each broker coordinates some of the groups: {by_coordinator:?}"
    );

    let listed = inspect(&bs, &["list"]);
    assert_eq!(listed_ids(listed.ok()), groups, "{}", listed.stdout);

    // One group of each coordinator goes, beside one that never was.
    let doomed = [&by_coordinator[&1][0], &by_coordinator[&2][0]];
    let deleted = inspect(&bs, &["delete", doomed[0], "never-was", doomed[1], "--yes"]);
    assert_eq!(deleted.code, Some(1), "{}", deleted.stderr);
    assert_eq!(
        deleted.stdout,
        format!(
            "Deleted group {}.\nDeleted group {}.\n",
            doomed[0], doomed[1]
        )
    );
    let complaint: Vec<&str> = deleted.stderr.lines().collect();
    assert_eq!(complaint.len(), 1, "{}", deleted.stderr);
    assert!(
        complaint[0].contains("'never-was': GroupIdNotFound"),
        "{}",
        deleted.stderr
    );
    let remaining = inspect(&bs, &["list"]);
    let remaining = listed_ids(remaining.ok());
    assert_eq!(remaining.len(), groups.len() - 2, "{remaining:?}");
    for group in doomed {
        assert!(!remaining.contains(group), "{remaining:?}");
    }
    for ids in by_coordinator.values_mut() {
        ids.remove(0);
    }

    // Without its peer the survivor cannot fence node 2 (no quorum), so
    // Metadata still names it and listing must report it.
    cluster[1].kill9();
    let partial = inspect(&cluster[0].bootstrap(), &["list"]);
    assert_ne!(partial.code, Some(0), "{}", partial.stdout);
    let complaint: Vec<&str> = partial.stderr.lines().collect();
    assert_eq!(complaint.len(), 1, "{}", partial.stderr);
    assert!(complaint[0].contains("broker 2 at "), "{}", partial.stderr);
    assert_eq!(
        listed_ids(&partial.stdout),
        by_coordinator[&1],
        "{}",
        partial.stdout
    );
}
