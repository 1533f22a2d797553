//! The admin facade: topics, configs and (in `groups`) consumer groups, in
//! Kafka's terms, over librdkafka's admin client.

use std::sync::Arc;

use rdkafka::admin::{AdminClient, AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;

use super::config::ClientSettings;
use super::entity_config::ConfigResourceType;
use super::error::{ClientError, Result};
use super::native::{self, ConfigOp, Handle};
use crate::topic_partition::TopicPartition;

/// Kafka's internal topics, which `--exclude-internal` hides.
pub const INTERNAL_TOPICS: &[&str] = &["__consumer_offsets", "__transaction_state"];

#[derive(Clone, Debug)]
pub struct PartitionDescription {
    pub id: i32,
    /// -1 when the partition has no leader.
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

impl PartitionDescription {
    pub fn under_replicated(&self) -> bool {
        self.isr.len() < self.replicas.len()
    }

    pub fn unavailable(&self) -> bool {
        self.leader < 0
    }
}

#[derive(Clone, Debug)]
pub struct TopicDescription {
    pub name: String,
    pub internal: bool,
    pub partitions: Vec<PartitionDescription>,
}

#[derive(Clone, Debug)]
pub struct TopicConfigEntry {
    pub name: String,
    pub value: Option<String>,
    /// Kafka's name for where the value comes from, e.g. DYNAMIC_TOPIC_CONFIG.
    pub source: &'static str,
    pub is_default: bool,
    pub is_sensitive: bool,
}

/// What `create` asks for; `None` leaves the choice to the broker's defaults.
#[derive(Clone, Debug, Default)]
pub struct NewTopicSpec {
    pub name: String,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i32>,
    pub configs: Vec<(String, String)>,
}

/// kafka-delete-records.sh's --offset-json-file:
/// `{"partitions":[{"topic":"orders","partition":0,"offset":42}],"version":1}`.
pub fn parse_delete_records_json(text: &str) -> Result<Vec<(TopicPartition, i64)>> {
    #[derive(serde::Deserialize)]
    struct File {
        partitions: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        topic: String,
        partition: i32,
        offset: i64,
    }
    let file: File = serde_json::from_str(text).map_err(|e| {
        ClientError::Invalid(format!(
            "not kafka-delete-records.sh's JSON ({e}); expected {{\"partitions\":[{{\"topic\":\"orders\",\"partition\":0,\"offset\":42}}],\"version\":1}}"
        ))
    })?;
    if file.partitions.is_empty() {
        return Err(ClientError::Invalid("the file names no partition".into()));
    }
    Ok(file
        .partitions
        .into_iter()
        .map(|e| (TopicPartition::new(e.topic, e.partition), e.offset))
        .collect())
}

/// What DeleteRecords did to one partition.
#[derive(Clone, Debug)]
pub struct DeletedRecords {
    pub partition: TopicPartition,
    /// The partition's low watermark after the deletion, or Kafka's error.
    pub outcome: std::result::Result<i64, RDKafkaErrorCode>,
}

pub struct Admin {
    pub(super) client: Arc<AdminClient<DefaultClientContext>>,
    pub(super) settings: ClientSettings,
}

fn source_name(source: &ConfigSource) -> &'static str {
    match source {
        ConfigSource::Unknown => "UNKNOWN",
        ConfigSource::DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
        ConfigSource::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
        ConfigSource::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        ConfigSource::StaticBroker => "STATIC_BROKER_CONFIG",
        ConfigSource::Default => "DEFAULT_CONFIG",
    }
}

/// The topics a metadata answer lists, sorted by name, their partitions by id.
fn descriptions(metadata: &Metadata) -> Result<Vec<TopicDescription>> {
    let mut topics = Vec::new();
    for t in metadata.topics() {
        if let Some(e) = t.error() {
            return Err(broker_error(
                format!("cannot describe topic '{}'", t.name()),
                e.into(),
            ));
        }
        let mut partitions: Vec<PartitionDescription> = t
            .partitions()
            .iter()
            .map(|p| PartitionDescription {
                id: p.id(),
                leader: p.leader(),
                replicas: p.replicas().to_vec(),
                isr: p.isr().to_vec(),
            })
            .collect();
        partitions.sort_by_key(|p| p.id);
        topics.push(TopicDescription {
            name: t.name().to_string(),
            internal: INTERNAL_TOPICS.contains(&t.name()),
            partitions,
        });
    }
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(topics)
}

fn broker_error(context: String, code: RDKafkaErrorCode) -> ClientError {
    ClientError::Broker {
        context,
        code,
        message: None,
    }
}

impl Admin {
    /// Connects and checks that the cluster answers within the settings'
    /// timeout, so that a wrong address is an error rather than a hang.
    pub async fn connect(settings: &ClientSettings) -> Result<Admin> {
        let probed = settings.clone();
        tokio::task::spawn_blocking(move || probed.probe())
            .await
            .map_err(|e| ClientError::Invalid(format!("cannot probe the cluster: {e}")))??;
        // Looking a topic up must never create it, which librdkafka's
        // producer-type handle would allow.
        let client: AdminClient<DefaultClientContext> = settings
            .clone()
            .with_defaults([("allow.auto.create.topics", "false")])
            .rdkafka()
            .create()
            .map_err(ClientError::kafka("cannot create the admin client"))?;
        let reached = settings.clone();
        tokio::task::spawn_blocking(move || super::reach::reach(&reached))
            .await
            .map_err(|e| ClientError::Invalid(format!("cannot reach the cluster: {e}")))??;
        Ok(Admin {
            client: Arc::new(client),
            settings: settings.clone(),
        })
    }

    pub(super) fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.settings.timeout))
    }

    /// Runs a blocking librdkafka call off the async runtime, with the
    /// client kept alive until it returns.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&AdminClient<DefaultClientContext>, Handle) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let client = Arc::clone(&self.client);
        tokio::task::spawn_blocking(move || {
            let handle = Handle(client.inner().native_ptr());
            f(&client, handle)
        })
        .await
        .map_err(|e| ClientError::Invalid(format!("admin call failed: {e}")))?
    }

    /// Topics and their partitions: one topic, or all of them.
    pub async fn describe_topics(&self, topic: Option<&str>) -> Result<Vec<TopicDescription>> {
        let topic = topic.map(str::to_string);
        let timeout = self.settings.timeout;
        let unreachable = ClientError::unreachable(&self.settings);
        self.blocking(move |client, _| {
            let metadata = client
                .inner()
                .fetch_metadata(topic.as_deref(), timeout)
                .map_err(unreachable)?;
            descriptions(&metadata)
        })
        .await
    }

    /// Every topic of the cluster, as `connect` then `describe_topics(None)`
    /// would list them, without starting an admin client (whose polling
    /// thread takes up to 100 ms to stop): for a tool that asks once.
    pub async fn cluster_topics(settings: &ClientSettings) -> Result<Vec<TopicDescription>> {
        let reached = settings.clone();
        let metadata = tokio::task::spawn_blocking(move || {
            reached.probe()?;
            super::reach::reach(&reached)
        })
        .await
        .map_err(|e| ClientError::Invalid(format!("cannot reach the cluster: {e}")))??;
        descriptions(&metadata)
    }

    /// The ids of the brokers in the cluster, in order.
    pub async fn broker_ids(&self) -> Result<Vec<i32>> {
        let timeout = self.settings.timeout;
        let unreachable = ClientError::unreachable(&self.settings);
        self.blocking(move |client, _| {
            let metadata = client
                .inner()
                .fetch_metadata(None, timeout)
                .map_err(unreachable)?;
            let mut ids: Vec<i32> = metadata.brokers().iter().map(|b| b.id()).collect();
            ids.sort_unstable();
            Ok(ids)
        })
        .await
    }

    /// Each topic's configuration as the broker reports it.
    pub async fn topic_configs(&self, topics: &[String]) -> Result<Vec<Vec<TopicConfigEntry>>> {
        let specifiers: Vec<ResourceSpecifier> =
            topics.iter().map(|t| ResourceSpecifier::Topic(t)).collect();
        let results = self
            .client
            .describe_configs(&specifiers, &self.options())
            .await
            .map_err(ClientError::kafka("cannot describe topic configs"))?;
        topics
            .iter()
            .zip(results)
            .map(|(topic, r)| {
                let resource = r.map_err(|code| {
                    broker_error(format!("cannot describe the configs of '{topic}'"), code)
                })?;
                let mut entries: Vec<TopicConfigEntry> = resource
                    .entries
                    .into_iter()
                    .map(|e| TopicConfigEntry {
                        source: source_name(&e.source),
                        name: e.name,
                        value: e.value,
                        is_default: e.is_default,
                        is_sensitive: e.is_sensitive,
                    })
                    .collect();
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(entries)
            })
            .collect()
    }

    /// CreateTopics; with `if_not_exists` an existing topic is not an error.
    /// Returns whether the topic was created.
    pub async fn create_topic(&self, spec: &NewTopicSpec, if_not_exists: bool) -> Result<bool> {
        let (name, configs) = (spec.name.clone(), spec.configs.clone());
        let (partitions, replication_factor) = (
            spec.partitions.unwrap_or(-1),
            spec.replication_factor.unwrap_or(-1),
        );
        let timeout = self.settings.timeout;
        let answers = self
            .blocking(move |_, handle| {
                let topic = native::TopicToCreate {
                    name: &name,
                    partitions,
                    replication_factor,
                    configs: &configs,
                };
                native::create_topics(handle, &[topic], timeout)
            })
            .await?;
        let exists = |a: &native::TopicAnswer| {
            matches!(a.error, Some((RDKafkaErrorCode::TopicAlreadyExists, _)))
        };
        if if_not_exists && answers.iter().any(exists) {
            return Ok(false);
        }
        first_refusal(answers, |name| format!("cannot create topic '{name}'"))?;
        Ok(true)
    }

    pub async fn delete_topics(&self, names: &[String]) -> Result<()> {
        let names = names.to_vec();
        let timeout = self.settings.timeout;
        let answers = self
            .blocking(move |_, handle| native::delete_topics(handle, &names, timeout))
            .await?;
        first_refusal(answers, |name| format!("cannot delete topic '{name}'"))
    }

    /// CreatePartitions: grows `topic` to `count` partitions in all.
    pub async fn create_partitions(&self, topic: &str, count: usize) -> Result<()> {
        let topic = topic.to_string();
        let timeout = self.settings.timeout;
        let answers = self
            .blocking(move |_, handle| native::create_partitions(handle, &topic, count, timeout))
            .await?;
        first_refusal(answers, |name| format!("cannot add partitions to '{name}'"))
    }

    /// DeleteRecords: moves each partition's log start offset up to the
    /// given offset (-1: its high watermark), as kafka-delete-records.sh.
    /// Each partition's new low watermark, or why it kept its records.
    pub async fn delete_records(
        &self,
        offsets: &[(TopicPartition, i64)],
    ) -> Result<Vec<DeletedRecords>> {
        let mut list = rdkafka::TopicPartitionList::new();
        for (tp, offset) in offsets {
            let offset = if *offset == -1 {
                rdkafka::Offset::End
            } else {
                rdkafka::Offset::Offset(*offset)
            };
            list.add_partition_offset(&tp.topic, tp.partition, offset)
                .map_err(ClientError::kafka("cannot delete records"))?;
        }
        let result = self
            .client
            .delete_records(&list, &self.options())
            .await
            .map_err(ClientError::kafka("cannot delete records"))?;
        Ok(result
            .elements()
            .iter()
            .map(|e| DeletedRecords {
                partition: TopicPartition::new(e.topic(), e.partition()),
                outcome: match e.error() {
                    Ok(()) => Ok(e.offset().to_raw().unwrap_or(-1)),
                    Err(e) => Err(e.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Unknown)),
                },
            })
            .collect())
    }

    /// IncrementalAlterConfigs on a topic: set and delete overrides.
    pub async fn alter_topic_config(&self, topic: &str, ops: Vec<ConfigOp>) -> Result<()> {
        let topic = topic.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| {
            native::incremental_alter_configs(
                handle,
                ConfigResourceType::Topic,
                &topic,
                &ops,
                timeout,
            )
        })
        .await
    }
}

/// The first topic the broker refused, as an error whose context
/// `context` words from the topic's name; Ok when none was.
fn first_refusal(
    answers: Vec<native::TopicAnswer>,
    context: impl FnOnce(&str) -> String,
) -> Result<()> {
    match answers
        .into_iter()
        .find_map(|a| a.error.map(|e| (a.name, e)))
    {
        Some((name, (code, message))) => Err(ClientError::Broker {
            context: context(&name),
            code,
            message,
        }),
        None => Ok(()),
    }
}
