//! Client metrics subscriptions (KIP-714): the CLIENT_METRICS config
//! resources an operator sets, with Kafka's names, defaults and checks
//! (ClientMetricsConfigs), and which clients each one selects.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use regex::Regex;

use crate::cluster::ControllerError;

/// Metric name prefixes the subscription asks for; `*` asks for all.
pub const METRICS: &str = "metrics";
/// How often a selected client pushes.
pub const INTERVAL_MS: &str = "interval.ms";
/// `selector=regex` pairs a client must all match; none selects every client.
pub const MATCH: &str = "match";

pub const DEFAULT_INTERVAL_MS: i32 = 300_000;
const MIN_INTERVAL_MS: i32 = 100;
const MAX_INTERVAL_MS: i32 = 3_600_000;

/// What `*` in `metrics` asks for: KIP-714 sends all metrics as one empty prefix.
const ALL_METRICS: &str = "*";

/// The client attributes a `match` entry may test.
pub const SELECTORS: [&str; 6] = [
    "client_instance_id",
    "client_id",
    "client_software_name",
    "client_software_version",
    "client_source_address",
    "client_source_port",
];

/// One config of a subscription: name, default, whether it is a list, and its doc.
pub struct ClientMetricsConfig {
    pub name: &'static str,
    pub default: &'static str,
    pub list: bool,
    pub doc: &'static str,
}

pub const CONFIGS: [ClientMetricsConfig; 3] = [
    ClientMetricsConfig {
        name: INTERVAL_MS,
        default: "300000",
        list: false,
        doc: "The interval, in milliseconds, at which selected clients push their metrics (100 to 3600000).",
    },
    ClientMetricsConfig {
        name: MATCH,
        default: "",
        list: true,
        doc: "Client matching patterns, selector=regex, all of which a client must match; none selects every client.",
    },
    ClientMetricsConfig {
        name: METRICS,
        default: "",
        list: true,
        doc: "Telemetry metric name prefixes to collect; '*' for all, none for no metrics.",
    },
];

pub fn config(name: &str) -> Option<&'static ClientMetricsConfig> {
    CONFIGS.iter().find(|c| c.name == name)
}

/// The entries of a list config, as Kafka's ConfigDef splits them.
pub fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// A client as subscriptions see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSelector {
    pub client_instance_id: String,
    pub client_id: String,
    pub client_software_name: String,
    pub client_software_version: String,
    pub client_source_address: String,
    pub client_source_port: String,
}

impl ClientSelector {
    fn get(&self, selector: &str) -> &str {
        match selector {
            "client_instance_id" => &self.client_instance_id,
            "client_id" => &self.client_id,
            "client_software_name" => &self.client_software_name,
            "client_software_version" => &self.client_software_version,
            "client_source_address" => &self.client_source_address,
            _ => &self.client_source_port,
        }
    }
}

/// One subscription, parsed.
#[derive(Debug)]
pub struct Subscription {
    pub metrics: Vec<String>,
    pub interval_ms: i32,
    patterns: Vec<(&'static str, Regex)>,
}

fn invalid_config(message: String) -> ControllerError {
    ControllerError::new(ResponseError::InvalidConfig, message)
}

impl Subscription {
    /// Parses and checks a subscription's configs as Kafka's
    /// ClientMetricsConfigs.validate does: an unknown name is an invalid
    /// request, a bad value an invalid config.
    pub fn parse(name: &str, configs: &BTreeMap<String, String>) -> Result<Self, ControllerError> {
        if name.is_empty() {
            return Err(ControllerError::new(
                ResponseError::InvalidRequest,
                "Subscription name can't be empty",
            ));
        }
        if let Some(unknown) = configs.keys().find(|k| config(k).is_none()) {
            return Err(ControllerError::new(
                ResponseError::InvalidRequest,
                format!("Unknown client metrics configuration: {unknown}"),
            ));
        }
        let interval = configs
            .get(INTERVAL_MS)
            .map(String::as_str)
            .unwrap_or("300000");
        let interval_ms = interval
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|i| (MIN_INTERVAL_MS..=MAX_INTERVAL_MS).contains(i))
            .ok_or_else(|| {
                invalid_config(format!(
                    "Invalid value {interval} for {INTERVAL_MS}, interval must be between \
                     {MIN_INTERVAL_MS} and {MAX_INTERVAL_MS}"
                ))
            })?;
        let mut patterns = Vec::new();
        for entry in list_items(configs.get(MATCH).map(String::as_str).unwrap_or("")) {
            let (selector, pattern) = entry
                .split_once('=')
                .map(|(s, p)| (s.trim(), p.trim()))
                .filter(|(_, p)| !p.is_empty())
                .ok_or_else(|| {
                    invalid_config(format!(
                        "Illegal client matching pattern: {entry}, expected selector=regex"
                    ))
                })?;
            let selector = SELECTORS
                .iter()
                .copied()
                .find(|s| *s == selector)
                .ok_or_else(|| {
                    invalid_config(format!(
                        "Invalid client matching selector {selector}: expected one of {}",
                        SELECTORS.join(", ")
                    ))
                })?;
            // Java's Matcher.matches: the whole value, not a part of it.
            let regex = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
                invalid_config(format!(
                    "Illegal regex pattern {pattern} for {selector}: {e}"
                ))
            })?;
            patterns.push((selector, regex));
        }
        let metrics = list_items(configs.get(METRICS).map(String::as_str).unwrap_or(""))
            .map(str::to_string)
            .collect();
        Ok(Subscription {
            metrics,
            interval_ms,
            patterns,
        })
    }

    pub fn matches(&self, client: &ClientSelector) -> bool {
        self.patterns
            .iter()
            .all(|(selector, regex)| regex.is_match(client.get(selector)))
    }
}

/// What the subscriptions selecting a client ask of it: the union of
/// their metric prefixes at the shortest of their intervals, or (none
/// selecting it) no metrics at the default interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requested {
    pub metrics: Vec<String>,
    pub interval_ms: i32,
}

pub fn requested<'a>(
    subscriptions: impl IntoIterator<Item = &'a Subscription>,
    client: &ClientSelector,
) -> Requested {
    let mut metrics: Vec<String> = Vec::new();
    let mut interval_ms = None;
    for s in subscriptions.into_iter().filter(|s| s.matches(client)) {
        // A subscription without metrics asks for nothing, interval included.
        if s.metrics.is_empty() {
            continue;
        }
        interval_ms = Some(interval_ms.map_or(s.interval_ms, |i: i32| i.min(s.interval_ms)));
        for m in &s.metrics {
            if !metrics.contains(m) {
                metrics.push(m.clone());
            }
        }
    }
    if metrics.iter().any(|m| m == ALL_METRICS) {
        metrics = vec![String::new()];
    }
    metrics.sort();
    Requested {
        metrics,
        interval_ms: interval_ms.unwrap_or(DEFAULT_INTERVAL_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn client(id: &str) -> ClientSelector {
        ClientSelector {
            client_instance_id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            client_id: id.into(),
            client_software_name: "librdkafka".into(),
            client_software_version: "2.12.0".into(),
            client_source_address: "127.0.0.1".into(),
            client_source_port: "5555".into(),
        }
    }

    #[test]
    fn checks_values_as_kafka() {
        let bad = |pairs: &[(&str, &str)]| Subscription::parse("s", &configs(pairs)).unwrap_err();
        assert_eq!(
            bad(&[("interval.ms", "99")]).code,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            bad(&[("interval.ms", "3600001")]).code,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            bad(&[("match", "client_id")]).code,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            bad(&[("match", "nope=x")]).code,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            bad(&[("match", "client_id=(")]).code,
            ResponseError::InvalidConfig
        );
        assert_eq!(
            bad(&[("colour", "red")]).code,
            ResponseError::InvalidRequest
        );
        assert!(Subscription::parse("", &configs(&[])).is_err());
    }

    #[test]
    fn selects_by_whole_match_and_merges() {
        let a = Subscription::parse(
            "a",
            &configs(&[
                (
                    "metrics",
                    "org.apache.kafka.producer., org.apache.kafka.client.",
                ),
                ("interval.ms", "1000"),
                ("match", "client_id=prod.*,client_software_name=librdkafka"),
            ]),
        )
        .unwrap();
        let b = Subscription::parse(
            "b",
            &configs(&[
                ("metrics", "org.apache.kafka.producer."),
                ("interval.ms", "500"),
            ]),
        )
        .unwrap();
        assert!(a.matches(&client("producer-1")));
        assert!(!a.matches(&client("my-producer")));
        let r = requested([&a, &b], &client("producer-1"));
        assert_eq!(r.interval_ms, 500);
        assert_eq!(
            r.metrics,
            ["org.apache.kafka.client.", "org.apache.kafka.producer."]
        );
        let all = Subscription::parse("c", &configs(&[("metrics", "*")])).unwrap();
        assert_eq!(requested([&all], &client("x")).metrics, [""]);
        let none = requested([&a], &client("consumer"));
        assert!(none.metrics.is_empty());
        assert_eq!(none.interval_ms, DEFAULT_INTERVAL_MS);
    }
}
