//! IncrementalAlterConfigs, which the rdkafka crate does not wrap.

use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{call, code, cstring, text, Handle};
use crate::client::error::{ClientError, Result};

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
