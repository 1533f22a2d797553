//! What librdkafka provides and the rdkafka crate does not wrap (or wraps
//! without reporting per-resource errors). Admin operations are called
//! through rdkafka-sys on a private event queue and waited for on a blocking
//! thread.

mod acls;
mod configs;
mod elect;
mod groups;
mod message;
mod offsets;
mod scram;
mod topics;

pub use acls::{create_acls, delete_acls, describe_acls};
pub use configs::{describe_configs, incremental_alter_configs, ConfigOp};
pub use elect::{elect_leaders, ElectionKind};
pub use groups::{
    alter_consumer_group_offsets, delete_consumer_group_offsets, describe_consumer_groups,
    list_consumer_group_offsets, list_consumer_groups,
};
pub use message::message_latency;
pub use offsets::{list_offsets, OffsetQuery};
pub use scram::{alter_user_scram_credentials, describe_user_scram_credentials};
pub use topics::{create_partitions, create_topics, delete_topics, TopicAnswer, TopicToCreate};

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::error::{ClientError, Result};

/// A librdkafka handle that may be used from another thread: librdkafka's
/// handles are thread-safe, and the owner outlives every call made with it.
#[derive(Clone, Copy)]
pub struct Handle(pub *mut rdsys::rd_kafka_t);

// SAFETY: rd_kafka_t is documented thread-safe; the Admin facade keeps the
// owning client alive for as long as any call using this pointer runs.
unsafe impl Send for Handle {}

struct Queue(*mut rdsys::rd_kafka_queue_t);

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_queue_new and destroyed once.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0) }
    }
}

struct Event(*mut rdsys::rd_kafka_event_t);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: returned by rd_kafka_queue_poll and destroyed once.
        unsafe { rdsys::rd_kafka_event_destroy(self.0) }
    }
}

struct Options(*mut rdsys::rd_kafka_AdminOptions_t);

impl Drop for Options {
    fn drop(&mut self) {
        // SAFETY: created by rd_kafka_AdminOptions_new and destroyed once.
        unsafe { rdsys::rd_kafka_AdminOptions_destroy(self.0) }
    }
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| ClientError::Invalid(format!("'{s}' contains a NUL byte")))
}

/// Copies a C string librdkafka owns; null reads as None.
///
/// SAFETY: `p` is null or a valid NUL-terminated string.
unsafe fn text(p: *const c_char) -> Option<String> {
    (!p.is_null()).then(|| CStr::from_ptr(p).to_string_lossy().into_owned())
}

fn code(err: rdsys::rd_kafka_resp_err_t) -> RDKafkaErrorCode {
    RDKafkaErrorCode::from(err)
}

/// Runs one admin call: `start` submits it on the queue with the options;
/// the result event is awaited for at most `timeout`.
fn call(
    handle: Handle,
    what: &str,
    timeout: Duration,
    start: impl FnOnce(*mut rdsys::rd_kafka_AdminOptions_t, *mut rdsys::rd_kafka_queue_t),
) -> Result<Event> {
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: the handle is a live client (see Handle); the queue and options
    // are owned here and destroyed by their guards after the event arrives.
    unsafe {
        let queue = Queue(rdsys::rd_kafka_queue_new(handle.0));
        let options = Options(rdsys::rd_kafka_AdminOptions_new(
            handle.0,
            rdsys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ANY,
        ));
        let mut errstr = [0 as c_char; 256];
        rdsys::rd_kafka_AdminOptions_set_request_timeout(
            options.0,
            ms,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        start(options.0, queue.0);
        let event = rdsys::rd_kafka_queue_poll(queue.0, ms.saturating_add(1000));
        if event.is_null() {
            return Err(ClientError::Invalid(format!(
                "{what}: no answer within {}s",
                timeout.as_secs()
            )));
        }
        let event = Event(event);
        let err = rdsys::rd_kafka_event_error(event.0);
        if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            return Err(ClientError::Broker {
                context: what.to_string(),
                code: code(err),
                message: text(rdsys::rd_kafka_event_error_string(event.0)),
            });
        }
        Ok(event)
    }
}

pub use crate::topic_partition::TopicPartition;

/// One element of a partition list librdkafka returned.
struct PartitionEntry {
    partition: TopicPartition,
    offset: i64,
    error: Option<RDKafkaErrorCode>,
}

/// Copies out the elements of a partition list librdkafka owns.
///
/// SAFETY: `list` is null or a valid list that outlives this call.
unsafe fn entries(list: *const rdsys::rd_kafka_topic_partition_list_t) -> Vec<PartitionEntry> {
    if list.is_null() {
        return Vec::new();
    }
    let list = &*list;
    (0..list.cnt.max(0) as usize)
        .map(|i| entry(list.elems.add(i)))
        .collect()
}

/// SAFETY: `p` points to a valid partition element.
unsafe fn entry(p: *const rdsys::rd_kafka_topic_partition_t) -> PartitionEntry {
    let p = &*p;
    PartitionEntry {
        partition: TopicPartition::new(text(p.topic).unwrap_or_default(), p.partition),
        offset: p.offset,
        error: (p.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
            .then(|| code(p.err)),
    }
}

/// An input partition list, each partition carrying `offset` in
/// librdkafka's raw form (negative values are its logical offsets).
fn partition_list<'a>(
    partitions: impl IntoIterator<Item = (&'a TopicPartition, i64)>,
) -> Result<TopicPartitionList> {
    let mut list = TopicPartitionList::new();
    for (tp, offset) in partitions {
        list.add_partition_offset(&tp.topic, tp.partition, Offset::from_raw(offset))
            .map_err(ClientError::kafka("cannot build a partition list"))?;
    }
    Ok(list)
}

/// A librdkafka error object as a client error; null, or an object whose
/// code is NO_ERROR (as AlterUserScramCredentials answers a success), means
/// no error.
///
/// SAFETY: `error` is null or a valid error object.
unsafe fn error_object(error: *const rdsys::rd_kafka_error_t, context: &str) -> Result<()> {
    if error.is_null()
        || rdsys::rd_kafka_error_code(error)
            == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    {
        return Ok(());
    }
    Err(ClientError::Broker {
        context: context.to_string(),
        code: code(rdsys::rd_kafka_error_code(error)),
        message: text(rdsys::rd_kafka_error_string(error)),
    })
}
