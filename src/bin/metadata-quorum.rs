//! `metadata-quorum`: Kafka's kafka-metadata-quorum.sh, for any
//! Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli;
use gregor::cli::metadata_quorum::{self, MetadataQuorum};

const TOOL: &str = "metadata-quorum";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: MetadataQuorum = cli::parse();
    if let Err(e) = args.check() {
        cli::usage_error(TOOL, e);
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: MetadataQuorum) -> anyhow::Result<()> {
    let settings = args.settings()?;
    cli::out(metadata_quorum::run(args.command, &settings).await?);
    Ok(())
}
