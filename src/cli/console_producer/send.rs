//! console-producer's send loop: a record per line, sent without waiting
//! (or one at a time with --sync), every delivery report counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::Notify;

use super::ConsoleProducer;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::interceptor::{
    FilterInterceptor, HeaderInterceptor, StatsInterceptor, StatsReport,
};
use crate::client::line_reader::LineReader;
use crate::client::producer::{Producer, ProducerRecord};
use crate::client::{ClientError, ClientSettings, Result};

const TOOL: &str = "console-producer";

/// The producer the flags describe, and the interceptor --stats reads.
/// The cluster is asked first, so that an unreachable one or a partition
/// the topic lacks fails at once rather than after queueing records that
/// can never be delivered.
pub async fn producer(
    args: &ConsoleProducer,
    settings: &ClientSettings,
) -> Result<(Producer, Arc<StatsInterceptor>)> {
    let admin = Admin::connect(settings).await?;
    check_partition(
        &admin.describe_topics(None).await?,
        args.topic(),
        args.partition,
    )?;
    let mut producer = Producer::new(settings)?.with_partitioner(args.partitioner.partitioner());
    if let Some(pattern) = &args.filter {
        let filter = FilterInterceptor::new(pattern).map_err(|e| {
            ClientError::Invalid(format!(
                "--filter '{pattern}' is not a valid regular expression: {e}"
            ))
        })?;
        producer = producer.with_interceptor(Arc::new(filter));
    }
    if !args.header.is_empty() {
        producer = producer.with_interceptor(Arc::new(HeaderInterceptor::new(args.header.clone())));
    }
    let stats = Arc::new(StatsInterceptor::default());
    if args.stats {
        producer = producer.with_interceptor(stats.clone());
    }
    Ok((producer, stats))
}

/// Refuses --partition beyond the topic's partitions. A topic the cluster
/// does not list yet is let through: the broker may create it.
pub fn check_partition(
    topics: &[TopicDescription],
    topic: &str,
    partition: Option<i32>,
) -> Result<()> {
    let Some(t) = topics.iter().find(|t| t.name == topic) else {
        return Ok(());
    };
    match partition.filter(|p| *p as usize >= t.partitions.len()) {
        Some(p) => Err(ClientError::Invalid(format!(
            "topic '{topic}' has {} partitions; there is no partition {p}",
            t.partitions.len()
        ))),
        None => Ok(()),
    }
}

/// A line without its ending: `\n` or `\r\n`, as Java's readLine takes them.
pub fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The record line `number` (from 1) stands for, its key and value
/// serialized as the flags say.
pub fn record(
    args: &ConsoleProducer,
    reader: &LineReader,
    line: &[u8],
    number: u64,
) -> Result<ProducerRecord> {
    let line = reader.parse(line_content(line), number)?;
    let encode =
        |what: &str, bytes: Option<Vec<u8>>, format: crate::client::serializer::TextFormat| {
            bytes
                .map(|b| format.encode(&b))
                .transpose()
                .map_err(|e| ClientError::Invalid(format!("line {number}: {what}: {e}")))
        };
    Ok(ProducerRecord {
        topic: args.topic().to_string(),
        partition: args.partition,
        key: encode("key", line.key, args.key_serializer)?,
        value: encode("value", line.value, args.value_serializer)?,
        headers: line.headers,
        timestamp: None,
    })
}

/// Outcomes of records sent without waiting, counted by their callbacks.
#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    failed: AtomicU64,
    done: Notify,
    /// Set once the summary is due: records the producer purges as it
    /// closes (those Ctrl-C left unacknowledged) are counted there, not
    /// reported one by one after it.
    summarised: AtomicBool,
}

impl Tally {
    fn finished(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }
}

/// What became of the lines.
#[derive(Debug)]
pub struct Sent {
    pub acknowledged: u64,
    pub failed: u64,
    /// Still unreported when Ctrl-C cut the wait short.
    pub unacknowledged: u64,
    /// Left out by --filter.
    pub dropped: u64,
    pub elapsed: Duration,
    /// What stopped the sending early: bad input, a failed --sync send.
    pub failure: Option<ClientError>,
}

impl Sent {
    /// The line that ends every run; none when a mistake was found before
    /// anything was sent, since the mistake is then the one line to say.
    pub fn summary(&self) -> Option<String> {
        if self.failure.is_some() && self.acknowledged + self.failed == 0 {
            return None;
        }
        let (acknowledged, failed) = (self.acknowledged, self.failed);
        let elapsed = self.elapsed.as_secs_f64();
        let unknown = if self.unacknowledged > 0 {
            format!(", {} unacknowledged", self.unacknowledged)
        } else {
            String::new()
        };
        let filtered = if self.dropped > 0 {
            format!(", {} filtered out", self.dropped)
        } else {
            String::new()
        };
        Some(format!(
            "Sent {acknowledged} records ({failed} failed{unknown}{filtered}) in {elapsed:.2} s, {:.0} records/s",
            acknowledged as f64 / elapsed.max(1e-9)
        ))
    }

    /// Whether every record sent was acknowledged.
    pub fn all_acknowledged(&self) -> bool {
        self.failed + self.unacknowledged == 0
    }
}

/// --stats' report: records per partition and latency percentiles.
pub fn stats_text(report: &StatsReport) -> String {
    let mut table = crate::cli::table(&["PARTITION", "RECORDS"]);
    for (p, n) in &report.per_partition {
        table.add_row(vec![p.to_string(), n.to_string()]);
    }
    let mut text = crate::cli::table_text(&table);
    let [p50, p99, p999, max] = report.latency_ms;
    text.push_str(&format!(
        "Latency ms: p50 {p50:.2}, p99 {p99:.2}, p99.9 {p999:.2}, max {max:.2}\n"
    ));
    text
}

/// Sends a record per line of `input` until it ends, a line cannot be
/// sent, or Ctrl-C; then waits for the delivery reports of what was sent
/// (librdkafka gives each within message.timeout.ms), saying on stderr why
/// the wait is long, and a second Ctrl-C cuts it short. With --sync each
/// record's partition and offset go to stdout as it is acknowledged.
pub async fn send(
    producer: Arc<Producer>,
    args: &ConsoleProducer,
    reader: &LineReader,
    mut input: Box<dyn AsyncBufRead + Unpin>,
    progress: ProgressBar,
) -> Sent {
    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut buf = Vec::new();
    let (mut number, mut queued, mut dropped) = (0u64, 0u64, 0u64);
    let mut failure: Option<ClientError> = None;
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        buf.clear();
        let read = tokio::select! {
            read = input.read_until(b'\n', &mut buf) => match read {
                Ok(n) => n,
                Err(e) => {
                    failure = Some(ClientError::Input(e));
                    break;
                }
            },
            _ = &mut ctrl_c => {
                interrupted = true;
                break;
            }
        };
        if read == 0 {
            break;
        }
        number += 1;
        progress.inc(read as u64);
        let record = match record(args, reader, &buf, number) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if args.sync {
            match producer.send(record).await {
                Ok(Some(m)) => {
                    tally.acknowledged.fetch_add(1, Ordering::SeqCst);
                    let ack = format!(
                        "Produced to partition {} at offset {}\n",
                        m.partition, m.offset
                    );
                    match crate::cli::write_out(ack.as_bytes()) {
                        Ok(()) => {}
                        // The reader is gone (`| head`): stop sending, as
                        // a C tool stops on SIGPIPE, and count what was sent.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                        Err(e) => {
                            failure = Some(ClientError::Output(e));
                            break;
                        }
                    }
                }
                Ok(None) => dropped += 1,
                Err(e) => {
                    tally.failed.fetch_add(1, Ordering::SeqCst);
                    failure = Some(e);
                    break;
                }
            }
        } else {
            let t = Arc::clone(&tally);
            let outcome = producer
                .send_with_callback(record, move |result| {
                    match result {
                        Ok(_) => t.acknowledged.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            // The first failures say why; the summary counts the rest.
                            if t.failed.load(Ordering::SeqCst) < 3
                                && !t.summarised.load(Ordering::SeqCst)
                            {
                                eprintln!("{TOOL}: {e}");
                            }
                            t.failed.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                    t.done.notify_one();
                })
                .await;
            match outcome {
                Ok(true) => queued += 1,
                Ok(false) => dropped += 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        // Formatting a message for every line costs more than sending it.
        if number % 1024 == 0 && !progress.is_hidden() {
            progress.set_message(format!(
                "{} records",
                tally.acknowledged.load(Ordering::SeqCst)
            ));
        }
    }
    progress.finish_and_clear();
    if interrupted {
        ctrl_c.set(tokio::signal::ctrl_c());
    }
    let mut told = false;
    let mut unacknowledged = 0;
    while tally.finished() < queued {
        tokio::select! {
            _ = tally.done.notified() => {}
            _ = &mut ctrl_c => {
                unacknowledged = queued - tally.finished();
                break;
            }
            _ = tokio::time::sleep(Duration::from_secs(1)), if !told => {
                told = true;
                eprintln!(
                    "{TOOL}: waiting for {} of {queued} records to be acknowledged (up to message.timeout.ms; Ctrl-C stops waiting)",
                    queued - tally.finished()
                );
            }
        }
    }
    tally.summarised.store(true, Ordering::SeqCst);
    Sent {
        acknowledged: tally.acknowledged.load(Ordering::SeqCst),
        failed: tally.failed.load(Ordering::SeqCst),
        unacknowledged,
        dropped,
        elapsed: started.elapsed(),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;

    use super::*;
    use crate::cli::topic_admin::fixtures::topic;

    fn args(extra: &[&str]) -> ConsoleProducer {
        let mut argv = vec!["console-producer", "--topic", "orders"];
        argv.extend_from_slice(extra);
        ConsoleProducer::try_parse_from(argv).unwrap()
    }

    fn sent(acknowledged: u64, failed: u64, failure: Option<ClientError>) -> Sent {
        Sent {
            acknowledged,
            failed,
            unacknowledged: 0,
            dropped: 0,
            elapsed: Duration::from_secs(2),
            failure,
        }
    }

    #[test]
    fn line_endings_go_as_java_reads_them() {
        assert_eq!(line_content(b"a\r\n"), b"a");
        assert_eq!(line_content(b"a\n"), b"a");
        assert_eq!(line_content(b"a"), b"a");
        assert_eq!(line_content(b"a\r\r\n"), b"a\r");
    }

    #[test]
    fn a_line_becomes_a_keyed_record() {
        let args = args(&["--partition", "1", "--property", "parse.key=true"]);
        let reader = LineReader::from_properties(&args.property).unwrap();
        let r = record(&args, &reader, b"k\tv\r\n", 1).unwrap();
        assert_eq!(r.topic, "orders");
        assert_eq!(r.partition, Some(1));
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn a_value_the_serializer_refuses_names_its_line() {
        let args = args(&["--value-serializer", "int"]);
        let reader = LineReader::from_properties(&args.property).unwrap();
        let error = record(&args, &reader, b"not a number\n", 7)
            .err()
            .unwrap()
            .to_string();
        assert!(error.starts_with("line 7: value: "), "{error}");
    }

    #[test]
    fn a_partition_the_topic_lacks_is_refused() {
        let topics = [topic("orders", &[(1, &[1], &[1]), (1, &[1], &[1])])];
        assert!(check_partition(&topics, "orders", Some(1)).is_ok());
        assert!(check_partition(&topics, "orders", None).is_ok());
        assert!(check_partition(&topics, "new-topic", Some(5)).is_ok());
        assert_eq!(
            check_partition(&topics, "orders", Some(2))
                .unwrap_err()
                .to_string(),
            "topic 'orders' has 2 partitions; there is no partition 2"
        );
    }

    #[test]
    fn the_summary_counts_every_outcome() {
        assert_eq!(
            sent(10, 0, None).summary().as_deref(),
            Some("Sent 10 records (0 failed) in 2.00 s, 5 records/s")
        );
        let mut partly = sent(4, 1, None);
        partly.unacknowledged = 2;
        partly.dropped = 3;
        assert_eq!(
            partly.summary().as_deref(),
            Some("Sent 4 records (1 failed, 2 unacknowledged, 3 filtered out) in 2.00 s, 2 records/s")
        );
        assert!(!partly.all_acknowledged());
        assert!(sent(10, 0, None).all_acknowledged());
    }

    #[test]
    fn a_mistake_before_any_send_is_the_only_line() {
        let bad = || Some(ClientError::Invalid("line 1: bad".into()));
        assert_eq!(sent(0, 0, bad()).summary(), None);
        assert!(sent(3, 0, bad()).summary().is_some());
    }

    #[test]
    fn stats_list_partitions_and_latency() {
        let report = StatsReport {
            per_partition: BTreeMap::from([(0, 5), (1, 7)]),
            failed: 0,
            latency_ms: [1.0, 2.5, 3.0, 4.25],
        };
        assert_eq!(
            stats_text(&report),
            "PARTITION  RECORDS\n0          5\n1          7\n\
             Latency ms: p50 1.00, p99 2.50, p99.9 3.00, max 4.25\n"
        );
    }
}
