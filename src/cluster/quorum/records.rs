//! The metadata log's records, as KRaft's `__cluster_metadata` holds them:
//! each committed change to the image is a list of records, derived by
//! comparing the image before and after the controller's change, and every
//! node applies them in log order to rebuild the same image.
//!
//! Design differs from Kafka: a topic's record carries the whole topic
//! (partitions, assignment, leaders, ISR, config) rather than Kafka's
//! separate TopicRecord, PartitionRecord, PartitionChangeRecord and
//! ConfigRecord.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cluster::metadata::{BrokerRegistration, MetadataImage, TopicImage};
use crate::config::GroupOverrides;
use crate::quota::QuotaEntity;
use crate::security::acl::AclBinding;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum MetadataRecord {
    /// The cluster id, set once when the quorum first forms.
    ClusterId(String),
    /// A broker registered, or registered again with new endpoints.
    RegisterBroker(BrokerRegistration),
    UnregisterBroker(i32),
    /// A topic created or changed: the whole of it.
    Topic(TopicImage),
    RemoveTopic(String),
    /// Kafka's ProducerIdsRecord: the first producer id not yet reserved.
    ProducerIds(i64),
    /// Kafka's AccessControlEntryRecord: an ACL created, under its id.
    AccessControlEntry(Uuid, AclBinding),
    /// Kafka's RemoveAccessControlEntryRecord.
    RemoveAccessControlEntry(Uuid),
    /// Kafka's UserScramCredentialRecord: one user's credential for one mechanism.
    UserScramCredential {
        user: String,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    },
    /// Kafka's RemoveUserScramCredentialRecord.
    RemoveUserScramCredential {
        user: String,
        mechanism: ScramMechanism,
    },
    /// Kafka's FeatureLevelRecord: a feature finalized at a level (0 removes it).
    FeatureLevel {
        name: String,
        level: i16,
    },
    /// Kafka's ConfigRecord for resource type BROKER: one dynamic config
    /// of a broker ("" for the cluster default) set, or (None) removed.
    BrokerConfig {
        resource: String,
        name: String,
        value: Option<String>,
    },
    /// Kafka's ConfigRecords of one GROUP resource: its whole set of
    /// overrides (empty: it has none left).
    GroupConfig {
        group: String,
        configs: GroupOverrides,
    },
    /// Kafka's ConfigRecords of a CLIENT_METRICS resource: all of a
    /// subscription's configs (none removes it).
    ClientMetrics {
        name: String,
        configs: std::collections::BTreeMap<String, String>,
    },
    /// Kafka's ClientQuotaRecord: one quota of an entity set, or (None) removed.
    ClientQuota {
        entity: QuotaEntity,
        key: String,
        value: Option<f64>,
    },
}

/// The records that turn `before` into `after`.
pub fn delta(before: &MetadataImage, after: &MetadataImage) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    if before.cluster_id != after.cluster_id {
        out.push(MetadataRecord::ClusterId(after.cluster_id.clone()));
    }
    for (id, broker) in &after.brokers {
        if before.brokers.get(id) != Some(broker) {
            out.push(MetadataRecord::RegisterBroker(broker.clone()));
        }
    }
    for id in before.brokers.keys() {
        if !after.brokers.contains_key(id) {
            out.push(MetadataRecord::UnregisterBroker(*id));
        }
    }
    // A topic the change did not touch is still the one `before` holds:
    // comparing pointers first keeps this O(topics), not O(partitions).
    for (name, topic) in &after.topics {
        let same = before
            .topics
            .get(name)
            .is_some_and(|old| Arc::ptr_eq(old, topic) || old == topic);
        if !same {
            out.push(MetadataRecord::Topic(TopicImage::clone(topic)));
        }
    }
    for name in before.topics.keys() {
        if !after.topics.contains_key(name) {
            out.push(MetadataRecord::RemoveTopic(name.clone()));
        }
    }
    if before.next_producer_id != after.next_producer_id {
        out.push(MetadataRecord::ProducerIds(after.next_producer_id));
    }
    for (id, acl) in &after.acls {
        if before.acls.get(id) != Some(acl) {
            out.push(MetadataRecord::AccessControlEntry(*id, acl.clone()));
        }
    }
    for id in before.acls.keys() {
        if !after.acls.contains_key(id) {
            out.push(MetadataRecord::RemoveAccessControlEntry(*id));
        }
    }
    for (user, credentials) in &after.scram_credentials {
        for (mechanism, credential) in credentials {
            if before.scram_credential(user, *mechanism) != Some(credential) {
                out.push(MetadataRecord::UserScramCredential {
                    user: user.clone(),
                    mechanism: *mechanism,
                    credential: credential.clone(),
                });
            }
        }
    }
    for (user, credentials) in &before.scram_credentials {
        for mechanism in credentials.keys() {
            if after.scram_credential(user, *mechanism).is_none() {
                out.push(MetadataRecord::RemoveUserScramCredential {
                    user: user.clone(),
                    mechanism: *mechanism,
                });
            }
        }
    }
    for (name, level) in &after.features {
        if before.features.get(name) != Some(level) {
            out.push(MetadataRecord::FeatureLevel {
                name: name.clone(),
                level: *level,
            });
        }
    }
    for name in before.features.keys() {
        if !after.features.contains_key(name) {
            out.push(MetadataRecord::FeatureLevel {
                name: name.clone(),
                level: 0,
            });
        }
    }
    for (resource, configs) in &after.broker_configs {
        let old = before.broker_configs.get(resource);
        for (name, value) in configs {
            if old.and_then(|o| o.get(name)) != Some(value) {
                out.push(MetadataRecord::BrokerConfig {
                    resource: resource.clone(),
                    name: name.clone(),
                    value: Some(value.clone()),
                });
            }
        }
    }
    for (entity, values) in &after.client_quotas {
        let old = before.client_quotas.get(entity);
        for (key, value) in values {
            if old.and_then(|o| o.get(key)) != Some(value) {
                out.push(MetadataRecord::ClientQuota {
                    entity: entity.clone(),
                    key: key.clone(),
                    value: Some(*value),
                });
            }
        }
    }
    for (resource, configs) in &before.broker_configs {
        let new = after.broker_configs.get(resource);
        for name in configs.keys() {
            if new.is_none_or(|n| !n.contains_key(name)) {
                out.push(MetadataRecord::BrokerConfig {
                    resource: resource.clone(),
                    name: name.clone(),
                    value: None,
                });
            }
        }
    }
    for (entity, values) in &before.client_quotas {
        let new = after.client_quotas.get(entity);
        for key in values.keys() {
            if new.is_none_or(|n| !n.contains_key(key)) {
                out.push(MetadataRecord::ClientQuota {
                    entity: entity.clone(),
                    key: key.clone(),
                    value: None,
                });
            }
        }
    }
    for (group, configs) in &after.group_configs {
        if before.group_configs.get(group) != Some(configs) {
            out.push(MetadataRecord::GroupConfig {
                group: group.clone(),
                configs: configs.clone(),
            });
        }
    }
    for (name, configs) in &after.client_metrics {
        if before.client_metrics.get(name) != Some(configs) {
            out.push(MetadataRecord::ClientMetrics {
                name: name.clone(),
                configs: configs.clone(),
            });
        }
    }
    for group in before.group_configs.keys() {
        if !after.group_configs.contains_key(group) {
            out.push(MetadataRecord::GroupConfig {
                group: group.clone(),
                configs: GroupOverrides::new(),
            });
        }
    }
    for name in before.client_metrics.keys() {
        if !after.client_metrics.contains_key(name) {
            out.push(MetadataRecord::ClientMetrics {
                name: name.clone(),
                configs: Default::default(),
            });
        }
    }
    out
}

/// Applies one record to the image.
pub fn apply(image: &mut MetadataImage, record: MetadataRecord) {
    match record {
        MetadataRecord::ClusterId(id) => image.cluster_id = id,
        MetadataRecord::RegisterBroker(b) => {
            image.brokers.insert(b.node_id, b);
        }
        MetadataRecord::UnregisterBroker(id) => {
            image.brokers.remove(&id);
        }
        MetadataRecord::Topic(t) => {
            image.insert_topic(t);
        }
        MetadataRecord::RemoveTopic(name) => {
            image.topics.remove(&name);
        }
        MetadataRecord::ProducerIds(next) => image.next_producer_id = next,
        MetadataRecord::AccessControlEntry(id, acl) => {
            image.acls.insert(id, acl);
        }
        MetadataRecord::RemoveAccessControlEntry(id) => {
            image.acls.remove(&id);
        }
        MetadataRecord::UserScramCredential {
            user,
            mechanism,
            credential,
        } => {
            image
                .scram_credentials
                .entry(user)
                .or_default()
                .insert(mechanism, credential);
        }
        MetadataRecord::RemoveUserScramCredential { user, mechanism } => {
            if let Some(credentials) = image.scram_credentials.get_mut(&user) {
                credentials.remove(&mechanism);
                if credentials.is_empty() {
                    image.scram_credentials.remove(&user);
                }
            }
        }
        MetadataRecord::FeatureLevel { name, level: 0 } => {
            image.features.remove(&name);
        }
        MetadataRecord::FeatureLevel { name, level } => {
            image.features.insert(name, level);
        }
        MetadataRecord::BrokerConfig {
            resource,
            name,
            value: Some(value),
        } => {
            image
                .broker_configs
                .entry(resource)
                .or_default()
                .insert(name, value);
        }
        MetadataRecord::BrokerConfig {
            resource,
            name,
            value: None,
        } => {
            if let Some(configs) = image.broker_configs.get_mut(&resource) {
                configs.remove(&name);
                if configs.is_empty() {
                    image.broker_configs.remove(&resource);
                }
            }
        }
        MetadataRecord::GroupConfig { group, configs } if configs.is_empty() => {
            image.group_configs.remove(&group);
        }
        MetadataRecord::GroupConfig { group, configs } => {
            image.group_configs.insert(group, configs);
        }
        MetadataRecord::ClientMetrics { name, configs } => {
            if configs.is_empty() {
                image.client_metrics.remove(&name);
            } else {
                image.client_metrics.insert(name, configs);
            }
        }
        MetadataRecord::ClientQuota {
            entity,
            key,
            value: Some(value),
        } => {
            image
                .client_quotas
                .entry(entity)
                .or_default()
                .insert(key, value);
        }
        MetadataRecord::ClientQuota {
            entity,
            key,
            value: None,
        } => {
            if let Some(values) = image.client_quotas.get_mut(&entity) {
                values.remove(&key);
                if values.is_empty() {
                    image.client_quotas.remove(&entity);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::metadata::PartitionImage;
    use crate::config::TopicConfig;

    fn topic(name: &str, partitions: usize) -> TopicImage {
        TopicImage {
            name: name.into(),
            id: uuid::Uuid::new_v4(),
            partitions: (0..partitions)
                .map(|_| PartitionImage::new(vec![1]))
                .collect(),
            config: TopicConfig::default(),
            internal: false,
        }
    }

    #[test]
    fn applying_the_delta_rebuilds_the_image() {
        let mut before = MetadataImage::default();
        before.insert_topic(topic("gone", 1));
        before.insert_topic(topic("grows", 1));
        let mut after = before.clone();
        after.cluster_id = "c".into();
        after.brokers.insert(
            2,
            BrokerRegistration {
                node_id: 2,
                host: "h".into(),
                port: 9092,
                rack: None,
                fenced: false,
                endpoints: Vec::new(),
                log_dirs: Vec::new(),
                epoch: 0,
            },
        );
        after.topics.remove("gone");
        after.insert_topic(topic("grows", 3));
        after.insert_topic(topic("new", 2));
        after.next_producer_id = 1000;
        let credential = crate::security::sasl::scram::ScramCredential::from_password(
            ScramMechanism::Sha256,
            "secret",
            4096,
        );
        before
            .scram_credentials
            .entry("gone".into())
            .or_default()
            .insert(ScramMechanism::Sha512, credential.clone());
        after
            .scram_credentials
            .entry("alice".into())
            .or_default()
            .insert(ScramMechanism::Sha256, credential);
        after.group_configs.insert(
            "g".into(),
            [(
                "consumer.session.timeout.ms".to_string(),
                "50000".to_string(),
            )]
            .into(),
        );
        let quota = |user: &str| crate::quota::QuotaEntity {
            user: Some(crate::quota::EntityName::Named(user.into())),
            client_id: Some(crate::quota::EntityName::Default),
            ip: None,
        };
        before
            .client_quotas
            .entry(quota("gone"))
            .or_default()
            .insert("producer_byte_rate".into(), 1024.0);
        after
            .client_quotas
            .entry(quota("alice"))
            .or_default()
            .insert("consumer_byte_rate".into(), 2048.0);
        let records = delta(&before, &after);
        assert_eq!(records.len(), 11);
        let mut rebuilt = before.clone();
        for r in records {
            apply(&mut rebuilt, r);
        }
        assert_eq!(rebuilt, after);
        assert!(delta(&after, &after).is_empty());
        // Snapshots and log entries are JSON.
        let json = serde_json::to_vec(&after).unwrap();
        assert_eq!(
            serde_json::from_slice::<MetadataImage>(&json).unwrap(),
            after
        );
        for record in delta(&before, &after) {
            let json = serde_json::to_vec(&record).unwrap();
            assert_eq!(
                serde_json::from_slice::<MetadataRecord>(&json).unwrap(),
                record
            );
        }
    }

    #[test]
    fn acls_travel_as_their_own_records() {
        use crate::security::acl::*;
        let acl = |name: &str| AclBinding {
            pattern: ResourcePattern {
                resource_type: ResourceType::Topic,
                name: name.into(),
                pattern_type: PatternType::Literal,
            },
            entry: AccessControlEntry {
                principal: "User:bob".into(),
                host: "*".into(),
                operation: AclOperation::Read,
                permission: AclPermissionType::Allow,
            },
        };
        let mut before = MetadataImage::default();
        let kept = uuid::Uuid::new_v4();
        let gone = uuid::Uuid::new_v4();
        before.acls.insert(kept, acl("kept"));
        before.acls.insert(gone, acl("gone"));
        let mut after = before.clone();
        after.acls.remove(&gone);
        after.acls.insert(uuid::Uuid::new_v4(), acl("new"));
        let records = delta(&before, &after);
        assert_eq!(records.len(), 2);
        let mut rebuilt = before.clone();
        for r in records {
            apply(&mut rebuilt, r);
        }
        assert_eq!(rebuilt, after);
    }
}
