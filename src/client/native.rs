//! Admin operations librdkafka provides and the rdkafka crate does not wrap
//! (or wraps without reporting per-resource errors): called through
//! rdkafka-sys on a private event queue and waited for on a blocking thread.

use std::ffi::{c_char, CStr, CString};
use std::time::Duration;

use rdkafka::bindings as rdsys;
use rdkafka::types::RDKafkaErrorCode;

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
    start: impl FnOnce(*const rdsys::rd_kafka_AdminOptions_t, *mut rdsys::rd_kafka_queue_t),
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

/// One change of an IncrementalAlterConfigs call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String, String),
    Delete(String),
}

/// IncrementalAlterConfigs on one topic: sets and deletes named keys and
/// leaves every other override as it is.
pub fn incremental_alter_topic_config(
    handle: Handle,
    topic: &str,
    ops: &[ConfigOp],
    timeout: Duration,
) -> Result<()> {
    let what = format!("cannot alter the configs of topic '{topic}'");
    let name = cstring(topic)?;
    let mut entries = Vec::with_capacity(ops.len());
    for op in ops {
        entries.push(match op {
            ConfigOp::Set(k, v) => (
                cstring(k)?,
                Some(cstring(v)?),
                rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
            ),
            ConfigOp::Delete(k) => (
                cstring(k)?,
                None,
                rdsys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
            ),
        });
    }
    // SAFETY: the resource is built, handed to librdkafka (which copies it)
    // and destroyed here; result pointers are read while the event lives.
    unsafe {
        let resource = rdsys::rd_kafka_ConfigResource_new(
            rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
            name.as_ptr(),
        );
        for (key, value, op) in &entries {
            let error = rdsys::rd_kafka_ConfigResource_add_incremental_config(
                resource,
                key.as_ptr(),
                *op,
                value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr()),
            );
            if !error.is_null() {
                let message = text(rdsys::rd_kafka_error_string(error));
                rdsys::rd_kafka_error_destroy(error);
                rdsys::rd_kafka_ConfigResource_destroy(resource);
                return Err(ClientError::Invalid(format!(
                    "{what}: {}",
                    message.unwrap_or_default()
                )));
            }
        }
        let mut resources = [resource];
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_IncrementalAlterConfigs(
                handle.0,
                resources.as_mut_ptr(),
                1,
                options,
                queue,
            )
        });
        rdsys::rd_kafka_ConfigResource_destroy(resource);
        let event = event?;
        let result = rdsys::rd_kafka_event_IncrementalAlterConfigs_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut n);
        for i in 0..n {
            let r = *results.add(i);
            let err = rdsys::rd_kafka_ConfigResource_error(r);
            if err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                return Err(ClientError::Broker {
                    context: what,
                    code: code(err),
                    message: text(rdsys::rd_kafka_ConfigResource_error_string(r)),
                });
            }
        }
        Ok(())
    }
}
