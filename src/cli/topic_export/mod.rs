//! `topic-export`: a topic's records into files, resumable and exactly
//! once (see client::bulk::export for how).

use clap::Parser;

use super::transform::TransformArgs;
use super::ConnectionArgs;
use crate::client::bulk::export::{ExportOptions, PartitionBy, Until};
use crate::client::bulk::parquet::ValueFormat;
use crate::client::bulk::Format;
use crate::client::offset_spec::{now_ms, OffsetSpec};

/// Write a topic's records to files, one directory per partition (or hour or day); stopped at any point and run again, every record is written exactly once.
#[derive(Parser, Debug)]
#[command(name = "topic-export", version)]
pub struct TopicExport {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The topic to export.
    #[arg(long, short = 't', value_name = "TOPIC")]
    pub topic: String,

    /// The directory to write to; a rerun with the same one resumes.
    #[arg(long, value_name = "DIR")]
    pub to: std::path::PathBuf,

    /// The file format (docs/export-format.md).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// The consumer group whose offsets track the export [default: topic-export-<TOPIC>].
    #[arg(long, short = 'g', value_name = "GROUP")]
    pub group: Option<String>,

    /// Where a partition the export has not started starts: earliest,
    /// latest, N, -N (N before the end), @TIMESTAMP (epoch ms or RFC 3339)
    /// or @-DURATION (e.g. @-1h).
    #[arg(long, value_name = "OFFSET", default_value = "earliest", allow_hyphen_values = true,
          value_parser = parse_from)]
    pub from: OffsetSpec,

    /// Where to stop: latest (the end when the export starts), an offset
    /// N (exclusive), @TIMESTAMP or @-DURATION (before the first record at
    /// or after that time).
    #[arg(long, value_name = "END", default_value = "latest", allow_hyphen_values = true,
          value_parser = parse_until)]
    pub until: Until,

    /// Stop after writing this many records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_records: Option<u64>,

    /// Start a new file after this many records.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub roll_records: u64,

    /// Start a new file once one reaches this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub roll_bytes: u64,

    /// One directory per partition, or per hour or day of the record timestamps (UTC).
    #[arg(long, value_enum, default_value_t)]
    pub partition_by: PartitionBy,

    #[command(flatten)]
    pub transforms: TransformArgs,
    /// Parquet only: keep values as bytes, or split flat JSON objects into
    /// one column per field (from --value-schema, or inferred from the
    /// first 1000 records); a value that does not fit goes to value_raw.
    #[arg(long, value_enum, default_value_t)]
    pub value_format: ValueFormat,

    /// With --value-format json: the value columns, as
    /// {"fields": [{"name": ..., "type": string|int64|double|boolean|json}]}.
    #[arg(long, value_name = "FILE")]
    pub value_schema: Option<std::path::PathBuf>,
}

impl TopicExport {
    pub fn options(&self) -> ExportOptions {
        ExportOptions {
            topic: self.topic.clone(),
            dir: self.to.clone(),
            format: self.format,
            group: self
                .group
                .clone()
                .unwrap_or_else(|| format!("topic-export-{}", self.topic)),
            from: self.from,
            until: self.until,
            max_records: self.max_records,
            roll_records: self.roll_records,
            roll_bytes: self.roll_bytes,
            partition_by: self.partition_by,
            value_format: self.value_format,
            value_schema: self.value_schema.clone(),
        }
    }
}

fn parse_from(s: &str) -> Result<OffsetSpec, String> {
    OffsetSpec::parse(s, now_ms()).map_err(|e| e.to_string())
}

fn parse_until(s: &str) -> Result<Until, String> {
    Until::parse(s, now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_name_the_group_after_the_topic() {
        let args =
            TopicExport::try_parse_from(["topic-export", "-t", "orders", "--to", "out"]).unwrap();
        let options = args.options();
        assert_eq!(options.group, "topic-export-orders");
        assert_eq!(options.from, OffsetSpec::Earliest);
        assert_eq!(options.until, Until::End);
        assert_eq!(options.format, Format::Jsonl);
        assert!(TopicExport::try_parse_from([
            "topic-export",
            "-t",
            "o",
            "--to",
            "d",
            "--roll-records",
            "0"
        ])
        .is_err());
    }
}
