//! `topic-admin cluster`: the brokers, their racks and the controller,
//! with their configs if asked.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::cluster::{self, ClusterDescription};
use crate::client::entity_config::{ConfigsAt, DescribedConfigs, Entity, EntityType};
use crate::client::{ClientSettings, Result};

pub struct Described {
    pub cluster: ClusterDescription,
    /// Each broker's configs, when asked for.
    pub configs: Option<Vec<DescribedConfigs>>,
}

pub async fn run(admin: &Admin, settings: &ClientSettings, configs: bool) -> Result<Described> {
    let cluster = cluster::describe(settings).await?;
    let configs = if configs {
        let mut all = Vec::new();
        for b in &cluster.brokers {
            let entity = Entity {
                entity_type: EntityType::Brokers,
                name: Some(b.id.to_string()),
                default: false,
            };
            all.extend(
                ConfigsAt::Brokers(admin)
                    .describe_entity_configs(&entity, true)
                    .await?,
            );
        }
        Some(all)
    } else {
        None
    };
    Ok(Described { cluster, configs })
}

impl Described {
    pub fn render(&self, output: OutputFormat) -> String {
        let cluster = &self.cluster;
        match output {
            OutputFormat::Json => {
                let mut described = json!(cluster);
                if let Some(configs) = &self.configs {
                    described["configs"] = json!(configs);
                }
                format!("{described}\n")
            }
            OutputFormat::Table => {
                let mut text = format!(
                    "Cluster: {}\tController: {}\n\n",
                    cluster.cluster_id.as_deref().unwrap_or("none"),
                    cluster.controller_id
                );
                let mut table = crate::cli::table(&["ID", "HOST:PORT", "RACK", "CONTROLLER"]);
                for b in &cluster.brokers {
                    table.add_row(vec![
                        b.id.to_string(),
                        format!("{}:{}", b.host, b.port),
                        b.rack.clone().unwrap_or_else(|| "-".into()),
                        if b.id == cluster.controller_id {
                            "yes"
                        } else {
                            ""
                        }
                        .to_string(),
                    ]);
                }
                text.push_str(&crate::cli::table_text(&table));
                for described in self.configs.iter().flatten() {
                    text.push_str(&format!("\n{}\n", described.heading(true)));
                    for c in &described.configs {
                        text.push_str(&format!("  {}\n", c.kafka_line()));
                    }
                }
                text
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::cluster::BrokerNode;

    #[test]
    fn the_controller_and_missing_racks_are_marked() {
        let broker = |id, rack: Option<&str>| BrokerNode {
            id,
            host: "localhost".into(),
            port: 9000 + id,
            rack: rack.map(str::to_string),
        };
        let described = Described {
            cluster: ClusterDescription {
                cluster_id: None,
                controller_id: 2,
                brokers: vec![broker(1, Some("eu-1a")), broker(2, None)],
            },
            configs: None,
        };
        let text = described.render(OutputFormat::Table);
        let lines: Vec<Vec<&str>> = text
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(lines[0], ["Cluster:", "none", "Controller:", "2"]);
        assert_eq!(lines[3], ["1", "localhost:9001", "eu-1a"]);
        assert_eq!(lines[4], ["2", "localhost:9002", "-", "yes"]);
        let json: serde_json::Value =
            serde_json::from_str(&described.render(OutputFormat::Json)).unwrap();
        assert_eq!(json["controller_id"], 2);
        assert!(json.get("configs").is_none());
    }
}
