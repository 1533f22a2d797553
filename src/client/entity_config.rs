//! Configs of topics, brokers and users, as kafka-configs.sh reads and
//! changes them: its `--add-config` syntax, the entries with their
//! synonyms, and users' SCRAM credentials (KIP-554). At the brokers
//! everything goes through librdkafka, so the -X security settings apply,
//! except the cluster-wide broker defaults (librdkafka insists on a broker
//! id for a BROKER resource) and client metrics subscriptions, which go
//! over the tools' own connection (`wire`); at the controllers
//! (`--bootstrap-controller`) everything does ([`ConfigsAt`]).

use std::path::Path;

use serde::Serialize;

use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    DescribeClusterRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
    ListConfigResourcesRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::admin::Admin;
use super::error::{ClientError, Result};
use super::native::{self, ConfigOp};
use super::wire::Connection;
use super::ClientSettings;

/// Kafka's code for a TOPIC config resource.
const TOPIC_RESOURCE: i8 = 2;
/// Kafka's code for a BROKER config resource; the empty name is the
/// cluster-wide default.
const BROKER_RESOURCE: i8 = 4;
/// DescribeCluster's endpoint type that lists the controllers (KIP-919).
const CONTROLLER_ENDPOINTS: i8 = 2;
/// Kafka's code for a CLIENT_METRICS config resource, which librdkafka's
/// admin API does not name.
const CLIENT_METRICS_RESOURCE: i8 = 16;

/// kafka-configs.sh's default for SCRAM-SHA-256/512 iterations.
pub const DEFAULT_SCRAM_ITERATIONS: i32 = 4096;

/// The entity types config-admin knows (`--entity-type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityType {
    Topics,
    Brokers,
    Users,
    Clients,
    /// Client metrics subscriptions (KIP-714).
    ClientMetrics,
}

impl EntityType {
    /// The name kafka-configs.sh prints before an entity's name.
    pub fn singular(self) -> &'static str {
        match self {
            EntityType::Topics => "topic",
            EntityType::Brokers => "broker",
            EntityType::Users => "user",
            EntityType::Clients => "client",
            EntityType::ClientMetrics => "client-metrics",
        }
    }
}

/// The entity (or, with no name and no default, every entity of the type)
/// a command means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub entity_type: EntityType,
    pub name: Option<String>,
    /// The brokers' cluster-wide default.
    pub default: bool,
}

/// One topic's or broker's configs as --describe shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DescribedConfigs {
    /// "topics" or "brokers", as --entity-type names them.
    pub entity_type: &'static str,
    /// None for the brokers' cluster-wide default.
    pub entity_name: Option<String>,
    pub configs: Vec<ConfigEntry>,
}

impl DescribedConfigs {
    /// kafka-configs.sh's heading over the entries.
    pub fn heading(&self, all: bool) -> String {
        let level = if all { "All" } else { "Dynamic" };
        let singular = self.entity_type.trim_end_matches('s');
        match &self.entity_name {
            Some(name) => format!("{level} configs for {singular} {name} are:"),
            None => "Default configs for brokers in the cluster are:".to_string(),
        }
    }
}

/// The resources DescribeConfigs and IncrementalAlterConfigs name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigResourceType {
    Topic,
    Broker,
}

impl ConfigResourceType {
    pub fn singular(self) -> &'static str {
        match self {
            ConfigResourceType::Topic => "topic",
            ConfigResourceType::Broker => "broker",
        }
    }
}

/// One config as the cluster describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigEntry {
    pub name: String,
    /// None for a sensitive value, which brokers never send.
    pub value: Option<String>,
    /// Kafka's name for where the value comes from, e.g. DYNAMIC_TOPIC_CONFIG.
    pub source: String,
    pub is_read_only: bool,
    pub is_sensitive: bool,
    /// Every level that gives the config a value, most specific first.
    pub synonyms: Vec<ConfigSynonym>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: String,
}

impl ConfigEntry {
    /// The entry as kafka-configs.sh --describe prints it.
    pub fn kafka_line(&self) -> String {
        let synonyms: Vec<String> = self
            .synonyms
            .iter()
            .map(|s| {
                format!(
                    "{}:{}={}",
                    s.source,
                    s.name,
                    s.value.as_deref().unwrap_or("null")
                )
            })
            .collect();
        format!(
            "{}={} sensitive={} synonyms={{{}}}",
            self.name,
            self.value.as_deref().unwrap_or("null"),
            self.is_sensitive,
            synonyms.join(", ")
        )
    }
}

/// The entries kafka-configs.sh --describe shows without --all: those set
/// dynamically at this resource's own level.
pub fn dynamic_only(resource: ConfigResourceType, default_broker: bool) -> &'static str {
    match (resource, default_broker) {
        (ConfigResourceType::Topic, _) => "DYNAMIC_TOPIC_CONFIG",
        (ConfigResourceType::Broker, false) => "DYNAMIC_BROKER_CONFIG",
        (ConfigResourceType::Broker, true) => "DYNAMIC_DEFAULT_BROKER_CONFIG",
    }
}

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::Invalid(message.into())
}

/// Splits `text` at each `sep` outside square brackets.
fn split_outside_brackets(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Reads kafka-configs.sh's `--add-config 'k1=v1,k2=[a,b],k3=v3'`: pairs
/// separated by commas outside square brackets, whose brackets are
/// dropped from the values (`k2` is `a,b`).
pub fn parse_add_config(text: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for pair in split_outside_brackets(text, ',') {
        let kv = split_outside_brackets(pair, '=');
        let [key, value] = kv.as_slice() else {
            return Err(invalid(format!(
                "invalid --add-config '{pair}': each config must be key=value, a value with \
                 commas or '=' in square brackets (k=[a,b])"
            )));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid(format!("invalid --add-config '{pair}': no key")));
        }
        let value: String = value.chars().filter(|c| *c != '[' && *c != ']').collect();
        out.push((key.to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// Reads `--add-config-file`: a properties file of configs to set.
pub fn read_add_config_file(path: &Path) -> Result<Vec<(String, String)>> {
    let file = std::fs::File::open(path).map_err(|cause| ClientError::Io {
        path: path.display().to_string(),
        cause,
    })?;
    let map = java_properties::read(std::io::BufReader::new(file))
        .map_err(|e| invalid(format!("cannot parse {}: {e}", path.display())))?;
    let mut entries: Vec<(String, String)> = map.into_iter().collect();
    entries.sort();
    Ok(entries)
}

/// The SCRAM mechanisms of KIP-554.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        [ScramMechanism::Sha256, ScramMechanism::Sha512]
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl Serialize for ScramMechanism {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A credential as DescribeUserScramCredentials shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScramCredential {
    pub mechanism: ScramMechanism,
    pub iterations: i32,
}

/// A credential to set, whose password may still have to be asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramUpsert {
    pub mechanism: ScramMechanism,
    pub iterations: i32,
    /// Given on the command line (or in --add-config-file), if at all.
    pub password: Option<String>,
}

/// One change of AlterUserScramCredentials.
#[derive(Clone, PartialEq, Eq)]
pub enum ScramChange {
    Upsert {
        mechanism: ScramMechanism,
        iterations: i32,
        password: String,
    },
    Delete(ScramMechanism),
}

impl std::fmt::Debug for ScramChange {
    // Never print a password, even in a debug message.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramChange::Upsert {
                mechanism,
                iterations,
                ..
            } => write!(f, "Upsert({}, iterations={iterations})", mechanism.name()),
            ScramChange::Delete(m) => write!(f, "Delete({})", m.name()),
        }
    }
}

/// The SCRAM changes of a users --alter: `SCRAM-SHA-256=[iterations=8192,
/// password=...]` to set (iterations default to 4096; the password may be
/// left for a prompt or a file), mechanism names to delete. Quotas are
/// separate (`client::quotas`).
pub fn scram_changes(
    add: &[(String, String)],
    delete: &[String],
) -> Result<(Vec<ScramUpsert>, Vec<ScramMechanism>)> {
    let mut upserts = Vec::new();
    for (key, value) in add {
        let Some(mechanism) = ScramMechanism::from_name(key) else {
            return Err(not_scram(key));
        };
        let mut upsert = ScramUpsert {
            mechanism,
            iterations: DEFAULT_SCRAM_ITERATIONS,
            password: None,
        };
        for field in value.split(',').filter(|f| !f.trim().is_empty()) {
            match field.split_once('=') {
                Some((k, v)) if k.trim() == "iterations" => {
                    upsert.iterations = v.trim().parse().map_err(|_| {
                        invalid(format!(
                            "{key}: iterations must be a whole number, not '{}'",
                            v.trim()
                        ))
                    })?;
                }
                Some((k, v)) if k.trim() == "password" => upsert.password = Some(v.to_string()),
                _ => {
                    return Err(invalid(format!(
                        "{key}: expected [iterations=N,password=SECRET], got '{field}'"
                    )))
                }
            }
        }
        upserts.push(upsert);
    }
    let deletions = delete
        .iter()
        .map(|d| ScramMechanism::from_name(d).ok_or_else(|| not_scram(d)))
        .collect::<Result<Vec<_>>>()?;
    if let Some(both) = upserts.iter().find(|u| deletions.contains(&u.mechanism)) {
        return Err(invalid(format!(
            "{} is both added and deleted",
            both.mechanism.name()
        )));
    }
    Ok((upserts, deletions))
}

fn not_scram(key: &str) -> ClientError {
    invalid(format!(
        "'{key}' is not a SCRAM credential: SCRAM-SHA-256 or SCRAM-SHA-512"
    ))
}

/// A user's SCRAM credentials as described.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserCredentials {
    pub user: String,
    pub credentials: Vec<ScramCredential>,
}

impl UserCredentials {
    /// As kafka-configs.sh --describe --entity-type users prints it.
    pub fn kafka_line(&self) -> String {
        let listed: Vec<String> = self
            .credentials
            .iter()
            .map(|c| format!("{}=iterations={}", c.mechanism.name(), c.iterations))
            .collect();
        format!(
            "SCRAM credential configs for user-principal '{}' are {}",
            self.user,
            listed.join(", ")
        )
    }
}

/// Kafka's name for a config source code.
fn source_name(code: i8) -> String {
    match code {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
    .to_string()
}

fn resource_error(context: &str, code: i16, message: Option<&StrBytes>) -> Result<()> {
    if code == 0 {
        return Ok(());
    }
    Err(ClientError::Protocol {
        context: context.to_string(),
        code,
        message: message.map(|m| m.to_string()),
    })
}

/// Where topic and broker configs are read and changed: at the brokers,
/// through librdkafka's admin API (so every -X security setting applies),
/// or at the controllers' CONTROLLER listener over the tools' own
/// connection (`--bootstrap-controller`, KIP-919), since a controller
/// serves no Metadata and librdkafka asks for it before anything else.
pub enum ConfigsAt<'a> {
    Brokers(&'a Admin),
    Controllers(&'a ClientSettings),
}

impl ConfigsAt<'_> {
    fn settings(&self) -> &ClientSettings {
        match self {
            ConfigsAt::Brokers(admin) => &admin.settings,
            ConfigsAt::Controllers(settings) => settings,
        }
    }

    /// The configs of a topic, a broker (by id) or, without a name, the
    /// cluster-wide broker default, with synonyms.
    async fn describe(
        &self,
        resource: ConfigResourceType,
        name: Option<&str>,
    ) -> Result<Vec<ConfigEntry>> {
        match (self, name) {
            (ConfigsAt::Brokers(admin), Some(name)) => admin.describe_configs(resource, name).await,
            (ConfigsAt::Brokers(admin), None) => admin.describe_broker_defaults().await,
            (ConfigsAt::Controllers(settings), _) => {
                let name = name.unwrap_or_default();
                let context = format!(
                    "cannot describe the configs of {}",
                    resource_label(resource, name)
                );
                let mut connection = at_controller(settings, resource, name).await?;
                describe_over_wire(&mut connection, resource_code(resource), name, &context).await
            }
        }
    }

    /// IncrementalAlterConfigs of a topic, a broker (by id) or, without a
    /// name, the cluster-wide broker default.
    async fn alter(
        &self,
        resource: ConfigResourceType,
        name: Option<&str>,
        ops: Vec<ConfigOp>,
    ) -> Result<()> {
        match (self, name) {
            (ConfigsAt::Brokers(admin), Some(name)) => {
                admin.alter_configs(resource, name, ops).await
            }
            (ConfigsAt::Brokers(admin), None) => admin.alter_broker_defaults(ops).await,
            (ConfigsAt::Controllers(settings), _) => {
                let name = name.unwrap_or_default();
                let context = format!(
                    "cannot alter the configs of {}",
                    resource_label(resource, name)
                );
                let connection = at_controller(settings, resource, name).await?;
                alter_over_wire(connection, resource_code(resource), name, ops, &context).await
            }
        }
    }

    /// The topics whose configs `--describe` shows when none is named.
    async fn topic_names(&self) -> Result<Vec<String>> {
        match self {
            ConfigsAt::Brokers(admin) => Ok(admin
                .describe_topics(None)
                .await?
                .into_iter()
                .filter(|t| !t.internal)
                .map(|t| t.name)
                .collect()),
            ConfigsAt::Controllers(_) => Err(invalid(
                "controllers serve no Metadata to list topics with: name one with \
                 --entity-name, or use --bootstrap-server",
            )),
        }
    }

    /// The nodes whose configs `--describe --entity-type brokers` shows:
    /// the brokers, or at the controllers the voters.
    async fn broker_ids(&self) -> Result<Vec<i32>> {
        match self {
            ConfigsAt::Brokers(admin) => admin.broker_ids().await,
            ConfigsAt::Controllers(settings) => Ok(controllers(settings)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect()),
        }
    }

    /// What kafka-configs.sh --describe shows for topics or brokers: the
    /// named entity, or every topic (internal ones aside) or every broker
    /// and the cluster-wide default; without `all`, only the configs set
    /// at each entity's own level.
    pub async fn describe_entity_configs(
        &self,
        entity: &Entity,
        all: bool,
    ) -> Result<Vec<DescribedConfigs>> {
        if entity.entity_type == EntityType::ClientMetrics {
            return describe_client_metrics(self.settings(), entity, all).await;
        }
        let (resource, entity_type) = match entity.entity_type {
            EntityType::Topics => (ConfigResourceType::Topic, "topics"),
            EntityType::Brokers => (ConfigResourceType::Broker, "brokers"),
            other => {
                return Err(invalid(format!(
                    "{}s have no topic or broker configs",
                    other.singular()
                )))
            }
        };
        let names: Vec<Option<String>> = if entity.default {
            vec![None]
        } else if let Some(name) = &entity.name {
            vec![Some(name.clone())]
        } else if resource == ConfigResourceType::Topic {
            self.topic_names().await?.into_iter().map(Some).collect()
        } else {
            let mut ids: Vec<Option<String>> = self
                .broker_ids()
                .await?
                .into_iter()
                .map(|id| Some(id.to_string()))
                .collect();
            ids.push(None);
            ids
        };
        let mut described = Vec::with_capacity(names.len());
        for name in names {
            let mut configs = self.describe(resource, name.as_deref()).await?;
            if !all {
                let own = dynamic_only(resource, name.is_none());
                configs.retain(|e| e.source == own);
            }
            described.push(DescribedConfigs {
                entity_type,
                entity_name: name,
                configs,
            });
        }
        Ok(described)
    }

    /// kafka-configs.sh --alter of a topic, a broker or the brokers'
    /// default: IncrementalAlterConfigs, after checking, as Kafka's tool
    /// does, that every config to delete is set at that level (deleting
    /// one that is not is a mistake, not a silent no-op).
    pub async fn alter_entity_configs(&self, entity: &Entity, ops: Vec<ConfigOp>) -> Result<()> {
        if entity.entity_type == EntityType::ClientMetrics {
            return alter_client_metrics(self.settings(), entity, ops).await;
        }
        let resource = match entity.entity_type {
            EntityType::Topics => ConfigResourceType::Topic,
            EntityType::Brokers => ConfigResourceType::Broker,
            other => {
                return Err(invalid(format!(
                    "{}s have no topic or broker configs",
                    other.singular()
                )))
            }
        };
        let name = match (&entity.name, entity.default) {
            (Some(name), false) => Some(name.as_str()),
            (None, true) if resource == ConfigResourceType::Broker => None,
            _ => {
                return Err(invalid(format!(
                    "--alter needs one {} to change",
                    resource.singular()
                )))
            }
        };
        let current = self.describe(resource, name).await?;
        let own = dynamic_only(resource, name.is_none());
        let missing: Vec<&str> = ops
            .iter()
            .filter_map(|op| match op {
                ConfigOp::Delete(k) => Some(k.as_str()),
                ConfigOp::Set(..) => None,
            })
            .filter(|k| !current.iter().any(|e| e.name == *k && e.source == own))
            .collect();
        if !missing.is_empty() {
            return Err(invalid(format!(
                "Invalid config(s): {} (not set on this {}, so nothing to delete)",
                missing.join(","),
                resource.singular()
            )));
        }
        self.alter(resource, name, ops).await
    }
}

/// Kafka's code for a config resource type.
fn resource_code(resource: ConfigResourceType) -> i8 {
    match resource {
        ConfigResourceType::Topic => TOPIC_RESOURCE,
        ConfigResourceType::Broker => BROKER_RESOURCE,
    }
}

/// "topic T", "broker 1", or "the brokers' default" for error messages.
fn resource_label(resource: ConfigResourceType, name: &str) -> String {
    match (resource, name) {
        (ConfigResourceType::Broker, "") => "the brokers' default".to_string(),
        (resource, name) => format!("{} {name}", resource.singular()),
    }
}

/// The voters, with their CONTROLLER addresses, as the bootstrap
/// controller names them (DescribeCluster, endpoint type 2).
async fn controllers(settings: &ClientSettings) -> Result<Vec<(i32, String)>> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    let described = connection
        .call(
            &DescribeClusterRequest::default().with_endpoint_type(CONTROLLER_ENDPOINTS),
            1,
        )
        .await?;
    resource_error(
        "cannot list the controllers",
        described.error_code,
        described.error_message.as_ref(),
    )?;
    let mut nodes: Vec<(i32, String)> = described
        .brokers
        .iter()
        .map(|b| (b.broker_id.0, format!("{}:{}", b.host.as_str(), b.port)))
        .collect();
    nodes.sort_unstable();
    Ok(nodes)
}

/// The controller to ask about a resource: a broker resource's own node,
/// as Kafka's admin client sends it there; any other to the first
/// bootstrap controller that answers.
async fn at_controller(
    settings: &ClientSettings,
    resource: ConfigResourceType,
    name: &str,
) -> Result<Connection> {
    let node = match resource {
        ConfigResourceType::Broker if !name.is_empty() => name
            .parse::<i32>()
            .map_err(|_| invalid(format!("broker id '{name}' is not a number")))?,
        _ => return Connection::to_bootstrap(settings).await,
    };
    let address = controllers(settings)
        .await?
        .into_iter()
        .find(|(id, _)| *id == node)
        .map(|(_, address)| address)
        .ok_or_else(|| invalid(format!("controller {node} is not a voter of the quorum")))?;
    Connection::to_address(settings, &address).await
}

impl Admin {
    /// DescribeConfigs of the cluster-wide broker defaults, with synonyms.
    pub async fn describe_broker_defaults(&self) -> Result<Vec<ConfigEntry>> {
        let context = "cannot describe the default configs of brokers";
        let mut connection = Connection::to_controller(&self.settings).await?;
        describe_over_wire(&mut connection, BROKER_RESOURCE, "", context).await
    }

    /// IncrementalAlterConfigs of the cluster-wide broker defaults.
    pub async fn alter_broker_defaults(&self, ops: Vec<ConfigOp>) -> Result<()> {
        let context = "cannot alter the default configs of brokers";
        let connection = Connection::to_controller(&self.settings).await?;
        alter_over_wire(connection, BROKER_RESOURCE, "", ops, context).await
    }
}

/// kafka-configs.sh --describe --entity-type client-metrics: the named
/// subscription's configs, or without a name every subscription's (only
/// those set, without `all`).
async fn describe_client_metrics(
    settings: &ClientSettings,
    entity: &Entity,
    all: bool,
) -> Result<Vec<DescribedConfigs>> {
    let mut connection = Connection::to_bootstrap(settings).await?;
    let names = match &entity.name {
        Some(name) => vec![name.clone()],
        None => list_client_metrics(&mut connection).await?,
    };
    let mut described = Vec::with_capacity(names.len());
    for name in names {
        let context = format!("cannot describe client metrics subscription {name}");
        let mut configs =
            describe_over_wire(&mut connection, CLIENT_METRICS_RESOURCE, &name, &context).await?;
        if !all {
            configs.retain(|e| e.source == "CLIENT_METRICS_CONFIG");
        }
        described.push(DescribedConfigs {
            entity_type: "client-metrics",
            entity_name: Some(name),
            configs,
        });
    }
    Ok(described)
}

/// kafka-configs.sh --alter --entity-type client-metrics: sets and
/// deletes the subscription's configs; deleting them all removes it.
async fn alter_client_metrics(
    settings: &ClientSettings,
    entity: &Entity,
    ops: Vec<ConfigOp>,
) -> Result<()> {
    let Some(name) = &entity.name else {
        return Err(invalid(
            "--alter of client-metrics needs the subscription's --entity-name",
        ));
    };
    let context = format!("cannot alter client metrics subscription {name}");
    let connection = Connection::to_bootstrap(settings).await?;
    alter_over_wire(connection, CLIENT_METRICS_RESOURCE, name, ops, &context).await
}

/// The names of every client metrics subscription, sorted, from
/// ListConfigResources. No types are asked for: v0 (Kafka 4.0's
/// ListClientMetricsResources) has no filter and lists only
/// subscriptions, v1 then lists every type and the others are dropped.
async fn list_client_metrics(connection: &mut Connection) -> Result<Vec<String>> {
    let response = connection
        .call(&ListConfigResourcesRequest::default(), 0)
        .await?;
    resource_error(
        "cannot list client metrics subscriptions",
        response.error_code,
        None,
    )?;
    let mut names: Vec<String> = response
        .config_resources
        .into_iter()
        .filter(|r| r.resource_type == CLIENT_METRICS_RESOURCE)
        .map(|r| r.resource_name.to_string())
        .collect();
    names.sort();
    Ok(names)
}

/// DescribeConfigs of one resource over the tools' own connection, with
/// synonyms, sorted by name.
async fn describe_over_wire(
    connection: &mut Connection,
    resource_type: i8,
    name: &str,
    context: &str,
) -> Result<Vec<ConfigEntry>> {
    let request = DescribeConfigsRequest::default()
        .with_include_synonyms(true)
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(name.to_string()))
            .with_configuration_keys(None)]);
    let response = connection.call(&request, 1).await?;
    let mut entries = Vec::new();
    for result in response.results {
        resource_error(context, result.error_code, result.error_message.as_ref())?;
        entries.extend(result.configs.into_iter().map(|c| {
            ConfigEntry {
                name: c.name.to_string(),
                value: c.value.map(|v| v.to_string()),
                source: source_name(c.config_source),
                is_read_only: c.read_only,
                is_sensitive: c.is_sensitive,
                synonyms: c
                    .synonyms
                    .into_iter()
                    .map(|s| ConfigSynonym {
                        name: s.name.to_string(),
                        value: s.value.map(|v| v.to_string()),
                        source: source_name(s.source),
                    })
                    .collect(),
            }
        }));
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// IncrementalAlterConfigs (SET and DELETE) of one resource over the
/// tools' own connection.
async fn alter_over_wire(
    mut connection: Connection,
    resource_type: i8,
    name: &str,
    ops: Vec<ConfigOp>,
    context: &str,
) -> Result<()> {
    let configs = ops
        .into_iter()
        .map(|op| match op {
            ConfigOp::Set(k, v) => AlterableConfig::default()
                .with_name(StrBytes::from_string(k))
                .with_config_operation(0)
                .with_value(Some(StrBytes::from_string(v))),
            ConfigOp::Delete(k) => AlterableConfig::default()
                .with_name(StrBytes::from_string(k))
                .with_config_operation(1),
        })
        .collect();
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(StrBytes::from_string(name.to_string()))
            .with_configs(configs),
    ]);
    let response = connection.call(&request, 0).await?;
    for r in response.responses {
        resource_error(context, r.error_code, r.error_message.as_ref())?;
    }
    Ok(())
}

impl Admin {
    /// DescribeConfigs of one topic or broker, with synonyms.
    pub async fn describe_configs(
        &self,
        resource: ConfigResourceType,
        name: &str,
    ) -> Result<Vec<ConfigEntry>> {
        let name = name.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| native::describe_configs(handle, resource, &name, timeout))
            .await
    }

    /// IncrementalAlterConfigs of one topic or broker.
    pub async fn alter_configs(
        &self,
        resource: ConfigResourceType,
        name: &str,
        ops: Vec<ConfigOp>,
    ) -> Result<()> {
        let name = name.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| {
            native::incremental_alter_configs(handle, resource, &name, &ops, timeout)
        })
        .await
    }

    /// The SCRAM credentials of `users`, or of every user that has some.
    pub async fn describe_scram_credentials(
        &self,
        users: Vec<String>,
    ) -> Result<Vec<UserCredentials>> {
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| {
            let mut described: Vec<UserCredentials> =
                native::describe_user_scram_credentials(handle, &users, timeout)?
                    .into_iter()
                    .map(|u| UserCredentials {
                        user: u.user,
                        credentials: u.credentials,
                    })
                    .collect();
            described.sort_by(|a, b| a.user.cmp(&b.user));
            Ok(described)
        })
        .await
    }

    /// AlterUserScramCredentials for one user.
    pub async fn alter_scram_credentials(
        &self,
        user: &str,
        changes: Vec<ScramChange>,
    ) -> Result<()> {
        let user = user.to_string();
        let timeout = self.settings.timeout;
        self.blocking(move |_, handle| {
            native::alter_user_scram_credentials(handle, &user, &changes, timeout)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_add_config(text).unwrap()
    }

    #[test]
    fn add_config_splits_outside_brackets_and_drops_them() {
        assert_eq!(
            pairs("retention.ms=1000, cleanup.policy=[compact,delete] ,x=y"),
            [
                ("retention.ms".to_string(), "1000".to_string()),
                ("cleanup.policy".to_string(), "compact,delete".to_string()),
                ("x".to_string(), "y".to_string()),
            ]
        );
        assert_eq!(
            pairs("SCRAM-SHA-256=[iterations=8192,password=a=b,c]"),
            [(
                "SCRAM-SHA-256".to_string(),
                "iterations=8192,password=a=b,c".to_string()
            )]
        );
        assert_eq!(pairs("empty="), [("empty".to_string(), String::new())]);
        assert!(parse_add_config("novalue").is_err());
        assert!(parse_add_config("a=b=c").is_err());
        assert!(parse_add_config("=x").is_err());
    }

    #[test]
    fn scram_configs_become_upserts_and_deletions() {
        let add = pairs("SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[]");
        let (upserts, deletions) = scram_changes(&add, &[]).unwrap();
        assert_eq!(
            upserts,
            [
                ScramUpsert {
                    mechanism: ScramMechanism::Sha256,
                    iterations: 8192,
                    password: Some("alice-secret".to_string()),
                },
                ScramUpsert {
                    mechanism: ScramMechanism::Sha512,
                    iterations: DEFAULT_SCRAM_ITERATIONS,
                    password: None,
                },
            ]
        );
        assert!(deletions.is_empty());
        let (upserts, deletions) = scram_changes(&[], &["scram-sha-512".to_string()]).unwrap();
        assert!(upserts.is_empty());
        assert_eq!(deletions, [ScramMechanism::Sha512]);

        let quota = scram_changes(&pairs("producer_byte_rate=1024"), &[]).unwrap_err();
        assert!(
            quota.to_string().contains("not a SCRAM credential"),
            "{quota}"
        );
        let bad = scram_changes(&pairs("SCRAM-SHA-256=[iterations=many]"), &[]).unwrap_err();
        assert!(bad.to_string().contains("whole number"), "{bad}");
        let salt = scram_changes(&pairs("SCRAM-SHA-256=[salt=abc]"), &[]).unwrap_err();
        assert!(salt.to_string().contains("expected [iterations"), "{salt}");
        let both = scram_changes(
            &pairs("SCRAM-SHA-256=[password=x]"),
            &["SCRAM-SHA-256".to_string()],
        )
        .unwrap_err();
        assert!(
            both.to_string().contains("both added and deleted"),
            "{both}"
        );
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let change = ScramChange::Upsert {
            mechanism: ScramMechanism::Sha512,
            iterations: 4096,
            password: "hunter2".to_string(),
        };
        let shown = format!("{change:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(shown, "Upsert(SCRAM-SHA-512, iterations=4096)");
    }

    #[test]
    fn entries_print_as_kafka_configs_prints_them() {
        let entry = ConfigEntry {
            name: "retention.ms".to_string(),
            value: Some("3600000".to_string()),
            source: "DYNAMIC_TOPIC_CONFIG".to_string(),
            is_read_only: false,
            is_sensitive: false,
            synonyms: vec![
                ConfigSynonym {
                    name: "retention.ms".to_string(),
                    value: Some("3600000".to_string()),
                    source: "DYNAMIC_TOPIC_CONFIG".to_string(),
                },
                ConfigSynonym {
                    name: "log.retention.hours".to_string(),
                    value: Some("168".to_string()),
                    source: "DEFAULT_CONFIG".to_string(),
                },
            ],
        };
        assert_eq!(
            entry.kafka_line(),
            "retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=3600000, \
             DEFAULT_CONFIG:log.retention.hours=168}"
        );
        let user = UserCredentials {
            user: "alice".to_string(),
            credentials: vec![ScramCredential {
                mechanism: ScramMechanism::Sha256,
                iterations: 8192,
            }],
        };
        assert_eq!(
            user.kafka_line(),
            "SCRAM credential configs for user-principal 'alice' are SCRAM-SHA-256=iterations=8192"
        );
    }
}
