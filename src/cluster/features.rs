//! Kafka's cluster features (KIP-584, KIP-778): the feature levels this
//! broker supports, the levels the cluster has finalized (kept in the
//! metadata image, written by FeatureLevel records), and Kafka's checks
//! on an UpdateFeatures change.
//!
//! What is advertised is what Gregor does: KIP-848 groups are served
//! (group.version 1) and cannot be turned off, transactions are KIP-890's
//! part 1 only (EndTxn stops at v4, no epoch bump per transaction:
//! transaction.version 0), voters can be added and removed (KIP-853's
//! kraft.version 1) and elections take only ISR members (no eligible
//! leader replicas); share groups (share.version 1) are served once
//! finalized.
//! metadata.version is Kafka 4.1's range; nothing in Gregor depends on
//! it, so every level behaves as the latest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const METADATA_VERSION: &str = "metadata.version";
pub const KRAFT_VERSION: &str = "kraft.version";
pub const TRANSACTION_VERSION: &str = "transaction.version";
pub const GROUP_VERSION: &str = "group.version";
pub const ELIGIBLE_LEADER_REPLICAS_VERSION: &str = "eligible.leader.replicas.version";
/// KIP-932's share groups: served from level 1, which a new cluster does
/// not finalize (Kafka 4.1's share groups are a preview, turned on with
/// `kafka-features upgrade --feature share.version=1`).
pub const SHARE_VERSION: &str = "share.version";

/// Kafka's MetadataVersion bounds: 3.3-IV3 to 4.1-IV1.
const METADATA_VERSION_MIN: i16 = 7;
const METADATA_VERSION_LATEST: i16 = 27;

/// Every feature Kafka 4.1 knows, with the levels this broker supports
/// (min, max); a feature at 0..0 is one Gregor does not have.
pub const SUPPORTED: &[(&str, i16, i16)] = &[
    (
        METADATA_VERSION,
        METADATA_VERSION_MIN,
        METADATA_VERSION_LATEST,
    ),
    (KRAFT_VERSION, 1, 1),
    (TRANSACTION_VERSION, 0, 0),
    (GROUP_VERSION, 1, 1),
    (ELIGIBLE_LEADER_REPLICAS_VERSION, 0, 0),
    (SHARE_VERSION, 0, 1),
];

/// The levels a new cluster starts at (Kafka's bootstrap metadata).
pub fn bootstrap() -> BTreeMap<String, i16> {
    BTreeMap::from([
        (METADATA_VERSION.to_string(), METADATA_VERSION_LATEST),
        (KRAFT_VERSION.to_string(), 1),
        (GROUP_VERSION.to_string(), 1),
    ])
}

/// The supported range of `feature`, if Gregor has it at all.
pub fn supported(feature: &str) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(name, _, max)| *name == feature && *max > 0)
        .map(|(_, min, max)| (*min, *max))
}

/// Whether share groups are served: `share.version` finalized at 1 or
/// more (Kafka's isShareGroupProtocolEnabled).
pub fn share_groups_enabled(finalized: &BTreeMap<String, i16>) -> bool {
    finalized
        .get(SHARE_VERSION)
        .is_some_and(|level| *level >= 1)
}

/// Kafka's UpdateFeatures upgrade types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UpgradeType {
    Upgrade,
    SafeDowngrade,
    UnsafeDowngrade,
}

impl UpgradeType {
    /// The wire value (1-3); anything else is not a type the controller knows.
    pub fn from_wire(v: i8) -> Option<UpgradeType> {
        match v {
            1 => Some(UpgradeType::Upgrade),
            2 => Some(UpgradeType::SafeDowngrade),
            3 => Some(UpgradeType::UnsafeDowngrade),
            _ => None,
        }
    }
}

/// Checks one update against the finalized levels as Kafka's
/// FeatureControlManager does; the error is INVALID_UPDATE_VERSION's
/// message. `Ok(level)` is the level to finalize (0 removes the feature).
pub fn check_update(
    finalized: &BTreeMap<String, i16>,
    feature: &str,
    level: i16,
    upgrade: Option<UpgradeType>,
) -> Result<i16, String> {
    let invalid =
        |why: &str| format!("Invalid update version {level} for feature {feature}. {why}");
    let Some(upgrade) = upgrade else {
        return Err(invalid(
            "The controller does not support the given upgrade type.",
        ));
    };
    let current = finalized.get(feature).copied().unwrap_or(0);
    if level < 0 {
        return Err(invalid("A feature version cannot be less than 0."));
    }
    let range = supported(feature).unwrap_or((0, 0));
    if level < range.0 || level > range.1 {
        return Err(invalid(&format!(
            "This broker supports versions {}-{} of this feature.",
            range.0, range.1
        )));
    }
    if level < current && upgrade == UpgradeType::Upgrade {
        return Err(invalid(
            "Can't downgrade the version of this feature without setting the upgrade type to \
             either safe or unsafe downgrade.",
        ));
    }
    if level > current && upgrade != UpgradeType::Upgrade {
        return Err(invalid("Can't downgrade to a newer version."));
    }
    if feature == METADATA_VERSION && level < current {
        // As Kafka 4.1: every metadata.version downgrade may lose metadata,
        // and unsafe ones are not implemented.
        return Err(format!(
            "Unsupported metadata.version downgrade from {current} to {level}. Refusing to \
             perform the requested downgrade because it might delete metadata information."
        ));
    }
    Ok(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_checked_as_kafka_checks_them() {
        let finalized = bootstrap();
        let check = |f: &str, l: i16, u: Option<UpgradeType>| check_update(&finalized, f, l, u);
        let up = Some(UpgradeType::Upgrade);
        assert_eq!(check(GROUP_VERSION, 1, up), Ok(1));
        assert_eq!(check(METADATA_VERSION, 27, up), Ok(27));
        assert!(check(GROUP_VERSION, 0, up)
            .unwrap_err()
            .contains("supports versions 1-1"));
        assert!(check(TRANSACTION_VERSION, 2, up)
            .unwrap_err()
            .contains("supports versions 0-0"));
        assert!(check("no.such.version", 1, up).is_err());
        assert!(check(GROUP_VERSION, 1, None)
            .unwrap_err()
            .contains("upgrade type"));
        assert!(check(GROUP_VERSION, -1, up)
            .unwrap_err()
            .contains("less than 0"));
        assert!(check(METADATA_VERSION, 20, up)
            .unwrap_err()
            .contains("without setting the upgrade type"));
        assert!(
            check(METADATA_VERSION, 20, Some(UpgradeType::SafeDowngrade))
                .unwrap_err()
                .contains("might delete metadata")
        );
    }
}
