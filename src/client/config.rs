//! Connection settings shared by every tool: the bootstrap servers and any
//! librdkafka property, from a properties file and from `-X key=value`.

use std::path::Path;
use std::time::Duration;

use rdkafka::config::ClientConfig;

use super::error::{ClientError, Result};

/// Where the tools connect when nothing says otherwise, as Kafka's scripts.
pub const DEFAULT_BOOTSTRAP: &str = "localhost:9092";

#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub bootstrap: String,
    /// librdkafka properties, applied in order: a later one wins.
    pub properties: Vec<(String, String)>,
    /// How long to wait for the cluster before giving up on it.
    pub timeout: Duration,
    /// Whether `bootstrap` names the metadata quorum's controllers
    /// (KIP-919's `bootstrap.controllers`) rather than brokers: only the
    /// controller's APIs are asked there.
    pub to_controllers: bool,
}

impl ClientSettings {
    pub fn new(bootstrap: impl Into<String>) -> ClientSettings {
        ClientSettings {
            bootstrap: bootstrap.into(),
            properties: Vec::new(),
            timeout: Duration::from_secs(10),
            to_controllers: false,
        }
    }

    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> ClientSettings {
        self.properties.push((key.into(), value.into()));
        self
    }

    /// Adds properties that the user's own (a properties file, `-X`) still
    /// override: a tool's defaults and flags.
    pub fn with_defaults<K: Into<String>, V: Into<String>>(
        mut self,
        defaults: impl IntoIterator<Item = (K, V)>,
    ) -> ClientSettings {
        let mut properties: Vec<(String, String)> = defaults
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        properties.append(&mut self.properties);
        self.properties = properties;
        self
    }

    /// Adds the properties of a Java-style properties file (`--command-config`).
    pub fn load_properties_file(mut self, path: &Path) -> Result<ClientSettings> {
        let io = |cause| ClientError::Io {
            path: path.display().to_string(),
            cause,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let map = java_properties::read(std::io::BufReader::new(file))
            .map_err(|e| ClientError::Invalid(format!("cannot parse {}: {e}", path.display())))?;
        let mut entries: Vec<(String, String)> = map.into_iter().collect();
        entries.sort();
        self.properties.extend(entries);
        Ok(self)
    }

    /// The librdkafka configuration: bootstrap servers first, so that a
    /// `bootstrap.servers` property given explicitly wins.
    pub fn rdkafka(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        // librdkafka's floor for it is a second.
        config.set(
            "socket.connection.setup.timeout.ms",
            self.timeout.as_millis().max(1000).to_string(),
        );
        for (k, v) in &self.properties {
            config.set(k, v);
        }
        config
    }
}

impl ClientSettings {
    /// Checks that some bootstrap server takes a TCP connection, so that a
    /// refused port or an unknown host fails at once with its reason
    /// rather than after the timeout with librdkafka's "broker transport
    /// failure". Blocking; at most `timeout` per address.
    pub fn probe(&self) -> Result<()> {
        use std::net::{TcpStream, ToSocketAddrs};
        // (where, why) for each address that failed.
        let mut failures: Vec<(String, String)> = Vec::new();
        for server in self.bootstrap.split(',').map(str::trim) {
            // librdkafka also takes PROTOCOL://host:port.
            let address = server.rsplit("://").next().unwrap_or(server);
            let addrs = match address.to_socket_addrs() {
                Ok(addrs) => addrs.collect::<Vec<_>>(),
                Err(e) => {
                    failures.push((address.to_string(), format!("cannot resolve it: {e}")));
                    continue;
                }
            };
            for addr in &addrs {
                let why = match TcpStream::connect_timeout(addr, self.timeout) {
                    Ok(_) => return Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        "connection refused (is a broker listening there?)".to_string()
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => format!(
                        "no answer within {} ms (--timeout)",
                        self.timeout.as_millis()
                    ),
                    Err(e) => e.to_string(),
                };
                failures.push((addr.to_string(), why));
            }
        }
        let reasons = match failures.as_slice() {
            [] => return Ok(()),
            [(_, why)] => why.clone(),
            all => all
                .iter()
                .map(|(at, why)| format!("{at}: {why}"))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Err(ClientError::NoBroker {
            bootstrap: self.bootstrap.clone(),
            reasons,
        })
    }
}

/// Parses `key=value` as given to `-X`, `--config` and friends.
pub fn parse_key_value(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_properties_file_and_later_settings_override_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("client.properties");
        std::fs::write(&file, "client.id=from-file\nacks=all\n").unwrap();
        let settings = ClientSettings::new("h:1")
            .load_properties_file(&file)
            .unwrap()
            .set("client.id", "from-flag");
        let config = settings.rdkafka();
        assert_eq!(config.get("client.id"), Some("from-flag"));
        assert_eq!(config.get("acks"), Some("all"));
        assert_eq!(config.get("bootstrap.servers"), Some("h:1"));
        assert!(ClientSettings::new("h:1")
            .load_properties_file(&dir.path().join("missing"))
            .is_err());
        let tool = settings
            .with_defaults([("acks", "1"), ("linger.ms", "5")])
            .rdkafka();
        assert_eq!(tool.get("acks"), Some("all"), "the user's setting wins");
        assert_eq!(tool.get("linger.ms"), Some("5"));
    }

    #[test]
    fn key_values_need_a_key() {
        assert_eq!(
            parse_key_value("a=b=c"),
            Ok(("a".to_string(), "b=c".to_string()))
        );
        assert!(parse_key_value("=x").is_err());
        assert!(parse_key_value("novalue").is_err());
    }
}
