//! `metadata-quorum`: Kafka's kafka-metadata-quorum.sh, for any
//! Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli::metadata_quorum::{MetadataQuorum, QuorumCommand};
use gregor::cli::{self, OutputFormat};
use gregor::client::offset_spec::now_ms;
use gregor::client::quorum::{self, QuorumStatus};
use serde_json::json;

const TOOL: &str = "metadata-quorum";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: MetadataQuorum = cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: MetadataQuorum) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let (status, human_readable, output) = match args.command {
        QuorumCommand::Describe {
            status,
            human_readable,
            output,
            ..
        } => (status, human_readable, output),
        QuorumCommand::AddController { controller_id } => {
            quorum::add_voter(&settings, controller_id).await?;
            cli::outln(format!("Added controller {controller_id} to the quorum."));
            return Ok(());
        }
        QuorumCommand::RemoveController { controller_id } => {
            quorum::remove_voter(&settings, controller_id).await?;
            cli::outln(format!(
                "Removed controller {controller_id} from the quorum."
            ));
            return Ok(());
        }
    };
    let quorum = quorum::describe(&settings).await?;
    match (status, output) {
        (true, OutputFormat::Json) => {
            let mut value = json!(quorum);
            if let Some(fields) = value.as_object_mut() {
                fields.remove("replicas");
            }
            cli::outln(value);
        }
        (true, OutputFormat::Table) => print_status(&quorum),
        (false, OutputFormat::Json) => cli::outln(json!(quorum.replicas)),
        (false, OutputFormat::Table) => print_replication(&quorum, human_readable),
    }
    Ok(())
}

fn print_status(q: &QuorumStatus) {
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
    for (name, value) in lines {
        cli::outln(format!("{:<24}{value}", format!("{name}:")));
    }
}

fn print_replication(q: &QuorumStatus, human_readable: bool) {
    let now = now_ms();
    let time = |ms: i64| {
        if !human_readable || ms < 0 {
            ms.to_string()
        } else {
            format!("{} ms ago", (now - ms).max(0))
        }
    };
    let mut table = cli::table(&[
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
    cli::print_table(&table);
}
