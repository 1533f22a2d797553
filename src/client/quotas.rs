//! Client quotas as kafka-configs.sh describes and alters them: on a user,
//! a client id, or a client id of a user, each a name or the default; or
//! on a client address or the default address.
//! librdkafka has neither DescribeClientQuotas nor AlterClientQuotas, so
//! they go through this library's own Kafka-protocol connection.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_client_quotas_request::{EntityData, EntryData, OpData};
use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
use kafka_protocol::messages::{AlterClientQuotasRequest, DescribeClientQuotasRequest};
use kafka_protocol::protocol::StrBytes;
use serde::Serialize;

use super::error::{ClientError, Result};
use super::wire::Connection;
use super::ClientSettings;

/// Kafka's entity types.
const USER: &str = "user";
const CLIENT_ID: &str = "client-id";
const IP: &str = "ip";

/// One part of a quota entity as the flags name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuotaName {
    Named(String),
    /// `--entity-default`, `--user-defaults`, `--client-defaults`.
    Default,
    /// No name: every named entity of the type (describe only).
    Every,
}

/// A user, a client id, or both; or an address alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuotaTarget {
    pub user: Option<QuotaName>,
    pub client: Option<QuotaName>,
    pub ip: Option<QuotaName>,
}

impl QuotaTarget {
    fn parts(&self) -> impl Iterator<Item = (&'static str, &QuotaName)> {
        self.user
            .iter()
            .map(|u| (USER, u))
            .chain(self.client.iter().map(|c| (CLIENT_ID, c)))
            .chain(self.ip.iter().map(|a| (IP, a)))
    }

    /// How kafka-configs.sh names the entity when it is done.
    pub fn describe(&self) -> String {
        self.parts()
            .map(|(kind, name)| {
                let kind = if kind == USER { "user-principal" } else { kind };
                match name {
                    QuotaName::Named(n) => format!("{kind} '{n}'"),
                    QuotaName::Default | QuotaName::Every => format!("the default {kind}"),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One entity's quotas as described.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuotaEntry {
    /// Entity type to name; `None` is the default.
    pub entity: BTreeMap<String, Option<String>>,
    pub quotas: BTreeMap<String, f64>,
}

impl QuotaEntry {
    /// As kafka-configs.sh --describe prints it.
    pub fn kafka_line(&self) -> String {
        let name = |kind: &str, label: &str| {
            self.entity.get(kind).map(|n| match n {
                Some(n) => format!("{label} '{n}'"),
                None => format!("the default {label}"),
            })
        };
        let entity: Vec<String> = [
            name(USER, "user-principal"),
            name(CLIENT_ID, "client-id"),
            name(IP, "ip"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let values: Vec<String> = self
            .quotas
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        format!(
            "Quota configs for {} are {}",
            entity.join(", "),
            values.join(", ")
        )
    }
}

/// The quota changes of an --alter: keys with a value to set, or none to
/// remove. Values must be numbers; the broker checks the keys.
pub fn quota_ops(
    add: &[(String, String)],
    delete: &[String],
) -> Result<Vec<(String, Option<f64>)>> {
    let mut ops = Vec::new();
    for (key, value) in add {
        let number: f64 = value.trim().parse().map_err(|_| {
            ClientError::Invalid(format!("{key}: a quota is a number, not '{value}'"))
        })?;
        ops.push((key.clone(), Some(number)));
    }
    ops.extend(delete.iter().map(|k| (k.clone(), None)));
    Ok(ops)
}

/// The quotas of the entities `target` names (every named one of its
/// types where it names none), as kafka-configs.sh asks: strictly those
/// types.
pub async fn describe(settings: &ClientSettings, target: &QuotaTarget) -> Result<Vec<QuotaEntry>> {
    let components = target
        .parts()
        .map(|(kind, name)| {
            let c = ComponentData::default().with_entity_type(StrBytes::from_static_str(kind));
            match name {
                QuotaName::Named(n) => c
                    .with_match_type(0)
                    .with_match(Some(StrBytes::from_string(n.clone()))),
                QuotaName::Default => c.with_match_type(1).with_match(None),
                QuotaName::Every => c.with_match_type(2).with_match(None),
            }
        })
        .collect();
    let request = DescribeClientQuotasRequest::default()
        .with_components(components)
        .with_strict(true);
    let mut connection = Connection::to_bootstrap(settings).await?;
    let response = connection.call(&request, 0).await?;
    if response.error_code != 0 {
        return Err(ClientError::Protocol {
            context: "DescribeClientQuotas".into(),
            code: response.error_code,
            message: response.error_message.map(|m| m.to_string()),
        });
    }
    Ok(response
        .entries
        .unwrap_or_default()
        .into_iter()
        .map(|e| QuotaEntry {
            entity: e
                .entity
                .into_iter()
                .map(|d| {
                    (
                        d.entity_type.to_string(),
                        d.entity_name.map(|n| n.to_string()),
                    )
                })
                .collect(),
            quotas: e
                .values
                .into_iter()
                .map(|v| (v.key.to_string(), v.value))
                .collect(),
        })
        .collect())
}

/// Sets and removes quotas of one entity (AlterClientQuotas).
pub async fn alter(
    settings: &ClientSettings,
    target: &QuotaTarget,
    ops: &[(String, Option<f64>)],
) -> Result<()> {
    let mut entity = Vec::new();
    for (kind, name) in target.parts() {
        let name = match name {
            QuotaName::Named(n) => Some(StrBytes::from_string(n.clone())),
            QuotaName::Default => None,
            QuotaName::Every => {
                return Err(ClientError::Invalid(format!(
                    "--alter needs the {kind} to change: a name or the default"
                )))
            }
        };
        entity.push(
            EntityData::default()
                .with_entity_type(StrBytes::from_static_str(kind))
                .with_entity_name(name),
        );
    }
    let ops = ops
        .iter()
        .map(|(key, value)| {
            OpData::default()
                .with_key(StrBytes::from_string(key.clone()))
                .with_value(value.unwrap_or(0.0))
                .with_remove(value.is_none())
        })
        .collect();
    let request = AlterClientQuotasRequest::default()
        .with_entries(vec![EntryData::default().with_entity(entity).with_ops(ops)]);
    let mut connection = Connection::to_bootstrap(settings).await?;
    let response = connection.call(&request, 0).await?;
    for entry in response.entries {
        if entry.error_code != 0 {
            return Err(ClientError::Protocol {
                context: "AlterClientQuotas".into(),
                code: entry.error_code,
                message: entry.error_message.map(|m| m.to_string()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_print_as_kafka_configs_does() {
        let entry = QuotaEntry {
            entity: [
                (USER.to_string(), Some("alice".to_string())),
                (CLIENT_ID.to_string(), None),
            ]
            .into(),
            quotas: [("producer_byte_rate".to_string(), 1024.0)].into(),
        };
        assert_eq!(
            entry.kafka_line(),
            "Quota configs for user-principal 'alice', the default client-id are producer_byte_rate=1024.0"
        );
        let address = QuotaEntry {
            entity: [(IP.to_string(), Some("10.0.0.1".to_string()))].into(),
            quotas: [("connection_creation_rate".to_string(), 5.0)].into(),
        };
        assert_eq!(
            address.kafka_line(),
            "Quota configs for ip '10.0.0.1' are connection_creation_rate=5.0"
        );
        assert!(quota_ops(&[("producer_byte_rate".into(), "fast".into())], &[]).is_err());
        assert_eq!(
            quota_ops(&[("a".into(), "2".into())], &["b".into()]).unwrap(),
            vec![("a".into(), Some(2.0)), ("b".into(), None)]
        );
    }
}
