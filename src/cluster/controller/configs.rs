//! Configs, ACLs, SCRAM credentials, quotas and features in the image:
//! what Kafka's ConfigurationControlManager, AclControlManager,
//! ScramControlManager, ClientQuotaControlManager and
//! FeatureControlManager own.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::command::{Refusal, UserScramAlteration};
use super::error::{unknown_topic, ControllerError};
use crate::cluster::features::{self, UpgradeType};
use crate::cluster::metadata::MetadataImage;
use crate::config::TopicConfig;
use crate::quota::QuotaChanges;
use crate::security::acl::{self, AclBinding, AclBindingFilter};

/// Replaces a topic's config overrides (already validated).
pub(super) fn set_topic_config(
    image: &mut MetadataImage,
    name: &str,
    config: TopicConfig,
) -> Result<(), ControllerError> {
    let topic = image.topic_mut(name).ok_or_else(|| unknown_topic(name))?;
    topic.config = config;
    Ok(())
}

/// Replaces one resource's whole set of dynamic configs (a group's, a
/// client metrics subscription's, a broker's): an empty set removes the
/// resource, as Kafka keeps no empty config resources.
pub(super) fn set_or_remove(
    resources: &mut BTreeMap<String, BTreeMap<String, String>>,
    resource: String,
    configs: BTreeMap<String, String>,
) {
    if configs.is_empty() {
        resources.remove(&resource);
    } else {
        resources.insert(resource, configs);
    }
}

/// Kafka's AlterClientQuotas, already validated: each key set or (None)
/// removed; an entity left with no quota is removed.
pub(super) fn alter_client_quotas(image: &mut MetadataImage, entries: QuotaChanges) {
    for (entity, ops) in entries {
        let values = image.client_quotas.entry(entity.clone()).or_default();
        for (key, value) in ops {
            match value {
                Some(v) => values.insert(key, v),
                None => values.remove(&key),
            };
        }
        if values.is_empty() {
            image.client_quotas.remove(&entity);
        }
    }
}

/// Kafka's CreateAcls: per binding, None when it exists now (an ACL that
/// exists already is not added twice), else why it is invalid.
pub(super) fn create_acls(
    image: &mut MetadataImage,
    bindings: Vec<AclBinding>,
) -> Vec<Option<Refusal>> {
    bindings
        .into_iter()
        .map(|binding| {
            if let Err(m) = acl::validate_new(&binding) {
                return Some((ResponseError::InvalidRequest.code(), m));
            }
            if !image.acls.values().any(|a| *a == binding) {
                let id = new_acl_id(image);
                image.acls.insert(id, binding);
            }
            None
        })
        .collect()
}

/// Kafka's DeleteAcls: per filter, the ACLs it deleted or why it is invalid.
pub(super) fn delete_acls(
    image: &mut MetadataImage,
    filters: &[AclBindingFilter],
) -> Vec<Result<Vec<AclBinding>, Refusal>> {
    let results = filters
        .iter()
        .map(|filter| {
            filter
                .validate()
                .map_err(|m| (ResponseError::InvalidRequest.code(), m))?;
            // Matched against the ACLs before this request, so an ACL two
            // filters match is reported by both, as Kafka's controller does.
            Ok(image
                .acls
                .iter()
                .filter(|(_, a)| filter.matches(a))
                .map(|(id, a)| (*id, a.clone()))
                .collect::<Vec<_>>())
        })
        .collect::<Vec<Result<Vec<(Uuid, AclBinding)>, Refusal>>>();
    for (id, _) in results.iter().flatten().flatten() {
        image.acls.remove(id);
    }
    results
        .into_iter()
        .map(|r| r.map(|found| found.into_iter().map(|(_, a)| a).collect()))
        .collect()
}

/// Kafka's AlterUserScramCredentials: per user, in order, None when applied.
pub(super) fn alter_user_scram_credentials(
    image: &mut MetadataImage,
    users: Vec<UserScramAlteration>,
    keep_existing: bool,
) -> Vec<Option<Refusal>> {
    users
        .into_iter()
        .map(|u| alter_user_scram(image, u, keep_existing))
        .collect()
}

/// Kafka's UpdateFeatures: every (feature, level, upgrade type) or none; a
/// level of 0 removes the feature.
pub(super) fn update_features(
    image: &mut MetadataImage,
    updates: Vec<(String, i16, Option<UpgradeType>)>,
) -> Result<(), ControllerError> {
    let mut finalized = image.finalized_features();
    for (name, level, upgrade) in updates {
        let level = features::check_update(&finalized, &name, level, upgrade)
            .map_err(|m| ControllerError::new(ResponseError::InvalidUpdateVersion, m))?;
        if level == 0 {
            finalized.remove(&name);
        } else {
            finalized.insert(name, level);
        }
    }
    image.features = finalized;
    Ok(())
}

/// A fresh id for an ACL, unused in the image.
fn new_acl_id(image: &MetadataImage) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !image.acls.contains_key(&id) {
            return id;
        }
    }
}

/// Applies one user's alterations, all or none (KIP-554): deleting a
/// credential that does not exist refuses the user's whole entry.
fn alter_user_scram(
    image: &mut MetadataImage,
    alteration: UserScramAlteration,
    keep_existing: bool,
) -> Option<Refusal> {
    let user = alteration.user;
    if let Some(missing) = alteration
        .deletions
        .iter()
        .find(|m| image.scram_credential(&user, **m).is_none())
    {
        return Some((
            ResponseError::ResourceNotFound.code(),
            format!(
                "Attempt to delete a user credential that does not exist ({} of user {user}).",
                missing.name()
            ),
        ));
    }
    let credentials = image.scram_credentials.entry(user.clone()).or_default();
    for mechanism in &alteration.deletions {
        credentials.remove(mechanism);
    }
    for (mechanism, credential) in alteration.upsertions {
        if keep_existing && credentials.contains_key(&mechanism) {
            continue;
        }
        credentials.insert(mechanism, credential);
    }
    if credentials.is_empty() {
        image.scram_credentials.remove(&user);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::sasl::scram::{ScramCredential, ScramMechanism};

    #[test]
    fn an_empty_config_set_removes_the_resource() {
        let mut resources = BTreeMap::new();
        let configs = BTreeMap::from([("k".to_string(), "v".to_string())]);
        set_or_remove(&mut resources, "1".into(), configs.clone());
        assert_eq!(resources.get("1"), Some(&configs));
        set_or_remove(&mut resources, "1".into(), BTreeMap::new());
        assert!(resources.is_empty());
    }

    fn credential(iterations: i32) -> ScramCredential {
        ScramCredential {
            salt: vec![1],
            stored_key: vec![2],
            server_key: vec![3],
            iterations,
        }
    }

    #[test]
    fn scram_alterations_are_all_or_none_per_user() {
        let mut image = MetadataImage::default();
        let results = alter_user_scram_credentials(
            &mut image,
            vec![
                UserScramAlteration {
                    user: "alice".into(),
                    deletions: vec![ScramMechanism::Sha512],
                    upsertions: vec![(ScramMechanism::Sha256, credential(4096))],
                },
                UserScramAlteration {
                    user: "bob".into(),
                    deletions: Vec::new(),
                    upsertions: vec![(ScramMechanism::Sha256, credential(4096))],
                },
            ],
            false,
        );
        assert_eq!(
            results[0].as_ref().map(|r| r.0),
            Some(ResponseError::ResourceNotFound.code())
        );
        assert_eq!(results[1], None);
        assert!(image
            .scram_credential("alice", ScramMechanism::Sha256)
            .is_none());
        assert!(image
            .scram_credential("bob", ScramMechanism::Sha256)
            .is_some());

        // Start-up bootstrap credentials leave an existing one alone.
        let bootstrap = UserScramAlteration {
            user: "bob".into(),
            deletions: Vec::new(),
            upsertions: vec![(ScramMechanism::Sha256, credential(8192))],
        };
        alter_user_scram_credentials(&mut image, vec![bootstrap], true);
        let kept = image
            .scram_credential("bob", ScramMechanism::Sha256)
            .unwrap();
        assert_eq!(kept.iterations, 4096);

        let delete = UserScramAlteration {
            user: "bob".into(),
            deletions: vec![ScramMechanism::Sha256],
            upsertions: Vec::new(),
        };
        assert_eq!(
            alter_user_scram_credentials(&mut image, vec![delete], false),
            vec![None]
        );
        assert!(
            image.scram_credentials.is_empty(),
            "no user is kept without credentials"
        );
    }

    #[test]
    fn a_feature_update_out_of_range_refuses_the_whole_request() {
        let mut image = MetadataImage {
            features: features::bootstrap(),
            ..MetadataImage::default()
        };
        let refused = update_features(
            &mut image,
            vec![
                ("group.version".into(), 1, Some(UpgradeType::Upgrade)),
                ("transaction.version".into(), 1, Some(UpgradeType::Upgrade)),
            ],
        );
        assert_eq!(
            refused.unwrap_err().code,
            ResponseError::InvalidUpdateVersion
        );
        assert_eq!(image.features, features::bootstrap());
    }
}
