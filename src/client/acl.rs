//! ACLs in Kafka's model, and how kafka-acls.sh turns its flags into them:
//! the resources, the principals and hosts, the --producer and --consumer
//! sets, and the operations each resource type supports. The calls go
//! through librdkafka (CreateAcls, DescribeAcls, DeleteAcls), so they honour
//! the same -X security settings as every other tool; ACLs on USER and
//! DELEGATION_TOKEN resources, which librdkafka cannot name, go over the
//! tools' own connection (`client::wire`, with the same settings).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest, DescribeAclsRequest};
use kafka_protocol::protocol::StrBytes;

use super::admin::Admin;
use super::error::{ClientError, Result};
use super::native;
use super::wire::{self, Connection};
use crate::security::KafkaPrincipal;

/// Kafka's name for the one cluster resource.
pub const CLUSTER_NAME: &str = "kafka-cluster";

/// The host an ACL applies from when none is given: any.
pub const WILDCARD_HOST: &str = "*";

/// Defines an enum of Kafka's ACL vocabulary with its wire codes (which
/// librdkafka's enums share) and Kafka's upper-case names.
macro_rules! kafka_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $($variant,)*
        }

        impl $name {
            /// The code on the wire, as Kafka and librdkafka number it.
            pub fn code(self) -> u32 {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// The value with this code; an unknown code reads as Unknown.
            pub fn from_code(code: u32) -> $name {
                match code {
                    $($code => $name::$variant,)*
                    _ => $name::Unknown,
                }
            }

            /// Kafka's name, as its `toString` writes it.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

kafka_enum! {
    /// Kafka's resource types (librdkafka's ACL calls name those up to
    /// TRANSACTIONAL_ID; DELEGATION_TOKEN and USER are beyond them).
    ResourceType {
        Unknown = 0, "UNKNOWN";
        Any = 1, "ANY";
        Topic = 2, "TOPIC";
        Group = 3, "GROUP";
        Cluster = 4, "CLUSTER";
        TransactionalId = 5, "TRANSACTIONAL_ID";
        DelegationToken = 6, "DELEGATION_TOKEN";
        User = 7, "USER";
    }
}

kafka_enum! {
    /// How a resource name matches: LITERAL and PREFIXED patterns; ANY and
    /// MATCH only in filters.
    PatternType {
        Unknown = 0, "UNKNOWN";
        Any = 1, "ANY";
        Match = 2, "MATCH";
        Literal = 3, "LITERAL";
        Prefixed = 4, "PREFIXED";
    }
}

kafka_enum! {
    /// What an ACL allows or denies (CREATE_TOKENS and DESCRIBE_TOKENS
    /// apply only to USER resources).
    AclOperation {
        Unknown = 0, "UNKNOWN";
        Any = 1, "ANY";
        All = 2, "ALL";
        Read = 3, "READ";
        Write = 4, "WRITE";
        Create = 5, "CREATE";
        Delete = 6, "DELETE";
        Alter = 7, "ALTER";
        Describe = 8, "DESCRIBE";
        ClusterAction = 9, "CLUSTER_ACTION";
        DescribeConfigs = 10, "DESCRIBE_CONFIGS";
        AlterConfigs = 11, "ALTER_CONFIGS";
        IdempotentWrite = 12, "IDEMPOTENT_WRITE";
        CreateTokens = 13, "CREATE_TOKENS";
        DescribeTokens = 14, "DESCRIBE_TOKENS";
    }
}

kafka_enum! {
    /// Whether an ACL allows or denies.
    Permission {
        Unknown = 0, "UNKNOWN";
        Any = 1, "ANY";
        Deny = 2, "DENY";
        Allow = 3, "ALLOW";
    }
}

impl AclOperation {
    /// The operations an ACL may name, under the names kafka-acls.sh's help
    /// gives them.
    pub const NAMED: [(AclOperation, &'static str); 13] = [
        (AclOperation::All, "All"),
        (AclOperation::Read, "Read"),
        (AclOperation::Write, "Write"),
        (AclOperation::Create, "Create"),
        (AclOperation::Delete, "Delete"),
        (AclOperation::Alter, "Alter"),
        (AclOperation::Describe, "Describe"),
        (AclOperation::ClusterAction, "ClusterAction"),
        (AclOperation::DescribeConfigs, "DescribeConfigs"),
        (AclOperation::AlterConfigs, "AlterConfigs"),
        (AclOperation::IdempotentWrite, "IdempotentWrite"),
        (AclOperation::CreateTokens, "CreateTokens"),
        (AclOperation::DescribeTokens, "DescribeTokens"),
    ];
}

/// Reads an operation as kafka-acls.sh does, case-insensitively, in its
/// own spelling (IdempotentWrite) or the wire name's (IDEMPOTENT_WRITE).
impl FromStr for AclOperation {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<AclOperation, String> {
        let folded: String = s
            .trim()
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        AclOperation::NAMED
            .iter()
            .find(|(_, name)| name.to_ascii_lowercase() == folded)
            .map(|(op, _)| *op)
            .ok_or_else(|| {
                let names: Vec<&str> = AclOperation::NAMED.iter().map(|(_, n)| *n).collect();
                format!(
                    "unknown operation '{s}' (valid operations: {})",
                    names.join(", ")
                )
            })
    }
}

impl ResourceType {
    /// The operations an ACL on this resource type may name besides ALL,
    /// as Kafka's `AclEntry.supportedOperations`.
    pub fn supported_operations(self) -> &'static [AclOperation] {
        use AclOperation::*;
        match self {
            ResourceType::Topic => &[
                Read,
                Write,
                Create,
                Describe,
                Delete,
                Alter,
                DescribeConfigs,
                AlterConfigs,
            ],
            // DESCRIBE_CONFIGS and ALTER_CONFIGS since KIP-848 group configs.
            ResourceType::Group => &[Read, Describe, Delete, DescribeConfigs, AlterConfigs],
            ResourceType::Cluster => &[
                Create,
                ClusterAction,
                DescribeConfigs,
                AlterConfigs,
                IdempotentWrite,
                Alter,
                Describe,
            ],
            ResourceType::TransactionalId => &[Describe, Write],
            ResourceType::DelegationToken => &[Describe],
            ResourceType::User => &[CreateTokens, DescribeTokens],
            ResourceType::Unknown | ResourceType::Any => &[],
        }
    }
}

/// A resource pattern, or with ANY or MATCH a filter of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ResourcePattern {
    pub resource_type: ResourceType,
    /// None only in a filter, for any name.
    pub name: Option<String>,
    pub pattern_type: PatternType,
}

impl ResourcePattern {
    pub fn new(resource_type: ResourceType, name: &str, pattern_type: PatternType) -> Self {
        ResourcePattern {
            resource_type,
            name: Some(name.to_string()),
            pattern_type,
        }
    }

    /// The filter that matches every ACL.
    pub fn any() -> Self {
        ResourcePattern {
            resource_type: ResourceType::Any,
            name: None,
            pattern_type: PatternType::Any,
        }
    }

    fn cluster() -> Self {
        ResourcePattern::new(ResourceType::Cluster, CLUSTER_NAME, PatternType::Literal)
    }
}

impl fmt::Display for ResourcePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ResourcePattern(resourceType={}, name={}, patternType={})",
            self.resource_type,
            self.name.as_deref().unwrap_or("<any>"),
            self.pattern_type
        )
    }
}

/// Who may (or may not) do what from where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AccessControlEntry {
    pub principal: String,
    pub host: String,
    pub operation: AclOperation,
    pub permission_type: Permission,
}

impl fmt::Display for AccessControlEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(principal={}, host={}, operation={}, permissionType={})",
            self.principal, self.host, self.operation, self.permission_type
        )
    }
}

/// An ACL: an entry on a resource pattern.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct AclBinding {
    #[serde(flatten)]
    pub pattern: ResourcePattern,
    #[serde(flatten)]
    pub entry: AccessControlEntry,
}

/// Which ACLs a DescribeAcls or DeleteAcls call means: a resource pattern
/// filter and an entry whose None fields, ANY operation and ANY permission
/// match everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclBindingFilter {
    pub pattern: ResourcePattern,
    pub principal: Option<String>,
    pub host: Option<String>,
    pub operation: AclOperation,
    pub permission_type: Permission,
}

impl AclBindingFilter {
    /// Every ACL on resources the pattern filter matches.
    pub fn on(pattern: ResourcePattern) -> Self {
        AclBindingFilter {
            pattern,
            principal: None,
            host: None,
            operation: AclOperation::Any,
            permission_type: Permission::Any,
        }
    }

    /// Exactly `entry` on resources the pattern filter matches.
    pub fn exactly(pattern: ResourcePattern, entry: &AccessControlEntry) -> Self {
        AclBindingFilter {
            pattern,
            principal: Some(entry.principal.clone()),
            host: Some(entry.host.clone()),
            operation: entry.operation,
            permission_type: entry.permission_type,
        }
    }
}

/// What kafka-acls.sh does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AclAction {
    Add,
    Remove,
    List,
}

/// The flags of an acl-admin command, before they become ACLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AclSpec {
    pub action: AclAction,
    pub topics: Vec<String>,
    pub groups: Vec<String>,
    pub transactional_ids: Vec<String>,
    /// USER resources (--user-principal), as Type:name.
    pub user_principals: Vec<String>,
    /// DELEGATION_TOKEN resources, by token id.
    pub delegation_tokens: Vec<String>,
    pub cluster: bool,
    pub pattern_type: PatternType,
    /// Empty means ALL, kafka-acls.sh's default.
    pub operations: Vec<AclOperation>,
    pub allow_principals: Vec<String>,
    pub deny_principals: Vec<String>,
    pub allow_hosts: Vec<String>,
    pub deny_hosts: Vec<String>,
    /// --list's principal filter.
    pub principals: Vec<String>,
    pub producer: bool,
    pub consumer: bool,
    pub idempotent: bool,
}

impl Default for AclSpec {
    fn default() -> Self {
        AclSpec {
            action: AclAction::List,
            topics: Vec::new(),
            groups: Vec::new(),
            transactional_ids: Vec::new(),
            user_principals: Vec::new(),
            delegation_tokens: Vec::new(),
            cluster: false,
            pattern_type: PatternType::Literal,
            operations: Vec::new(),
            allow_principals: Vec::new(),
            deny_principals: Vec::new(),
            allow_hosts: Vec::new(),
            deny_hosts: Vec::new(),
            principals: Vec::new(),
            producer: false,
            consumer: false,
            idempotent: false,
        }
    }
}

/// ACL entries per resource pattern (or pattern filter), in order.
pub type ResourceAcls = BTreeMap<ResourcePattern, BTreeSet<AccessControlEntry>>;

fn invalid(message: impl Into<String>) -> ClientError {
    ClientError::Invalid(message.into())
}

fn principals(values: &[String]) -> Result<Vec<String>> {
    values
        .iter()
        .map(|p| {
            KafkaPrincipal::from_str(p)
                .map(|p| p.to_string())
                .map_err(|e| invalid(e.to_string()))
        })
        .collect()
}

/// The hosts for a principal flag: the given ones, else any host when
/// principals were given, as kafka-acls.sh defaults them.
fn hosts(given: &[String], principals: &[String]) -> Vec<String> {
    if !given.is_empty() {
        given.iter().map(|h| h.trim().to_string()).collect()
    } else if !principals.is_empty() {
        vec![WILDCARD_HOST.to_string()]
    } else {
        Vec::new()
    }
}

impl AclSpec {
    /// The checks kafka-acls.sh makes on its flags before connecting.
    pub fn validate(&self) -> Result<()> {
        let list = self.action == AclAction::List;
        if list
            && (self.producer
                || self.consumer
                || !self.allow_principals.is_empty()
                || !self.deny_principals.is_empty()
                || !self.allow_hosts.is_empty()
                || !self.deny_hosts.is_empty())
        {
            return Err(invalid(
                "--list takes no --producer, --consumer, --allow-principal, --deny-principal, \
                 --allow-host or --deny-host (use --principal to list one principal's ACLs)",
            ));
        }
        if !self.principals.is_empty() && !list {
            return Err(invalid("--principal is only available with --list"));
        }
        if (self.producer || self.consumer)
            && (!self.operations.is_empty()
                || !self.deny_principals.is_empty()
                || !self.deny_hosts.is_empty())
        {
            return Err(invalid(
                "--producer and --consumer choose the operations themselves and only allow: \
                 no --operation, --deny-principal or --deny-host with them",
            ));
        }
        if self.producer && self.topics.is_empty() {
            return Err(invalid("with --producer you must specify a --topic"));
        }
        if self.idempotent && !self.producer {
            return Err(invalid("--idempotent is only available with --producer"));
        }
        if self.consumer
            && (self.topics.is_empty()
                || self.groups.is_empty()
                || (!self.producer && (self.cluster || !self.transactional_ids.is_empty())))
        {
            return Err(invalid(
                "with --consumer you must specify a --topic and a --group, and no --cluster or \
                 --transactional-id",
            ));
        }
        if self.action == AclAction::Add
            && !matches!(
                self.pattern_type,
                PatternType::Literal | PatternType::Prefixed
            )
        {
            return Err(invalid(format!(
                "--resource-pattern-type {} is a filter, not valid when adding ACLs (use literal or prefixed)",
                self.pattern_type.name().to_ascii_lowercase()
            )));
        }
        if self.cluster && self.pattern_type == PatternType::Prefixed {
            return Err(invalid(
                "--cluster names the one cluster resource literally: not with --resource-pattern-type prefixed",
            ));
        }
        principals(&self.allow_principals)?;
        principals(&self.deny_principals)?;
        principals(&self.principals)?;
        principals(&self.user_principals)?;
        Ok(())
    }

    /// The resource patterns (or filters) the flags name.
    fn resource_filters(&self) -> Vec<ResourcePattern> {
        let p = self.pattern_type;
        let mut filters: Vec<ResourcePattern> = Vec::new();
        let named = |kind, names: &[String]| -> Vec<ResourcePattern> {
            names
                .iter()
                .map(|n| ResourcePattern::new(kind, n.trim(), p))
                .collect()
        };
        filters.extend(named(ResourceType::Topic, &self.topics));
        // The cluster is one literal resource, which the ANY and MATCH
        // filters match too.
        if self.cluster || self.idempotent {
            filters.push(ResourcePattern::cluster());
        }
        filters.extend(named(ResourceType::Group, &self.groups));
        filters.extend(named(
            ResourceType::TransactionalId,
            &self.transactional_ids,
        ));
        // A user resource is named by its principal, written as Kafka
        // writes it (checked by `validate`).
        let users: Vec<String> = self
            .user_principals
            .iter()
            .map(|u| KafkaPrincipal::from_str(u).map_or_else(|_| u.clone(), |p| p.to_string()))
            .collect();
        filters.extend(named(ResourceType::User, &users));
        filters.extend(named(
            ResourceType::DelegationToken,
            &self.delegation_tokens,
        ));
        filters
    }

    /// The entries for `operations` from the principal and host flags.
    fn entries(&self, operations: &[AclOperation]) -> Result<BTreeSet<AccessControlEntry>> {
        let allowed = principals(&self.allow_principals)?;
        let denied = principals(&self.deny_principals)?;
        let mut entries = BTreeSet::new();
        for (principals, hosts, permission_type) in [
            (
                &allowed,
                hosts(&self.allow_hosts, &allowed),
                Permission::Allow,
            ),
            (&denied, hosts(&self.deny_hosts, &denied), Permission::Deny),
        ] {
            for principal in principals {
                for &operation in operations {
                    for host in &hosts {
                        entries.insert(AccessControlEntry {
                            principal: principal.clone(),
                            host: host.clone(),
                            operation,
                            permission_type,
                        });
                    }
                }
            }
        }
        Ok(entries)
    }

    /// Each named resource with the entries the flags give it, as
    /// kafka-acls.sh's getResourceFilterToAcls: the --producer and
    /// --consumer sets, or else --operation; an empty set (no principal
    /// given) means every ACL of the resource when removing.
    pub fn resource_acls(&self) -> Result<ResourceAcls> {
        let filters = self.resource_filters();
        if filters.is_empty() {
            return Err(invalid(
                "you must provide at least one resource: --topic, --group, --transactional-id, --cluster, --user-principal or --delegation-token",
            ));
        }
        let mut acls = ResourceAcls::new();
        if !self.producer && !self.consumer {
            let operations = if self.operations.is_empty() {
                vec![AclOperation::All]
            } else {
                self.operations.clone()
            };
            let entries = self.entries(&operations)?;
            for f in &filters {
                acls.insert(f.clone(), entries.clone());
            }
        }
        if self.producer {
            use AclOperation::*;
            for f in &filters {
                let operations: &[AclOperation] = match f.resource_type {
                    ResourceType::Topic => &[Write, Describe, Create],
                    ResourceType::TransactionalId => &[Write, Describe],
                    _ => continue,
                };
                acls.insert(f.clone(), self.entries(operations)?);
            }
            if self.idempotent {
                acls.insert(
                    ResourcePattern::cluster(),
                    self.entries(&[IdempotentWrite])?,
                );
            }
        }
        if self.consumer {
            use AclOperation::*;
            for f in &filters {
                let operations: &[AclOperation] = match f.resource_type {
                    ResourceType::Topic => &[Read, Describe],
                    ResourceType::Group => &[Read],
                    _ => continue,
                };
                acls.entry(f.clone())
                    .or_default()
                    .extend(self.entries(operations)?);
            }
        }
        for (resource, entries) in &acls {
            let supported = resource.resource_type.supported_operations();
            if entries
                .iter()
                .any(|e| e.operation != AclOperation::All && !supported.contains(&e.operation))
            {
                let mut names: Vec<&str> = supported.iter().map(|o| o.name()).collect();
                names.push(AclOperation::All.name());
                return Err(invalid(format!(
                    "ResourceType {} only supports operations {}",
                    resource.resource_type,
                    names.join(", ")
                )));
            }
        }
        Ok(acls)
    }

    /// The ACLs --add creates.
    pub fn bindings_to_add(&self) -> Result<Vec<AclBinding>> {
        let acls = self.resource_acls()?;
        if acls.values().any(BTreeSet::is_empty) {
            return Err(invalid(
                "you must specify one of --allow-principal, --deny-principal when adding ACLs",
            ));
        }
        Ok(acls
            .into_iter()
            .flat_map(|(pattern, entries)| {
                entries.into_iter().map(move |entry| AclBinding {
                    pattern: pattern.clone(),
                    entry,
                })
            })
            .collect())
    }

    /// The filters --remove deletes with: the given entries on each named
    /// resource, or every ACL on it when no principal was given.
    pub fn removal_filters(&self) -> Result<Vec<AclBindingFilter>> {
        Ok(self
            .resource_acls()?
            .into_iter()
            .flat_map(|(pattern, entries)| {
                if entries.is_empty() {
                    vec![AclBindingFilter::on(pattern)]
                } else {
                    entries
                        .iter()
                        .map(|e| AclBindingFilter::exactly(pattern.clone(), e))
                        .collect()
                }
            })
            .collect())
    }

    /// What --remove asks before it deletes, in kafka-acls.sh's words.
    pub fn removal_question(&self) -> Result<String> {
        let acls = self.resource_acls()?;
        let questions: Vec<String> = acls
            .iter()
            .map(|(pattern, entries)| {
                let filter = format!("{pattern}").replacen("ResourcePattern(", "ResourcePatternFilter(", 1);
                if entries.is_empty() {
                    format!("Are you sure you want to delete all ACLs for resource filter `{filter}`?")
                } else {
                    let lines: Vec<String> = entries.iter().map(|e| format!("\t{e}")).collect();
                    format!(
                        "Are you sure you want to remove ACLs:\n{}\nfrom resource filter `{filter}`?",
                        lines.join("\n")
                    )
                }
            })
            .collect();
        Ok(questions.join("\n"))
    }

    /// The filters --list describes with: the named resources, or every
    /// ACL when none is named.
    pub fn list_filters(&self) -> Vec<AclBindingFilter> {
        let filters = self.resource_filters();
        if filters.is_empty() {
            vec![AclBindingFilter::on(ResourcePattern::any())]
        } else {
            filters.into_iter().map(AclBindingFilter::on).collect()
        }
    }

    /// What --list shows of the ACLs found: with --principal, only those
    /// principals' ACLs.
    pub fn listed(&self, found: Vec<AclBinding>) -> Result<Vec<AclBinding>> {
        let wanted = principals(&self.principals)?;
        Ok(found
            .into_iter()
            .filter(|b| wanted.is_empty() || wanted.contains(&b.entry.principal))
            .collect())
    }
}

/// Whether librdkafka cannot name this resource type, and the ACL must
/// go over the tools' own connection.
fn beyond_librdkafka(resource_type: ResourceType) -> bool {
    matches!(
        resource_type,
        ResourceType::User | ResourceType::DelegationToken
    )
}

impl Admin {
    /// The tools' own connection, for what librdkafka cannot send.
    async fn wire_connection(&self) -> Result<Connection> {
        if !wire::supports(&self.settings) {
            return Err(invalid(
                "ACLs on --user-principal and --delegation-token resources go over acl-admin's own \
                 connection, which does not support these security settings",
            ));
        }
        Connection::to_bootstrap(&self.settings).await
    }

    /// CreateAcls: every binding, or the first the cluster refused.
    pub async fn create_acls(&self, bindings: Vec<AclBinding>) -> Result<()> {
        let timeout = self.settings.timeout;
        let (wired, native): (Vec<AclBinding>, Vec<AclBinding>) = bindings
            .into_iter()
            .partition(|b| beyond_librdkafka(b.pattern.resource_type));
        if !native.is_empty() {
            self.blocking(move |_, handle| native::create_acls(handle, &native, timeout))
                .await?;
        }
        if !wired.is_empty() {
            create_acls_over_wire(&mut self.wire_connection().await?, &wired).await?;
        }
        Ok(())
    }

    /// DescribeAcls for each filter, the bindings found once each, sorted.
    ///
    /// Over the tools' own connection whenever it can honour the security
    /// settings: librdkafka drops the error code of a DescribeAcls answer
    /// (a refusal such as SECURITY_DISABLED would read as no ACLs) and
    /// reads USER and DELEGATION_TOKEN resources as UNKNOWN.
    pub async fn describe_acls(&self, filters: Vec<AclBindingFilter>) -> Result<Vec<AclBinding>> {
        let mut found = BTreeSet::new();
        if wire::supports(&self.settings)
            || filters
                .iter()
                .any(|f| beyond_librdkafka(f.pattern.resource_type))
        {
            let mut connection = self.wire_connection().await?;
            for filter in &filters {
                found.extend(describe_acls_over_wire(&mut connection, filter).await?);
            }
        } else {
            let timeout = self.settings.timeout;
            found = self
                .blocking(move |_, handle| {
                    let mut found = BTreeSet::new();
                    for filter in &filters {
                        found.extend(native::describe_acls(handle, filter, timeout)?);
                    }
                    Ok(found)
                })
                .await?;
        }
        Ok(found.into_iter().collect())
    }

    /// DeleteAcls: the bindings the filters matched and the cluster deleted.
    pub async fn delete_acls(&self, filters: Vec<AclBindingFilter>) -> Result<Vec<AclBinding>> {
        let timeout = self.settings.timeout;
        let (wired, native): (Vec<AclBindingFilter>, Vec<AclBindingFilter>) = filters
            .into_iter()
            .partition(|f| beyond_librdkafka(f.pattern.resource_type));
        let mut deleted: BTreeSet<AclBinding> = if native.is_empty() {
            BTreeSet::new()
        } else {
            self.blocking(move |_, handle| {
                Ok(native::delete_acls(handle, &native, timeout)?
                    .into_iter()
                    .collect::<BTreeSet<_>>())
            })
            .await?
        };
        if !wired.is_empty() {
            deleted
                .extend(delete_acls_over_wire(&mut self.wire_connection().await?, &wired).await?);
        }
        Ok(deleted.into_iter().collect())
    }
}

fn text(s: &Option<String>) -> Option<StrBytes> {
    s.as_ref().map(|s| StrBytes::from_string(s.clone()))
}

fn code(c: i8) -> u32 {
    u32::try_from(c).unwrap_or(0)
}

/// CreateAcls over the tools' own connection.
async fn create_acls_over_wire(connection: &mut Connection, bindings: &[AclBinding]) -> Result<()> {
    let creations = bindings
        .iter()
        .map(|b| {
            AclCreation::default()
                .with_resource_type(b.pattern.resource_type.code() as i8)
                .with_resource_name(StrBytes::from_string(
                    b.pattern.name.clone().unwrap_or_default(),
                ))
                .with_resource_pattern_type(b.pattern.pattern_type.code() as i8)
                .with_principal(StrBytes::from_string(b.entry.principal.clone()))
                .with_host(StrBytes::from_string(b.entry.host.clone()))
                .with_operation(b.entry.operation.code() as i8)
                .with_permission_type(b.entry.permission_type.code() as i8)
        })
        .collect();
    let response = connection
        .call(&CreateAclsRequest::default().with_creations(creations), 1)
        .await?;
    match response.results.iter().find(|r| r.error_code != 0) {
        Some(r) => Err(ClientError::Protocol {
            context: "cannot create ACLs".to_string(),
            code: r.error_code,
            message: r.error_message.as_ref().map(|m| m.to_string()),
        }),
        None => Ok(()),
    }
}

/// DeleteAcls over the tools' own connection: the bindings deleted.
async fn delete_acls_over_wire(
    connection: &mut Connection,
    filters: &[AclBindingFilter],
) -> Result<Vec<AclBinding>> {
    let request = DeleteAclsRequest::default().with_filters(
        filters
            .iter()
            .map(|f| {
                DeleteAclsFilter::default()
                    .with_resource_type_filter(f.pattern.resource_type.code() as i8)
                    .with_resource_name_filter(text(&f.pattern.name))
                    .with_pattern_type_filter(f.pattern.pattern_type.code() as i8)
                    .with_principal_filter(text(&f.principal))
                    .with_host_filter(text(&f.host))
                    .with_operation(f.operation.code() as i8)
                    .with_permission_type(f.permission_type.code() as i8)
            })
            .collect(),
    );
    let response = connection.call(&request, 1).await?;
    let mut deleted = Vec::new();
    for result in &response.filter_results {
        if result.error_code != 0 {
            return Err(ClientError::Protocol {
                context: "cannot delete ACLs".to_string(),
                code: result.error_code,
                message: result.error_message.as_ref().map(|m| m.to_string()),
            });
        }
        deleted.extend(result.matching_acls.iter().map(|a| AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::from_code(code(a.resource_type)),
                name: Some(a.resource_name.to_string()),
                pattern_type: PatternType::from_code(code(a.pattern_type)),
            },
            entry: AccessControlEntry {
                principal: a.principal.to_string(),
                host: a.host.to_string(),
                operation: AclOperation::from_code(code(a.operation)),
                permission_type: Permission::from_code(code(a.permission_type)),
            },
        }));
    }
    Ok(deleted)
}

/// DescribeAcls over the tools' own connection, for its error code: the
/// bindings it finds, or the cluster's refusal.
async fn describe_acls_over_wire(
    connection: &mut Connection,
    filter: &AclBindingFilter,
) -> Result<Vec<AclBinding>> {
    let request = DescribeAclsRequest::default()
        .with_resource_type_filter(filter.pattern.resource_type.code() as i8)
        .with_resource_name_filter(text(&filter.pattern.name))
        .with_pattern_type_filter(filter.pattern.pattern_type.code() as i8)
        .with_principal_filter(text(&filter.principal))
        .with_host_filter(text(&filter.host))
        .with_operation(filter.operation.code() as i8)
        .with_permission_type(filter.permission_type.code() as i8);
    let response = connection.call(&request, 1).await?;
    if response.error_code != 0 {
        return Err(ClientError::Protocol {
            context: "cannot describe ACLs".to_string(),
            code: response.error_code,
            message: response.error_message.map(|m| m.to_string()),
        });
    }
    Ok(response
        .resources
        .iter()
        .flat_map(|r| {
            r.acls.iter().map(move |a| AclBinding {
                pattern: ResourcePattern {
                    resource_type: ResourceType::from_code(code(r.resource_type)),
                    name: Some(r.resource_name.to_string()),
                    pattern_type: PatternType::from_code(code(r.pattern_type)),
                },
                entry: AccessControlEntry {
                    principal: a.principal.to_string(),
                    host: a.host.to_string(),
                    operation: AclOperation::from_code(code(a.operation)),
                    permission_type: Permission::from_code(code(a.permission_type)),
                },
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use AclOperation::*;

    fn spec(action: AclAction) -> AclSpec {
        AclSpec {
            action,
            ..AclSpec::default()
        }
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    /// (resource type, name, pattern, principal, host, operation, permission) per binding.
    fn rows(bindings: &[AclBinding]) -> Vec<String> {
        bindings
            .iter()
            .map(|b| {
                format!(
                    "{} {} {} {} {} {} {}",
                    b.pattern.resource_type,
                    b.pattern.name.as_deref().unwrap_or("-"),
                    b.pattern.pattern_type,
                    b.entry.principal,
                    b.entry.host,
                    b.entry.operation,
                    b.entry.permission_type
                )
            })
            .collect()
    }

    #[test]
    fn operations_are_read_case_insensitively_in_either_spelling() {
        assert_eq!("Read".parse(), Ok(Read));
        assert_eq!("idempotentwrite".parse(), Ok(IdempotentWrite));
        assert_eq!("IDEMPOTENT_WRITE".parse(), Ok(IdempotentWrite));
        assert_eq!("describeConfigs".parse(), Ok(DescribeConfigs));
        assert_eq!("all".parse(), Ok(All));
        let bad = "Reed".parse::<AclOperation>().unwrap_err();
        assert!(bad.starts_with("unknown operation 'Reed'"), "{bad}");
        assert!(bad.contains("IdempotentWrite"), "{bad}");
        assert!(
            "Any".parse::<AclOperation>().is_err(),
            "a filter value, not an operation"
        );
    }

    #[test]
    fn add_crosses_principals_hosts_and_operations_with_any_host_by_default() {
        let add = AclSpec {
            topics: strings(&["orders"]),
            allow_principals: strings(&["User:alice", "User:bob"]),
            deny_principals: strings(&["User:mallory"]),
            deny_hosts: strings(&["10.0.0.1"]),
            operations: vec![Read, Describe],
            ..spec(AclAction::Add)
        };
        add.validate().unwrap();
        assert_eq!(
            rows(&add.bindings_to_add().unwrap()),
            [
                "TOPIC orders LITERAL User:alice * READ ALLOW",
                "TOPIC orders LITERAL User:alice * DESCRIBE ALLOW",
                "TOPIC orders LITERAL User:bob * READ ALLOW",
                "TOPIC orders LITERAL User:bob * DESCRIBE ALLOW",
                "TOPIC orders LITERAL User:mallory 10.0.0.1 READ DENY",
                "TOPIC orders LITERAL User:mallory 10.0.0.1 DESCRIBE DENY",
            ]
        );
        let all = AclSpec {
            cluster: true,
            allow_principals: strings(&["User:admin"]),
            ..spec(AclAction::Add)
        };
        assert_eq!(
            rows(&all.bindings_to_add().unwrap()),
            ["CLUSTER kafka-cluster LITERAL User:admin * ALL ALLOW"],
            "the operation defaults to All"
        );
    }

    #[test]
    fn producer_and_consumer_expand_as_kafka_acls_does() {
        let producer = AclSpec {
            topics: strings(&["orders"]),
            transactional_ids: strings(&["tx-"]),
            allow_principals: strings(&["User:alice"]),
            pattern_type: PatternType::Prefixed,
            producer: true,
            idempotent: true,
            ..spec(AclAction::Add)
        };
        producer.validate().unwrap();
        assert_eq!(
            rows(&producer.bindings_to_add().unwrap()),
            [
                "TOPIC orders PREFIXED User:alice * WRITE ALLOW",
                "TOPIC orders PREFIXED User:alice * CREATE ALLOW",
                "TOPIC orders PREFIXED User:alice * DESCRIBE ALLOW",
                "CLUSTER kafka-cluster LITERAL User:alice * IDEMPOTENT_WRITE ALLOW",
                "TRANSACTIONAL_ID tx- PREFIXED User:alice * WRITE ALLOW",
                "TRANSACTIONAL_ID tx- PREFIXED User:alice * DESCRIBE ALLOW",
            ]
        );
        let consumer = AclSpec {
            topics: strings(&["orders"]),
            groups: strings(&["audit"]),
            allow_principals: strings(&["User:bob"]),
            consumer: true,
            ..spec(AclAction::Add)
        };
        consumer.validate().unwrap();
        assert_eq!(
            rows(&consumer.bindings_to_add().unwrap()),
            [
                "TOPIC orders LITERAL User:bob * READ ALLOW",
                "TOPIC orders LITERAL User:bob * DESCRIBE ALLOW",
                "GROUP audit LITERAL User:bob * READ ALLOW",
            ]
        );
        let both = AclSpec {
            producer: true,
            ..consumer.clone()
        };
        assert_eq!(
            rows(&both.bindings_to_add().unwrap()),
            [
                "TOPIC orders LITERAL User:bob * READ ALLOW",
                "TOPIC orders LITERAL User:bob * WRITE ALLOW",
                "TOPIC orders LITERAL User:bob * CREATE ALLOW",
                "TOPIC orders LITERAL User:bob * DESCRIBE ALLOW",
                "GROUP audit LITERAL User:bob * READ ALLOW",
            ],
            "--producer and --consumer together merge their sets on the topic"
        );
    }

    #[test]
    fn flag_combinations_kafka_refuses_are_refused() {
        let base = AclSpec {
            topics: strings(&["orders"]),
            allow_principals: strings(&["User:alice"]),
            ..spec(AclAction::Add)
        };
        let refused = |s: AclSpec, why: &str| {
            let e = s.validate().unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        };
        refused(
            AclSpec {
                producer: true,
                operations: vec![Read],
                ..base.clone()
            },
            "no --operation",
        );
        refused(
            AclSpec {
                producer: true,
                topics: vec![],
                groups: strings(&["g"]),
                ..base.clone()
            },
            "with --producer you must specify a --topic",
        );
        refused(
            AclSpec {
                idempotent: true,
                ..base.clone()
            },
            "--idempotent is only available with --producer",
        );
        refused(
            AclSpec {
                consumer: true,
                ..base.clone()
            },
            "with --consumer you must specify a --topic and a --group",
        );
        refused(
            AclSpec {
                consumer: true,
                groups: strings(&["g"]),
                cluster: true,
                ..base.clone()
            },
            "no --cluster",
        );
        refused(
            AclSpec {
                pattern_type: PatternType::Match,
                ..base.clone()
            },
            "not valid when adding ACLs",
        );
        refused(
            AclSpec {
                principals: strings(&["User:alice"]),
                ..base.clone()
            },
            "--principal is only available with --list",
        );
        refused(
            AclSpec {
                allow_principals: strings(&["alice"]),
                ..base.clone()
            },
            "invalid principal 'alice'",
        );
        refused(
            AclSpec {
                action: AclAction::List,
                ..base.clone()
            },
            "--list takes no",
        );
        let group_write = AclSpec {
            topics: vec![],
            groups: strings(&["audit"]),
            operations: vec![Write],
            ..base.clone()
        };
        group_write.validate().unwrap();
        assert_eq!(
            group_write.bindings_to_add().unwrap_err().to_string(),
            "ResourceType GROUP only supports operations READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS, ALL"
        );
        let nobody = AclSpec {
            allow_principals: vec![],
            ..base.clone()
        };
        assert!(nobody
            .bindings_to_add()
            .unwrap_err()
            .to_string()
            .contains("--allow-principal"));
        let nothing = AclSpec {
            topics: vec![],
            ..base
        };
        assert!(nothing
            .bindings_to_add()
            .unwrap_err()
            .to_string()
            .contains("at least one resource"));
    }

    #[test]
    fn remove_without_principals_means_every_acl_of_the_resource() {
        let everything = AclSpec {
            topics: strings(&["orders"]),
            ..spec(AclAction::Remove)
        };
        everything.validate().unwrap();
        assert_eq!(
            everything.removal_filters().unwrap(),
            [AclBindingFilter::on(ResourcePattern::new(
                ResourceType::Topic,
                "orders",
                PatternType::Literal
            ))]
        );
        assert_eq!(
            everything.removal_question().unwrap(),
            "Are you sure you want to delete all ACLs for resource filter \
             `ResourcePatternFilter(resourceType=TOPIC, name=orders, patternType=LITERAL)`?"
        );
        let one = AclSpec {
            allow_principals: strings(&["User:alice"]),
            operations: vec![Read],
            pattern_type: PatternType::Match,
            ..everything
        };
        let filters = one.removal_filters().unwrap();
        assert_eq!(filters.len(), 1);
        assert_eq!(filters[0].principal.as_deref(), Some("User:alice"));
        assert_eq!(filters[0].host.as_deref(), Some("*"));
        assert_eq!(filters[0].operation, Read);
        assert_eq!(filters[0].pattern.pattern_type, PatternType::Match);
        assert_eq!(
            one.removal_question().unwrap(),
            "Are you sure you want to remove ACLs:\n\
             \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)\n\
             from resource filter `ResourcePatternFilter(resourceType=TOPIC, name=orders, patternType=MATCH)`?"
        );
    }

    #[test]
    fn list_without_resources_lists_everything() {
        let all = spec(AclAction::List);
        all.validate().unwrap();
        assert_eq!(
            all.list_filters(),
            [AclBindingFilter::on(ResourcePattern::any())]
        );
        let some = AclSpec {
            groups: strings(&["audit"]),
            cluster: true,
            pattern_type: PatternType::Any,
            principals: strings(&["User:bob"]),
            ..all
        };
        some.validate().unwrap();
        let filters: Vec<String> = some
            .list_filters()
            .iter()
            .map(|f| f.pattern.to_string())
            .collect();
        assert_eq!(
            filters,
            [
                "ResourcePattern(resourceType=CLUSTER, name=kafka-cluster, patternType=LITERAL)",
                "ResourcePattern(resourceType=GROUP, name=audit, patternType=ANY)",
            ]
        );
        let binding = |principal: &str| AclBinding {
            pattern: ResourcePattern::new(ResourceType::Group, "audit", PatternType::Literal),
            entry: AccessControlEntry {
                principal: principal.to_string(),
                host: WILDCARD_HOST.to_string(),
                operation: Read,
                permission_type: Permission::Allow,
            },
        };
        assert_eq!(
            some.listed(vec![binding("User:alice"), binding("User:bob")])
                .unwrap(),
            [binding("User:bob")],
            "--principal keeps only that principal's ACLs"
        );
    }
}
