//! `topic-admin`: Kafka's kafka-topics.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use anyhow::bail;
use gregor::cli::topic_admin::{TopicAdmin, TopicCommand};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::{Admin, NewTopicSpec, TopicDescription};
use gregor::client::ConfigOp;
use serde_json::json;

const TOOL: &str = "topic-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: TopicAdmin = cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: TopicAdmin) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match args.command {
        TopicCommand::Create {
            topic,
            partitions,
            replication_factor,
            config,
            if_not_exists,
        } => {
            let spec = NewTopicSpec {
                name: topic.clone(),
                partitions,
                replication_factor,
                configs: config,
            };
            if admin.create_topic(&spec, if_not_exists).await? {
                cli::outln(format_args!("Created topic {topic}."));
            } else {
                cli::outln(format_args!("Topic {topic} already exists."));
            }
        }
        TopicCommand::List {
            exclude_internal,
            output,
        } => {
            let names: Vec<String> = admin
                .describe_topics(None)
                .await?
                .into_iter()
                .filter(|t| !(exclude_internal && t.internal))
                .map(|t| t.name)
                .collect();
            match output {
                OutputFormat::Table => names.iter().for_each(cli::outln),
                OutputFormat::Json => cli::outln(json!(names)),
            }
        }
        TopicCommand::Describe {
            topic,
            under_replicated_partitions,
            unavailable_partitions,
            exclude_internal,
            output,
        } => {
            let topics = matching_topics(&admin, topic.as_deref(), exclude_internal).await?;
            let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
            let configs = admin.topic_configs(&names).await?;
            let only_problems = under_replicated_partitions || unavailable_partitions;
            let shown = |p: &gregor::client::admin::PartitionDescription| {
                !only_problems
                    || (under_replicated_partitions && p.under_replicated())
                    || (unavailable_partitions && p.unavailable())
            };
            let overrides = |i: usize| -> Vec<(String, String)> {
                configs[i]
                    .iter()
                    .filter(|c| c.source == "DYNAMIC_TOPIC_CONFIG")
                    .map(|c| {
                        let value = if c.is_sensitive {
                            "(sensitive)".to_string()
                        } else {
                            c.value.clone().unwrap_or_default()
                        };
                        (c.name.clone(), value)
                    })
                    .collect()
            };
            match output {
                OutputFormat::Json => {
                    let described: Vec<_> = topics
                        .iter()
                        .enumerate()
                        .map(|(i, t)| {
                            json!({
                                "topic": t.name,
                                "internal": t.internal,
                                "partitions": t.partitions.iter().filter(|p| shown(p)).map(|p| json!({
                                    "partition": p.id,
                                    "leader": p.leader,
                                    "replicas": p.replicas,
                                    "isr": p.isr,
                                })).collect::<Vec<_>>(),
                                "configs": overrides(i).into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                            })
                        })
                        .collect();
                    cli::outln(json!(described));
                }
                OutputFormat::Table => {
                    let mut table =
                        cli::table(&["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"]);
                    for t in &topics {
                        for p in t.partitions.iter().filter(|p| shown(p)) {
                            table.add_row(vec![
                                t.name.clone(),
                                p.id.to_string(),
                                if p.leader < 0 {
                                    "none".to_string()
                                } else {
                                    p.leader.to_string()
                                },
                                join(&p.replicas),
                                join(&p.isr),
                            ]);
                        }
                    }
                    if !only_problems {
                        for (i, t) in topics.iter().enumerate() {
                            let replication = t.partitions.first().map_or(0, |p| p.replicas.len());
                            let configs: Vec<String> = overrides(i)
                                .into_iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect();
                            cli::outln(format_args!(
                                "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
                                t.name,
                                t.partitions.len(),
                                replication,
                                configs.join(",")
                            ));
                        }
                        cli::outln("");
                    }
                    if table.row_count() > 0 {
                        cli::print_table(&table);
                    }
                }
            }
        }
        TopicCommand::Alter {
            topic,
            partitions,
            config,
            delete_config,
        } => {
            if partitions.is_none() && config.is_empty() && delete_config.is_empty() {
                bail!("nothing to alter: give --partitions, --config or --delete-config");
            }
            if let Some(count) = partitions {
                admin.create_partitions(&topic, count as usize).await?;
                cli::outln(format_args!("Topic {topic} now has {count} partitions."));
            }
            if !config.is_empty() || !delete_config.is_empty() {
                let ops: Vec<ConfigOp> = config
                    .into_iter()
                    .map(|(k, v)| ConfigOp::Set(k, v))
                    .chain(delete_config.into_iter().map(ConfigOp::Delete))
                    .collect();
                admin.alter_topic_config(&topic, ops).await?;
                cli::outln(format_args!("Updated the configs of topic {topic}."));
            }
        }
        TopicCommand::Delete {
            topic,
            yes,
            if_exists,
        } => {
            let existing: Vec<String> = admin
                .describe_topics(None)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect();
            let (present, missing): (Vec<String>, Vec<String>) =
                topic.into_iter().partition(|t| existing.contains(t));
            if !missing.is_empty() && !if_exists {
                bail!("no such topic: {}", missing.join(", "));
            }
            if present.is_empty() {
                return Ok(());
            }
            let prompt = format!(
                "Delete topic {} and every record in it?",
                present.join(", ")
            );
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            admin.delete_topics(&present).await?;
            for t in &present {
                cli::outln(format_args!("Deleted topic {t}."));
            }
        }
    }
    Ok(())
}

/// The topics a `--topic` argument names: a name or a whole-name regex.
async fn matching_topics(
    admin: &Admin,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> anyhow::Result<Vec<TopicDescription>> {
    let all = admin.describe_topics(None).await?;
    let Some(pattern) = pattern else {
        return Ok(all
            .into_iter()
            .filter(|t| !(exclude_internal && t.internal))
            .collect());
    };
    let regex =
        gregor::client::whole_name_regex(pattern).map_err(|e| anyhow::anyhow!("--topic {e}"))?;
    let matched: Vec<TopicDescription> = all
        .into_iter()
        .filter(|t| regex.is_match(&t.name) && !(exclude_internal && t.internal))
        .collect();
    if matched.is_empty() {
        bail!("no topic matches '{pattern}'");
    }
    Ok(matched)
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}
