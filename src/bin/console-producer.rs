//! `console-producer`: Kafka's kafka-console-producer.sh, for any
//! Kafka-compatible cluster.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use gregor::cli::console_producer::{ConsoleProducer, PartitionerKind};
use gregor::cli::{self};
use gregor::client::admin::Admin;
use gregor::client::interceptor::{FilterInterceptor, HeaderInterceptor, StatsInterceptor};
use gregor::client::line_reader::LineReader;
use gregor::client::partitioner::{
    ConsistentRandomPartitioner, Murmur2Partitioner, Partitioner, RandomPartitioner,
    RoundRobinPartitioner,
};
use gregor::client::producer::{Producer, ProducerRecord};
use gregor::client::serializer::Serializer;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

const TOOL: &str = "console-producer";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: ConsoleProducer = cli::parse();
    match run(args).await {
        Ok(code) => code,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

/// Outcomes of records sent without waiting, counted by their callbacks.
#[derive(Default)]
struct Tally {
    acknowledged: AtomicU64,
    failed: AtomicU64,
    done: Notify,
}

impl Tally {
    fn finished(&self) -> u64 {
        self.acknowledged.load(Ordering::SeqCst) + self.failed.load(Ordering::SeqCst)
    }
}

async fn run(args: ConsoleProducer) -> anyhow::Result<ExitCode> {
    let reader = LineReader::from_properties(&args.property)?;
    let settings = args
        .connection
        .settings()?
        .with_defaults(args.tuning.properties());

    // Fail fast on an unreachable cluster or a missing topic rather than
    // queueing records that can never be delivered.
    let admin = Admin::connect(&settings).await?;
    let topics = admin.describe_topics(None).await?;
    if let Some(t) = topics.iter().find(|t| t.name == args.topic) {
        if let Some(p) = args.partition.filter(|p| *p as usize >= t.partitions.len()) {
            bail!(
                "topic '{}' has {} partitions; there is no partition {p}",
                args.topic,
                t.partitions.len()
            );
        }
    }

    let partitioner: Arc<dyn Partitioner> = match args.partitioner {
        PartitionerKind::Murmur2 => Arc::new(Murmur2Partitioner),
        PartitionerKind::ConsistentRandom => Arc::new(ConsistentRandomPartitioner),
        PartitionerKind::Random => Arc::new(RandomPartitioner),
        PartitionerKind::RoundRobin => Arc::new(RoundRobinPartitioner::default()),
    };
    let mut producer = Producer::new(&settings)?.with_partitioner(partitioner);
    if let Some(pattern) = &args.filter {
        let filter = FilterInterceptor::new(pattern)
            .map_err(|e| anyhow!("--filter '{pattern}' is not a valid regular expression: {e}"))?;
        producer = producer.with_interceptor(Arc::new(filter));
    }
    if !args.header.is_empty() {
        producer = producer.with_interceptor(Arc::new(HeaderInterceptor::new(args.header.clone())));
    }
    let stats = Arc::new(StatsInterceptor::default());
    if args.stats {
        producer = producer.with_interceptor(stats.clone());
    }
    let producer = Arc::new(producer);

    let (input, progress): (Box<dyn AsyncBufRead + Unpin>, ProgressBar) = match &args.file {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("cannot open {}", path.display()))?;
            let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
            let bar = ProgressBar::new(size).with_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
                )
                .expect("valid progress template"),
            );
            (Box::new(BufReader::new(file)), bar)
        }
        None => (
            Box::new(BufReader::new(tokio::io::stdin())),
            ProgressBar::hidden(),
        ),
    };

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut lines = input;
    let mut buf = Vec::new();
    let (mut number, mut sent, mut dropped) = (0u64, 0u64, 0u64);
    let mut failure: Option<anyhow::Error> = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        buf.clear();
        let read = tokio::select! {
            read = lines.read_until(b'\n', &mut buf) => read.context("cannot read input")?,
            _ = &mut ctrl_c => break,
        };
        if read == 0 {
            break;
        }
        number += 1;
        progress.inc(read as u64);
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t.trim_end_matches('\n').trim_end_matches('\r'),
            Err(_) => {
                failure = Some(anyhow!("line {number} is not UTF-8 text"));
                break;
            }
        };
        let record = match to_record(&args, &reader, text, number) {
            Ok(r) => r,
            Err(e) => {
                failure = Some(e);
                break;
            }
        };
        if args.sync {
            match producer.send(record).await {
                Ok(Some(m)) => {
                    sent += 1;
                    println!(
                        "Produced to partition {} at offset {}",
                        m.partition, m.offset
                    );
                }
                Ok(None) => dropped += 1,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            }
        } else {
            let t = Arc::clone(&tally);
            let queued = producer
                .send_with_callback(record, move |result| {
                    match result {
                        Ok(_) => t.acknowledged.fetch_add(1, Ordering::SeqCst),
                        Err(e) => {
                            // The first failures say why; the summary counts the rest.
                            if t.failed.load(Ordering::SeqCst) < 3 {
                                eprintln!("{TOOL}: {e}");
                            }
                            t.failed.fetch_add(1, Ordering::SeqCst)
                        }
                    };
                    t.done.notify_one();
                })
                .await;
            match queued {
                Ok(true) => sent += 1,
                Ok(false) => dropped += 1,
                Err(e) => {
                    failure = Some(e.into());
                    break;
                }
            }
        }
        progress.set_message(format!("{sent} records"));
    }
    progress.finish_and_clear();
    producer.flush(Duration::from_secs(30)).await?;
    if !args.sync {
        while tally.finished() < sent {
            tally.done.notified().await;
        }
    }
    let failed = tally.failed.load(Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    if (!args.sync || dropped > 0 || args.stats) && (failure.is_none() || sent > 0) {
        eprintln!(
            "Sent {} records ({failed} failed{}) in {elapsed:.2} s, {:.0} records/s",
            sent - failed,
            if dropped > 0 {
                format!(", {dropped} filtered out")
            } else {
                String::new()
            },
            (sent - failed) as f64 / elapsed.max(1e-9)
        );
    }
    if args.stats {
        let report = stats.report();
        let mut table = cli::table(&["PARTITION", "RECORDS"]);
        for (p, n) in &report.per_partition {
            table.add_row(vec![p.to_string(), n.to_string()]);
        }
        for line in table.lines() {
            eprintln!("{}", line.trim());
        }
        let [p50, p99, p999, max] = report.latency_ms;
        eprintln!("Latency ms: p50 {p50:.2}, p99 {p99:.2}, p99.9 {p999:.2}, max {max:.2}");
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn to_record(
    args: &ConsoleProducer,
    reader: &LineReader,
    text: &str,
    number: u64,
) -> anyhow::Result<ProducerRecord> {
    let line = reader.parse(text, number)?;
    let key = line
        .key
        .map(|k| args.key_serializer.serialize(k.as_str()))
        .transpose()
        .with_context(|| format!("line {number}: key"))?;
    let value = line
        .value
        .map(|v| args.value_serializer.serialize(v.as_str()))
        .transpose()
        .with_context(|| format!("line {number}: value"))?;
    Ok(ProducerRecord {
        topic: args.topic.clone(),
        partition: args.partition,
        key,
        value,
        headers: line
            .headers
            .into_iter()
            .map(|(k, v)| (k, v.map(String::into_bytes)))
            .collect(),
        timestamp: None,
    })
}
