//! `console-producer`: Kafka's kafka-console-producer.sh, for any
//! Kafka-compatible cluster.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::sync::Notify;

/// Large reads: tokio reads stdin on a blocking thread, one hand-off per read.
const INPUT_BUFFER: usize = 1 << 20;
const TOOL: &str = "console-producer";

fn main() -> ExitCode {
    let args: ConsoleProducer = cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cli::fail(TOOL, format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        match run(args).await {
            Ok(code) => code,
            Err(e) => cli::fail(TOOL, format!("{e:#}")),
        }
    });
    // tokio reads stdin on a blocking thread, which a Ctrl-C at a terminal
    // leaves inside read(2) until the next Enter; dropping the runtime
    // would wait for it (and the read would take that line from the
    // shell), so the thread is abandoned to the process's exit.
    runtime.shutdown_background();
    code
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
    if let Some(t) = topics.iter().find(|t| t.name == args.topic()) {
        if let Some(p) = args.partition.filter(|p| *p as usize >= t.partitions.len()) {
            bail!(
                "topic '{}' has {} partitions; there is no partition {p}",
                args.topic(),
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
            (Box::new(BufReader::with_capacity(INPUT_BUFFER, file)), bar)
        }
        None => (
            Box::new(BufReader::with_capacity(INPUT_BUFFER, tokio::io::stdin())),
            ProgressBar::hidden(),
        ),
    };

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let mut lines = input;
    let mut buf = Vec::new();
    let (mut number, mut queued, mut dropped) = (0u64, 0u64, 0u64);
    let mut failure: Option<anyhow::Error> = None;
    let mut interrupted = false;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        buf.clear();
        let read = tokio::select! {
            read = lines.read_until(b'\n', &mut buf) => match read {
                Ok(n) => n,
                Err(e) => {
                    failure = Some(anyhow!("cannot read input: {e}"));
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
        let record = match to_record(&args, &reader, line_content(&buf), number) {
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
                    match cli::write_out(ack.as_bytes()) {
                        Ok(()) => {}
                        // The reader is gone (`| head`): stop sending, as
                        // a C tool stops on SIGPIPE, and count what was sent.
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                        Err(e) => {
                            failure = Some(anyhow!("cannot write to standard output: {e}"));
                            break;
                        }
                    }
                }
                Ok(None) => dropped += 1,
                Err(e) => {
                    tally.failed.fetch_add(1, Ordering::SeqCst);
                    failure = Some(e.into());
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
                    failure = Some(e.into());
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
    // librdkafka reports every queued record, delivered or failed, within
    // message.timeout.ms, so this wait ends; say why it is long when the
    // cluster has gone quiet, and let Ctrl-C cut it short.
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
    let (acknowledged, failed) = (
        tally.acknowledged.load(Ordering::SeqCst),
        tally.failed.load(Ordering::SeqCst),
    );
    let unknown = if unacknowledged > 0 {
        format!(", {unacknowledged} unacknowledged")
    } else {
        String::new()
    };
    // A mistake found before anything was sent is the one line of output.
    if failure.is_none() || acknowledged + failed > 0 {
        let elapsed = started.elapsed().as_secs_f64();
        eprintln!(
            "Sent {acknowledged} records ({failed} failed{unknown}{}) in {elapsed:.2} s, {:.0} records/s",
            if dropped > 0 {
                format!(", {dropped} filtered out")
            } else {
                String::new()
            },
            acknowledged as f64 / elapsed.max(1e-9)
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
    Ok(if failed + unacknowledged > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A line without its ending: `\n` or `\r\n`, as Java's readLine takes them.
fn line_content(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn to_record(
    args: &ConsoleProducer,
    reader: &LineReader,
    line: &[u8],
    number: u64,
) -> anyhow::Result<ProducerRecord> {
    let line = reader.parse(line, number)?;
    let key = line
        .key
        .map(|k| args.key_serializer.encode(&k))
        .transpose()
        .with_context(|| format!("line {number}: key"))?;
    let value = line
        .value
        .map(|v| args.value_serializer.encode(&v))
        .transpose()
        .with_context(|| format!("line {number}: value"))?;
    Ok(ProducerRecord {
        topic: args.topic().to_string(),
        partition: args.partition,
        key,
        value,
        headers: line.headers,
        timestamp: None,
    })
}
