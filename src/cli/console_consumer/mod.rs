//! `console-consumer`: print records as they arrive, as
//! kafka-console-consumer.sh.
//!
//! This module holds the clap definitions and what they mean; `read` is
//! the loop that polls and prints.

pub mod read;

use clap::Parser;

use super::transform::TransformArgs;
use super::ConnectionArgs;
use crate::client::config::parse_key_value;
use crate::client::consumer::Source;
use crate::client::format::ConsumedRecord;
use crate::client::offset_spec::{now_ms, parse_time, OffsetSpec};
use crate::client::serializer::TextFormat;
use crate::client::{ClientError, Result};

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

    /// Read as a member of this share group (KIP-932), acknowledging each record as it is printed.
    #[arg(long, value_name = "GROUP",
          conflicts_with_all = ["group", "partition", "offset", "from_beginning", "until", "include"])]
    pub share_group: Option<String>,

    /// With --share-group: REJECT a record that cannot be read rather than stop.
    #[arg(long, requires = "share_group")]
    pub reject_on_error: bool,

    /// With --share-group: RELEASE every record printed, which is then delivered again (a look that consumes nothing).
    #[arg(long, requires = "share_group")]
    pub release: bool,

    /// Read only this partition.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(0..))]
    pub partition: Option<i32>,

    /// Where to start: earliest, latest, N, -N (N before the end), @TIMESTAMP
    /// (epoch ms or RFC 3339) or @-DURATION (e.g. @-10m).
    #[arg(long, value_name = "OFFSET", allow_hyphen_values = true, value_parser = parse_offset,
          conflicts_with_all = ["group", "from_beginning"])]
    pub offset: Option<OffsetSpec>,

    /// Stop at the first record at or after this time (@TIMESTAMP or @-DURATION).
    #[arg(long, value_name = "@TIME", allow_hyphen_values = true, value_parser = parse_until)]
    pub until: Option<i64>,

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

    #[command(flatten)]
    pub transforms: TransformArgs,
}

impl ConsoleConsumer {
    /// The topic, given positionally or with --topic; None with --include.
    pub fn topic(&self) -> Option<&str> {
        self.name.as_deref().or(self.topic.as_deref())
    }

    /// What to read: the topic, or the topics --include matches (checked
    /// here, so that a bad pattern fails before connecting).
    pub fn source(&self) -> Result<Source> {
        match (self.topic(), &self.include) {
            (Some(t), _) => Ok(Source::Topics(vec![t.to_string()])),
            (None, Some(p)) => {
                crate::client::whole_name_regex(p)
                    .map_err(|e| ClientError::Invalid(format!("--include {e}")))?;
                Ok(Source::Pattern(p.clone()))
            }
            (None, None) => unreachable!("clap requires --topic or --include"),
        }
    }

    /// Where a reader outside a group starts: --offset, else the beginning
    /// with --from-beginning, else the end.
    pub fn start(&self) -> OffsetSpec {
        self.offset.unwrap_or(if self.from_beginning {
            OffsetSpec::Earliest
        } else {
            OffsetSpec::Latest
        })
    }

    /// The record's key and value as the deserializers read them; a record
    /// they cannot read stops the tool, as a Java deserializer's exception
    /// does.
    pub fn deserialize(&self, record: &mut ConsumedRecord) -> Result<()> {
        let place = |what: &str, e: ClientError| {
            ClientError::Invalid(format!(
                "cannot read the {what} of {}-{} at offset {}: {e}",
                record.topic, record.partition, record.offset
            ))
        };
        let key = record
            .key
            .as_deref()
            .map(|k| self.key_deserializer.decode(k))
            .transpose()
            .map_err(|e| place("key", e))?;
        let value = record
            .value
            .as_deref()
            .map(|v| self.value_deserializer.decode(v))
            .transpose()
            .map_err(|e| place("value", e))?;
        record.key = key;
        record.value = value;
        Ok(())
    }
}

/// --offset, with relative times counted from when the command line is read.
fn parse_offset(s: &str) -> std::result::Result<OffsetSpec, String> {
    OffsetSpec::parse(s, now_ms()).map_err(|e| e.to_string())
}

/// --until, as epoch milliseconds: only a time, since no offset can say
/// where every partition should stop.
fn parse_until(s: &str) -> std::result::Result<i64, String> {
    let time = s
        .strip_prefix('@')
        .ok_or_else(|| format!("expected @TIMESTAMP or @-DURATION, got '{s}'"))?;
    parse_time(time, now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<ConsoleConsumer, clap::Error> {
        let mut argv = vec!["console-consumer", "-t", "orders"];
        argv.extend_from_slice(args);
        ConsoleConsumer::try_parse_from(argv)
    }

    #[test]
    fn offsets_are_parsed_with_the_command_line() {
        let at = |args: &[&str]| parse(args).unwrap().offset;
        assert_eq!(at(&[]), None);
        assert_eq!(at(&["--offset", "earliest"]), Some(OffsetSpec::Earliest));
        assert_eq!(at(&["--offset", "-5"]), Some(OffsetSpec::FromEnd(5)));
        assert_eq!(at(&["--offset", "42"]), Some(OffsetSpec::At(42)));
        assert_eq!(
            at(&["--offset", "@1700000000000"]),
            Some(OffsetSpec::Timestamp(1_700_000_000_000))
        );
        let before = now_ms();
        let Some(OffsetSpec::Timestamp(ms)) = at(&["--offset", "@-10m"]) else {
            panic!("@-10m is a time");
        };
        assert!((before - 600_000..=now_ms() - 600_000).contains(&ms));
        let error = parse(&["--offset", "soon"]).unwrap_err().to_string();
        assert!(error.contains("is not an offset"), "{error}");
    }

    fn record(key: &[u8], value: &[u8]) -> ConsumedRecord {
        ConsumedRecord {
            topic: "orders".into(),
            partition: 1,
            offset: 7,
            timestamp: None,
            key: Some(key.to_vec()),
            value: Some(value.to_vec()),
            headers: Vec::new(),
        }
    }

    #[test]
    fn records_are_read_as_the_producer_wrote_them() {
        let args = parse(&["--key-deserializer", "int", "--value-deserializer", "long"]).unwrap();
        let mut r = record(&[0, 0, 0, 42], &[0, 0, 0, 0, 0, 0, 1, 0]);
        args.deserialize(&mut r).unwrap();
        assert_eq!(r.key.as_deref(), Some(&b"42"[..]));
        assert_eq!(r.value.as_deref(), Some(&b"256"[..]));
    }

    #[test]
    fn an_unreadable_record_is_named() {
        let args = parse(&["--value-deserializer", "int"]).unwrap();
        let error = args
            .deserialize(&mut record(b"k", b"toolong"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("cannot read the value of orders-1 at offset 7: "),
            "{error}"
        );
    }

    #[test]
    fn the_start_follows_the_flags() {
        assert_eq!(parse(&[]).unwrap().start(), OffsetSpec::Latest);
        assert_eq!(
            parse(&["--from-beginning"]).unwrap().start(),
            OffsetSpec::Earliest
        );
        assert_eq!(
            parse(&["--offset", "3"]).unwrap().start(),
            OffsetSpec::At(3)
        );
    }

    #[test]
    fn a_bad_include_pattern_names_the_flag() {
        let args =
            ConsoleConsumer::try_parse_from(["console-consumer", "--include", "(x"]).unwrap();
        let error = args.source().err().unwrap().to_string();
        assert!(
            error.starts_with("--include '(x' is not a valid regular expression"),
            "{error}"
        );
        let args =
            ConsoleConsumer::try_parse_from(["console-consumer", "--include", "o.*"]).unwrap();
        assert!(matches!(args.source(), Ok(Source::Pattern(p)) if p == "o.*"));
    }

    #[test]
    fn share_group_flags_go_together() {
        let args = parse(&["--share-group", "q", "--release", "--reject-on-error"]).unwrap();
        assert_eq!(args.share_group.as_deref(), Some("q"));
        assert!(args.release && args.reject_on_error);
        assert!(parse(&["--release"]).is_err());
        assert!(parse(&["--reject-on-error"]).is_err());
        assert!(parse(&["--share-group", "q", "--group", "g"]).is_err());
        assert!(parse(&["--share-group", "q", "--from-beginning"]).is_err());
    }

    #[test]
    fn until_takes_only_a_time() {
        let until = |args: &[&str]| parse(args).unwrap().until;
        assert_eq!(
            until(&["--until", "@1700000000000"]),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            until(&["--until", "@2023-11-14T22:13:20Z"]),
            Some(1_700_000_000_000)
        );
        let error = parse(&["--until", "tomorrow"]).unwrap_err().to_string();
        assert!(error.contains("--until"), "{error}");
        assert!(
            error.contains("expected @TIMESTAMP or @-DURATION, got 'tomorrow'"),
            "{error}"
        );
        assert!(parse(&["--until", "@soon"]).is_err());
    }
}
