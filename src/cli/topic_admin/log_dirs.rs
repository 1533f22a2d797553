//! `topic-admin describe --log-dirs`: kafka-log-dirs.sh.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::log_dirs::{self, BrokerLogDirs};
use crate::client::{ClientSettings, Result};

/// Every broker's log directories, with the replicas of the topics
/// `pattern` matches.
pub async fn run(
    admin: &Admin,
    settings: &ClientSettings,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> Result<Vec<BrokerLogDirs>> {
    // Without a filter every replica is asked for, as Kafka's tool does.
    let wanted: Option<Vec<(String, Vec<i32>)>> = if pattern.is_some() || exclude_internal {
        let topics = super::matching_topics(admin, pattern, exclude_internal).await?;
        Some(
            topics
                .into_iter()
                .map(|t| (t.name, t.partitions.iter().map(|p| p.id).collect()))
                .collect(),
        )
    } else {
        None
    };
    log_dirs::describe(settings, wanted.as_deref()).await
}

/// kafka-log-dirs.sh's JSON, or a row per replica (and per directory that
/// could not be described).
pub fn render(brokers: &[BrokerLogDirs], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!({"version": 1, "brokers": brokers})),
        OutputFormat::Table => {
            let mut table = crate::cli::table(&[
                "BROKER",
                "LOG-DIR",
                "PARTITION",
                "SIZE",
                "OFFSET-LAG",
                "IS-FUTURE",
            ]);
            for b in brokers {
                for dir in &b.log_dirs {
                    if let Some(error) = &dir.error {
                        table.add_row(vec![
                            b.broker.to_string(),
                            dir.log_dir.clone(),
                            format!("({error})"),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]);
                    }
                    for p in &dir.partitions {
                        table.add_row(vec![
                            b.broker.to_string(),
                            dir.log_dir.clone(),
                            p.partition.clone(),
                            p.size.to_string(),
                            p.offset_lag.to_string(),
                            p.is_future.to_string(),
                        ]);
                    }
                }
            }
            crate::cli::table_text(&table)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::log_dirs::{LogDir, ReplicaInfo};

    #[test]
    fn a_directory_in_error_gets_a_row_of_its_own() {
        let brokers = [BrokerLogDirs {
            broker: 1,
            log_dirs: vec![
                LogDir {
                    log_dir: "/data".into(),
                    error: None,
                    partitions: vec![ReplicaInfo {
                        partition: "orders-0".into(),
                        size: 2048,
                        offset_lag: 0,
                        is_future: false,
                    }],
                },
                LogDir {
                    log_dir: "/broken".into(),
                    error: Some("KAFKA_STORAGE_ERROR".into()),
                    partitions: Vec::new(),
                },
            ],
        }];
        let text = render(&brokers, OutputFormat::Table);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["1", "/data", "orders-0", "2048", "0", "false"]);
        assert_eq!(rows[1], ["1", "/broken", "(KAFKA_STORAGE_ERROR)"]);
        let json: serde_json::Value =
            serde_json::from_str(&render(&brokers, OutputFormat::Json)).unwrap();
        assert_eq!(json["version"], 1);
        assert_eq!(
            json["brokers"][0]["logDirs"][0]["partitions"][0]["offsetLag"],
            0
        );
    }
}
