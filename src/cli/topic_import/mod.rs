//! `topic-import`: files of records into a topic, exactly once (see
//! client::bulk::import for how).

use clap::Parser;

use super::transform::TransformArgs;
use super::ConnectionArgs;
use crate::client::bulk::import::{ImportOptions, STATE_TOPIC};
use crate::client::bulk::Format;

/// Write the records of files (as topic-export writes them) to a topic, keys, headers and timestamps kept; stopped at any point and run again, every record is written exactly once.
#[derive(Parser, Debug)]
#[command(name = "topic-import", version)]
pub struct TopicImport {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// The topic to write to; it must exist.
    #[arg(long, short = 't', value_name = "TOPIC")]
    pub topic: String,

    /// The files to read, in order.
    #[arg(long, value_name = "FILE", required = true, num_args = 1..)]
    pub from: Vec<std::path::PathBuf>,

    /// The file format (docs/export-format.md).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,

    /// Write each record to the partition it came from when the topic has
    /// it, rather than where its key hashes to.
    #[arg(long)]
    pub keep_partitions: bool,

    /// Read every file and report the records that cannot be read, as
    /// FILE:LINE: REASON, without connecting or writing.
    #[arg(long)]
    pub dry_run: bool,

    /// The producer's transactional.id, which names the import for a
    /// rerun to resume [default: topic-import-<TOPIC>].
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,

    /// Records written in each transaction.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_records: u64,

    /// The compacted topic where each transaction records how far the
    /// import has got; created (one partition) if missing.
    #[arg(long, value_name = "TOPIC", default_value = STATE_TOPIC)]
    pub state_topic: String,

    #[command(flatten)]
    pub transforms: TransformArgs,
}

impl TopicImport {
    pub fn options(&self) -> ImportOptions {
        ImportOptions {
            topic: self.topic.clone(),
            files: self.from.clone(),
            format: self.format,
            keep_partitions: self.keep_partitions,
            transactional_id: self
                .transactional_id
                .clone()
                .unwrap_or_else(|| format!("topic-import-{}", self.topic)),
            chunk_records: self.chunk_records,
            state_topic: self.state_topic.clone(),
        }
    }
}
