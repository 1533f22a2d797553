//! `topic-admin alter`: more partitions, and config changes.

use crate::client::admin::Admin;
use crate::client::{ClientError, ConfigOp, Result};

/// What to change about a topic.
pub struct Alteration {
    pub partitions: Option<u32>,
    pub config: Vec<(String, String)>,
    pub delete_config: Vec<String>,
}

impl Alteration {
    /// Refuses an alteration that changes nothing, before connecting.
    pub fn check(&self) -> Result<()> {
        if self.partitions.is_none() && self.config.is_empty() && self.delete_config.is_empty() {
            return Err(ClientError::Invalid(
                "nothing to alter: give --partitions, --config or --delete-config".into(),
            ));
        }
        Ok(())
    }

    /// The config changes, sets before deletions as Kafka's tool sends them.
    pub fn config_ops(&self) -> Vec<ConfigOp> {
        self.config
            .iter()
            .map(|(k, v)| ConfigOp::Set(k.clone(), v.clone()))
            .chain(self.delete_config.iter().cloned().map(ConfigOp::Delete))
            .collect()
    }
}

/// Makes the partition count `count`, and says so.
pub async fn add_partitions(admin: &Admin, topic: &str, count: u32) -> Result<String> {
    admin.create_partitions(topic, count as usize).await?;
    Ok(format!("Topic {topic} now has {count} partitions.\n"))
}

/// Applies the config changes, if any, and says so.
pub async fn change_configs(
    admin: &Admin,
    topic: &str,
    alteration: &Alteration,
) -> Result<Option<String>> {
    let ops = alteration.config_ops();
    if ops.is_empty() {
        return Ok(None);
    }
    admin.alter_topic_config(topic, ops).await?;
    Ok(Some(format!("Updated the configs of topic {topic}.\n")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alteration(partitions: Option<u32>, config: &[(&str, &str)], delete: &[&str]) -> Alteration {
        Alteration {
            partitions,
            config: config
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            delete_config: delete.iter().map(|k| k.to_string()).collect(),
        }
    }

    #[test]
    fn an_alteration_must_change_something() {
        let error = alteration(None, &[], &[]).check().unwrap_err();
        assert_eq!(
            error.to_string(),
            "nothing to alter: give --partitions, --config or --delete-config"
        );
        assert!(alteration(Some(3), &[], &[]).check().is_ok());
        assert!(alteration(None, &[], &["retention.ms"]).check().is_ok());
    }

    #[test]
    fn sets_come_before_deletions() {
        let ops = alteration(None, &[("retention.ms", "1000")], &["cleanup.policy"]).config_ops();
        assert!(matches!(
            &ops[..],
            [ConfigOp::Set(k, v), ConfigOp::Delete(d)]
                if k == "retention.ms" && v == "1000" && d == "cleanup.policy"
        ));
    }
}
