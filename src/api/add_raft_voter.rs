//! AddRaftVoter (KIP-853): makes an observer of the metadata quorum a
//! voter, through the quorum's leader. The new voter is reached at the
//! CONTROLLER address it joined with as an observer; the request's
//! listeners are not needed for that.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{AddRaftVoterRequest, AddRaftVoterResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::quorum::voters::VoterChange;
use crate::security::acl::AclOperation;

pub struct AddRaftVoter;

/// Kafka's checks before a voter change (ALTER on the cluster, then the
/// cluster id the request names, if any: null, or the empty string a
/// client that left it unset sends, then a voter id that can be one), and
/// the change itself through the quorum's leader.
pub(super) async fn change_voter(
    broker: &BrokerContext,
    ctx: &RequestContext,
    cluster_id: Option<&StrBytes>,
    voter_id: i32,
    change: fn(u64) -> VoterChange,
) -> Result<(), (ResponseError, String)> {
    if !broker.allows_cluster(ctx, AclOperation::Alter) {
        return Err((
            ResponseError::ClusterAuthorizationFailed,
            "ALTER on the cluster is needed to change the metadata quorum's voters.".into(),
        ));
    }
    let image = broker.image();
    if let Some(id) = cluster_id.filter(|id| !id.is_empty() && id.as_str() != image.cluster_id) {
        return Err((
            ResponseError::InconsistentClusterId,
            format!(
                "The request is for cluster {id}, this is cluster {}.",
                image.cluster_id
            ),
        ));
    }
    let id = u64::try_from(voter_id).map_err(|_| {
        (
            ResponseError::InvalidRequest,
            format!("{voter_id} is not a node id."),
        )
    })?;
    broker
        .controller
        .change_voters(change(id))
        .await
        .map_err(|e| (e.code, e.message))
}

impl Handler for AddRaftVoter {
    type Request = AddRaftVoterRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AddRaftVoterRequest,
    ) -> AddRaftVoterResponse {
        let outcome = change_voter(
            &broker,
            &ctx,
            request.cluster_id.as_ref(),
            request.voter_id,
            VoterChange::Add,
        )
        .await;
        match outcome {
            Ok(()) => AddRaftVoterResponse::default(),
            Err((e, message)) => AddRaftVoterResponse::default()
                .with_error_code(ctx.error_code(Some(e)))
                .with_error_message(Some(StrBytes::from_string(message))),
        }
    }
}
