//! `metadata-quorum`: the metadata quorum's leader, voters, observers and
//! their lag, as kafka-metadata-quorum.sh describes them, and its voters
//! added and removed.

use clap::{ArgGroup, Parser, Subcommand};
use serde_json::json;

use super::{ConnectionArgs, ControllerArgs, OutputFormat};
use crate::client::offset_spec::now_ms;
use crate::client::quorum::{self, QuorumStatus};
use crate::client::{ClientSettings, Result};

/// Describe the metadata quorum (its leader and epoch, and how far each voter and observer has the metadata log) and change its voters.
#[derive(Parser, Debug)]
#[command(name = "metadata-quorum", version, propagate_version = true)]
pub struct MetadataQuorum {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub controllers: ControllerArgs,

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

impl MetadataQuorum {
    pub fn check(&self) -> std::result::Result<(), String> {
        self.controllers.check(&self.connection)
    }

    pub fn settings(&self) -> anyhow::Result<ClientSettings> {
        Ok(self.controllers.settings(&self.connection)?)
    }
}

/// Runs the command; what it prints.
pub async fn run(command: QuorumCommand, settings: &ClientSettings) -> Result<String> {
    match command {
        QuorumCommand::Describe {
            status,
            human_readable,
            output,
            ..
        } => {
            let quorum = quorum::describe(settings).await?;
            Ok(render(&quorum, status, output, human_readable, now_ms()))
        }
        QuorumCommand::AddController { controller_id } => {
            quorum::add_voter(settings, controller_id).await?;
            Ok(format!("Added controller {controller_id} to the quorum.\n"))
        }
        QuorumCommand::RemoveController { controller_id } => {
            quorum::remove_voter(settings, controller_id).await?;
            Ok(format!(
                "Removed controller {controller_id} from the quorum.\n"
            ))
        }
    }
}

/// `describe`: the status (`--status`) or each replica's progress, as
/// kafka-metadata-quorum.sh prints them or as JSON; `now_ms` is when, for
/// `--human-readable` times.
pub fn render(
    q: &QuorumStatus,
    status: bool,
    output: OutputFormat,
    human_readable: bool,
    now_ms: i64,
) -> String {
    match (status, output) {
        (true, OutputFormat::Json) => {
            let mut value = json!(q);
            if let Some(fields) = value.as_object_mut() {
                fields.remove("replicas");
            }
            format!("{value}\n")
        }
        (true, OutputFormat::Table) => render_status(q),
        (false, OutputFormat::Json) => format!("{}\n", json!(q.replicas)),
        (false, OutputFormat::Table) => render_replication(q, human_readable, now_ms),
    }
}

fn render_status(q: &QuorumStatus) -> String {
    let voters: Vec<_> = q
        .current_voters
        .iter()
        .map(|v| json!({"id": v.id, "endpoints": v.endpoints}))
        .collect();
    let observers: Vec<_> = q
        .current_observers
        .iter()
        .map(|id| json!({"id": id}))
        .collect();
    let lines = [
        ("ClusterId", q.cluster_id.clone()),
        ("LeaderId", q.leader_id.to_string()),
        ("LeaderEpoch", q.leader_epoch.to_string()),
        ("HighWatermark", q.high_watermark.to_string()),
        ("MaxFollowerLag", q.max_follower_lag.to_string()),
        (
            "MaxFollowerLagTimeMs",
            q.max_follower_lag_time_ms.to_string(),
        ),
        ("CurrentVoters", json!(voters).to_string()),
        ("CurrentObservers", json!(observers).to_string()),
    ];
    lines
        .into_iter()
        .map(|(name, value)| format!("{:<24}{value}\n", format!("{name}:")))
        .collect()
}

fn render_replication(q: &QuorumStatus, human_readable: bool, now_ms: i64) -> String {
    let time = |ms: i64| {
        if !human_readable || ms < 0 {
            ms.to_string()
        } else {
            format!("{} ms ago", (now_ms - ms).max(0))
        }
    };
    let mut table = super::table(&[
        "NodeId",
        "LogEndOffset",
        "Lag",
        "LastFetchTimestamp",
        "LastCaughtUpTimestamp",
        "Status",
    ]);
    for r in &q.replicas {
        table.add_row(vec![
            r.node_id.to_string(),
            r.log_end_offset.to_string(),
            r.lag.to_string(),
            time(r.last_fetch_timestamp),
            time(r.last_caught_up_timestamp),
            r.status.to_string(),
        ]);
    }
    super::table_text(&table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::quorum::{Replica, ReplicaRole, Voter};

    fn quorum() -> QuorumStatus {
        let replica = |node_id, lag, fetched, status| Replica {
            node_id,
            log_end_offset: 100 - lag,
            lag,
            last_fetch_timestamp: fetched,
            last_caught_up_timestamp: fetched,
            status,
        };
        QuorumStatus {
            cluster_id: "c1".into(),
            leader_id: 1,
            leader_epoch: 3,
            high_watermark: 100,
            max_follower_lag: 2,
            max_follower_lag_time_ms: 40,
            current_voters: vec![Voter {
                id: 1,
                endpoints: vec!["CONTROLLER://h:9093".into()],
            }],
            current_observers: vec![4],
            replicas: vec![
                replica(1, 0, 1_000, ReplicaRole::Leader),
                replica(4, 2, -1, ReplicaRole::Observer),
            ],
        }
    }

    #[test]
    fn status_lines_line_up_as_kafka_prints_them() {
        let text = render(&quorum(), true, OutputFormat::Table, false, 0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[0], format!("{:<24}c1", "ClusterId:"));
        assert_eq!(
            lines[6],
            format!(
                "{:<24}[{{\"endpoints\":[\"CONTROLLER://h:9093\"],\"id\":1}}]",
                "CurrentVoters:"
            )
        );
        assert_eq!(
            lines[7],
            format!("{:<24}[{{\"id\":4}}]", "CurrentObservers:")
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&quorum(), true, OutputFormat::Json, false, 0)).unwrap();
        assert_eq!(json["leader_epoch"], 3);
        assert!(json.get("replicas").is_none(), "{json}");
    }

    #[test]
    fn replication_times_are_ms_or_how_long_ago() {
        let rows = |human| -> Vec<Vec<String>> {
            render(&quorum(), false, OutputFormat::Table, human, 1_250)
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().map(str::to_string).collect())
                .collect()
        };
        assert_eq!(rows(false)[0], ["1", "100", "0", "1000", "1000", "Leader"]);
        assert_eq!(
            rows(true)[0],
            ["1", "100", "0", "250", "ms", "ago", "250", "ms", "ago", "Leader"]
        );
        assert_eq!(rows(true)[1], ["4", "98", "2", "-1", "-1", "Observer"]);
        let json: serde_json::Value =
            serde_json::from_str(&render(&quorum(), false, OutputFormat::Json, false, 0)).unwrap();
        assert_eq!(json[1]["status"], "Observer");
    }
}
