//! RemoveRaftVoter (KIP-853): a voter of the metadata quorum becomes an
//! observer, through the quorum's leader; it keeps receiving the log
//! until it stops.

use std::sync::Arc;

use kafka_protocol::messages::{RemoveRaftVoterRequest, RemoveRaftVoterResponse};
use kafka_protocol::protocol::StrBytes;

use super::add_raft_voter::change_voter;
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::quorum::voters::VoterChange;

pub struct RemoveRaftVoter;

impl Handler for RemoveRaftVoter {
    type Request = RemoveRaftVoterRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: RemoveRaftVoterRequest,
    ) -> RemoveRaftVoterResponse {
        let outcome = change_voter(
            &broker,
            &ctx,
            request.cluster_id.as_ref(),
            request.voter_id,
            VoterChange::Remove,
        )
        .await;
        match outcome {
            Ok(()) => RemoveRaftVoterResponse::default(),
            Err((e, message)) => RemoveRaftVoterResponse::default()
                .with_error_code(ctx.error_code(Some(e)))
                .with_error_message(Some(StrBytes::from_string(message))),
        }
    }
}
