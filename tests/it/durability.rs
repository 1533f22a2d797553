//! Restarts: everything written survives a clean restart and a `kill -9`;
//! a torn or corrupt tail is cut back to the last whole batch on recovery.

use crate::harness;

use std::io::Write;
use std::time::Duration;

use harness::{
    consume, create_topic, log_end, numbered, produce_numbered, produce_values, producer,
    read_from_start, record_values, values_read, wait_until, BrokerProcess,
};
use rdkafka::producer::FutureRecord;

/// acks=all, and small batches, so a topic with a small segment.bytes
/// accepts them.
const PRODUCER: &[(&str, &str)] = &[("acks", "all"), ("batch.size", "2000")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_keeps_every_record_across_segments() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(
        &broker.bootstrap(),
        "restart",
        1,
        &[("segment.bytes", "4096")],
    )
    .await;
    produce_numbered(&broker.bootstrap(), "restart", 0, 1000, PRODUCER).await;
    broker.stop();
    let segments = std::fs::read_dir(broker.dir.join("restart-0"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".log")
        })
        .count();
    assert!(
        segments > 1,
        "segment.bytes=4096 must have rolled segments, found {segments}"
    );
    broker.restart();
    produce_numbered(&broker.bootstrap(), "restart", 1000, 10, PRODUCER).await;
    let got = consume(
        &broker.bootstrap(),
        "restart",
        0,
        0,
        1010,
        Duration::from_secs(30),
    );
    assert_eq!(
        record_values(&got),
        numbered(1010),
        "all records, in order, offsets continuing after the restart"
    );
    assert!(got.iter().enumerate().all(|(i, r)| r.offset == i as i64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_record_with_flush_messages_1() {
    let mut broker = BrokerProcess::start(&["log.flush.interval.messages=1"]);
    create_topic(&broker.bootstrap(), "fsynced", 1, &[]).await;
    produce_numbered(&broker.bootstrap(), "fsynced", 0, 500, PRODUCER).await;
    broker.kill9();
    broker.restart();
    assert_eq!(
        read_from_start(&broker.bootstrap(), "fsynced", 500),
        numbered(500)
    );
    produce_numbered(&broker.bootstrap(), "fsynced", 500, 1, PRODUCER).await;
    let got = consume(
        &broker.bootstrap(),
        "fsynced",
        0,
        500,
        1,
        Duration::from_secs(30),
    );
    assert_eq!(got[0].offset, 500, "offsets continue after recovery");
}

/// A topic acknowledged as created is there after a kill -9 with every
/// partition: each partition's topic id is in place (no temporary file
/// left) before the creation is answered, and every partition takes and
/// serves records after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_right_after_a_create_keeps_the_topic_and_every_partition() {
    const PARTITIONS: i32 = 40;
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "created", PARTITIONS, &[]).await;
    broker.kill9();
    let ids: std::collections::BTreeSet<String> = (0..PARTITIONS)
        .map(|p| {
            let dir = broker.dir.join(format!("created-{p}"));
            assert!(
                !dir.join("partition.tmp").exists(),
                "{}: a staged topic id left behind",
                dir.display()
            );
            std::fs::read_to_string(dir.join("partition.metadata"))
                .unwrap_or_else(|e| panic!("{}: partition.metadata: {e}", dir.display()))
        })
        .collect();
    assert_eq!(ids.len(), 1, "one topic id in every partition: {ids:?}");
    assert!(ids.iter().all(|t| t.starts_with("version: 0\ntopic_id: ")));
    broker.restart();
    produce_values(
        &broker.bootstrap(),
        "created",
        0..PARTITIONS as usize,
        PARTITIONS,
    )
    .await;
    let seen: Vec<Vec<(i32, i64, String)>> = (0..PARTITIONS)
        .map(|p| {
            consume(
                &broker.bootstrap(),
                "created",
                p,
                0,
                1,
                Duration::from_secs(30),
            )
            .into_iter()
            .map(|r| {
                (
                    r.partition,
                    r.offset,
                    String::from_utf8(r.value.unwrap()).unwrap(),
                )
            })
            .collect()
        })
        .collect();
    assert_eq!(
        values_read(&seen),
        (0..PARTITIONS as usize).collect::<Vec<_>>()
    );
}

fn last_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut logs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    logs.pop().expect("a segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_truncates_a_torn_tail_and_keeps_everything_before_it() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "torn", 1, &[]).await;
    produce_numbered(&broker.bootstrap(), "torn", 0, 300, PRODUCER).await;
    broker.kill9();

    // A torn write: the start of a batch header, then nothing.
    let segment = last_segment(&broker.dir.join("torn-0"));
    let whole_len = std::fs::metadata(&segment).unwrap().len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap();
    f.write_all(&[0, 0, 0, 0, 0, 0, 1, 44, 0, 0, 0, 200, 0, 0])
        .unwrap();
    drop(f);

    broker.restart();
    assert_eq!(
        read_from_start(&broker.bootstrap(), "torn", 300),
        numbered(300)
    );
    produce_numbered(&broker.bootstrap(), "torn", 300, 5, PRODUCER).await;
    assert_eq!(
        read_from_start(&broker.bootstrap(), "torn", 305),
        numbered(305),
        "new records follow the recovered ones with no gap"
    );
    broker.stop();
    assert!(
        std::fs::metadata(&segment).unwrap().len() > whole_len,
        "new batches were appended after the cut"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_drops_a_batch_whose_crc_does_not_match() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "flipped", 1, &[]).await;
    // Sequential sends: one batch per record, so the last batch is one record.
    let p = producer(&broker.bootstrap(), &[("linger.ms", "0")]);
    for i in 0..20 {
        let value = format!("record-{i}");
        p.send(
            FutureRecord::<(), _>::to("flipped")
                .partition(0)
                .payload(&value),
            Duration::from_secs(10),
        )
        .await
        .expect("delivered");
    }
    broker.kill9();
    let segment = last_segment(&broker.dir.join("flipped-0"));
    let mut bytes = std::fs::read(&segment).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0xff;
    std::fs::write(&segment, &bytes).unwrap();

    broker.restart();
    assert!(
        wait_until(Duration::from_secs(10), || log_end(
            &broker.bootstrap(),
            "flipped",
            0
        ) == 19),
        "the corrupt last batch is gone: the log ends at {}",
        log_end(&broker.bootstrap(), "flipped", 0)
    );
    let got = consume(
        &broker.bootstrap(),
        "flipped",
        0,
        0,
        19,
        Duration::from_secs(10),
    );
    assert_eq!(
        record_values(&got),
        numbered(19),
        "everything before the corrupt batch is kept"
    );
}

/// The recovery point `recovery-point-offset-checkpoint` holds for
/// `topic` partition 0 (Kafka's format: version, count, entries).
fn recovery_point(dir: &std::path::Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(dir.join("recovery-point-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        (fields.len() == 3 && fields[0] == topic && fields[1] == "0")
            .then(|| fields[2].parse().ok())
            .flatten()
    })
}

fn segment_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "log")
        })
        .count()
}

/// Rolls leave their fsync to a background group commit: a kill -9 right
/// after many rolls, with a recovery point several segments back and a
/// torn tail, loses no acknowledged record, with and without
/// flush.messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_right_after_rolls_loses_no_acknowledged_record() {
    for flush_messages in [None, Some("flush.messages=1")] {
        let mut broker = BrokerProcess::start(&["log.flush.offset.checkpoint.interval.ms=100"]);
        let mut configs = vec![("segment.bytes", "4096")];
        if let Some(setting) = flush_messages {
            configs.push(setting.split_once('=').unwrap());
        }
        create_topic(&broker.bootstrap(), "rolled", 1, &configs).await;
        let dir = broker.dir.join("rolled-0");
        produce_numbered(&broker.bootstrap(), "rolled", 0, 500, PRODUCER).await;
        // The rolls' fsyncs ran in the background and moved the recovery
        // point to a segment's base, with no fsync in any append.
        let moved = harness::wait_until(Duration::from_secs(20), || {
            recovery_point(&broker.dir, "rolled").is_some_and(|rp| rp > 0)
        });
        assert!(moved, "{flush_messages:?}: the recovery point never moved");
        let point = recovery_point(&broker.dir, "rolled").unwrap();
        let before = segment_count(&dir);
        produce_numbered(&broker.bootstrap(), "rolled", 500, 1500, PRODUCER).await;
        broker.kill9();
        assert!(
            segment_count(&dir) >= before + 3,
            "{flush_messages:?}: rolls past the recovery point {point}"
        );
        let segment = last_segment(&dir);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap();
        f.write_all(&[0, 0, 0, 0, 0, 0, 7, 208, 0, 0, 0, 200, 0, 0])
            .unwrap();
        drop(f);

        broker.restart();
        assert_eq!(
            read_from_start(&broker.bootstrap(), "rolled", 2000),
            numbered(2000),
            "{flush_messages:?}: every acknowledged record, in order"
        );
        produce_numbered(&broker.bootstrap(), "rolled", 2000, 1, PRODUCER).await;
        let got = consume(
            &broker.bootstrap(),
            "rolled",
            0,
            2000,
            1,
            Duration::from_secs(30),
        );
        assert_eq!(got[0].offset, 2000, "offsets continue after recovery");
        broker.stop();
    }
}
