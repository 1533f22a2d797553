//! console-producer's send loop: a record per line, sent without waiting
//! (or one at a time with --sync), every delivery report counted.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use indicatif::ProgressBar;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::Notify;

use super::ConsoleProducer;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::interceptor::{
    FilterInterceptor, HeaderInterceptor, StatsInterceptor, StatsReport,
};
use crate::client::line_reader::LineReader;
use crate::client::producer::{OnDelivery, Producer, ProducerRecord, RecordMetadata};
use crate::client::transform::{self, Applied, Transforms};
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
    check_partition(
        &Admin::cluster_topics(settings).await?,
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
                .map(|b| format.encode(b))
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
struct Tally {
    acknowledged: AtomicU64,
    failed: AtomicU64,
    /// How many records were queued, once the input has ended (u64::MAX
    /// before): the callbacks wake the waiting loop only when the last
    /// report is in, rather than once a record.
    expected: AtomicU64,
    done: Notify,
    /// Set once the summary is due: records the producer purges as it
    /// closes (those Ctrl-C left unacknowledged) are counted there, not
    /// reported one by one after it.
    summarised: AtomicBool,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            acknowledged: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            expected: AtomicU64::new(u64::MAX),
            done: Notify::new(),
            summarised: AtomicBool::new(false),
        }
    }
}

impl Tally {
    fn finished(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }

    /// Counts a delivery report, on librdkafka's polling thread.
    fn count(&self, result: Result<RecordMetadata>) {
        match result {
            Ok(_) => self.acknowledged.fetch_add(1, Ordering::SeqCst),
            Err(e) => {
                // The first failures say why; the summary counts the rest.
                if self.failed.load(Ordering::SeqCst) < 3 && !self.summarised.load(Ordering::SeqCst)
                {
                    eprintln!("{TOOL}: {e}");
                }
                self.failed.fetch_add(1, Ordering::SeqCst)
            }
        };
        // Both sides use SeqCst: either this load sees the expected count
        // the waiting loop stored, or that loop's check sees this report.
        if self.finished() >= self.expected.load(Ordering::SeqCst) {
            self.done.notify_one();
        }
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
    /// What --transform left out or dead-lettered.
    pub transformed: transform::Tally,
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
        let transformed = match self.transformed.summary() {
            t if t.is_empty() => t,
            t => format!(", {t}"),
        };
        Some(format!(
            "Sent {acknowledged} records ({failed} failed{unknown}{filtered}{transformed}) in {elapsed:.2} s, {:.0} records/s",
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

/// Why sending stopped before the input ended.
enum Stop {
    /// Bad input, a failed --sync send, standard output failing.
    Failed(ClientError),
    /// Standard output's reader is gone (`| head`): stop sending, as a C
    /// tool stops on SIGPIPE, and count what was sent.
    ReaderGone,
}

/// Sends lines one by one, counting them.
struct Lines<'a> {
    producer: &'a Producer,
    args: &'a ConsoleProducer,
    reader: &'a LineReader,
    transforms: &'a mut Transforms,
    tally: &'a Tally,
    on_delivery: OnDelivery,
    /// Lines read so far, numbering them for messages.
    number: u64,
    queued: u64,
    /// Left out by --filter.
    dropped: u64,
}

impl Lines<'_> {
    async fn send(&mut self, line: &[u8]) -> std::result::Result<(), Stop> {
        self.number += 1;
        let record = record(self.args, self.reader, line, self.number).map_err(Stop::Failed)?;
        if self.transforms.is_empty() {
            return self.deliver(record).await;
        }
        let partition = record.partition;
        let input = transform::Record {
            topic: record.topic,
            partition: partition.unwrap_or(-1),
            offset: -1,
            timestamp: record.timestamp,
            key: record.key,
            value: record.value,
            headers: record.headers,
        };
        let place = format!("line {}", self.number);
        let applied = self.transforms.apply(input, &place).map_err(Stop::Failed)?;
        let records = match applied {
            Applied::Records(records) => records,
            Applied::DeadLetter(letter) => vec![letter],
        };
        let topic = self.args.topic();
        for r in records {
            // --partition holds for the topic it names, not for a route.
            let partition = partition.filter(|_| r.topic == topic);
            self.deliver(r.into_producer(partition)).await?;
        }
        Ok(())
    }

    async fn deliver(&mut self, record: ProducerRecord) -> std::result::Result<(), Stop> {
        if !self.args.sync {
            match self
                .producer
                .send_with_callback(record, &self.on_delivery)
                .await
            {
                Ok(true) => self.queued += 1,
                Ok(false) => self.dropped += 1,
                Err(e) => return Err(Stop::Failed(e)),
            }
            return Ok(());
        }
        match self.producer.send(record).await {
            Ok(Some(m)) => {
                self.tally.acknowledged.fetch_add(1, Ordering::SeqCst);
                let ack = format!(
                    "Produced to partition {} at offset {}\n",
                    m.partition, m.offset
                );
                match crate::cli::write_out(ack.as_bytes()) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Stop::ReaderGone),
                    Err(e) => Err(Stop::Failed(ClientError::Output(e))),
                }
            }
            Ok(None) => {
                self.dropped += 1;
                Ok(())
            }
            Err(e) => {
                self.tally.failed.fetch_add(1, Ordering::SeqCst);
                Err(Stop::Failed(e))
            }
        }
    }
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
    transforms: &mut Transforms,
    mut input: Box<dyn AsyncBufRead + Unpin>,
    progress: ProgressBar,
) -> Sent {
    let tally = Arc::new(Tally::default());
    let on_delivery: OnDelivery = {
        let t = Arc::clone(&tally);
        Arc::new(move |result| t.count(result))
    };
    let started = Instant::now();
    let show_progress = !progress.is_hidden();
    let mut lines = Lines {
        producer: &producer,
        args,
        reader,
        transforms,
        tally: &tally,
        on_delivery,
        number: 0,
        queued: 0,
        dropped: 0,
    };
    // A line that spans reads gathers here; the lines within a read are
    // sent from the read buffer without a copy.
    let mut partial = Vec::new();
    let mut stop = None;
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    'reading: loop {
        let chunk = tokio::select! {
            read = input.fill_buf() => match read {
                Ok(chunk) => chunk,
                Err(e) => {
                    stop = Some(Stop::Failed(ClientError::Input(e)));
                    break;
                }
            },
            _ = &mut ctrl_c => {
                interrupted = true;
                break;
            }
        };
        if chunk.is_empty() {
            if !partial.is_empty() {
                stop = lines.send(&partial).await.err();
            }
            break;
        }
        let length = chunk.len();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(end + 1);
            rest = after;
            let sent = if partial.is_empty() {
                lines.send(line).await
            } else {
                partial.extend_from_slice(line);
                let sent = lines.send(&partial).await;
                partial.clear();
                sent
            };
            if let Err(s) = sent {
                stop = Some(s);
                break 'reading;
            }
            // Asking after Ctrl-C costs about as much as sending a line,
            // so it is asked every few hundred lines; and after every line
            // with --sync, where each waits for its acknowledgement.
            if (args.sync || lines.number % 256 == 0) && ctrl_c.as_mut().now_or_never().is_some() {
                interrupted = true;
                break 'reading;
            }
        }
        partial.extend_from_slice(rest);
        input.consume(length);
        progress.inc(length as u64);
        if show_progress {
            progress.set_message(format!(
                "{} records",
                tally.acknowledged.load(Ordering::SeqCst)
            ));
        }
    }
    let Lines {
        queued,
        dropped,
        transforms,
        ..
    } = lines;
    let failure = match stop {
        Some(Stop::Failed(e)) => Some(e),
        Some(Stop::ReaderGone) | None => None,
    };
    progress.finish_and_clear();
    if interrupted {
        ctrl_c.set(tokio::signal::ctrl_c());
    }
    let mut told = false;
    let mut unacknowledged = 0;
    tally.expected.store(queued, Ordering::SeqCst);
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
        transformed: transforms.tally,
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
            transformed: transform::Tally::default(),
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
