//! Configs, ACLs, SCRAM credentials, quotas and features in the image:
//! what Kafka's ConfigurationControlManager, AclControlManager,
//! ScramControlManager, ClientQuotaControlManager and
//! FeatureControlManager own.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::command::{Refusal, UserScramAlteration};
use crate::cluster::metadata::MetadataImage;

/// A fresh id for an ACL, unused in the image.
pub(super) fn new_acl_id(image: &MetadataImage) -> Uuid {
    loop {
        let id = Uuid::new_v4();
        if !image.acls.contains_key(&id) {
            return id;
        }
    }
}

/// Applies one user's alterations, all or none (KIP-554): deleting a
/// credential that does not exist refuses the user's whole entry.
pub(super) fn alter_user_scram(
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
