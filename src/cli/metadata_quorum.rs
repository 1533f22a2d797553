//! `metadata-quorum`: the metadata quorum's leader, voters, observers and
//! their lag, as kafka-metadata-quorum.sh describes them, and its voters
//! added and removed.

use clap::{ArgGroup, Parser, Subcommand};

use super::{ConnectionArgs, OutputFormat};

/// Describe the metadata quorum (its leader and epoch, and how far each voter and observer has the metadata log) and change its voters.
#[derive(Parser, Debug)]
#[command(name = "metadata-quorum", version, propagate_version = true)]
pub struct MetadataQuorum {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(subcommand)]
    pub command: QuorumCommand,
}

#[derive(Subcommand, Debug)]
pub enum QuorumCommand {
    /// Describe the quorum: its status (leader, epoch, high watermark, voters, observers) or each replica's progress.
    #[command(group(ArgGroup::new("view").required(true).args(["status", "replication"])))]
    Describe {
        /// The leader, its epoch, the high watermark, the largest follower lag, the voters and observers.
        #[arg(long)]
        status: bool,
        /// Each replica's log end offset, lag, last fetch and last caught-up time.
        #[arg(long)]
        replication: bool,
        /// Times as how long ago they were instead of epoch milliseconds.
        #[arg(long, requires = "replication")]
        human_readable: bool,
        #[arg(long, value_enum, default_value_t)]
        output: OutputFormat,
    },
    /// Make an observer (a node started with process.roles=broker) a voter of the quorum.
    AddController {
        /// The node to add; it must already receive the metadata log as an observer.
        #[arg(long, value_name = "ID")]
        controller_id: i32,
    },
    /// Make a voter an observer: it stops voting and keeps receiving the metadata log.
    RemoveController {
        /// The voter to remove.
        #[arg(long, value_name = "ID")]
        controller_id: i32,
    },
}
