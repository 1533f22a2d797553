//! `topic-admin describe`: kafka-topics.sh --describe.

use std::collections::BTreeMap;

use serde_json::json;

use super::join;
use crate::cli::OutputFormat;
use crate::client::admin::{Admin, PartitionDescription, TopicConfigEntry, TopicDescription};
use crate::client::reassign::{Ongoing, Reassignments};
use crate::client::{ClientSettings, Result};

/// Which topics and partitions to describe.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// A name or whole-name regex; every topic when `None`.
    pub pattern: Option<String>,
    pub under_replicated_partitions: bool,
    pub unavailable_partitions: bool,
    pub exclude_internal: bool,
    /// Every config with its source, not only the overrides.
    pub all_configs: bool,
}

impl Query {
    /// With a problem filter only the partitions it picks are shown, and
    /// without configs or moves.
    fn only_problems(&self) -> bool {
        self.under_replicated_partitions || self.unavailable_partitions
    }

    fn shown(&self, p: &PartitionDescription) -> bool {
        !self.only_problems()
            || (self.under_replicated_partitions && p.under_replicated())
            || (self.unavailable_partitions && p.unavailable())
    }
}

/// The topics with their configs (one list per topic, in order) and the
/// moves of their partitions.
pub struct Described {
    pub query: Query,
    pub topics: Vec<TopicDescription>,
    pub configs: Vec<Vec<TopicConfigEntry>>,
    pub moving: Vec<Ongoing>,
}

pub async fn run(admin: &Admin, settings: &ClientSettings, query: Query) -> Result<Described> {
    let topics =
        super::matching_topics(admin, query.pattern.as_deref(), query.exclude_internal).await?;
    let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
    // As in Kafka's tool, the problem filters leave the configs out:
    // DescribeConfigs goes to the controller, which may be the very
    // broker that is down.
    let configs = if query.only_problems() {
        vec![Vec::new(); names.len()]
    } else {
        admin.topic_configs(&names).await?
    };
    // Partitions being moved show where to and from, as in Kafka's
    // tool; left out with the problem filters for the same reason.
    let moving = if query.only_problems() || topics.is_empty() {
        Vec::new()
    } else {
        let mut all = Reassignments::connect(settings)
            .await?
            .ongoing(None)
            .await?;
        all.retain(|o| names.contains(&o.topic));
        all
    };
    Ok(Described {
        query,
        topics,
        configs,
        moving,
    })
}

fn value(c: &TopicConfigEntry) -> String {
    if c.is_sensitive {
        "(sensitive)".to_string()
    } else {
        c.value.clone().unwrap_or_default()
    }
}

impl Described {
    fn move_of(&self, topic: &str, partition: i32) -> Option<&Ongoing> {
        self.moving
            .iter()
            .find(|o| o.topic == topic && o.partition == partition)
    }

    /// The configs of topic `i` set on the topic itself.
    fn overrides(&self, i: usize) -> Vec<(String, String)> {
        self.configs[i]
            .iter()
            .filter(|c| c.source == "DYNAMIC_TOPIC_CONFIG")
            .map(|c| (c.name.clone(), value(c)))
            .collect()
    }

    pub fn render(&self, output: OutputFormat) -> String {
        match output {
            OutputFormat::Json => format!("{}\n", self.json()),
            OutputFormat::Table => self.text(),
        }
    }

    fn json(&self) -> serde_json::Value {
        let query = &self.query;
        let described: Vec<_> = self
            .topics
            .iter()
            .enumerate()
            .filter(|(_, t)| !query.only_problems() || t.partitions.iter().any(|p| query.shown(p)))
            .map(|(i, t)| {
                let mut topic = json!({
                    "topic": t.name,
                    "internal": t.internal,
                    "partitions": t.partitions.iter().filter(|p| query.shown(p)).map(|p| {
                        let moved = self.move_of(&t.name, p.id);
                        json!({
                            "partition": p.id,
                            "leader": p.leader,
                            "replicas": p.replicas,
                            "isr": p.isr,
                            "adding": moved.map_or(&[][..], |o| &o.adding[..]),
                            "removing": moved.map_or(&[][..], |o| &o.removing[..]),
                        })
                    }).collect::<Vec<_>>(),
                });
                if !query.only_problems() {
                    topic["configs"] =
                        json!(self.overrides(i).into_iter().collect::<BTreeMap<_, _>>());
                }
                if query.all_configs {
                    topic["all_configs"] = self.configs[i]
                        .iter()
                        .map(|c| json!({"name": c.name, "value": value(c), "source": c.source}))
                        .collect();
                }
                topic
            })
            .collect();
        json!(described)
    }

    /// Kafka's layout: a summary line per topic (with every config after
    /// it under --all-configs), a blank line, then a row per partition.
    fn text(&self) -> String {
        let query = &self.query;
        let mut text = String::new();
        if !query.only_problems() {
            for (i, t) in self.topics.iter().enumerate() {
                let replication = t.partitions.first().map_or(0, |p| p.replicas.len());
                let configs: Vec<String> = self
                    .overrides(i)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                text.push_str(&format!(
                    "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}\n",
                    t.name,
                    t.partitions.len(),
                    replication,
                    configs.join(",")
                ));
                if query.all_configs {
                    // As kafka-configs.sh --describe --all prints each one.
                    for c in &self.configs[i] {
                        text.push_str(&format!("\t{}={} ({})\n", c.name, value(c), c.source));
                    }
                }
            }
            text.push('\n');
        }
        let mut headers = vec!["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"];
        if !self.moving.is_empty() {
            headers.extend(["ADDING", "REMOVING"]);
        }
        let mut table = crate::cli::table(&headers);
        for t in &self.topics {
            for p in t.partitions.iter().filter(|p| query.shown(p)) {
                let mut row = vec![
                    t.name.clone(),
                    p.id.to_string(),
                    if p.leader < 0 {
                        "none".to_string()
                    } else {
                        p.leader.to_string()
                    },
                    join(&p.replicas),
                    join(&p.isr),
                ];
                if !self.moving.is_empty() {
                    let moved = self.move_of(&t.name, p.id);
                    row.push(moved.map_or_else(String::new, |o| join(&o.adding)));
                    row.push(moved.map_or_else(String::new, |o| join(&o.removing)));
                }
                table.add_row(row);
            }
        }
        if table.row_count() > 0 {
            text.push_str(&crate::cli::table_text(&table));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::topic_admin::fixtures::topic;

    fn config(name: &str, value: &str, source: &'static str, sensitive: bool) -> TopicConfigEntry {
        TopicConfigEntry {
            name: name.into(),
            value: Some(value.into()),
            source,
            is_default: source == "DEFAULT_CONFIG",
            is_sensitive: sensitive,
        }
    }

    fn described(query: Query, moving: Vec<Ongoing>) -> Described {
        Described {
            query,
            topics: vec![topic(
                "orders",
                &[
                    (1, &[1, 2], &[1, 2]),
                    (-1, &[2, 3], &[]),
                    (2, &[2, 3], &[2]),
                ],
            )],
            configs: vec![vec![
                config("retention.ms", "1000", "DYNAMIC_TOPIC_CONFIG", false),
                config("secret", "x", "DYNAMIC_TOPIC_CONFIG", true),
                config("cleanup.policy", "delete", "DEFAULT_CONFIG", false),
            ]],
            moving,
        }
    }

    fn rows(text: &str) -> Vec<Vec<&str>> {
        text.lines()
            .skip_while(|l| !l.starts_with("TOPIC"))
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect()
    }

    #[test]
    fn the_summary_shows_overrides_and_hides_secrets() {
        let text = described(Query::default(), Vec::new()).render(OutputFormat::Table);
        assert!(text.starts_with(
            "Topic: orders\tPartitionCount: 3\tReplicationFactor: 2\t\
             Configs: retention.ms=1000,secret=(sensitive)\n\n"
        ));
        assert_eq!(
            rows(&text),
            [
                vec!["orders", "0", "1", "1,2", "1,2"],
                vec!["orders", "1", "none", "2,3"],
                vec!["orders", "2", "2", "2,3", "2"],
            ]
        );
    }

    #[test]
    fn all_configs_lists_each_with_its_source() {
        let query = Query {
            all_configs: true,
            ..Query::default()
        };
        let text = described(query.clone(), Vec::new()).render(OutputFormat::Table);
        assert!(text.contains("\n\tcleanup.policy=delete (DEFAULT_CONFIG)\n"));
        let json: serde_json::Value =
            serde_json::from_str(&described(query, Vec::new()).render(OutputFormat::Json)).unwrap();
        assert_eq!(json[0]["all_configs"].as_array().unwrap().len(), 3);
        assert_eq!(json[0]["configs"]["secret"], "(sensitive)");
    }

    #[test]
    fn problem_filters_show_only_those_partitions_and_no_summary() {
        let unavailable = Query {
            unavailable_partitions: true,
            ..Query::default()
        };
        let text = described(unavailable.clone(), Vec::new()).render(OutputFormat::Table);
        assert!(text.starts_with("TOPIC"), "{text}");
        assert_eq!(rows(&text), [vec!["orders", "1", "none", "2,3"]]);

        let under = Query {
            under_replicated_partitions: true,
            ..Query::default()
        };
        let json: serde_json::Value =
            serde_json::from_str(&described(under, Vec::new()).render(OutputFormat::Json)).unwrap();
        let partitions: Vec<i64> = json[0]["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_i64().unwrap())
            .collect();
        assert_eq!(partitions, [1, 2]);
        assert!(json[0].get("configs").is_none());
    }

    #[test]
    fn a_healthy_topic_vanishes_under_a_problem_filter() {
        let mut healthy = described(
            Query {
                unavailable_partitions: true,
                ..Query::default()
            },
            Vec::new(),
        );
        healthy.topics = vec![topic("fine", &[(1, &[1], &[1])])];
        assert_eq!(healthy.render(OutputFormat::Table), "");
        assert_eq!(healthy.render(OutputFormat::Json), "[]\n");
    }

    #[test]
    fn moving_partitions_get_adding_and_removing_columns() {
        let moving = vec![Ongoing {
            topic: "orders".into(),
            partition: 0,
            replicas: vec![3, 1, 2],
            adding: vec![3],
            removing: vec![2],
        }];
        let text = described(Query::default(), moving).render(OutputFormat::Table);
        assert!(text.contains("ADDING"));
        assert_eq!(rows(&text)[0], ["orders", "0", "1", "1,2", "1,2", "3", "2"]);
    }
}
