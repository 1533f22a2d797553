//! SaslHandshake: the client names its SASL mechanism. On a SASL listener
//! the connection layer takes it (with [`handshake`]) before the client is
//! authenticated, and again to start a re-authentication (KIP-368); what
//! reaches the handler is out of turn, and gets ILLEGAL_SASL_STATE as from
//! Kafka's KafkaApis.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::sasl::{HandshakeOutcome, SaslSession};

pub struct SaslHandshake;

impl Handler for SaslHandshake {
    type Request = SaslHandshakeRequest;

    async fn handle(
        _broker: Arc<BrokerContext>,
        _ctx: RequestContext,
        _request: SaslHandshakeRequest,
    ) -> SaslHandshakeResponse {
        SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code())
    }
}

/// The handshake on a SASL listener: the response, and whether the
/// connection stays open after it (an unsupported mechanism closes it, as
/// Kafka does).
pub fn handshake(
    session: &mut SaslSession,
    request: &SaslHandshakeRequest,
    version: i16,
) -> (SaslHandshakeResponse, bool) {
    let mechanisms: Vec<StrBytes> = session
        .config()
        .mechanism_names()
        .into_iter()
        .map(StrBytes::from_static_str)
        .collect();
    let response = SaslHandshakeResponse::default().with_mechanisms(mechanisms);
    match session.handshake(&request.mechanism, version) {
        HandshakeOutcome::Accepted => (response, true),
        HandshakeOutcome::Unsupported => {
            tracing::info!(mechanism = %request.mechanism, "SASL mechanism requested by client is not enabled");
            (
                response.with_error_code(ResponseError::UnsupportedSaslMechanism.code()),
                false,
            )
        }
        HandshakeOutcome::MechanismChanged(reason) => {
            tracing::info!(%reason, "re-authentication refused");
            (
                response.with_error_code(ResponseError::IllegalSaslState.code()),
                false,
            )
        }
    }
}
