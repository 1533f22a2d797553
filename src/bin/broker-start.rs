//! `broker-start [server.properties] [--override key=value ...]`: one Gregor broker.

use std::io::IsTerminal;
use std::process::ExitCode;

use gregor::broker::Broker;
use gregor::cli::broker_start::BrokerStart;
use gregor::config::BrokerConfig;

fn main() -> ExitCode {
    let args: BrokerStart = gregor::cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // openraft narrates every election at info and warns of
                // every unreachable peer while a quorum forms.
                .unwrap_or_else(|_| "info,openraft=error".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes are noise in a log file or journal; NO_COLOR
        // (no-color.org) turns them off on a terminal too.
        .with_ansi(
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        )
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
    runtime.block_on(async move {
        let broker = match Broker::start(config).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("broker-start: {e}");
                return ExitCode::FAILURE;
            }
        };
        // Tests and scripts read this line to learn the bound ports: the
        // first listener's address, then, with several listeners, each
        // one's as NAME://addr. A reader that has gone (`| head -1`) must
        // not take the broker down with it.
        let mut banner = format!(
            "gregor broker {} listening on {}",
            broker.context().node_id,
            broker.local_addr()
        );
        if broker.listener_addrs().len() > 1 {
            let each: Vec<String> = broker
                .listener_addrs()
                .iter()
                .map(|(name, addr)| format!("{name}://{addr}"))
                .collect();
            banner.push_str(&format!(" ({})", each.join(",")));
        }
        banner.push('\n');
        let _ = gregor::cli::write_out(banner.as_bytes());
        let code = tokio::select! {
            _ = wait_for_signal() => ExitCode::SUCCESS,
            reason = broker.fatal() => {
                eprintln!("broker-start: stopping: {reason}");
                ExitCode::FAILURE
            }
        };
        broker.shutdown().await;
        code
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received, shutting down"),
        _ = term.recv() => tracing::info!("SIGTERM received, shutting down"),
    }
}
