//! CreateTopics, DeleteTopics and CreatePartitions with the broker's
//! error message kept: the rdkafka crate's wrappers return only the code,
//! so `InvalidConfig` reached the user without naming the key.

use std::ffi::c_char;
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

use super::{call, code, cstring, text, Event, Handle};
use crate::client::error::{ClientError, Result};

/// A topic's answer: its name and, when refused, the code and the broker's
/// explanation.
pub struct TopicAnswer {
    pub name: String,
    pub error: Option<(RDKafkaErrorCode, Option<String>)>,
}

/// A topic to create: its name, partition count and replication factor
/// (-1: the broker's default) and configs.
pub struct TopicToCreate<'a> {
    pub name: &'a str,
    pub partitions: i32,
    pub replication_factor: i32,
    pub configs: &'a [(String, String)],
}

pub fn create_topics(
    handle: Handle,
    topics: &[TopicToCreate<'_>],
    timeout: Duration,
) -> Result<Vec<TopicAnswer>> {
    let what = "cannot create topics";
    // SAFETY: every NewTopic is created, filled and destroyed here; librdkafka
    // copies them into its request; results are copied out while the event
    // lives.
    unsafe {
        let mut new_topics = Vec::with_capacity(topics.len());
        let built = (|| {
            for t in topics {
                let name = cstring(t.name)?;
                let mut errstr = [0 as c_char; 512];
                let new = rdsys::rd_kafka_NewTopic_new(
                    name.as_ptr(),
                    t.partitions,
                    t.replication_factor,
                    errstr.as_mut_ptr(),
                    errstr.len(),
                );
                if new.is_null() {
                    return Err(ClientError::Invalid(format!(
                        "cannot create topic '{}': {}",
                        t.name,
                        text(errstr.as_ptr()).unwrap_or_default()
                    )));
                }
                new_topics.push(new);
                for (key, value) in t.configs {
                    let (k, v) = (cstring(key)?, cstring(value)?);
                    let err = rdsys::rd_kafka_NewTopic_set_config(new, k.as_ptr(), v.as_ptr());
                    if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                        return Err(ClientError::Invalid(format!(
                            "cannot create topic '{}': config {key}={value}: {}",
                            t.name,
                            code(err)
                        )));
                    }
                }
            }
            Ok(())
        })();
        let event = built.and_then(|()| {
            call(handle, what, timeout, |options, queue| {
                rdsys::rd_kafka_CreateTopics(
                    handle.0,
                    new_topics.as_mut_ptr(),
                    new_topics.len(),
                    options,
                    queue,
                )
            })
        });
        for new in new_topics {
            rdsys::rd_kafka_NewTopic_destroy(new);
        }
        let event = event?;
        let result = rdsys::rd_kafka_event_CreateTopics_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_CreateTopics_result_topics(result, &mut n);
        Ok(answers(&event, results, n))
    }
}

pub fn delete_topics(
    handle: Handle,
    names: &[String],
    timeout: Duration,
) -> Result<Vec<TopicAnswer>> {
    let what = "cannot delete topics";
    // SAFETY: as in `create_topics`.
    unsafe {
        let mut deletions = Vec::with_capacity(names.len());
        let built = (|| {
            for name in names {
                let c = cstring(name)?;
                deletions.push(rdsys::rd_kafka_DeleteTopic_new(c.as_ptr()));
            }
            Ok(())
        })();
        let event = built.and_then(|()| {
            call(handle, what, timeout, |options, queue| {
                rdsys::rd_kafka_DeleteTopics(
                    handle.0,
                    deletions.as_mut_ptr(),
                    deletions.len(),
                    options,
                    queue,
                )
            })
        });
        for d in deletions {
            rdsys::rd_kafka_DeleteTopic_destroy(d);
        }
        let event = event?;
        let result = rdsys::rd_kafka_event_DeleteTopics_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_DeleteTopics_result_topics(result, &mut n);
        Ok(answers(&event, results, n))
    }
}

/// CreatePartitions: grows `topic` to `count` partitions in all.
pub fn create_partitions(
    handle: Handle,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<TopicAnswer>> {
    let what = "cannot add partitions";
    // SAFETY: as in `create_topics`.
    unsafe {
        let name = cstring(topic)?;
        let mut errstr = [0 as c_char; 512];
        let mut grow = rdsys::rd_kafka_NewPartitions_new(
            name.as_ptr(),
            count,
            errstr.as_mut_ptr(),
            errstr.len(),
        );
        if grow.is_null() {
            return Err(ClientError::Invalid(format!(
                "cannot add partitions to '{topic}': {}",
                text(errstr.as_ptr()).unwrap_or_default()
            )));
        }
        let event = call(handle, what, timeout, |options, queue| {
            rdsys::rd_kafka_CreatePartitions(handle.0, &mut grow, 1, options, queue)
        });
        rdsys::rd_kafka_NewPartitions_destroy(grow);
        let event = event?;
        let result = rdsys::rd_kafka_event_CreatePartitions_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_CreatePartitions_result_topics(result, &mut n);
        Ok(answers(&event, results, n))
    }
}

/// Copies out `n` topic results the event owns.
///
/// SAFETY: `results` points at `n` results that live as long as `_event`.
unsafe fn answers(
    _event: &Event,
    results: *mut *const rdsys::rd_kafka_topic_result_t,
    n: usize,
) -> Vec<TopicAnswer> {
    (0..n)
        .map(|i| {
            let r = *results.add(i);
            let err = rdsys::rd_kafka_topic_result_error(r);
            let error =
                (err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR).then(|| {
                    (
                        code(err),
                        text(rdsys::rd_kafka_topic_result_error_string(r)),
                    )
                });
            TopicAnswer {
                name: text(rdsys::rd_kafka_topic_result_name(r)).unwrap_or_default(),
                error,
            }
        })
        .collect()
}
