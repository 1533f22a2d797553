//! What config-admin does once the command line is understood: the
//! describes and alterations, each returning the text to print.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::entity_config::{
    ConfigsAt, DescribedConfigs, Entity, EntityType, ScramChange, UserCredentials,
};
use crate::client::quotas::{self, QuotaEntry, QuotaName, QuotaTarget};
use crate::client::{ClientError, ClientSettings, ConfigOp, Result};

/// Why users' SCRAM credentials are not reached through the controllers:
/// they go through librdkafka's admin API, which cannot talk to a
/// CONTROLLER listener.
pub const SCRAM_AT_BROKERS: &str =
    "users' SCRAM credentials are described and altered at the brokers: use --bootstrap-server";

/// Said on stderr when a SCRAM password came on the command line.
pub fn password_warning(tool: &str) -> String {
    format!(
        "{tool}: warning: a password in --add-config is visible to other users of \
         this host while {tool} runs and stays in the shell's history; leave \
         password= out to be asked for it, or use --password-file"
    )
}

/// Alters client quotas and says so as kafka-configs.sh does.
pub async fn alter_quotas(
    settings: &ClientSettings,
    target: &QuotaTarget,
    ops: &[(String, Option<f64>)],
) -> Result<String> {
    quotas::alter(settings, target, ops).await?;
    Ok(format!(
        "Completed updating config for {}.\n",
        target.describe()
    ))
}

pub async fn describe_quotas(
    settings: &ClientSettings,
    target: &QuotaTarget,
    output: OutputFormat,
) -> Result<String> {
    Ok(render_quotas(
        &quotas::describe(settings, target).await?,
        output,
    ))
}

/// A line per entity, or JSON.
pub fn render_quotas(entries: &[QuotaEntry], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(entries)),
        OutputFormat::Table => entries
            .iter()
            .map(|e| format!("{}\n", e.kafka_line()))
            .collect(),
    }
}

/// The quotas of a user, or of every user: what kafka-configs.sh shows
/// after a user's SCRAM credentials.
pub fn user_quotas(user: &Entity) -> QuotaTarget {
    QuotaTarget {
        user: Some(match &user.name {
            Some(name) => QuotaName::Named(name.clone()),
            None => QuotaName::Every,
        }),
        ..QuotaTarget::default()
    }
}

pub async fn alter_scram(admin: &Admin, user: &str, changes: Vec<ScramChange>) -> Result<String> {
    admin.alter_scram_credentials(user, changes).await?;
    Ok(format!("Completed updating config for user {user}.\n"))
}

pub async fn alter_configs(
    at: &ConfigsAt<'_>,
    entity: &Entity,
    ops: Vec<ConfigOp>,
) -> Result<String> {
    at.alter_entity_configs(entity, ops).await?;
    Ok(altered(entity))
}

/// kafka-configs.sh's word that an alteration went through.
pub fn altered(entity: &Entity) -> String {
    match &entity.name {
        Some(name) => format!(
            "Completed updating config for {} {name}.\n",
            entity.entity_type.singular()
        ),
        None => "Completed updating default config for brokers in the cluster.\n".to_string(),
    }
}

/// The entity's configs, or a user's SCRAM credentials.
pub async fn describe(
    at: &ConfigsAt<'_>,
    entity: &Entity,
    all: bool,
    output: OutputFormat,
) -> Result<String> {
    if entity.entity_type == EntityType::Users {
        let ConfigsAt::Brokers(admin) = at else {
            return Err(ClientError::Invalid(SCRAM_AT_BROKERS.into()));
        };
        let users = admin
            .describe_scram_credentials(entity.name.iter().cloned().collect())
            .await?;
        return Ok(render_users(&users, output));
    }
    let described = at.describe_entity_configs(entity, all).await?;
    Ok(render_configs(&described, all, output))
}

pub fn render_users(users: &[UserCredentials], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(users)),
        OutputFormat::Table => users
            .iter()
            .map(|u| format!("{}\n", u.kafka_line()))
            .collect(),
    }
}

/// Each entity's heading with its configs indented under it, or JSON.
pub fn render_configs(described: &[DescribedConfigs], all: bool, output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(described)),
        OutputFormat::Table => {
            let mut text = String::new();
            for d in described {
                text.push_str(&format!("{}\n", d.heading(all)));
                for e in &d.configs {
                    text.push_str(&format!("  {}\n", e.kafka_line()));
                }
            }
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn an_alteration_names_the_entity_or_the_default() {
        let entity = |entity_type, name: Option<&str>| Entity {
            entity_type,
            name: name.map(str::to_string),
            default: name.is_none(),
        };
        assert_eq!(
            altered(&entity(EntityType::Topics, Some("orders"))),
            "Completed updating config for topic orders.\n"
        );
        assert_eq!(
            altered(&entity(EntityType::Brokers, Some("1"))),
            "Completed updating config for broker 1.\n"
        );
        assert_eq!(
            altered(&entity(EntityType::Brokers, None)),
            "Completed updating default config for brokers in the cluster.\n"
        );
    }

    #[test]
    fn a_user_or_every_user_has_quotas() {
        let user = |name: Option<&str>| Entity {
            entity_type: EntityType::Users,
            name: name.map(str::to_string),
            default: false,
        };
        assert_eq!(
            user_quotas(&user(Some("alice"))).user,
            Some(QuotaName::Named("alice".into()))
        );
        assert_eq!(user_quotas(&user(None)).user, Some(QuotaName::Every));
    }

    #[test]
    fn quotas_print_a_line_each() {
        let entry = QuotaEntry {
            entity: BTreeMap::from([("user".to_string(), Some("alice".to_string()))]),
            quotas: BTreeMap::from([("producer_byte_rate".to_string(), 1024.0)]),
        };
        let text = render_quotas(std::slice::from_ref(&entry), OutputFormat::Table);
        assert_eq!(text, format!("{}\n", entry.kafka_line()));
        assert_eq!(render_quotas(&[], OutputFormat::Json), "[]\n");
    }

    #[test]
    fn the_warning_names_the_tool() {
        assert!(password_warning("config-admin").starts_with("config-admin: warning: "));
    }
}
