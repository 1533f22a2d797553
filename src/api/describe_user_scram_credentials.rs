//! DescribeUserScramCredentials (KIP-554): the mechanisms and iteration
//! counts of users' SCRAM credentials, never their keys or salts.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::security::acl::AclOperation;

pub struct DescribeUserScramCredentials;

impl Handler for DescribeUserScramCredentials {
    type Request = DescribeUserScramCredentialsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeUserScramCredentialsRequest,
    ) -> DescribeUserScramCredentialsResponse {
        if !broker.allows_cluster(&ctx, AclOperation::Describe) {
            return DescribeUserScramCredentialsResponse::default()
                .with_error_code(ResponseError::ClusterAuthorizationFailed.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "Cluster authorization failed",
                )));
        }
        let image = broker.image();
        let described = |user: &str| {
            let infos: Vec<CredentialInfo> = image
                .scram_credentials
                .get(user)
                .into_iter()
                .flatten()
                .map(|(mechanism, credential)| {
                    CredentialInfo::default()
                        .with_mechanism(mechanism.code())
                        .with_iterations(credential.iterations)
                })
                .collect();
            let result = DescribeUserScramCredentialsResult::default()
                .with_user(StrBytes::from_string(user.to_string()));
            if infos.is_empty() {
                result
                    .with_error_code(ResponseError::ResourceNotFound.code())
                    .with_error_message(Some(StrBytes::from_static_str(
                        "Attempt to describe a user credential that does not exist",
                    )))
            } else {
                result.with_credential_infos(infos)
            }
        };
        // No users, or an empty list, describes every user that has one.
        let results = match request.users.filter(|u| !u.is_empty()) {
            None => image
                .scram_credentials
                .keys()
                .map(|u| described(u))
                .collect(),
            Some(users) => {
                let mut seen = BTreeSet::new();
                let duplicates: BTreeSet<&str> = users
                    .iter()
                    .filter(|u| !seen.insert(u.name.as_str()))
                    .map(|u| u.name.as_str())
                    .collect();
                let mut reported = BTreeSet::new();
                users
                    .iter()
                    .filter(|u| reported.insert(u.name.as_str()))
                    .map(|u| {
                        if duplicates.contains(u.name.as_str()) {
                            DescribeUserScramCredentialsResult::default()
                                .with_user(u.name.clone())
                                .with_error_code(ResponseError::DuplicateResource.code())
                                .with_error_message(Some(StrBytes::from_static_str(
                                    "Cannot describe SCRAM credentials for the same user twice in a single request",
                                )))
                        } else {
                            described(&u.name)
                        }
                    })
                    .collect()
            }
        };
        DescribeUserScramCredentialsResponse::default().with_results(results)
    }
}
