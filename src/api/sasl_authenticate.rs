//! SaslAuthenticate: one token of the SASL exchange. On a SASL listener
//! the connection layer passes the tokens of an exchange in progress to
//! [`authenticate`]; what reaches the handler comes after authentication
//! (or on a listener without SASL) and gets ILLEGAL_SASL_STATE, as from
//! Kafka's KafkaApis.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::security::sasl::SaslSession;

pub struct SaslAuthenticate;

impl Handler for SaslAuthenticate {
    type Request = SaslAuthenticateRequest;

    async fn handle(
        _broker: Arc<BrokerContext>,
        _ctx: RequestContext,
        _request: SaslAuthenticateRequest,
    ) -> SaslAuthenticateResponse {
        SaslAuthenticateResponse::default()
            .with_error_code(ResponseError::IllegalSaslState.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "SaslAuthenticate request received after successful authentication",
            )))
    }
}

/// Runs one token through the session, with SCRAM credentials from
/// `scram`. `Ok` carries the server's token and the session lifetime (once
/// complete); `Err` the failure message, after which the connection closes.
pub fn exchange(
    scram: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    session: &mut SaslSession,
    token: &[u8],
) -> Result<(Bytes, i64), String> {
    let step = session.authenticate(token, scram)?;
    Ok((Bytes::from(step.token), step.session_lifetime_ms))
}

/// SaslAuthenticate on a SASL listener: the response, and whether the
/// connection stays open after it.
pub fn authenticate(
    scram: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    session: &mut SaslSession,
    request: &SaslAuthenticateRequest,
) -> (SaslAuthenticateResponse, bool) {
    match exchange(scram, session, &request.auth_bytes) {
        Ok((token, lifetime_ms)) => (
            SaslAuthenticateResponse::default()
                .with_auth_bytes(token)
                .with_session_lifetime_ms(lifetime_ms),
            true,
        ),
        Err(message) => {
            tracing::info!(error = %message, "failed authentication");
            (
                SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
                false,
            )
        }
    }
}
