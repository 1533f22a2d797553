//! UpdateFeatures (KIP-584, KIP-778): finalizes feature levels through the
//! active controller, all or none, with Kafka's INVALID_UPDATE_VERSION
//! for a level this broker does not support or a downgrade not asked for
//! as one; `validate_only` checks without changing anything.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::update_features_response::UpdatableFeatureResult;
use kafka_protocol::messages::{UpdateFeaturesRequest, UpdateFeaturesResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::features::UpgradeType;
use crate::security::acl::AclOperation;

pub struct UpdateFeatures;

impl Handler for UpdateFeatures {
    type Request = UpdateFeaturesRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: UpdateFeaturesRequest,
    ) -> UpdateFeaturesResponse {
        let names: Vec<StrBytes> = request
            .feature_updates
            .iter()
            .map(|u| u.feature.clone())
            .collect();
        // As Kafka's createWithErrors: the outcome at the top, and before
        // v2 once per feature too.
        let answer = |error: Option<(ResponseError, String)>| {
            let (code, message) = match &error {
                Some((e, m)) => (
                    ctx.error_code(Some(*e)),
                    Some(StrBytes::from_string(m.clone())),
                ),
                None => (0, None),
            };
            let results = names
                .iter()
                .filter(|_| ctx.api_version <= 1)
                .map(|name| {
                    UpdatableFeatureResult::default()
                        .with_feature(name.clone())
                        .with_error_code(code)
                        .with_error_message(message.clone())
                })
                .collect();
            UpdateFeaturesResponse::default()
                .with_error_code(code)
                .with_error_message(message)
                .with_results(results)
        };
        if !broker.allows_cluster(&ctx, AclOperation::Alter) {
            return answer(Some((
                ResponseError::ClusterAuthorizationFailed,
                "ALTER on the cluster is needed to update features.".into(),
            )));
        }
        let distinct: BTreeSet<&str> = names.iter().map(|n| n.as_str()).collect();
        if distinct.len() != names.len() {
            return answer(Some((
                ResponseError::InvalidRequest,
                "A feature is named more than once.".into(),
            )));
        }
        let updates = request
            .feature_updates
            .iter()
            .map(|u| {
                // v0 has only allow_downgrade, which Kafka reads as a safe downgrade.
                let upgrade = if ctx.api_version == 0 {
                    Some(if u.allow_downgrade {
                        UpgradeType::SafeDowngrade
                    } else {
                        UpgradeType::Upgrade
                    })
                } else {
                    UpgradeType::from_wire(u.upgrade_type)
                };
                (u.feature.to_string(), u.max_version_level, upgrade)
            })
            .collect();
        match broker
            .controller
            .update_features(updates, request.validate_only)
            .await
        {
            Ok(()) => answer(None),
            Err(e) => answer(Some((e.code, e.message))),
        }
    }
}
