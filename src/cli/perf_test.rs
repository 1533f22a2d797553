//! `perf-test`: kafka-producer-perf-test and kafka-consumer-perf-test in
//! one tool, plus end-to-end latency.

use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use super::{Compression, ConnectionArgs, ProducerTuning};
use crate::client::perf::wire_consumer::{self, WireFetchLoad};
use crate::client::perf::wire_end_to_end::{self, WireEndToEnd};
use crate::client::perf::wire_producer::{self, WireLoad};
use crate::client::perf::{self, ProduceLoad, Progress, Summary};
use crate::client::{ClientError, ClientSettings, Result};

/// Measure produce and consume throughput and end-to-end latency.
#[derive(Parser, Debug)]
#[command(name = "perf-test", version, propagate_version = true)]
pub struct PerfTest {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(subcommand)]
    pub command: PerfCommand,
}

#[derive(Args, Debug)]
pub struct Report {
    /// Print one JSON object with the results instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// Send fixed-size records as fast as allowed; report throughput and acknowledgement latency.
    Produce {
        /// The topic to write to.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// How many records to send.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        num_records: u64,
        /// Size of each record's value in bytes.
        #[arg(long, value_name = "BYTES", default_value_t = 100)]
        record_size: usize,
        /// Records per second at most; unlimited when left out.
        #[arg(long, value_name = "RECORDS_PER_SEC", value_parser = positive)]
        throughput: Option<f64>,
        /// Which client sends: librdkafka, or the tools' own protocol client, which sends
        /// record batches built before the run so that it costs far less than the broker.
        #[arg(long, value_enum, default_value_t = ProduceClient::Rdkafka)]
        client: ProduceClient,
        /// Connections to each partition leader (--client wire).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        connections: u32,
        /// Requests awaiting an answer on each connection at most (--client wire).
        #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
        max_in_flight: u32,
        #[command(flatten)]
        tuning: ProducerTuning,
        #[command(flatten)]
        report: Report,
    },
    /// Read records from the beginning of a topic; report throughput.
    Consume {
        /// The topic to read.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// How many records to read.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        num_records: u64,
        /// Read as a member of this group (committing as it goes) instead of from every partition directly.
        #[arg(long, short = 'g', value_name = "GROUP")]
        group: Option<String>,
        /// Read as a member of this share group (KIP-932) with the tools' own share consumer,
        /// accepting every record; it starts where the group's share.auto.offset.reset says.
        #[arg(long, value_name = "GROUP", conflicts_with_all = ["group", "client"])]
        share_group: Option<String>,
        /// Stop when no record arrived for this long.
        #[arg(long, value_name = "MS", default_value_t = 10_000)]
        timeout_ms: u64,
        /// Which client reads: librdkafka, or the tools' own protocol client, which fetches
        /// in a fetch session and counts records from their batches, so that it costs far
        /// less than the broker.
        #[arg(long, value_enum, default_value_t = ProduceClient::Rdkafka)]
        client: ProduceClient,
        #[command(flatten)]
        report: Report,
    },
    /// Produce at a fixed rate while consuming; report latency from send to arrival.
    EndToEnd {
        /// The topic to write to and read from.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// Records per second, over all producers.
        #[arg(long, value_name = "RECORDS_PER_SEC", value_parser = positive)]
        rate: f64,
        /// How long to produce, in seconds.
        #[arg(long, value_name = "SECONDS", value_parser = positive)]
        duration: f64,
        /// Size of each record's value in bytes (at least 16: a run tag and the send time).
        #[arg(long, value_name = "BYTES", default_value_t = 100)]
        record_size: usize,
        /// Also report p50, p99 and max for each interval of this many milliseconds, by send time.
        #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
        interval_ms: Option<u64>,
        /// Which client produces: librdkafka, or the tools' own protocol client, which holds
        /// --producers connections on one thread and also reports produce-ack latency.
        #[arg(long, value_enum, default_value_t = ProduceClient::Rdkafka)]
        client: ProduceClient,
        /// Producers, each its own connection sending --rate / N records per second (--client wire).
        #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        producers: u32,
        #[command(flatten)]
        tuning: ProducerTuning,
        #[command(flatten)]
        report: Report,
    },
}

/// The client `perf-test produce` sends with, and `perf-test consume` reads with.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProduceClient {
    /// librdkafka, as every other tool.
    Rdkafka,
    /// The tools' own Kafka-protocol client: uncompressed batches built once,
    /// several requests in flight.
    Wire,
}

/// Kafka's batch.size default, which the own client fills its batches to.
const DEFAULT_BATCH_SIZE: u32 = 16_384;

impl PerfCommand {
    /// How many records the run expects to count, for a progress bar.
    pub fn expected_records(&self) -> u64 {
        match self {
            PerfCommand::Produce { num_records, .. } | PerfCommand::Consume { num_records, .. } => {
                *num_records
            }
            PerfCommand::EndToEnd { rate, duration, .. } => (rate * duration).ceil() as u64,
        }
    }

    /// Whether the report is one JSON object (and nothing else is drawn).
    pub fn json(&self) -> bool {
        match self {
            PerfCommand::Produce { report, .. }
            | PerfCommand::Consume { report, .. }
            | PerfCommand::EndToEnd { report, .. } => report.json,
        }
    }
}

/// What a run prints, and why it fails when records went missing.
pub struct Outcome {
    pub text: String,
    pub failure: Option<String>,
}

/// Runs the test, counting records into `progress` as they go.
pub fn run(
    command: PerfCommand,
    settings: ClientSettings,
    progress: Arc<Progress>,
) -> Result<Outcome> {
    let expected = command.expected_records();
    let json = command.json();
    let (summary, verb, missing) = match command {
        PerfCommand::Produce {
            topic,
            num_records,
            record_size,
            throughput,
            client,
            connections,
            max_in_flight,
            tuning,
            ..
        } => {
            let report = match client {
                ProduceClient::Rdkafka => {
                    let settings = settings.with_defaults(tuning.properties());
                    let load = ProduceLoad {
                        topic,
                        records: num_records,
                        record_size,
                        rate: throughput,
                    };
                    perf::produce(&settings, &load, progress)?
                }
                ProduceClient::Wire => {
                    let load = wire_load(
                        topic,
                        num_records,
                        record_size,
                        throughput,
                        &tuning,
                        connections,
                        max_in_flight,
                    )?;
                    wire_producer::produce(&settings, &load, progress)?
                }
            };
            let missing = (report.failed > 0).then(|| {
                format!(
                    "{} of {num_records} records were not delivered",
                    report.failed
                )
            });
            (report.summary(), "sent", missing)
        }
        PerfCommand::Consume {
            topic,
            num_records,
            group,
            share_group,
            timeout_ms,
            client,
            ..
        } => {
            let idle = Duration::from_millis(timeout_ms);
            let report = match (share_group, client, group) {
                (Some(share_group), _, _) => perf::consume_share(
                    &settings,
                    &topic,
                    num_records,
                    &share_group,
                    idle,
                    progress,
                )?,
                (None, ProduceClient::Rdkafka, group) => perf::consume(
                    &settings,
                    &topic,
                    num_records,
                    group.as_deref(),
                    idle,
                    progress,
                )?,
                (None, ProduceClient::Wire, Some(_)) => return Err(ClientError::Invalid(
                    "--client wire reads every partition directly: --group needs --client rdkafka"
                        .to_string(),
                )),
                (None, ProduceClient::Wire, None) => {
                    let load = WireFetchLoad {
                        topic,
                        records: num_records,
                        idle,
                    };
                    wire_consumer::consume(&settings, &load, progress)?
                }
            };
            let missing = (report.records < num_records).then(|| {
                format!(
                    "only {} of {num_records} records arrived before {timeout_ms} ms without any",
                    report.records
                )
            });
            (report.summary(), "read", missing)
        }
        PerfCommand::EndToEnd {
            topic,
            rate,
            duration,
            record_size,
            interval_ms,
            client,
            producers,
            tuning,
            ..
        } => {
            let duration = Duration::from_secs_f64(duration);
            let interval = interval_ms.map(Duration::from_millis);
            let (summary, produce_error) = match client {
                ProduceClient::Rdkafka => {
                    if producers > 1 {
                        return Err(ClientError::Invalid(
                            "--producers needs --client wire: librdkafka sends from one producer here"
                                .into(),
                        ));
                    }
                    let settings = settings.with_defaults(tuning.properties());
                    let report = perf::end_to_end(
                        &settings,
                        &topic,
                        rate,
                        duration,
                        record_size,
                        interval,
                        progress,
                    )?;
                    (report.summary(), None)
                }
                ProduceClient::Wire => {
                    let load = WireEndToEnd {
                        topic,
                        rate,
                        duration,
                        record_size,
                        producers: producers as usize,
                        acks: wire_acks(&tuning),
                        linger: Duration::from_millis(tuning.linger_ms.unwrap_or(0).into()),
                        batch_size: tuning.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as usize,
                        interval,
                    };
                    if tuning.compression != Compression::None {
                        return Err(ClientError::Invalid(
                            "--client wire sends uncompressed batches: --compression needs --client rdkafka"
                                .into(),
                        ));
                    }
                    let outcome = wire_end_to_end::run(&settings, &load, progress)?;
                    (outcome.summary(), outcome.produce_error)
                }
            };
            let missing = (summary.failed > 0).then(|| {
                let cause = produce_error
                    .map(|e| format!(" (the first produce error: {e})"))
                    .unwrap_or_default();
                format!(
                    "{} of {expected} records did not arrive{cause}",
                    summary.failed
                )
            });
            (summary, "received", missing)
        }
    };
    Ok(Outcome {
        text: render(&summary, json, verb),
        failure: missing,
    })
}

/// The own client's workload; it refuses what it does not do rather than
/// measure something else than asked.
fn wire_load(
    topic: String,
    records: u64,
    record_size: usize,
    throughput: Option<f64>,
    tuning: &ProducerTuning,
    connections: u32,
    in_flight: u32,
) -> Result<WireLoad> {
    let refuse = |what: &str| {
        Err(ClientError::Invalid(format!(
            "--client wire sends uncompressed batches as fast as it can: {what} needs --client rdkafka"
        )))
    };
    if throughput.is_some() {
        return refuse("--throughput");
    }
    if tuning.compression != Compression::None {
        return refuse("--compression");
    }
    if tuning.linger_ms.is_some() {
        return refuse("--linger-ms");
    }
    Ok(WireLoad {
        topic,
        records,
        record_size,
        acks: wire_acks(tuning),
        batch_size: tuning.batch_size.unwrap_or(DEFAULT_BATCH_SIZE) as usize,
        connections: connections as usize,
        in_flight: in_flight as usize,
    })
}

/// --acks as the Produce request carries it.
fn wire_acks(tuning: &ProducerTuning) -> i16 {
    if tuning.acks == "all" {
        -1
    } else {
        tuning
            .acks
            .parse()
            .expect("clap allows only 0, 1, -1 and all")
    }
}

/// The results in one line, as Kafka's perf tests print them, or as JSON.
pub fn render(s: &Summary, json: bool, verb: &str) -> String {
    if json {
        return format!("{}\n", serde_json::json!(s));
    }
    let mut line = format!(
        "{} records {verb} in {:.2} s, {:.1} records/sec ({:.2} MB/sec)",
        s.records, s.elapsed_secs, s.records_per_sec, s.mb_per_sec
    );
    if let Some(l) = &s.latency_ms {
        line.push_str(&format!(
            ", latency {:.2} ms avg, {:.2} ms p50, {:.2} ms p99, {:.2} ms p99.9, {:.2} ms max",
            l.avg, l.p50, l.p99, l.p999, l.max
        ));
    }
    if let Some(l) = &s.ack_latency_ms {
        line.push_str(&format!(
            "; produce acknowledged in {:.2} ms avg, {:.2} ms p50, {:.2} ms p99, {:.2} ms p99.9, {:.2} ms max",
            l.avg, l.p50, l.p99, l.p999, l.max
        ));
    }
    line.push('\n');
    for i in &s.intervals {
        line.push_str(&format!(
            "  from {} ms: {} records, latency {:.2} ms p50, {:.2} ms p99, {:.2} ms max\n",
            i.start_ms, i.records, i.p50, i.p99, i.max
        ));
    }
    line
}

fn positive(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::perf::Latency;

    fn parse(args: &[&str]) -> PerfCommand {
        PerfTest::try_parse_from(std::iter::once("perf-test").chain(args.iter().copied()))
            .unwrap()
            .command
    }

    #[test]
    fn the_progress_bar_knows_how_many_records_to_expect() {
        let produce = parse(&["produce", "-t", "t", "--num-records", "500", "--json"]);
        assert_eq!((produce.expected_records(), produce.json()), (500, true));
        let e2e = parse(&["end-to-end", "-t", "t", "--rate", "2.5", "--duration", "3"]);
        assert_eq!((e2e.expected_records(), e2e.json()), (8, false));
    }

    #[test]
    fn results_read_as_kafka_perf_tests_print_them() {
        let mut summary = Summary {
            records: 1000,
            failed: 0,
            bytes: 100_000,
            elapsed_secs: 2.0,
            records_per_sec: 500.0,
            mb_per_sec: 0.048,
            latency_ms: None,
            ack_latency_ms: None,
            intervals: Vec::new(),
        };
        assert_eq!(
            render(&summary, false, "sent"),
            "1000 records sent in 2.00 s, 500.0 records/sec (0.05 MB/sec)\n"
        );
        summary.latency_ms = Some(Latency {
            avg: 1.5,
            p50: 1.0,
            p99: 4.0,
            p999: 9.0,
            max: 12.0,
        });
        assert!(render(&summary, false, "received").ends_with(
            ", latency 1.50 ms avg, 1.00 ms p50, 4.00 ms p99, 9.00 ms p99.9, 12.00 ms max\n"
        ));
        let json: serde_json::Value =
            serde_json::from_str(&render(&summary, true, "sent")).unwrap();
        assert_eq!(json["records"], 1000);
        assert_eq!(json["latency_ms"]["p99"], 4.0);
    }
}
