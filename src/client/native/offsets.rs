//! ListOffsets for many partitions in one call, which the rdkafka crate
//! offers only one partition (watermarks) or one time (offsets_for_times)
//! at a time.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{call, entry, partition_list, Handle, TopicPartition};
use crate::client::error::{ClientError, Result};

/// What ListOffsets looks up in a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetQuery {
    /// The log start offset.
    Earliest,
    /// The log end offset (read_uncommitted, as Kafka's lag is measured).
    Latest,
    /// The first offset whose record is at or after this time (epoch ms).
    Time(i64),
    /// The offset of the record with the largest timestamp (KIP-734).
    MaxTimestamp,
}

impl OffsetQuery {
    fn raw(self) -> i64 {
        match self {
            OffsetQuery::Earliest => {
                rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_EARLIEST as i64
            }
            OffsetQuery::Latest => rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_LATEST as i64,
            OffsetQuery::Time(ms) => ms,
            OffsetQuery::MaxTimestamp => {
                rdsys::rd_kafka_OffsetSpec_t::RD_KAFKA_OFFSET_SPEC_MAX_TIMESTAMP as i64
            }
        }
    }
}

/// Looks up `query` in every partition. A time no record reaches gives -1,
/// as Kafka answers.
pub fn list_offsets(
    handle: Handle,
    partitions: &[TopicPartition],
    query: OffsetQuery,
    timeout: Duration,
) -> Result<BTreeMap<TopicPartition, i64>> {
    if partitions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let what = "cannot list offsets";
    let list = partition_list(partitions.iter().map(|tp| (tp, 0)))?;
    // An OffsetSpec is no offset the rdkafka crate can represent (-3, the
    // largest timestamp, is none of its Offset values), so it goes in raw.
    // SAFETY: the list is ours and holds `cnt` elements.
    unsafe {
        let raw = &mut *list.ptr();
        for i in 0..raw.cnt as usize {
            (*raw.elems.add(i)).offset = query.raw();
        }
    }
    // SAFETY: librdkafka copies the list; results are copied out while the
    // event lives.
    unsafe {
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_ListOffsets(handle.0, list.ptr(), options, queue)
        })?;
        let result = rdsys::rd_kafka_event_ListOffsets_result(event.0);
        let mut n = 0usize;
        let infos = rdsys::rd_kafka_ListOffsets_result_infos(result, &mut n);
        let mut out = BTreeMap::new();
        for i in 0..n {
            let e = entry(rdsys::rd_kafka_ListOffsetsResultInfo_topic_partition(
                *infos.add(i),
            ));
            if let Some(code) = e.error {
                return Err(ClientError::Broker {
                    context: format!("{what} of {}", e.partition),
                    code,
                    message: None,
                });
            }
            out.insert(e.partition, e.offset);
        }
        Ok(out)
    }
}
