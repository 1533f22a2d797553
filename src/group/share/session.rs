//! Share sessions (Kafka's ShareSessionCache): per (group, member), the
//! partitions a share consumer fetches from this broker and the epoch its
//! next ShareFetch or ShareAcknowledge must carry. Epoch 0 opens a session
//! (replacing one the member had), -1 closes it, anything else must be
//! the session's next epoch; each request moves the epoch on by one.

use std::collections::{BTreeSet, HashMap};

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

/// The epoch that opens a session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch that closes one.
pub const FINAL_EPOCH: i32 = -1;

pub type SessionPartition = (Uuid, i32);

#[derive(Debug)]
struct ShareSession {
    /// The epoch the next request must carry.
    epoch: i32,
    partitions: BTreeSet<SessionPartition>,
    /// The connection its last request came on: when it closes, the
    /// session goes, as Kafka's ShareSessionCache drops a disconnected
    /// client's session.
    connection: Option<u64>,
}

/// What a request's epoch did to its session.
#[derive(Debug, PartialEq, Eq)]
pub enum Opened {
    /// A new session, holding these partitions.
    New(Vec<SessionPartition>),
    /// The session continues, holding these partitions.
    Continued(Vec<SessionPartition>),
    /// The session is closed; it held these partitions.
    Closed(Vec<SessionPartition>),
}

#[derive(Debug, Default)]
pub struct ShareSessionCache {
    sessions: HashMap<(String, String), ShareSession>,
}

impl ShareSessionCache {
    /// A ShareFetch's session: opened at epoch 0 (at most `max_sessions`
    /// held), closed at -1, else continued at its expected epoch with
    /// `added` and without `forgotten`.
    pub fn fetch(
        &mut self,
        group: &str,
        member: &str,
        epoch: i32,
        added: &[SessionPartition],
        forgotten: &[SessionPartition],
        max_sessions: usize,
    ) -> Result<Opened, ResponseError> {
        let key = (group.to_string(), member.to_string());
        if epoch == INITIAL_EPOCH {
            if !self.sessions.contains_key(&key) && self.sessions.len() >= max_sessions {
                return Err(ResponseError::ShareSessionLimitReached);
            }
            let partitions: BTreeSet<_> = added.iter().copied().collect();
            let list = partitions.iter().copied().collect();
            self.sessions.insert(
                key,
                ShareSession {
                    epoch: 1,
                    partitions,
                    connection: None,
                },
            );
            return Ok(Opened::New(list));
        }
        self.continue_session(key, epoch, |s| {
            s.partitions.extend(added.iter().copied());
            for p in forgotten {
                s.partitions.remove(p);
            }
        })
    }

    /// A ShareAcknowledge's session: it cannot open one.
    pub fn acknowledge(
        &mut self,
        group: &str,
        member: &str,
        epoch: i32,
    ) -> Result<Opened, ResponseError> {
        if epoch == INITIAL_EPOCH {
            return Err(ResponseError::InvalidShareSessionEpoch);
        }
        self.continue_session((group.to_string(), member.to_string()), epoch, |_| {})
    }

    fn continue_session(
        &mut self,
        key: (String, String),
        epoch: i32,
        change: impl FnOnce(&mut ShareSession),
    ) -> Result<Opened, ResponseError> {
        let Some(session) = self.sessions.get_mut(&key) else {
            return Err(ResponseError::ShareSessionNotFound);
        };
        if epoch == FINAL_EPOCH {
            let closed = self.sessions.remove(&key).map(|s| s.partitions);
            return Ok(Opened::Closed(
                closed.into_iter().flatten().collect::<Vec<_>>(),
            ));
        }
        if epoch != session.epoch {
            return Err(ResponseError::InvalidShareSessionEpoch);
        }
        change(session);
        // After i32::MAX the epoch wraps to 1, as Kafka's nextEpoch does.
        session.epoch = if session.epoch == i32::MAX {
            1
        } else {
            session.epoch + 1
        };
        Ok(Opened::Continued(
            session.partitions.iter().copied().collect(),
        ))
    }

    /// Ties `member`'s session in `group` to the connection its request
    /// came on.
    pub fn bind(&mut self, group: &str, member: &str, connection: u64) {
        if let Some(s) = self
            .sessions
            .get_mut(&(group.to_string(), member.to_string()))
        {
            s.connection = Some(connection);
        }
    }

    /// Drops the sessions of `connection`, which closed: their (group, member).
    pub fn remove_connection(&mut self, connection: u64) -> Vec<(String, String)> {
        let gone: Vec<(String, String)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.connection == Some(connection))
            .map(|(k, _)| k.clone())
            .collect();
        for key in &gone {
            self.sessions.remove(key);
        }
        gone
    }

    /// Drops `member`'s session in `group`: the member is gone from the
    /// group without closing it.
    pub fn remove(&mut self, group: &str, member: &str) {
        self.sessions
            .remove(&(group.to_string(), member.to_string()));
    }
}
