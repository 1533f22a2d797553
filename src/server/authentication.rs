//! SASL on a connection, as Kafka's `SaslServerAuthenticator` sits in
//! front of request handling: until the client has authenticated, only
//! ApiVersions, SaslHandshake and SaslAuthenticate are taken, and any other
//! request closes the connection unserved. Afterwards (KIP-368) a session
//! whose lifetime has passed takes nothing but a re-authentication, and a
//! re-authentication once begun takes nothing but its SaslAuthenticate.

use std::time::Instant;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, SaslAuthenticateRequest, SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable};

use super::frame::Frame;
use crate::api::{self, sasl_authenticate, sasl_handshake, BrokerContext};
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};
use crate::security::sasl::SaslSession;

/// What becomes of a frame on a SASL listener.
pub(crate) enum Gate {
    /// An ordinary request, served as on any listener.
    Pass(Frame),
    /// Answered here; the connection closes after the answer unless `keep_open`.
    Answer { answer: Answer, keep_open: bool },
    /// Closed unanswered.
    Close(String),
}

pub(crate) enum Answer {
    Kafka {
        correlation_id: i32,
        key: ApiKey,
        version: i16,
        body: BytesMut,
    },
    /// A bare token after a v0 handshake: no Kafka header.
    Raw(Bytes),
}

fn encode<M: Encodable>(message: &M, version: i16) -> Result<BytesMut, String> {
    let mut out = BytesMut::new();
    message
        .encode(&mut out, version)
        .map_err(|e| format!("cannot encode a SASL response: {e}"))?;
    Ok(out)
}

/// Reads a SASL request's header and body at a version the broker serves.
fn decode<R: Decodable>(
    mut bytes: Bytes,
    key: ApiKey,
    version: i16,
) -> Result<(RequestHeader, R), String> {
    let endpoint = api::endpoint(key).ok_or_else(|| format!("API {key:?} is not served"))?;
    if version < endpoint.versions.min || version > endpoint.versions.max {
        return Err(format!("unsupported version {version} of {key:?}"));
    }
    let header = RequestHeader::decode(&mut bytes, key.request_header_version(version))
        .map_err(|e| format!("bad {key:?} v{version} request header: {e}"))?;
    let request = R::decode(&mut bytes, version)
        .map_err(|e| format!("bad {key:?} v{version} request body: {e}"))?;
    Ok((header, request))
}

pub(super) fn gate(broker: &BrokerContext, session: &mut SaslSession, frame: Frame) -> Gate {
    let image = broker.image();
    gate_with(
        &|user: &str, mechanism| image.scram_credential(user, mechanism).cloned(),
        session,
        frame,
    )
}

/// [`gate`] with SCRAM credentials from `scram`: the metadata quorum's
/// listener authenticates its peers with it before a broker runs.
pub(crate) fn gate_with(
    scram: &dyn Fn(&str, ScramMechanism) -> Option<ScramCredential>,
    session: &mut SaslSession,
    frame: Frame,
) -> Gate {
    if session.expects_raw_token() {
        return match sasl_authenticate::exchange(scram, session, &frame.bytes) {
            Ok((token, _)) => Gate::Answer {
                answer: Answer::Raw(token),
                keep_open: true,
            },
            // Without Kafka framing there is no error to send: Kafka closes too.
            Err(message) => Gate::Close(format!("SASL authentication failed: {message}")),
        };
    }
    let bytes = &frame.bytes;
    if bytes.len() < 4 {
        return Gate::Pass(frame);
    }
    let key = ApiKey::try_from(i16::from_be_bytes([bytes[0], bytes[1]]));
    let version = i16::from_be_bytes([bytes[2], bytes[3]]);
    match key {
        Ok(ApiKey::SaslHandshake) if session.expects_handshake() => {
            let (header, request) =
                match decode::<SaslHandshakeRequest>(frame.bytes, ApiKey::SaslHandshake, version) {
                    Ok(decoded) => decoded,
                    Err(reason) => return Gate::Close(reason),
                };
            let (response, keep_open) = sasl_handshake::handshake(session, &request, version);
            answer(header, ApiKey::SaslHandshake, version, &response, keep_open)
        }
        Ok(ApiKey::SaslAuthenticate) if session.expects_token() => {
            let (header, request) = match decode::<SaslAuthenticateRequest>(
                frame.bytes,
                ApiKey::SaslAuthenticate,
                version,
            ) {
                Ok(decoded) => decoded,
                Err(reason) => return Gate::Close(reason),
            };
            let (response, keep_open) = sasl_authenticate::authenticate(scram, session, &request);
            answer(header, ApiKey::SaslAuthenticate, version, &response, keep_open)
        }
        // Kafka's authenticator, once a handshake has started an exchange,
        // takes nothing but SaslAuthenticate (IllegalSaslStateException,
        // then the connection closes): in the middle of a re-authentication
        // the old principal serves nothing, not even ApiVersions.
        _ if session.expects_token() => Gate::Close(match key {
            Ok(key) => format!("unexpected Kafka request of type {key:?} during SASL authentication"),
            Err(()) => "a request that is not Kafka's during SASL authentication".into(),
        }),
        _ if session.expired(Instant::now()) => Gate::Close(
            "the SASL session expired (connections.max.reauth.ms) and the client did not re-authenticate"
                .into(),
        ),
        Ok(ApiKey::ApiVersions) => Gate::Pass(frame),
        _ if session.principal().is_none() => Gate::Close(match key {
            Ok(key) => format!("unexpected {key:?} request before SASL authentication"),
            Err(()) => "a request that is not Kafka's before SASL authentication".into(),
        }),
        _ => Gate::Pass(frame),
    }
}

fn answer<M: Encodable>(
    header: RequestHeader,
    key: ApiKey,
    version: i16,
    response: &M,
    keep_open: bool,
) -> Gate {
    match encode(response, version) {
        Ok(body) => Gate::Answer {
            answer: Answer::Kafka {
                correlation_id: header.correlation_id,
                key,
                version,
                body,
            },
            keep_open,
        },
        Err(reason) => Gate::Close(reason),
    }
}
