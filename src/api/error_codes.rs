//! The error codes each response carries, counted per API and error as
//! Kafka's RequestMetrics ErrorsPerSec does from a response's
//! `errorCounts`: every code at the level the API reports results (per
//! partition, per resource, per group), NONE included. A handler cannot
//! be registered without its response type implementing [`ErrorCodes`].

use kafka_protocol::messages::*;

/// Calls `count` once per error code the response reports.
pub trait ErrorCodes {
    fn error_codes(&self, count: &mut dyn FnMut(i16));
}

/// Responses whose one error code is the whole answer.
macro_rules! top_level {
    ($($t:ty),* $(,)?) => {
        $(impl ErrorCodes for $t {
            fn error_codes(&self, count: &mut dyn FnMut(i16)) {
                count(self.error_code);
            }
        })*
    };
}

top_level!(
    AddOffsetsToTxnResponse,
    AddRaftVoterResponse,
    ApiVersionsResponse,
    ConsumerGroupHeartbeatResponse,
    DescribeAclsResponse,
    DescribeClientQuotasResponse,
    DescribeClusterResponse,
    EndTxnResponse,
    GetTelemetrySubscriptionsResponse,
    HeartbeatResponse,
    InitProducerIdResponse,
    JoinGroupResponse,
    ListConfigResourcesResponse,
    ListGroupsResponse,
    ListPartitionReassignmentsResponse,
    ListTransactionsResponse,
    PushTelemetryResponse,
    RemoveRaftVoterResponse,
    SaslAuthenticateResponse,
    SaslHandshakeResponse,
    ShareGroupHeartbeatResponse,
    SyncGroupResponse,
);

/// Responses with one result list, each result carrying its error code.
macro_rules! per_result {
    ($($t:ty => $list:ident),* $(,)?) => {
        $(impl ErrorCodes for $t {
            fn error_codes(&self, count: &mut dyn FnMut(i16)) {
                self.$list.iter().for_each(|r| count(r.error_code));
            }
        })*
    };
}

per_result!(
    AlterClientQuotasResponse => entries,
    AlterConfigsResponse => responses,
    AlterUserScramCredentialsResponse => results,
    ConsumerGroupDescribeResponse => groups,
    CreateAclsResponse => results,
    CreatePartitionsResponse => results,
    CreateTopicsResponse => topics,
    DeleteAclsResponse => filter_results,
    DeleteGroupsResponse => results,
    DeleteTopicsResponse => responses,
    DescribeConfigsResponse => results,
    DescribeGroupsResponse => groups,
    DescribeTransactionsResponse => transaction_states,
    IncrementalAlterConfigsResponse => responses,
    ShareGroupDescribeResponse => groups,
);

/// Responses with results per topic and partition, the partitions'
/// codes counted.
macro_rules! per_partition {
    ($($t:ty => $topics:ident . $partitions:ident),* $(,)?) => {
        $(impl ErrorCodes for $t {
            fn error_codes(&self, count: &mut dyn FnMut(i16)) {
                self.$topics
                    .iter()
                    .flat_map(|t| &t.$partitions)
                    .for_each(|p| count(p.error_code));
            }
        })*
    };
}

per_partition!(
    DeleteRecordsResponse => topics.partitions,
    DescribeProducersResponse => topics.partitions,
    ListOffsetsResponse => topics.partitions,
    OffsetCommitResponse => topics.partitions,
    OffsetForLeaderEpochResponse => topics.partitions,
    ProduceResponse => responses.partition_responses,
    TxnOffsetCommitResponse => topics.partitions,
);

impl ErrorCodes for FetchResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for MetadataResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            count(t.error_code);
            t.partitions.iter().for_each(|p| count(p.error_code));
        }
    }
}

impl ErrorCodes for DescribeTopicPartitionsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        for t in &self.topics {
            count(t.error_code);
            t.partitions.iter().for_each(|p| count(p.error_code));
        }
    }
}

impl ErrorCodes for OffsetFetchResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        // Before v8 one group's answer is at the top; from v8 per group.
        if self.groups.is_empty() {
            count(self.error_code);
            self.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| count(p.error_code));
        }
        for g in &self.groups {
            count(g.error_code);
            g.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| count(p.error_code));
        }
    }
}

impl ErrorCodes for FindCoordinatorResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        // Before v4 one key's answer is at the top; from v4 per key.
        if self.coordinators.is_empty() {
            count(self.error_code);
        }
        self.coordinators.iter().for_each(|c| count(c.error_code));
    }
}

impl ErrorCodes for AddPartitionsToTxnResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        // Before v4 (clients) results per topic; from v4 (brokers' batched
        // verification) per transaction.
        let partitions = self
            .results_by_topic_v3_and_below
            .iter()
            .chain(
                self.results_by_transaction
                    .iter()
                    .flat_map(|t| &t.topic_results),
            )
            .flat_map(|t| &t.results_by_partition);
        partitions.for_each(|p| count(p.partition_error_code));
    }
}

impl ErrorCodes for LeaveGroupResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.members.iter().for_each(|m| count(m.error_code));
    }
}

impl ErrorCodes for OffsetDeleteResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for AlterReplicaLogDirsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        self.results
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for DescribeLogDirsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.results.iter().for_each(|r| count(r.error_code));
    }
}

impl ErrorCodes for WriteTxnMarkersResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        self.markers
            .iter()
            .flat_map(|m| &m.topics)
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for AlterPartitionReassignmentsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for ElectLeadersResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.replica_election_results
            .iter()
            .flat_map(|t| &t.partition_result)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for DescribeUserScramCredentialsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.results.iter().for_each(|r| count(r.error_code));
    }
}

impl ErrorCodes for DescribeQuorumResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for UpdateFeaturesResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.results.iter().for_each(|r| count(r.error_code));
    }
}

impl ErrorCodes for ShareFetchResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for DescribeShareGroupOffsetsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        for group in &self.groups {
            count(group.error_code);
            group
                .topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| count(p.error_code));
        }
    }
}

impl ErrorCodes for AlterShareGroupOffsetsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

impl ErrorCodes for DeleteShareGroupOffsetsResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses.iter().for_each(|t| count(t.error_code));
    }
}

impl ErrorCodes for ShareAcknowledgeResponse {
    fn error_codes(&self, count: &mut dyn FnMut(i16)) {
        count(self.error_code);
        self.responses
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    }
}

/// The share-group state APIs answer per partition only.
macro_rules! per_state_partition {
    ($($t:ty),* $(,)?) => {
        $(impl ErrorCodes for $t {
            fn error_codes(&self, count: &mut dyn FnMut(i16)) {
                self.results
                    .iter()
                    .flat_map(|t| &t.partitions)
                    .for_each(|p| count(p.error_code));
            }
        })*
    };
}

per_state_partition!(
    InitializeShareGroupStateResponse,
    ReadShareGroupStateResponse,
    WriteShareGroupStateResponse,
    DeleteShareGroupStateResponse,
    ReadShareGroupStateSummaryResponse,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(response: &dyn ErrorCodes) -> Vec<i16> {
        let mut codes = Vec::new();
        response.error_codes(&mut |c| codes.push(c));
        codes
    }

    #[test]
    fn codes_are_read_at_the_level_results_are_reported() {
        let topics = CreateTopicsResponse::default().with_topics(vec![
            create_topics_response::CreatableTopicResult::default().with_error_code(36),
            create_topics_response::CreatableTopicResult::default(),
        ]);
        assert_eq!(counted(&topics), vec![36, 0]);

        let fetch = FetchResponse::default().with_responses(vec![
            fetch_response::FetchableTopicResponse::default().with_partitions(vec![
                fetch_response::PartitionData::default().with_error_code(6),
            ]),
        ]);
        assert_eq!(counted(&fetch), vec![0, 6]);

        let v3 = FindCoordinatorResponse::default().with_error_code(15);
        assert_eq!(counted(&v3), vec![15]);
        let v4 = FindCoordinatorResponse::default().with_coordinators(vec![
            find_coordinator_response::Coordinator::default().with_error_code(14),
        ]);
        assert_eq!(counted(&v4), vec![14]);
    }
}
