//! Changing the quorum's voters (KIP-853's AddRaftVoter and
//! RemoveRaftVoter) through openraft's membership change, run by the
//! leader: an observer that receives the log is made a voter, and a
//! removed voter stays an observer (openraft's learner) until it stops.
//! So a voter is replaced without downtime: add its successor, then
//! remove it.

use std::collections::BTreeSet;

use kafka_protocol::error::ResponseError;
use openraft::error::{ChangeMembershipError, ClientWriteError, RaftError};
use openraft::ChangeMembers;
use serde::{Deserialize, Serialize};

use super::{NodeId, Raft};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoterChange {
    Add(NodeId),
    Remove(NodeId),
}

/// Why the voters did not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoterChangeError {
    /// Asked of a node that does not lead; the leader it knows of, if any.
    NotLeader(Option<NodeId>),
    /// Kafka's error code for the refusal, and why.
    Refused(i16, String),
}

fn refused(error: ResponseError, message: String) -> VoterChangeError {
    VoterChangeError::Refused(error.code(), message)
}

/// On the quorum's leader: makes the change once it is committed.
pub async fn change(raft: &Raft, change: VoterChange) -> Result<(), VoterChangeError> {
    let membership = raft
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .clone();
    let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
    let observers: BTreeSet<NodeId> = membership.learner_ids().collect();
    let members = match change {
        VoterChange::Add(id) if voters.contains(&id) => {
            return Err(refused(
                ResponseError::DuplicateVoter,
                format!("Node {id} is already a voter of the metadata quorum."),
            ))
        }
        // Kafka adds only a node that fetches the log; here that is an
        // observer the leader already sends it to.
        VoterChange::Add(id) if !observers.contains(&id) => {
            return Err(refused(
                ResponseError::InvalidRequest,
                format!(
                    "Node {id} is not an observer of the metadata quorum: start it with \
                     process.roles=broker so that it receives the log first."
                ),
            ))
        }
        VoterChange::Add(id) => ChangeMembers::AddVoterIds(BTreeSet::from([id])),
        VoterChange::Remove(id) if !voters.contains(&id) => {
            return Err(refused(
                ResponseError::VoterNotFound,
                format!("Node {id} is not a voter of the metadata quorum."),
            ))
        }
        VoterChange::Remove(id) if voters.len() == 1 => {
            return Err(refused(
                ResponseError::InvalidRequest,
                format!("Node {id} is the metadata quorum's only voter."),
            ))
        }
        VoterChange::Remove(id) => ChangeMembers::RemoveVoters(BTreeSet::from([id])),
    };
    match raft.change_membership(members, true).await {
        Ok(_) => Ok(()),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(VoterChangeError::NotLeader(f.leader_id))
        }
        // Kafka answers a change made while another is pending the same way.
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(e),
        ))) => Err(refused(
            ResponseError::RequestTimedOut,
            format!("Another change of the voters is in progress: {e}"),
        )),
        Err(e) => Err(refused(ResponseError::UnknownServerError, e.to_string())),
    }
}
