//! ElectLeaders, which the rdkafka crate does not wrap.

use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use super::{call, entry, partition_list, text, Handle, TopicPartition};
use crate::client::error::Result;

pub use rdsys::rd_kafka_ElectionType_t as ElectionKind;

/// One partition's answer: no error when a leader was elected.
pub struct ElectionAnswer {
    pub partition: TopicPartition,
    pub error: Option<(RDKafkaErrorCode, Option<String>)>,
}

/// ElectLeaders for `partitions`, or for every partition when `None` (the
/// controller then leaves out those that need no election, as Kafka's does).
pub fn elect_leaders(
    handle: Handle,
    kind: ElectionKind,
    partitions: Option<&[TopicPartition]>,
    timeout: Duration,
) -> Result<Vec<ElectionAnswer>> {
    let what = "cannot elect leaders";
    let list = partitions
        .map(|ps| {
            partition_list(
                ps.iter()
                    .map(|tp| (tp, i64::from(rdsys::RD_KAFKA_OFFSET_INVALID))),
            )
        })
        .transpose()?;
    // SAFETY: the request copies the list and is destroyed here after
    // librdkafka copied it in turn; results are copied out while the event
    // lives.
    unsafe {
        let request = rdsys::rd_kafka_ElectLeaders_new(
            kind,
            list.as_ref().map_or(std::ptr::null_mut(), |l| l.ptr()),
        );
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_ElectLeaders(handle.0, request, options, queue)
        });
        rdsys::rd_kafka_ElectLeaders_destroy(request);
        let event = event?;
        let result = rdsys::rd_kafka_event_ElectLeaders_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_ElectLeaders_result_partitions(result, &mut n);
        Ok((0..n)
            .map(|i| {
                let r = *results.add(i);
                let e = entry(rdsys::rd_kafka_topic_partition_result_partition(r));
                let error = e.error.map(|code| {
                    let object = rdsys::rd_kafka_topic_partition_result_error(r);
                    let message = if object.is_null() {
                        None
                    } else {
                        text(rdsys::rd_kafka_error_string(object))
                    };
                    (code, message)
                });
                ElectionAnswer {
                    partition: e.partition,
                    error,
                }
            })
            .collect())
    }
}
