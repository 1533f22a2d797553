//! DescribeUserScramCredentials and AlterUserScramCredentials (KIP-554),
//! which the rdkafka crate does not wrap.

use std::ffi::c_char;
use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{call, cstring, error_object, text, Handle};
use crate::client::entity_config::{ScramChange, ScramCredential, ScramMechanism};
use crate::client::error::{ClientError, Result};

fn mechanism(m: ScramMechanism) -> rdsys::rd_kafka_ScramMechanism_t {
    match m {
        ScramMechanism::Sha256 => {
            rdsys::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_256
        }
        ScramMechanism::Sha512 => {
            rdsys::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_512
        }
    }
}

/// One user's credentials: the mechanisms and iterations, never a secret.
pub struct UserScram {
    pub user: String,
    pub credentials: Vec<ScramCredential>,
}

/// DescribeUserScramCredentials for `users`, or every user with
/// credentials when empty. A named user without any is an error, as the
/// broker answers RESOURCE_NOT_FOUND for it.
pub fn describe_user_scram_credentials(
    handle: Handle,
    users: &[String],
    timeout: Duration,
) -> Result<Vec<UserScram>> {
    let what = "cannot describe SCRAM credentials";
    let names = users
        .iter()
        .map(|u| cstring(u))
        .collect::<Result<Vec<_>>>()?;
    let mut pointers: Vec<*const c_char> = names.iter().map(|n| n.as_ptr()).collect();
    // SAFETY: the names live until the call returns, librdkafka copies
    // them; descriptions are copied out while the event lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_DescribeUserScramCredentials(
                handle.0,
                pointers.as_mut_ptr(),
                pointers.len(),
                options,
                queue,
            )
        })?;
        let result = rdsys::rd_kafka_event_DescribeUserScramCredentials_result(event.0);
        let mut n = 0usize;
        let descriptions =
            rdsys::rd_kafka_DescribeUserScramCredentials_result_descriptions(result, &mut n);
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let d = *descriptions.add(i);
            let user =
                text(rdsys::rd_kafka_UserScramCredentialsDescription_user(d)).unwrap_or_default();
            error_object(
                rdsys::rd_kafka_UserScramCredentialsDescription_error(d),
                &format!("cannot describe the SCRAM credentials of user '{user}'"),
            )?;
            let count =
                rdsys::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo_count(d);
            let credentials = (0..count)
                .filter_map(|j| {
                    let info =
                        rdsys::rd_kafka_UserScramCredentialsDescription_scramcredentialinfo(d, j);
                    let mechanism = match rdsys::rd_kafka_ScramCredentialInfo_mechanism(info) {
                        rdsys::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_256 => {
                            ScramMechanism::Sha256
                        }
                        rdsys::rd_kafka_ScramMechanism_t::RD_KAFKA_SCRAM_MECHANISM_SHA_512 => {
                            ScramMechanism::Sha512
                        }
                        _ => return None,
                    };
                    Some(ScramCredential {
                        mechanism,
                        iterations: rdsys::rd_kafka_ScramCredentialInfo_iterations(info),
                    })
                })
                .collect();
            out.push(UserScram { user, credentials });
        }
        Ok(out)
    }
}

/// Owned alterations, destroyed together.
struct Alterations(Vec<*mut rdsys::rd_kafka_UserScramCredentialAlteration_t>);

impl Drop for Alterations {
    fn drop(&mut self) {
        for a in &self.0 {
            // SAFETY: each was made by a _new function and is destroyed once.
            unsafe { rdsys::rd_kafka_UserScramCredentialAlteration_destroy(*a) }
        }
    }
}

/// AlterUserScramCredentials for one user: upserts (salted by librdkafka
/// with random bytes; the broker derives and keeps only the keys) and
/// deletions, or the first change the broker refused as the error.
pub fn alter_user_scram_credentials(
    handle: Handle,
    user: &str,
    changes: &[ScramChange],
    timeout: Duration,
) -> Result<()> {
    let what = format!("cannot alter the SCRAM credentials of user '{user}'");
    let name = cstring(user)?;
    let mut alterations = Alterations(Vec::with_capacity(changes.len()));
    for change in changes {
        // SAFETY: the name and password are read during the call; librdkafka
        // copies them into the alteration.
        let alteration = unsafe {
            match change {
                ScramChange::Upsert {
                    mechanism: m,
                    iterations,
                    password,
                } => rdsys::rd_kafka_UserScramCredentialUpsertion_new(
                    name.as_ptr(),
                    mechanism(*m),
                    *iterations,
                    password.as_ptr(),
                    password.len(),
                    std::ptr::null(),
                    0,
                ),
                ScramChange::Delete(m) => {
                    rdsys::rd_kafka_UserScramCredentialDeletion_new(name.as_ptr(), mechanism(*m))
                }
            }
        };
        if alteration.is_null() {
            return Err(ClientError::Invalid(format!(
                "{what}: librdkafka could not build the change"
            )));
        }
        alterations.0.push(alteration);
    }
    // SAFETY: librdkafka copies the alterations, which the guard destroys
    // after the call; responses are read while the event lives.
    unsafe {
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_AlterUserScramCredentials(
                handle.0,
                alterations.0.as_mut_ptr(),
                alterations.0.len(),
                options,
                queue,
            )
        })?;
        let result = rdsys::rd_kafka_event_AlterUserScramCredentials_result(event.0);
        let mut n = 0usize;
        let responses = rdsys::rd_kafka_AlterUserScramCredentials_result_responses(result, &mut n);
        for i in 0..n {
            let r = *responses.add(i);
            error_object(
                rdsys::rd_kafka_AlterUserScramCredentials_result_response_error(r),
                &what,
            )?;
        }
        Ok(())
    }
}
