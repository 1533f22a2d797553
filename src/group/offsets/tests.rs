//! OffsetCommit's membership checks and a commit's way to OffsetFetch,
//! through the coordinator without a broker process.

use kafka_protocol::error::ResponseError;

use super::CommittedOffset;
use crate::group::testing::{join_request, member_id, Harness, SESSION_MS};
use crate::topic_partition::TopicPartition;

fn at(offset: i64) -> Vec<(TopicPartition, CommittedOffset)> {
    vec![(
        TopicPartition::new("t", 0),
        CommittedOffset {
            offset,
            leader_epoch: 0,
            metadata: None,
            commit_timestamp_ms: crate::partition::now_ms(),
        },
    )]
}

#[tokio::test]
async fn a_commit_from_an_old_generation_is_illegal_and_the_current_one_shows_once_replicated() {
    let h = Harness::new();
    let c = &h.coordinator;
    // A one-member group in generation 1, synced.
    let id = member_id(c).await;
    let joined = c.join_group(join_request(&id, None, SESSION_MS)).await;
    assert_eq!((joined.error, joined.generation_id), (None, 1));
    c.sync_group("g", 1, &id, None, Vec::new())
        .await
        .expect("the leader's sync");

    assert_eq!(
        c.commit_offsets("g", 0, &id, None, at(41)),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        c.commit_offsets("g", 1, "someone-else", None, at(41)),
        Err(ResponseError::UnknownMemberId)
    );
    assert_eq!(c.fetch_offsets("g", None), Vec::new(), "nothing committed");

    assert_eq!(c.commit_offsets("g", 1, &id, None, at(42)), Ok(()));
    c.replicated("g").await.expect("the one replica has it");
    let fetched = c.fetch_offsets("g", Some(vec![("t".to_string(), vec![0])]));
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].1.as_ref().map(|o| o.offset), Some(42));
}
