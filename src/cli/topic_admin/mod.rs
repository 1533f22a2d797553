//! `topic-admin`: create, list, describe, alter and delete topics, as
//! kafka-topics.sh does; move partitions between brokers, as
//! kafka-reassign-partitions.sh does; and elect leaders, as
//! kafka-leader-election.sh does.

//!
//! This module holds the clap definitions; each subcommand's logic (what
//! to ask the cluster, what to refuse, what to print) is in a module of its
//! own, so that the binary only parses, calls and prints.

pub mod abort_transaction;
pub mod alter;
pub mod cluster;
pub mod create;
pub mod delete;
pub mod delete_records;
pub mod describe;
pub mod describe_producers;
pub mod elect_leaders;
pub mod list;
pub mod log_dirs;
pub mod offsets;
pub mod reassign;

use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Parser, Subcommand};

use super::{ConnectionArgs, OutputFormat};
use crate::client::admin::{Admin, TopicDescription};
use crate::client::config::parse_key_value;
use crate::client::election::ElectionType;
use crate::client::{ClientError, OffsetQuery, Result};

/// Create, list, describe, alter and delete topics; reassign partitions and elect leaders.
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
        /// The topic's name, as rpk takes it (or --topic).
        #[arg(value_name = "TOPIC", id = "name", conflicts_with = "topic")]
        name: Option<String>,
        /// The topic's name.
        #[arg(
            long,
            short = 't',
            value_name = "TOPIC",
            required_unless_present = "name"
        )]
        topic: Option<String>,
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
    /// Describe topics: partitions, leaders, replicas, in-sync replicas, replicas being added and removed by a reassignment, and configs that differ from the defaults.
    Describe {
        /// The topics to describe, as rpk takes them (or --topic).
        #[arg(value_name = "TOPIC|REGEX", id = "name", conflicts_with = "topic")]
        name: Option<String>,
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
        /// Instead, as kafka-log-dirs.sh: per broker and log directory, each replica's size on disk, offset lag and whether it is a future replica (DescribeLogDirs to every broker).
        #[arg(long, conflicts_with_all = ["under_replicated_partitions", "unavailable_partitions"])]
        log_dirs: bool,
        /// Every config of each topic with its value and where the value comes from (DYNAMIC_TOPIC_CONFIG, STATIC_BROKER_CONFIG, DEFAULT_CONFIG...), as kafka-configs.sh --describe --all.
        #[arg(long, conflicts_with_all = ["under_replicated_partitions", "unavailable_partitions", "log_dirs"])]
        all_configs: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Show partitions' offsets, as kafka-get-offsets.sh and kcat -Q do: the log start, the log end, or where records of a time begin (ListOffsets).
    ///
    /// Prints TOPIC:PARTITION:OFFSET per partition, as kafka-get-offsets.sh. With --time MS the offset is that of the first record whose timestamp is at or after MS, and -1 where no record is that late; max-timestamp gives the offset of the record with the largest timestamp.
    Offsets {
        /// The topics, as rpk takes them (or --topic).
        #[arg(value_name = "TOPIC|REGEX", id = "name", conflicts_with = "topic")]
        name: Option<String>,
        /// The topics: a name or a regular expression matching whole names; all when left out.
        #[arg(long, short = 't', value_name = "TOPIC|REGEX")]
        topic: Option<String>,
        /// Only these partitions, comma separated.
        #[arg(long, value_name = "P,...", value_delimiter = ',')]
        partitions: Vec<i32>,
        /// earliest (-2), latest (-1), max-timestamp (-3), or a time in epoch milliseconds.
        #[arg(long, value_name = "TIME", default_value = "latest", allow_hyphen_values = true, value_parser = parse_offset_time)]
        time: OffsetQuery,
        /// Leave out internal topics such as __consumer_offsets.
        #[arg(long)]
        exclude_internal: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Delete the records of partitions before an offset, as kafka-delete-records.sh (DeleteRecords): the log start offset moves up to it.
    ///
    /// Give one partition with --topic, --partition and --offset, or many in Kafka's JSON with --offset-json-file: {"partitions":[{"topic":"orders","partition":0,"offset":42}],"version":1}. Offset -1 deletes every record up to the high watermark. Prints each partition's new low watermark; a partition that kept its records makes the exit status 1.
    #[command(group(ArgGroup::new("records").required(true)
        .args(["topic", "offset_json_file"])))]
    DeleteRecords {
        /// The topic whose records go.
        #[arg(long, short = 't', value_name = "TOPIC", requires_all = ["partition", "offset"])]
        topic: Option<String>,
        /// The partition of --topic.
        #[arg(long, value_name = "P", requires = "topic", value_parser = clap::value_parser!(i32).range(0..))]
        partition: Option<i32>,
        /// Records before this offset go; -1: all of them.
        #[arg(long, value_name = "OFFSET", requires = "topic", allow_hyphen_values = true,
              value_parser = clap::value_parser!(i64).range(-1..))]
        offset: Option<i64>,
        /// The partitions and offsets in kafka-delete-records.sh's JSON.
        #[arg(long, value_name = "FILE", conflicts_with = "topic")]
        offset_json_file: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show the cluster, as rpk cluster info does: its id and its brokers (id, host:port, rack), marking the controller.
    ///
    /// With --configs, each broker's configs follow with their values and where each comes from (STATIC_BROKER_CONFIG, DYNAMIC_BROKER_CONFIG, DEFAULT_CONFIG...), as kafka-configs.sh --describe --entity-type brokers --all prints them.
    Cluster {
        /// Also every config of each broker, with its source.
        #[arg(long)]
        configs: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Grow a topic's partitions, or set or delete its configs.
    #[command(arg_required_else_help = true)]
    Alter {
        /// The topic to change, as rpk takes it (or --topic).
        #[arg(value_name = "TOPIC", id = "name", conflicts_with = "topic")]
        name: Option<String>,
        /// The topic to change.
        #[arg(
            long,
            short = 't',
            value_name = "TOPIC",
            required_unless_present = "name"
        )]
        topic: Option<String>,
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
        /// The topics to delete, as rpk takes them (or --topic).
        #[arg(value_name = "TOPIC|REGEX", id = "names", conflicts_with = "topic")]
        names: Vec<String>,
        /// The topics to delete, repeatable: names, or regular expressions matching whole names (internal topics only by their exact name).
        #[arg(
            long,
            short = 't',
            value_name = "TOPIC|REGEX",
            required_unless_present = "names"
        )]
        topic: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Succeed when a topic does not exist.
        #[arg(long)]
        if_exists: bool,
    },
    /// Move partitions between brokers: propose a balanced plan, carry one out and follow it, check, cancel or list moves.
    ///
    /// As kafka-reassign-partitions.sh: --generate prints the current assignment of the partitions it would change (keep it to roll back with) and the proposed plan; --execute starts the plan's moves with AlterPartitionReassignments and, unless --no-wait, shows their progress until ListPartitionReassignments has none of them left, then where each partition ended; --verify and --cancel take the same file. Plans use Kafka's JSON format, so files written by Kafka's tool work too. A replica's `log_dirs` entry other than "any" (an absolute path) moves it to that log directory of its broker with AlterReplicaLogDirs once the reassignment has started; the broker copies it in the background (see describe --log-dirs). A move keeps the leader when it stays a replica: elect-leaders --election-type preferred --path-to-json-file PLAN moves leadership to the plan's first replicas.
    Reassign(ReassignArgs),
    /// Elect partition leaders: the preferred replica, or for partitions without a leader any live one.
    ///
    /// As kafka-leader-election.sh: each partition is elected, already led by the replica the election would choose (Kafka's ELECTION_NOT_NEEDED, not a failure), or refused with Kafka's error, which makes the exit status 1. With --all-topic-partitions the controller answers only for the partitions that needed an election.
    ElectLeaders {
        /// Which replica may become the leader.
        #[arg(long, value_enum, ignore_case = true)]
        election_type: ElectionTypeArg,
        #[command(flatten)]
        scope: ElectionScope,
        /// Only this partition of --topic.
        #[arg(long, value_name = "P", requires = "topic",
              conflicts_with_all = ["all_topic_partitions", "path_to_json_file"],
              value_parser = clap::value_parser!(i32).range(0..))]
        partition: Option<i32>,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Show the producers a partition keeps state for, as kafka-transactions.sh describe-producers does: epoch, last sequence and timestamp, and where an open transaction started.
    DescribeProducers {
        /// The topic, as rpk takes it (or --topic).
        #[arg(value_name = "TOPIC", id = "name", conflicts_with = "topic")]
        name: Option<String>,
        /// The topic of the partition.
        #[arg(
            long,
            short = 't',
            value_name = "TOPIC",
            required_unless_present = "name"
        )]
        topic: Option<String>,
        #[arg(long, value_name = "P", value_parser = clap::value_parser!(i32).range(0..))]
        partition: i32,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Abort a hanging transaction in one partition, as kafka-transactions.sh abort does.
    ///
    /// A transaction whose producer went away without ending it holds back the partition's last stable offset, so read_committed consumers stop there. Name it by where it started (--start-offset, as describe-producers shows it: its producer id, epoch and coordinator epoch are looked up with DescribeProducers) or by --producer-id, --producer-epoch and --coordinator-epoch. The partition's leader is asked with WriteTxnMarkers to write an abort marker; that needs CLUSTER_ACTION on the cluster when an authorizer is set.
    #[command(group(ArgGroup::new("which").required(true)
        .args(["start_offset", "producer_id"])))]
    AbortTransaction {
        /// The topic the transaction wrote to, as rpk takes it (or --topic).
        #[arg(value_name = "TOPIC", id = "name", conflicts_with = "topic")]
        name: Option<String>,
        /// The topic of the partition the transaction holds back.
        #[arg(
            long,
            short = 't',
            value_name = "TOPIC",
            required_unless_present = "name"
        )]
        topic: Option<String>,
        #[arg(long, value_name = "P", value_parser = clap::value_parser!(i32).range(0..))]
        partition: i32,
        /// The offset where the transaction's first record in the partition is.
        #[arg(long, value_name = "OFFSET", value_parser = clap::value_parser!(i64).range(0..))]
        start_offset: Option<i64>,
        #[arg(long, value_name = "ID", requires_all = ["producer_epoch", "coordinator_epoch"])]
        producer_id: Option<i64>,
        #[arg(long, value_name = "EPOCH", requires = "producer_id")]
        producer_epoch: Option<i16>,
        #[arg(long, value_name = "EPOCH", requires = "producer_id")]
        coordinator_epoch: Option<i32>,
    },
}

/// What `reassign` does: exactly one of --generate, --execute, --verify,
/// --cancel and --list.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("mode").required(true)
    .args(["generate", "execute", "verify", "cancel", "list"])))]
pub struct ReassignArgs {
    /// Propose a plan that spreads the topics' replicas and preferred leaders evenly over --broker-list, moving as few as possible, and print it with the current assignment to roll back to.
    #[arg(long, requires_all = ["broker_list", "topics_to_move"])]
    pub generate: bool,
    /// Start the moves of --reassignment-json-file, then follow them until every partition is in place.
    #[arg(long, requires = "reassignment_json_file")]
    pub execute: bool,
    /// Show whether each partition of --reassignment-json-file is in place, still moving, or elsewhere; exit 1 unless all are in place.
    #[arg(long, requires = "reassignment_json_file")]
    pub verify: bool,
    /// Stop the moves of the partitions of --reassignment-json-file; they go back to the replicas they had before.
    #[arg(long, requires = "reassignment_json_file")]
    pub cancel: bool,
    /// List the partitions moving now, with the replicas they gain and lose.
    #[arg(long)]
    pub list: bool,
    /// The topics --generate places, comma-separated.
    #[arg(
        long,
        value_name = "TOPIC,...",
        value_delimiter = ',',
        group = "topics_to_move",
        requires = "generate"
    )]
    pub topics: Vec<String>,
    /// The topics --generate places, in Kafka's format: {"topics":[{"topic":"orders"}],"version":1}.
    #[arg(
        long,
        value_name = "FILE",
        group = "topics_to_move",
        requires = "generate"
    )]
    pub topics_to_move_json_file: Option<PathBuf>,
    /// The brokers --generate spreads the topics over, comma-separated ids.
    #[arg(
        long,
        value_name = "ID,...",
        value_delimiter = ',',
        requires = "generate"
    )]
    pub broker_list: Vec<i32>,
    /// The plan to --execute, --verify or --cancel, in Kafka's format: {"version":1,"partitions":[{"topic":"orders","partition":0,"replicas":[1,2,3]}]}.
    #[arg(long, value_name = "FILE")]
    pub reassignment_json_file: Option<PathBuf>,
    /// Also write the plan --generate proposes to FILE, ready for --execute.
    #[arg(long, value_name = "FILE", requires = "generate")]
    pub output_file: Option<PathBuf>,
    /// Start the moves and return without following them (check them with --verify).
    #[arg(long, requires = "execute")]
    pub no_wait: bool,
    /// Start the moves even while other partitions are moving.
    #[arg(long, requires = "execute")]
    pub additional: bool,
    /// Throttle the moves to this many bytes per second, as Kafka's tool: the replicas each partition moves from are throttled as leaders, those it moves to as followers (the topics' leader/follower.replication.throttled.replicas), and every broker involved gets the rate as its leader and follower.replication.throttled.rate. Replicas in the ISR are never held back. The throttles stay until --verify finds every partition in place; rerun --execute --additional with another value to change the rate.
    #[arg(long, value_name = "BYTES_PER_SEC", requires = "execute",
          value_parser = clap::value_parser!(i64).range(0..))]
    pub throttle: Option<i64>,
    /// Keep the throttles when --verify finds every partition in place (by default it removes them from every broker and the plan's topics).
    #[arg(long, requires = "verify")]
    pub preserve_throttles: bool,
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionTypeArg {
    /// The first replica, if it is alive and in sync.
    Preferred,
    /// Any live replica of a partition without an in-sync one, at the risk of losing acknowledged records.
    Unclean,
}

impl From<ElectionTypeArg> for ElectionType {
    fn from(arg: ElectionTypeArg) -> ElectionType {
        match arg {
            ElectionTypeArg::Preferred => ElectionType::Preferred,
            ElectionTypeArg::Unclean => ElectionType::Unclean,
        }
    }
}

/// Which partitions elect-leaders elects for: exactly one of these.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ElectionScope {
    /// The topic whose partitions elect, all of them unless --partition.
    #[arg(long, short = 't', value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Every partition of every topic that needs it.
    #[arg(long)]
    pub all_topic_partitions: bool,
    /// The partitions in Kafka's format, {"partitions":[{"topic":"orders","partition":0}]}; a reassignment plan will do.
    #[arg(long, value_name = "FILE")]
    pub path_to_json_file: Option<PathBuf>,
}

/// kafka-get-offsets.sh's --time: a name, its number, or epoch milliseconds.
fn parse_offset_time(s: &str) -> std::result::Result<OffsetQuery, String> {
    match s {
        "earliest" | "-2" => Ok(OffsetQuery::Earliest),
        "latest" | "-1" => Ok(OffsetQuery::Latest),
        "max-timestamp" | "-3" => Ok(OffsetQuery::MaxTimestamp),
        _ => match s.parse::<i64>() {
            Ok(ms) if ms >= 0 => Ok(OffsetQuery::Time(ms)),
            _ => Err(format!(
                "expected earliest, latest, max-timestamp or epoch milliseconds, got '{s}'"
            )),
        },
    }
}

/// Broker ids as Kafka's tools list them: comma-separated, no spaces.
pub fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|cause| ClientError::Io {
        path: path.display().to_string(),
        cause,
    })
}

/// The topics a `--topic` argument names (a name or a whole-name regex),
/// all of them without one.
pub async fn matching_topics(
    admin: &Admin,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<TopicDescription>> {
    select_topics(
        admin.describe_topics(None).await?,
        pattern,
        exclude_internal,
    )
}

/// `matching_topics` over topics already described: a pattern that matches
/// none is an error, no pattern at all is every topic.
pub fn select_topics(
    all: Vec<TopicDescription>,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<TopicDescription>> {
    let Some(pattern) = pattern else {
        return Ok(all
            .into_iter()
            .filter(|t| !(exclude_internal && t.internal))
            .collect());
    };
    let regex = crate::client::whole_name_regex(pattern)
        .map_err(|e| ClientError::Invalid(format!("--topic {e}")))?;
    let matched: Vec<TopicDescription> = all
        .into_iter()
        .filter(|t| regex.is_match(&t.name) && !(exclude_internal && t.internal))
        .collect();
    if matched.is_empty() {
        return Err(ClientError::Invalid(format!(
            "no topic matches '{pattern}'"
        )));
    }
    Ok(matched)
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::client::admin::{PartitionDescription, TopicDescription};

    /// A topic whose partitions are (leader, replicas, isr).
    pub fn topic(name: &str, partitions: &[(i32, &[i32], &[i32])]) -> TopicDescription {
        TopicDescription {
            name: name.to_string(),
            internal: name.starts_with("__"),
            partitions: partitions
                .iter()
                .enumerate()
                .map(|(id, (leader, replicas, isr))| PartitionDescription {
                    id: id as i32,
                    leader: *leader,
                    replicas: replicas.to_vec(),
                    isr: isr.to_vec(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::topic;
    use super::*;

    fn names(topics: &[TopicDescription]) -> Vec<&str> {
        topics.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_pattern_matches_whole_names() {
        let all = || {
            vec![
                topic("orders", &[]),
                topic("orders-eu", &[]),
                topic("__consumer_offsets", &[]),
            ]
        };
        assert_eq!(
            names(&select_topics(all(), None, true).unwrap()),
            ["orders", "orders-eu"]
        );
        assert_eq!(names(&select_topics(all(), None, false).unwrap()).len(), 3);
        assert_eq!(
            names(&select_topics(all(), Some("orders"), false).unwrap()),
            ["orders"]
        );
        assert_eq!(
            names(&select_topics(all(), Some("orders.*"), false).unwrap()),
            ["orders", "orders-eu"]
        );
        assert_eq!(
            select_topics(all(), Some("__.*"), true)
                .unwrap_err()
                .to_string(),
            "no topic matches '__.*'"
        );
        assert!(select_topics(all(), Some("[orders"), false)
            .unwrap_err()
            .to_string()
            .starts_with("--topic '[orders' is not a valid regular expression"));
    }
}
