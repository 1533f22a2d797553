//! IncrementalAlterConfigs, which the rdkafka crate does not wrap, and
//! DescribeConfigs with each entry's synonyms, which it leaves out.

use std::time::Duration;

use rdkafka::bindings as rdsys;

use super::{call, code, cstring, text, Handle};
use crate::client::entity_config::{ConfigEntry, ConfigResourceType, ConfigSynonym};
use crate::client::error::{ClientError, Result};

impl ConfigResourceType {
    fn native(self) -> rdsys::rd_kafka_ResourceType_t {
        match self {
            ConfigResourceType::Topic => rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
            ConfigResourceType::Broker => rdsys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_BROKER,
        }
    }
}

/// Kafka's name for where a value comes from, as librdkafka spells it.
///
/// SAFETY: `entry` is a valid config entry.
unsafe fn source(entry: *const rdsys::rd_kafka_ConfigEntry_t) -> String {
    text(rdsys::rd_kafka_ConfigSource_name(
        rdsys::rd_kafka_ConfigEntry_source(entry),
    ))
    .unwrap_or_default()
}

/// DescribeConfigs of one topic or broker (by id), every entry with its
/// synonyms: the levels that set it, most specific first.
pub fn describe_configs(
    handle: Handle,
    kind: ConfigResourceType,
    resource: &str,
    timeout: Duration,
) -> Result<Vec<ConfigEntry>> {
    let what = format!(
        "cannot describe the configs of {} '{resource}'",
        kind.singular()
    );
    let name = cstring(resource)?;
    // SAFETY: the resource is handed to librdkafka (which copies it) and
    // destroyed here; entries are copied out while the event lives.
    unsafe {
        let resource = rdsys::rd_kafka_ConfigResource_new(kind.native(), name.as_ptr());
        let mut resources = [resource];
        let event = call(handle, &what, timeout, |options, queue| {
            rdsys::rd_kafka_DescribeConfigs(handle.0, resources.as_mut_ptr(), 1, options, queue)
        });
        rdsys::rd_kafka_ConfigResource_destroy(resource);
        let event = event?;
        let result = rdsys::rd_kafka_event_DescribeConfigs_result(event.0);
        let mut n = 0usize;
        let results = rdsys::rd_kafka_DescribeConfigs_result_resources(result, &mut n);
        let mut entries = Vec::new();
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
            let mut m = 0usize;
            let configs = rdsys::rd_kafka_ConfigResource_configs(r, &mut m);
            for j in 0..m {
                let e = *configs.add(j);
                let mut s = 0usize;
                let synonyms = rdsys::rd_kafka_ConfigEntry_synonyms(e, &mut s);
                entries.push(ConfigEntry {
                    name: text(rdsys::rd_kafka_ConfigEntry_name(e)).unwrap_or_default(),
                    value: text(rdsys::rd_kafka_ConfigEntry_value(e)),
                    source: source(e),
                    is_read_only: rdsys::rd_kafka_ConfigEntry_is_read_only(e) == 1,
                    is_sensitive: rdsys::rd_kafka_ConfigEntry_is_sensitive(e) == 1,
                    synonyms: (0..s)
                        .map(|k| {
                            let syn = *synonyms.add(k);
                            ConfigSynonym {
                                name: text(rdsys::rd_kafka_ConfigEntry_name(syn))
                                    .unwrap_or_default(),
                                value: text(rdsys::rd_kafka_ConfigEntry_value(syn)),
                                source: source(syn),
                            }
                        })
                        .collect(),
                });
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }
}

/// One change of an IncrementalAlterConfigs call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigOp {
    Set(String, String),
    Delete(String),
}

/// IncrementalAlterConfigs on one topic or broker: sets and deletes named
/// keys and leaves every other override as it is.
pub fn incremental_alter_configs(
    handle: Handle,
    kind: ConfigResourceType,
    resource: &str,
    ops: &[ConfigOp],
    timeout: Duration,
) -> Result<()> {
    let what = format!(
        "cannot alter the configs of {} '{resource}'",
        kind.singular()
    );
    let name = cstring(resource)?;
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
        let resource = rdsys::rd_kafka_ConfigResource_new(kind.native(), name.as_ptr());
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
