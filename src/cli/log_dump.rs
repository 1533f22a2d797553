//! `log-dump`: Kafka's kafka-dump-log.sh, for the files of a stopped
//! Gregor broker's data directory.

use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::OutputFormat;

/// Print what a broker's log files hold: a segment's record batches (and records), an offset or time index checked against its segment, the leader-epoch checkpoint, a producer state snapshot. CRCs, indexes and file structure are checked; damage is reported with the file and byte position, and the exit status is 1 when any is found. Run it on a stopped broker's files.
#[derive(Parser, Debug)]
#[command(name = "log-dump", version)]
#[command(group(ArgGroup::new("decoder").args(["offsets_decoder", "transaction_log_decoder"])))]
pub struct LogDump {
    /// The files to dump, comma separated: <base offset>.log, .index, .timeindex, <offset>.snapshot, leader-epoch-checkpoint.
    #[arg(
        long,
        value_name = "FILE[,FILE...]",
        value_delimiter = ',',
        required = true
    )]
    pub files: Vec<PathBuf>,
    /// Every record of each batch, not only the batch headers.
    #[arg(long)]
    pub deep_iteration: bool,
    /// Each record's key and value too (implies --deep-iteration).
    #[arg(long)]
    pub print_data_log: bool,
    /// For an index: only whether it passes its checks against its segment, not its entries.
    #[arg(long)]
    pub index_sanity_check: bool,
    /// For an index: only the entries that do not match its segment.
    #[arg(long)]
    pub verify_index_only: bool,
    /// Decode __consumer_offsets records: committed offsets and group metadata (implies --print-data-log).
    #[arg(long)]
    pub offsets_decoder: bool,
    /// Decode __transaction_state records: transactional ids' state (implies --print-data-log).
    #[arg(long)]
    pub transaction_log_decoder: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Same as --output json.
    #[arg(long)]
    pub json: bool,
}
