//! Per-message facts librdkafka keeps that the rdkafka crate leaves out.

use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::message::BorrowedMessage;

/// For a delivery report: the time from the record's produce call to its
/// acknowledgement, as librdkafka measured it (its `rd_kafka_message_latency`).
pub fn message_latency(message: &BorrowedMessage<'_>) -> Option<Duration> {
    // SAFETY: the pointer is the live message the borrow refers to.
    let micros = unsafe { rdsys::rd_kafka_message_latency(message.ptr()) };
    u64::try_from(micros).ok().map(Duration::from_micros)
}
