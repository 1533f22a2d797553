//! `broker-start [server.properties] [--override key=value ...]`: one Gregor broker.

use std::io::IsTerminal;
use std::process::ExitCode;

use gregor::cli::broker_start::{self, BrokerStart};
use gregor::config::BrokerConfig;

fn main() -> ExitCode {
    let args: BrokerStart = gregor::cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| broker_start::DEFAULT_LOG_FILTER.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(broker_start::colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR"),
        ))
        .init();

    let config = match BrokerConfig::load(args.config.as_deref(), &args.overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("broker-start: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("broker-start: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(broker_start::serve(config))
}
