//! The per-directory offset checkpoints: `replication-offset-checkpoint`
//! keeps high watermarks across restarts, clean or not, and a damaged one
//! never stops the broker; `recovery-point-offset-checkpoint` lets recovery
//! after a kill -9 check only what was not fsynced.

use crate::harness;

use std::path::Path;
use std::time::Duration;

use harness::{
    client_config, consume, create_topic, numbered, produce_numbered, producer, read_from_start,
    record_values, wait_until, BrokerProcess,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::FutureRecord;

const HW_FILE: &str = "replication-offset-checkpoint";
const RP_FILE: &str = "recovery-point-offset-checkpoint";
const ACKS_ALL: &[(&str, &str)] = &[("acks", "all")];

/// ListOffsets earliest and latest (the high watermark), as a client sees them.
fn watermarks(bootstrap: &str, topic: &str) -> (i64, i64) {
    let c: BaseConsumer = client_config(bootstrap).create().expect("create consumer");
    c.fetch_watermarks(topic, 0, Duration::from_secs(10))
        .expect("ListOffsets")
}

/// The checkpoint's entry for `topic` partition 0, if the file is in
/// Kafka's format (version 0, entry count, entries) and has one.
fn checkpointed(dir: &Path, topic: &str) -> Option<i64> {
    checkpoint_entry(&dir.join(HW_FILE), topic)
}

/// Waits up to 20 s for `file`'s entry for `topic` partition 0 to be
/// `offset`; `what` names the wait in the failure.
fn await_entry(file: &Path, topic: &str, offset: i64, what: &str) {
    let reached = wait_until(Duration::from_secs(20), || {
        checkpoint_entry(file, topic) == Some(offset)
    });
    assert!(
        reached,
        "{what}: {topic} at {:?}, not {offset}",
        checkpoint_entry(file, topic)
    );
}

fn checkpoint_entry(file: &Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    let count: usize = lines
        .next()
        .filter(|v| *v == "0")
        .and(lines.next())?
        .parse()
        .ok()?;
    let entries: Vec<&str> = lines.collect();
    if entries.len() != count {
        return None;
    }
    entries.iter().find_map(|l| {
        let fields: Vec<&str> = l.split(' ').collect();
        (fields.len() == 3 && fields[0] == topic && fields[1] == "0")
            .then(|| fields[2].parse().expect("offset"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_keeps_the_high_watermark() {
    let mut broker = BrokerProcess::start(&[]);
    create_topic(&broker.bootstrap(), "hw", 1, &[]).await;
    produce_numbered(&broker.bootstrap(), "hw", 0, 100, ACKS_ALL).await;
    assert_eq!(watermarks(&broker.bootstrap(), "hw"), (0, 100));
    // Stopped well within the 5 s interval: shutdown writes it.
    broker.stop();
    assert_eq!(checkpointed(&broker.dir, "hw"), Some(100));
    assert_eq!(
        checkpoint_entry(&broker.dir.join(RP_FILE), "hw"),
        Some(100),
        "shutdown fsyncs everything"
    );
    assert!(broker.dir.join(".kafka_cleanshutdown").exists());

    broker.restart();
    assert_eq!(watermarks(&broker.bootstrap(), "hw"), (0, 100));
    assert_eq!(
        read_from_start(&broker.bootstrap(), "hw", 100),
        numbered(100),
        "read_committed sees them all"
    );

    // And every replica.high.watermark.checkpoint.interval.ms while running.
    produce_numbered(&broker.bootstrap(), "hw", 100, 50, ACKS_ALL).await;
    await_entry(
        &broker.dir.join(HW_FILE),
        "hw",
        150,
        "the checkpoint every interval",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_high_watermark_stays_within_the_log() {
    let mut broker = BrokerProcess::start(&["replica.high.watermark.checkpoint.interval.ms=100"]);
    create_topic(&broker.bootstrap(), "killed", 1, &[]).await;
    produce_numbered(&broker.bootstrap(), "killed", 0, 150, ACKS_ALL).await;
    await_entry(
        &broker.dir.join(HW_FILE),
        "killed",
        150,
        "the periodic checkpoint",
    );
    broker.kill9();
    // A checkpoint past what the log holds (as after a lost tail) is taken
    // only as far as the log reaches.
    std::fs::write(broker.dir.join(HW_FILE), "0\n1\nkilled 0 100000\n").unwrap();
    broker.restart();
    assert_eq!(watermarks(&broker.bootstrap(), "killed"), (0, 150));
    assert_eq!(
        read_from_start(&broker.bootstrap(), "killed", 150),
        numbered(150),
        "every acknowledged record"
    );

    // A damaged checkpoint is ignored: the broker starts and serves.
    broker.kill9();
    std::fs::write(broker.dir.join(HW_FILE), b"0\n7\n\xff\xfe garbage").unwrap();
    broker.restart();
    assert_eq!(watermarks(&broker.bootstrap(), "killed"), (0, 150));
    assert_eq!(
        read_from_start(&broker.bootstrap(), "killed", 150),
        numbered(150)
    );
    await_entry(
        &broker.dir.join(HW_FILE),
        "killed",
        150,
        "the damaged file is replaced",
    );
}

/// Flips a byte inside the first occurrence of `needle` in `file`.
fn damage(file: &Path, needle: &[u8]) {
    let mut bytes = std::fs::read(file).unwrap();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {}", file.display()));
    bytes[at + 6] = b'X'; // "record-N" -> "recordXN"
    std::fs::write(file, bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_recovery_checks_only_past_the_recovery_point() {
    let mut broker = BrokerProcess::start(&["log.flush.offset.checkpoint.interval.ms=100"]);
    let rp_file = broker.dir.join(RP_FILE);
    // The 100th record asks for an fsync, and is acknowledged after it.
    create_topic(&broker.bootstrap(), "rp", 1, &[("flush.messages", "100")]).await;
    produce_numbered(&broker.bootstrap(), "rp", 0, 100, ACKS_ALL).await;
    await_entry(&rp_file, "rp", 100, "the recovery point checkpoint");
    // Acknowledged, in the page cache, not fsynced: a batch each.
    let p = producer(&broker.bootstrap(), &[("acks", "all")]);
    for i in 100..150 {
        let value = format!("record-{i}");
        p.send(
            FutureRecord::<(), _>::to("rp").partition(0).payload(&value),
            Duration::from_secs(30),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("send {i} failed: {e}"));
    }
    broker.kill9();

    // A byte flipped in a record before the recovery point, and one after
    // it (as a write the crash tore).
    let segment = broker.dir.join("rp-0").join(format!("{:020}.log", 0));
    damage(&segment, b"record-7");
    damage(&segment, b"record-120");
    broker.restart();
    let (low, high) = watermarks(&broker.bootstrap(), "rp");
    assert_eq!(low, 0);
    assert!(
        high == 120,
        "the log is cut at the batch holding offset 120, not before the recovery point: {high}"
    );
    // Fsynced data is trusted, as Kafka trusts it, not checked again: the
    // damaged batch stays, and reads hand it out as stored for the
    // consumer's CRC check (check.crcs) to find. The unflushed records
    // before the tear are all there.
    let got = consume(
        &broker.bootstrap(),
        "rp",
        0,
        100,
        high as usize - 100,
        Duration::from_secs(30),
    );
    assert_eq!(record_values(&got), numbered(high as usize)[100..]);
    // The project's console-consumer checks CRCs (check.crcs, as Kafka's
    // consumer does), so it stops at the damaged batch with one line.
    let read = harness::run_tool(
        env!("CARGO_BIN_EXE_console-consumer"),
        &broker.bootstrap(),
        &[
            "--topic",
            "rp",
            "--partition",
            "0",
            "--offset",
            "0",
            "--max-messages",
            "20",
            "--timeout-ms",
            "10000",
        ],
        b"",
    );
    assert_ne!(read.code, Some(0), "{}", read.stdout);
    assert!(
        read.stderr.contains("failed its CRC check"),
        "the error names the CRC: {}",
        read.stderr
    );
    await_entry(
        &rp_file,
        "rp",
        high,
        "the recovered log's recovery point is written at once",
    );

    // Without a recovery point the whole active segment is checked, and
    // the earlier damage found.
    broker.kill9();
    std::fs::remove_file(&rp_file).unwrap();
    broker.restart();
    let (low, high) = watermarks(&broker.bootstrap(), "rp");
    assert!(low == 0 && high <= 7, "cut at the batch holding 7: {high}");
}
