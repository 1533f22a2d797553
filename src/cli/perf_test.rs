//! `perf-test`: kafka-producer-perf-test and kafka-consumer-perf-test in
//! one tool, plus end-to-end latency.

use clap::{Args, Parser, Subcommand};

use super::{ConnectionArgs, ProducerTuning};

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
        /// Stop when no record arrived for this long.
        #[arg(long, value_name = "MS", default_value_t = 10_000)]
        timeout_ms: u64,
        #[command(flatten)]
        report: Report,
    },
    /// Produce at a fixed rate while consuming; report latency from send to arrival.
    EndToEnd {
        /// The topic to write to and read from.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// Records per second.
        #[arg(long, value_name = "RECORDS_PER_SEC", value_parser = positive)]
        rate: f64,
        /// How long to produce, in seconds.
        #[arg(long, value_name = "SECONDS", value_parser = positive)]
        duration: f64,
        /// Size of each record's value in bytes (at least 16: a run tag and the send time).
        #[arg(long, value_name = "BYTES", default_value_t = 100)]
        record_size: usize,
        #[command(flatten)]
        tuning: ProducerTuning,
        #[command(flatten)]
        report: Report,
    },
}

fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}
