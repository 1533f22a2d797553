//! Kafka's framing as a client speaks it, shared by every connection this
//! crate opens to a broker (broker to broker, and the tools' own admin
//! connection): a request with its header behind a 4-byte length, and a
//! response read back under its header and correlation id. The messages
//! themselves are `kafka-protocol`'s.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

/// `request` at `version`, framed and ready to write.
pub fn request_frame<R: Request>(
    request: &R,
    version: i16,
    correlation_id: i32,
    client_id: &StrBytes,
) -> Result<BytesMut, String> {
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(client_id.clone()));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, R::header_version(version))
        .and_then(|()| request.encode(&mut body, version))
        .map_err(|e| format!("cannot encode the request: {e}"))?;
    let mut frame = BytesMut::with_capacity(4 + body.len());
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// Decodes the response `body` (the frame without its length) to a
/// request of type `R` sent at `version` with `correlation_id`.
pub fn decode_response<R: Request>(
    mut body: Bytes,
    version: i16,
    correlation_id: i32,
) -> Result<R::Response, String> {
    let header_version = ApiKey::try_from(R::KEY)
        .map_err(|_| format!("unknown API key {}", R::KEY))?
        .response_header_version(version);
    let header = ResponseHeader::decode(&mut body, header_version)
        .map_err(|e| format!("cannot decode the answer: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err("the answer is to another request".to_string());
    }
    R::Response::decode(&mut body, version).map_err(|e| format!("cannot decode the answer: {e}"))
}
