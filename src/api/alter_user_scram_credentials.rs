//! AlterUserScramCredentials (KIP-554): the client sends salted passwords;
//! the broker derives and keeps only the stored and server keys, through
//! the metadata quorum so that every broker authenticates the user. Each
//! user's alterations apply together or not at all.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::UserScramAlteration;
use crate::security::acl::AclOperation;
use crate::security::sasl::scram::{ScramCredential, ScramMechanism};

pub struct AlterUserScramCredentials;

type Refusal = (ResponseError, String);

/// What can be refused without the image: the mechanism and the iterations.
fn check(user: &str, mechanism: i8, iterations: Option<i32>) -> Result<ScramMechanism, Refusal> {
    if user.is_empty() {
        return Err((
            ResponseError::UnacceptableCredential,
            "Username must not be empty".into(),
        ));
    }
    let mechanism = ScramMechanism::from_code(mechanism).ok_or((
        ResponseError::UnsupportedSaslMechanism,
        "Unknown SCRAM mechanism".to_string(),
    ))?;
    match iterations {
        Some(i) if i < ScramMechanism::MIN_ITERATIONS => Err((
            ResponseError::UnacceptableCredential,
            format!(
                "Too few iterations (at least {} are needed)",
                ScramMechanism::MIN_ITERATIONS
            ),
        )),
        Some(i) if i > ScramMechanism::MAX_ITERATIONS => Err((
            ResponseError::UnacceptableCredential,
            format!(
                "Too many iterations (at most {} are allowed)",
                ScramMechanism::MAX_ITERATIONS
            ),
        )),
        _ => Ok(mechanism),
    }
}

/// The index of `name`'s entry, added at the end on its first appearance.
fn entry(users: &mut Vec<(UserScramAlteration, Option<Refusal>)>, name: &str) -> usize {
    match users.iter().position(|(u, _)| u.user == name) {
        Some(i) => i,
        None => {
            users.push((
                UserScramAlteration {
                    user: name.to_string(),
                    deletions: Vec::new(),
                    upsertions: Vec::new(),
                },
                None,
            ));
            users.len() - 1
        }
    }
}

impl Handler for AlterUserScramCredentials {
    type Request = AlterUserScramCredentialsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: AlterUserScramCredentialsRequest,
    ) -> AlterUserScramCredentialsResponse {
        // Users in order of first appearance, each with its alterations or its refusal.
        let mut users: Vec<(UserScramAlteration, Option<Refusal>)> = Vec::new();
        let mut altered = BTreeSet::new();
        let duplicate = || {
            (
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request".to_string(),
            )
        };
        for d in &request.deletions {
            let i = entry(&mut users, &d.name);
            let checked = check(&d.name, d.mechanism, None).and_then(|m| {
                altered
                    .insert((d.name.to_string(), d.mechanism))
                    .then_some(m)
                    .ok_or_else(duplicate)
            });
            match checked {
                Ok(m) => users[i].0.deletions.push(m),
                Err(e) => {
                    users[i].1.get_or_insert(e);
                }
            }
        }
        for u in &request.upsertions {
            let i = entry(&mut users, &u.name);
            let checked = check(&u.name, u.mechanism, Some(u.iterations))
                .and_then(|m| {
                    if u.salt.is_empty() || u.salted_password.is_empty() {
                        Err((
                            ResponseError::UnacceptableCredential,
                            "The salt and the salted password must not be empty".into(),
                        ))
                    } else {
                        Ok(m)
                    }
                })
                .and_then(|m| {
                    altered
                        .insert((u.name.to_string(), u.mechanism))
                        .then_some(m)
                        .ok_or_else(duplicate)
                });
            match checked {
                Ok(m) => users[i].0.upsertions.push((
                    m,
                    ScramCredential::from_salted_password(
                        m,
                        &u.salt,
                        &u.salted_password,
                        u.iterations,
                    ),
                )),
                Err(e) => {
                    users[i].1.get_or_insert(e);
                }
            }
        }
        // Kafka's controller refuses every user alike when the principal
        // may not ALTER the cluster.
        if !broker.allows_cluster(&ctx, AclOperation::Alter) {
            for (_, refusal) in &mut users {
                *refusal = Some((
                    ResponseError::ClusterAuthorizationFailed,
                    "Cluster authorization failed".to_string(),
                ));
            }
        }
        let valid: Vec<UserScramAlteration> = users
            .iter()
            .filter(|(_, refusal)| refusal.is_none())
            .map(|(u, _)| u.clone())
            .collect();
        let mut outcomes = if valid.is_empty() {
            Vec::new()
        } else {
            match broker
                .controller
                .alter_user_scram_credentials(valid.clone(), false)
                .await
            {
                Ok(results) => {
                    broker.apply_metadata();
                    results
                        .into_iter()
                        .map(|r| {
                            r.map(|(code, message)| {
                                (
                                    ResponseError::try_from_code(code)
                                        .unwrap_or(ResponseError::UnknownServerError),
                                    message,
                                )
                            })
                        })
                        .collect()
                }
                Err(e) => valid
                    .iter()
                    .map(|_| Some((e.code, e.message.clone())))
                    .collect(),
            }
        }
        .into_iter();
        let results = users
            .into_iter()
            .map(|(u, refusal)| {
                let refusal = match refusal {
                    Some(r) => Some(r),
                    None => outcomes.next().flatten(),
                };
                if refusal.is_none() {
                    tracing::info!(user = %u.user, client = ctx.client_id(), "SCRAM credentials altered");
                }
                let (code, message) = refusal.unzip();
                AlterUserScramCredentialsResult::default()
                    .with_user(StrBytes::from_string(u.user))
                    .with_error_code(code.map_or(0, |c| c.code()))
                    .with_error_message(message.map(StrBytes::from_string))
            })
            .collect();
        AlterUserScramCredentialsResponse::default().with_results(results)
    }
}
