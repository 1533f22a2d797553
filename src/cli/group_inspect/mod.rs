//! `group-inspect`: list, describe and delete consumer groups and move their
//! offsets, as kafka-consumer-groups.sh does, with the lag's age besides.
//!
//! This module holds the clap definitions; each subcommand's logic is in
//! a module of its own, so that the binary only parses, calls and prints.

pub mod delete;
pub mod delete_offsets;
pub mod describe;
pub mod list;
pub mod reset_offsets;

use std::collections::BTreeMap;

use clap::{Args, Parser, Subcommand};

use super::{ConnectionArgs, OutputFormat};
use crate::client::groups::{GroupType, ResetScope, ResetTo};
use crate::client::offset_spec::{now_ms, parse_duration, parse_time};
use crate::topic_partition::TopicPartition;

/// List, describe and delete consumer groups, and reset their offsets.
#[derive(Parser, Debug)]
#[command(name = "group-inspect", version, propagate_version = true)]
pub struct GroupInspect {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupTypeArg {
    /// Groups of the JoinGroup/SyncGroup protocol.
    Classic,
    /// Groups of KIP-848's consumer protocol.
    Consumer,
    /// Share groups (KIP-932's queues).
    Share,
}

impl GroupTypeArg {
    pub fn group_type(self) -> GroupType {
        match self {
            GroupTypeArg::Classic => GroupType::Classic,
            GroupTypeArg::Consumer => GroupType::Consumer,
            GroupTypeArg::Share => GroupType::Share,
        }
    }

    pub fn matches(self, t: GroupType) -> bool {
        matches!(
            (self, t),
            (GroupTypeArg::Classic, GroupType::Classic)
                | (GroupTypeArg::Consumer, GroupType::Consumer)
                | (GroupTypeArg::Share, GroupType::Share)
        )
    }
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List consumer groups with their type and state.
    List {
        /// Only groups in this state (Stable, Empty, PreparingRebalance ...), repeatable.
        #[arg(long, value_name = "STATE")]
        state: Vec<String>,
        /// Only groups of this protocol.
        #[arg(long = "type", value_enum, value_name = "TYPE")]
        group_type: Option<GroupTypeArg>,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Describe groups: lag per partition and its age (the default), the members, or the state.
    Describe {
        /// The groups to describe, as rpk takes them (or --group).
        #[arg(value_name = "GROUP", id = "names", conflicts_with = "group")]
        names: Vec<String>,
        /// The group to describe, repeatable.
        #[arg(
            long,
            short = 'g',
            value_name = "GROUP",
            required_unless_present_any = ["all_groups", "names"]
        )]
        group: Vec<String>,
        /// Describe every group.
        #[arg(long, conflicts_with_all = ["group", "names"])]
        all_groups: bool,
        /// Show the members and how many partitions each has.
        #[arg(long, conflicts_with = "state")]
        members: bool,
        /// Show the state, coordinator, assignor and member count.
        #[arg(long)]
        state: bool,
        /// Redraw every SECONDS seconds until interrupted.
        #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
        watch: Option<u64>,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Move a group's committed offsets; only a dry run unless --execute.
    ResetOffsets {
        /// The group whose offsets move, as rpk takes it (or --group).
        #[arg(value_name = "GROUP", id = "name", conflicts_with = "group")]
        name: Option<String>,
        /// The group whose offsets move; it must have no members.
        #[arg(
            long,
            short = 'g',
            value_name = "GROUP",
            required_unless_present = "name"
        )]
        group: Option<String>,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        target: ResetTarget,
        /// Show the new offsets without committing them (the default).
        #[arg(long, conflicts_with = "execute")]
        dry_run: bool,
        /// Commit the new offsets.
        #[arg(long)]
        execute: bool,
        /// Print the new offsets as CSV (topic,partition,offset), for --from-file later.
        #[arg(long, conflicts_with = "output")]
        export: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Delete groups with their committed offsets; a group with members is refused.
    Delete {
        /// The groups to delete, as rpk takes them (or --group).
        #[arg(value_name = "GROUP", id = "names", conflicts_with = "group")]
        names: Vec<String>,
        /// The group to delete, repeatable.
        #[arg(
            long,
            short = 'g',
            value_name = "GROUP",
            required_unless_present = "names"
        )]
        group: Vec<String>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete a group's committed offsets for topics it no longer reads.
    DeleteOffsets {
        /// The group whose offsets go, as rpk takes it (or --group).
        #[arg(value_name = "GROUP", id = "name", conflicts_with = "group")]
        name: Option<String>,
        /// The group whose offsets go.
        #[arg(
            long,
            short = 'g',
            value_name = "GROUP",
            required_unless_present = "name"
        )]
        group: Option<String>,
        /// A topic, or some of its partitions: TOPIC or TOPIC:0,1,2; repeatable.
        #[arg(long, short = 't', value_name = "TOPIC[:P,...]", required = true,
              value_parser = parse_topic_partitions)]
        topic: Vec<(String, Option<Vec<i32>>)>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// Which partitions reset-offsets moves: one of these, unless --from-file
/// names them.
#[derive(Args, Debug)]
#[group(multiple = false)]
pub struct ScopeArgs {
    /// A topic, or some of its partitions: TOPIC or TOPIC:0,1,2; repeatable.
    #[arg(long, short = 't', value_name = "TOPIC[:P,...]", value_parser = parse_topic_partitions,
          required_unless_present_any = ["all_topics", "from_file"])]
    topic: Vec<(String, Option<Vec<i32>>)>,
    /// Every topic the group has committed offsets for.
    #[arg(long)]
    all_topics: bool,
}

impl ScopeArgs {
    pub fn scope(&self) -> ResetScope {
        if self.all_topics {
            ResetScope::AllTopics
        } else {
            ResetScope::Topics(self.topic.clone())
        }
    }
}

/// Where reset-offsets moves the offsets: exactly one of these.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct ResetTarget {
    /// To the log start offset.
    #[arg(long)]
    to_earliest: bool,
    /// To the log end offset.
    #[arg(long)]
    to_latest: bool,
    /// To the committed offset (the end where none is committed).
    #[arg(long)]
    to_current: bool,
    /// To this offset, kept within the log's range.
    #[arg(long, value_name = "OFFSET", value_parser = clap::value_parser!(i64).range(0..))]
    to_offset: Option<i64>,
    /// To the first record at or after this time: epoch ms or YYYY-MM-DDTHH:MM:SS[.sss][Z], in UTC.
    #[arg(long, value_name = "DATETIME", value_parser = parse_datetime)]
    to_datetime: Option<i64>,
    /// By this many records from the committed offset, back when negative.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    shift_by: Option<i64>,
    /// To the first record at most this long ago: PT10M, P1DT2H or 10m.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    by_duration: Option<std::time::Duration>,
    /// To the offsets of a CSV file (topic,partition,offset lines, as --export writes them), for the partitions it names.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["topic", "all_topics"])]
    pub from_file: Option<std::path::PathBuf>,
}

impl ResetTarget {
    /// Where to, with the offsets of --from-file as `from_file` read them.
    pub fn reset_to(&self, from_file: Option<BTreeMap<TopicPartition, i64>>) -> ResetTo {
        if let Some(offsets) = from_file {
            ResetTo::FromFile(offsets)
        } else if self.to_earliest {
            ResetTo::Earliest
        } else if self.to_latest {
            ResetTo::Latest
        } else if let Some(n) = self.to_offset {
            ResetTo::Offset(n)
        } else if let Some(ms) = self.to_datetime {
            ResetTo::Datetime(ms)
        } else if let Some(n) = self.shift_by {
            ResetTo::ShiftBy(n)
        } else if let Some(d) = self.by_duration {
            ResetTo::Datetime(now_ms() - d.as_millis() as i64)
        } else {
            ResetTo::Current
        }
    }
}

fn parse_datetime(s: &str) -> Result<i64, String> {
    parse_time(s, now_ms())
}

/// A value, or "-" for none, as Kafka's tools fill a column.
fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}

/// `TOPIC` or `TOPIC:P,P,...`; topic names cannot hold a colon.
pub fn parse_topic_partitions(s: &str) -> Result<(String, Option<Vec<i32>>), String> {
    let (topic, partitions) = match s.split_once(':') {
        None => (s, None),
        Some((topic, list)) => {
            let partitions = list
                .split(',')
                .map(|p| {
                    p.trim()
                        .parse::<i32>()
                        .ok()
                        .filter(|p| *p >= 0)
                        .ok_or_else(|| format!("'{p}' is not a partition number"))
                })
                .collect::<Result<Vec<i32>, String>>()?;
            (topic, Some(partitions))
        }
    };
    if topic.is_empty() {
        return Err("the topic name is empty".to_string());
    }
    Ok((topic.to_string(), partitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partition_arguments() {
        assert_eq!(parse_topic_partitions("t").unwrap(), ("t".into(), None));
        assert_eq!(
            parse_topic_partitions("orders:0,2").unwrap(),
            ("orders".into(), Some(vec![0, 2]))
        );
        for bad in [":0", "t:", "t:x", "t:-1", "t:0,,1"] {
            assert!(parse_topic_partitions(bad).is_err(), "{bad}");
        }
    }
}
