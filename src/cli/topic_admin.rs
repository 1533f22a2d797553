//! `topic-admin`: create, list, describe, alter and delete topics, as
//! kafka-topics.sh does.

use clap::{Parser, Subcommand};

use super::{ConnectionArgs, OutputFormat};
use crate::client::config::parse_key_value;

/// Create, list, describe, alter and delete topics.
#[derive(Parser, Debug)]
#[command(name = "topic-admin", version, propagate_version = true)]
pub struct TopicAdmin {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(subcommand)]
    pub command: TopicCommand,
}

#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic.
    Create {
        /// The topic's name.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// Number of partitions; the broker's num.partitions when left out.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
        partitions: Option<i32>,
        /// Copies of each partition; the broker's default.replication.factor when left out.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
        replication_factor: Option<i32>,
        /// A topic config, repeatable: --config retention.ms=86400000.
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
        config: Vec<(String, String)>,
        /// Succeed without change when the topic already exists.
        #[arg(long)]
        if_not_exists: bool,
    },
    /// List topic names.
    List {
        /// Leave out internal topics such as __consumer_offsets.
        #[arg(long)]
        exclude_internal: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Describe topics: partitions, leaders, replicas, in-sync replicas and configs that differ from the defaults.
    Describe {
        /// The topics to describe: a name or a regular expression matching whole names; all when left out.
        #[arg(long, short = 't', value_name = "TOPIC|REGEX")]
        topic: Option<String>,
        /// Only partitions with fewer in-sync replicas than replicas.
        #[arg(long)]
        under_replicated_partitions: bool,
        /// Only partitions without a leader.
        #[arg(long)]
        unavailable_partitions: bool,
        /// Leave out internal topics such as __consumer_offsets.
        #[arg(long)]
        exclude_internal: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Grow a topic's partitions, or set or delete its configs.
    #[command(arg_required_else_help = true)]
    Alter {
        /// The topic to change.
        #[arg(long, short = 't', value_name = "TOPIC")]
        topic: String,
        /// The new number of partitions (partitions can only be added).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        partitions: Option<u32>,
        /// Set a topic config, repeatable.
        #[arg(long, value_name = "KEY=VALUE", value_parser = parse_key_value)]
        config: Vec<(String, String)>,
        /// Remove a topic config override, repeatable, so the default applies again.
        #[arg(long, value_name = "KEY")]
        delete_config: Vec<String>,
    },
    /// Delete topics and all their records.
    Delete {
        /// The topics to delete, repeatable.
        #[arg(long, short = 't', value_name = "TOPIC", required = true)]
        topic: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Succeed when a topic does not exist.
        #[arg(long)]
        if_exists: bool,
    },
}
