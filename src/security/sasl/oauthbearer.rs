//! OAUTHBEARER (RFC 7628) as Kafka's broker validates it: by default
//! Kafka's unsecured JWS handler (`alg: none`, for development), or, when
//! `sasl.oauthbearer.jwks.endpoint.url` is set, signed JWTs checked against
//! that key set with the expected audience, issuer and clock skew.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::jwks::Jwks;
use super::AuthError;

/// How tokens are validated on one listener.
pub struct OAuthConfig {
    pub validator: Validator,
}

pub enum Validator {
    /// Kafka's `OAuthBearerUnsecuredValidatorCallbackHandler`, with its
    /// JAAS options (`unsecuredValidator...`).
    Unsecured {
        principal_claim: String,
        scope_claim: String,
        required_scope: Vec<String>,
        clock_skew: Duration,
    },
    /// Kafka's `OAuthBearerValidatorCallbackHandler` over a JWKS.
    Signed {
        jwks: Arc<Jwks>,
        audience: Vec<String>,
        issuer: Option<String>,
        clock_skew: Duration,
        sub_claim: String,
    },
}

/// A token that passed validation.
#[derive(Debug)]
pub struct ValidToken {
    pub principal: String,
    /// Its `exp`, in milliseconds since the epoch.
    pub expires_at_ms: i64,
}

/// The client's first message: `n,[a=authzid],^Aauth=Bearer <token>^A[key=value^A]*^A`.
pub fn parse_initial_response(message: &[u8]) -> Result<(String, String), AuthError> {
    let bad = || AuthError::invalid("invalid OAUTHBEARER client first message");
    let message = std::str::from_utf8(message).map_err(|_| bad())?;
    let rest = message.strip_prefix("n,").ok_or_else(bad)?;
    let (authzid, rest) = rest.split_once(',').ok_or_else(bad)?;
    let authzid = match authzid.strip_prefix("a=") {
        Some(a) => a.to_string(),
        None if authzid.is_empty() => String::new(),
        None => return Err(bad()),
    };
    let auth = rest
        .split('\u{1}')
        .find_map(|kv| kv.strip_prefix("auth="))
        .ok_or_else(bad)?;
    let (scheme, token) = auth.split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::invalid(format!(
            "invalid scheme in OAUTHBEARER client first message: {scheme}"
        )));
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty()
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(bad());
    }
    Ok((authzid, token.to_string()))
}

fn b64_json(part: &str) -> Result<Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| "a part of the token is not Base64URL-encoded".to_string())?;
    serde_json::from_slice(&bytes)
        .map_err(|_| "a part of the token is not a JSON object".to_string())
}

/// A NumericDate claim (seconds, possibly fractional) in milliseconds.
fn millis(claims: &Value, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64().map(|s| (s * 1000.0) as i64)),
        Some(_) => Err(format!("the '{name}' claim is not a number")),
    }
}

fn scopes(claims: &Value, claim: &str) -> BTreeSet<String> {
    match claims.get(claim) {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => BTreeSet::new(),
    }
}

impl OAuthConfig {
    /// Checks `token` at `now_ms`; `Err` says why it is refused.
    pub fn validate(&self, token: &str, now_ms: i64) -> Result<ValidToken, String> {
        match &self.validator {
            Validator::Unsecured {
                principal_claim,
                scope_claim,
                required_scope,
                clock_skew,
            } => {
                let parts: Vec<&str> = token.split('.').collect();
                if parts.len() != 3 {
                    return Err(
                        "an unsecured JWS must have 3 dot-separated Base64URL-encoded values"
                            .into(),
                    );
                }
                if !parts[2].is_empty() {
                    return Err("an unsecured JWS must have an empty signature (this listener has no sasl.oauthbearer.jwks.endpoint.url to check signed tokens)".into());
                }
                let header = b64_json(parts[0])?;
                if header.get("alg").and_then(Value::as_str) != Some("none") {
                    return Err("an unsecured JWS must have \"alg\":\"none\"".into());
                }
                let claims = b64_json(parts[1])?;
                let skew = clock_skew.as_millis() as i64;
                let principal = claims
                    .get(principal_claim)
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| format!("the token has no '{principal_claim}' claim"))?
                    .to_string();
                let exp = millis(&claims, "exp")?.ok_or("the token has no 'exp' claim")?;
                if now_ms - skew >= exp {
                    return Err(format!(
                        "the token expired: the time now ({now_ms} ms) minus the allowed clock skew ({skew} ms) is on or after its expiration time ({exp} ms)"
                    ));
                }
                if let Some(iat) = millis(&claims, "iat")? {
                    if now_ms + skew < iat {
                        return Err(format!(
                            "the token was issued in the future: the time now ({now_ms} ms) plus the allowed clock skew ({skew} ms) is before its issued-at time ({iat} ms)"
                        ));
                    }
                }
                let granted = scopes(&claims, scope_claim);
                if let Some(missing) = required_scope.iter().find(|s| !granted.contains(*s)) {
                    return Err(format!("the token's scope lacks the required '{missing}'"));
                }
                Ok(ValidToken {
                    principal,
                    expires_at_ms: exp,
                })
            }
            Validator::Signed {
                jwks,
                audience,
                issuer,
                clock_skew,
                sub_claim,
            } => {
                let header = jsonwebtoken::decode_header(token)
                    .map_err(|e| format!("the token's header cannot be read: {e}"))?;
                if matches!(
                    header.alg,
                    Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
                ) {
                    return Err(format!("algorithm {:?} is not accepted; tokens must be signed with a key of the JWKS", header.alg));
                }
                let keys = jwks.keys();
                let jwk = match &header.kid {
                    Some(kid) => keys.find(kid),
                    None if keys.keys.len() == 1 => keys.keys.first(),
                    None => None,
                }
                .ok_or_else(|| match &header.kid {
                    Some(kid) if jwks.key_missing(kid) => {
                        format!("no key with id '{kid}' in the JWKS; the JWKS is being refreshed, retry")
                    }
                    Some(kid) => format!("no key with id '{kid}' in the JWKS"),
                    None => "the token names no key id (kid) and the JWKS has several keys".into(),
                })?;
                let key = DecodingKey::from_jwk(jwk)
                    .map_err(|e| format!("the JWKS key cannot be used: {e}"))?;
                let mut validation = Validation::new(header.alg);
                validation.leeway = clock_skew.as_secs();
                validation.set_required_spec_claims(&["exp"]);
                if audience.is_empty() {
                    validation.validate_aud = false;
                } else {
                    validation.set_audience(audience);
                }
                if let Some(issuer) = issuer {
                    validation.set_issuer(&[issuer]);
                }
                let data =
                    jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| match e
                        .kind()
                    {
                        jsonwebtoken::errors::ErrorKind::ExpiredSignature => format!(
                            "the token expired (allowed clock skew {} s)",
                            clock_skew.as_secs()
                        ),
                        _ => format!("the token is not valid: {e}"),
                    })?;
                let principal = data
                    .claims
                    .get(sub_claim)
                    .and_then(Value::as_str)
                    .filter(|p| !p.is_empty())
                    .ok_or_else(|| format!("the token has no '{sub_claim}' claim"))?
                    .to_string();
                let exp = millis(&data.claims, "exp")?.ok_or("the token has no 'exp' claim")?;
                Ok(ValidToken {
                    principal,
                    expires_at_ms: exp,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsecured() -> OAuthConfig {
        OAuthConfig {
            validator: Validator::Unsecured {
                principal_claim: "sub".into(),
                scope_claim: "scope".into(),
                required_scope: Vec::new(),
                clock_skew: Duration::ZERO,
            },
        }
    }

    fn jws(claims: &str) -> String {
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn unsecured_tokens_are_read_as_kafka_reads_them() {
        let now = 1_700_000_000_000;
        let token = jws(r#"{"sub":"alice","iat":1699999999.5,"exp":1700000100}"#);
        let valid = unsecured().validate(&token, now).unwrap();
        assert_eq!(valid.principal, "alice");
        assert_eq!(valid.expires_at_ms, 1_700_000_100_000);
        let expired = unsecured()
            .validate(&jws(r#"{"sub":"alice","exp":1699999000}"#), now)
            .unwrap_err();
        assert!(expired.contains("expired"), "{expired}");
        assert!(unsecured()
            .validate(&jws(r#"{"exp":1700000100}"#), now)
            .is_err());
        assert!(unsecured().validate(&format!("{token}sig"), now).is_err());
    }

    #[test]
    fn the_client_first_message_is_parsed() {
        let (authzid, token) =
            parse_initial_response(b"n,,\x01auth=Bearer a.b.\x01ext=1\x01\x01").unwrap();
        assert_eq!((authzid.as_str(), token.as_str()), ("", "a.b."));
        let (authzid, _) = parse_initial_response(b"n,a=bob,\x01auth=Bearer x\x01\x01").unwrap();
        assert_eq!(authzid, "bob");
        assert!(parse_initial_response(b"n,,\x01auth=Basic x\x01\x01").is_err());
        assert!(parse_initial_response(b"y,,\x01auth=Bearer x\x01\x01").is_err());
    }
}
