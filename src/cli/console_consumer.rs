//! `console-consumer`: print records as they arrive, as
//! kafka-console-consumer.sh.

use clap::Parser;

use super::ConnectionArgs;
use crate::client::config::parse_key_value;
use crate::client::serializer::TextFormat;

/// Print a topic's records on standard output.
#[derive(Parser, Debug)]
#[command(name = "console-consumer", version)]
pub struct ConsoleConsumer {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The topic to read, as rpk takes it (or --topic).
    #[arg(value_name = "TOPIC", id = "name", conflicts_with_all = ["topic", "include"])]
    pub name: Option<String>,

    /// The topic to read.
    #[arg(
        long,
        short = 't',
        value_name = "TOPIC",
        required_unless_present_any = ["include", "name"],
        conflicts_with = "include"
    )]
    pub topic: Option<String>,

    /// Read every topic whose whole name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub include: Option<String>,

    /// Start at the earliest record rather than the next new one.
    #[arg(long)]
    pub from_beginning: bool,

    /// Read as a member of this consumer group, committing what was printed.
    #[arg(long, short = 'g', value_name = "GROUP", conflicts_with = "partition")]
    pub group: Option<String>,

    /// Read only this partition.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    /// Where to start: earliest, latest, N, -N (N before the end), @TIMESTAMP
    /// (epoch ms or RFC 3339) or @-DURATION (e.g. @-10m).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true, conflicts_with_all = ["group", "from_beginning"])]
    pub offset: Option<String>,

    /// Stop at the first record at or after this time (@TIMESTAMP or @-DURATION).
    #[arg(long, value_name = "@TIME", allow_hyphen_values = true)]
    pub until: Option<String>,

    /// Stop after printing this many records.
    #[arg(long, value_name = "N")]
    pub max_messages: Option<u64>,

    /// Stop when no record arrives for this long.
    #[arg(long, value_name = "MS")]
    pub timeout_ms: Option<u64>,

    /// read_committed hides records of aborted and open transactions.
    #[arg(long, value_parser = ["read_uncommitted", "read_committed"], default_value = "read_uncommitted")]
    pub isolation_level: String,

    /// How records are printed, as Kafka's console consumer: print.key,
    /// print.timestamp, print.partition, print.offset, print.headers,
    /// print.value, key.separator, line.separator, headers.separator,
    /// headers.key.separator, null.literal. Repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub property: Vec<(String, String)>,

    /// How keys are read, as console-producer's --key-serializer wrote them.
    #[arg(long, value_enum, default_value_t)]
    pub key_deserializer: TextFormat,

    /// How values are read, as console-producer's --value-serializer wrote them.
    #[arg(long, value_enum, default_value_t)]
    pub value_deserializer: TextFormat,

    /// text (as Kafka's console consumer) or json (one object per record; bytes that are not UTF-8 in base64).
    #[arg(long, value_parser = ["text", "json"], default_value = "text")]
    pub format: String,
}

impl ConsoleConsumer {
    /// The topic, given positionally or with --topic; None with --include.
    pub fn topic(&self) -> Option<&str> {
        self.name.as_deref().or(self.topic.as_deref())
    }
}
