//! `console-producer`: records from standard input or a file, one per line,
//! as kafka-console-producer.sh.
//!
//! This module holds the clap definitions; `send` turns lines into records
//! and sends them, so that the binary only opens the input and prints.

pub mod send;

use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;

use super::transform::TransformArgs;
use super::{ConnectionArgs, ProducerTuning};
use crate::client::config::parse_key_value;
use crate::client::partitioner::{
    ConsistentRandomPartitioner, Murmur2Partitioner, Partitioner, RandomPartitioner,
    RoundRobinPartitioner,
};
use crate::client::serializer::TextFormat;

/// Write one record per line of standard input (or of --file) to a topic.
#[derive(Parser, Debug)]
#[command(name = "console-producer", version)]
pub struct ConsoleProducer {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The topic to write to, as rpk takes it (or --topic).
    #[arg(value_name = "TOPIC", id = "name", conflicts_with = "topic")]
    pub name: Option<String>,

    /// The topic to write to.
    #[arg(
        long,
        short = 't',
        value_name = "TOPIC",
        required_unless_present = "name"
    )]
    pub topic: Option<String>,

    /// Read lines from this file instead of standard input, with a progress bar.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// How lines are read, as Kafka's console producer: parse.key, key.separator,
    /// parse.headers, headers.delimiter, headers.separator, headers.key.separator,
    /// null.marker, ignore.error. Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,

    /// Write every record to this partition.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    #[command(flatten)]
    pub tuning: ProducerTuning,

    /// Wait for each record's acknowledgement and print its partition and offset.
    #[arg(long)]
    pub sync: bool,

    /// How keys are written.
    #[arg(long, value_enum, default_value_t)]
    pub key_serializer: TextFormat,

    /// How values are written.
    #[arg(long, value_enum, default_value_t)]
    pub value_serializer: TextFormat,

    /// Which partition a record without --partition goes to.
    #[arg(long, value_enum, default_value_t)]
    pub partitioner: PartitionerKind,

    /// Send only lines whose value matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub filter: Option<String>,

    /// Add this header to every record, repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub header: Vec<(String, String)>,

    /// At the end, print records per partition and acknowledgement latency percentiles.
    #[arg(long)]
    pub stats: bool,

    #[command(flatten)]
    pub transforms: TransformArgs,
}

impl ConsoleProducer {
    /// The topic, given positionally or with --topic (clap lets one through).
    pub fn topic(&self) -> &str {
        self.name
            .as_deref()
            .or(self.topic.as_deref())
            .unwrap_or_else(|| unreachable!("clap requires the topic"))
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartitionerKind {
    /// The Java client's: murmur2 of the key, so keys land where a Java producer puts them.
    #[default]
    Murmur2,
    /// librdkafka's default: CRC32 of the key.
    #[value(name = "consistent_random", alias = "consistent-random")]
    ConsistentRandom,
    /// Any partition.
    Random,
    /// Each partition in turn.
    #[value(name = "round-robin", alias = "round_robin")]
    RoundRobin,
}

impl PartitionerKind {
    pub fn partitioner(self) -> Arc<dyn Partitioner> {
        match self {
            PartitionerKind::Murmur2 => Arc::new(Murmur2Partitioner),
            PartitionerKind::ConsistentRandom => Arc::new(ConsistentRandomPartitioner),
            PartitionerKind::Random => Arc::new(RandomPartitioner),
            PartitionerKind::RoundRobin => Arc::new(RoundRobinPartitioner::default()),
        }
    }
}
