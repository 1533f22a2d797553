//! `broker-start`: the broker's command line.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::broker::Broker;
use crate::config::BrokerConfig;

/// The log filter when RUST_LOG sets none: openraft narrates every
/// election at info and warns of every unreachable peer while a quorum
/// forms.
pub const DEFAULT_LOG_FILTER: &str = "info,openraft=error";

/// Start a Gregor broker: a Kafka-compatible broker any Kafka client can use.
///
/// With no arguments it listens on 127.0.0.1:9092 with data in ./gregor-data.
#[derive(Parser, Debug)]
#[command(name = "broker-start", version, about, long_about = None)]
pub struct BrokerStart {
    /// A Kafka server.properties file (Kafka's property names).
    pub config: Option<PathBuf>,

    /// Set a property, overriding the file: --override log.dirs=/var/lib/gregor.
    #[arg(long = "override", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<(String, String)>,
}

/// A server.properties line given on the command line; both sides trimmed,
/// as the properties file reader does.
fn parse_override(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// Whether the log is coloured: only on a terminal, since colour codes are
/// noise in a log file or journal, and not when NO_COLOR (no-color.org)
/// is set to anything.
pub fn colour(stderr_is_terminal: bool, no_color: Option<OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The line tests and scripts read to learn the bound ports: the first
/// listener's address, then, with several listeners, each one's as
/// NAME://addr.
pub fn banner(node_id: i32, local: SocketAddr, listeners: &[(String, SocketAddr)]) -> String {
    let mut banner = format!("gregor broker {node_id} listening on {local}");
    if listeners.len() > 1 {
        let each: Vec<String> = listeners
            .iter()
            .map(|(name, addr)| format!("{name}://{addr}"))
            .collect();
        banner.push_str(&format!(" ({})", each.join(",")));
    }
    banner.push('\n');
    banner
}

/// Runs the broker until SIGINT or SIGTERM (success) or until it cannot
/// go on (failure), then shuts it down.
pub async fn serve(config: BrokerConfig) -> ExitCode {
    let broker = match Broker::start(config).await {
        Ok(b) => b,
        Err(e) => {
            eprintln!("broker-start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let line = banner(
        broker.context().node_id,
        broker.local_addr(),
        broker.listener_addrs(),
    );
    // A reader that has gone (`| head -1`) must not take the broker down
    // with it.
    let _ = super::write_out(line.as_bytes());
    let code = tokio::select! {
        _ = wait_for_signal() => ExitCode::SUCCESS,
        reason = broker.fatal() => {
            eprintln!("broker-start: stopping: {reason}");
            ExitCode::FAILURE
        }
    };
    broker.shutdown().await;
    code
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_banner_names_every_listener_when_there_are_several() {
        let plain: SocketAddr = "127.0.0.1:9092".parse().unwrap();
        let tls: SocketAddr = "127.0.0.1:9093".parse().unwrap();
        assert_eq!(
            banner(1, plain, &[("PLAINTEXT".into(), plain)]),
            "gregor broker 1 listening on 127.0.0.1:9092\n"
        );
        assert_eq!(
            banner(
                2,
                plain,
                &[("PLAINTEXT".into(), plain), ("SSL".into(), tls)]
            ),
            "gregor broker 2 listening on 127.0.0.1:9092 \
             (PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093)\n"
        );
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsString::new())), "NO_COLOR empty");
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }

    #[test]
    fn overrides_are_trimmed_key_value_pairs() {
        assert_eq!(
            parse_override(" log.dirs = /tmp/x ").unwrap(),
            ("log.dirs".to_string(), "/tmp/x".to_string())
        );
        assert!(parse_override("=x").is_err());
        assert!(parse_override("novalue").is_err());
    }
}
