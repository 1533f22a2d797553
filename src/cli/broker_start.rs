//! `broker-start`: the broker's command line.

use std::path::PathBuf;

use clap::Parser;

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
