//! DescribeConfigs for topics (every topic config, resolved, with its
//! source) and for this broker.

use std::sync::Arc;

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::client_metrics_config::{self, CLIENT_METRICS};
use super::config_resource::{self, BROKER, GROUP, TOPIC};
use super::group_config;
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::ControllerError;
use crate::config::{base_config_def, dynamic, ConfigDef, ConfigSource, TOPIC_CONFIGS};
use crate::security::acl::AclOperation;

pub struct DescribeConfigs;

struct Options<'a> {
    keys: Option<&'a [StrBytes]>,
    synonyms: bool,
    documentation: bool,
}

impl Options<'_> {
    fn wants(&self, name: &str) -> bool {
        self.keys
            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
    }

    fn entry(
        &self,
        def: &ConfigDef,
        value: Option<String>,
        source: i8,
        read_only: bool,
    ) -> DescribeConfigsResourceResult {
        DescribeConfigsResourceResult::default()
            .with_name(StrBytes::from_static_str(def.name))
            .with_value(value.map(StrBytes::from_string))
            .with_read_only(read_only)
            .with_is_sensitive(crate::config::is_sensitive(def.name))
            .with_config_source(source)
            .with_config_type(def.kind.wire_code())
            .with_documentation(
                self.documentation
                    .then(|| StrBytes::from_static_str(def.doc)),
            )
    }

    /// A broker property's entry: a key outside the table (a listener
    /// override, a dynamic key Gregor does not use) takes its base key's
    /// type, or none; a secret's value is never shown.
    fn broker_entry(
        &self,
        name: &str,
        value: Option<String>,
        source: ConfigSource,
    ) -> DescribeConfigsResourceResult {
        let secret = crate::config::is_secret(name);
        let def = base_config_def(name);
        DescribeConfigsResourceResult::default()
            .with_name(StrBytes::from_string(name.to_string()))
            .with_value(value.filter(|_| !secret).map(StrBytes::from_string))
            .with_read_only(!dynamic::is_dynamic(name))
            .with_is_sensitive(secret)
            .with_config_source(source.wire_code())
            .with_config_type(def.map_or(0, |d| d.kind.wire_code()))
            .with_documentation(
                self.documentation
                    .then(|| def.map(|d| StrBytes::from_static_str(d.doc)))
                    .flatten(),
            )
    }
}

fn synonym(name: &str, value: String, source: ConfigSource) -> DescribeConfigsSynonym {
    DescribeConfigsSynonym::default()
        .with_name(StrBytes::from_string(name.to_string()))
        .with_value(Some(StrBytes::from_string(value)))
        .with_source(source.wire_code())
}

fn describe_topic(
    broker: &BrokerContext,
    name: &str,
    opts: &Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ControllerError> {
    let config = config_resource::topic_config(broker, name)?;
    let broker_config = broker.effective_config();
    Ok(TOPIC_CONFIGS
        .iter()
        .filter(|(def, _)| opts.wants(def.name))
        .filter_map(|(def, broker_name)| {
            let (value, source) = config.resolve(def.name, &broker_config)?;
            let mut entry = opts.entry(def, Some(value), source.wire_code(), false);
            if opts.synonyms {
                // Most specific first, as Kafka lists them.
                if let Some(v) = config.overrides.get(def.name) {
                    entry
                        .synonyms
                        .push(synonym(def.name, v.clone(), ConfigSource::DynamicTopic));
                }
                match broker_name {
                    Some(b) => {
                        for (n, v, source) in broker_config.synonyms(b) {
                            entry
                                .synonyms
                                .push(synonym(&n, v.unwrap_or_default(), source));
                        }
                    }
                    None => {
                        if let Some(d) = def.default {
                            entry.synonyms.push(synonym(
                                def.name,
                                d.to_string(),
                                ConfigSource::Default,
                            ));
                        }
                    }
                }
            }
            Some(entry)
        })
        .collect())
}

/// A broker's configs, as Kafka describes them: for this broker's id
/// every property with the level it comes from; for the empty name (the
/// cluster default) only the dynamic defaults.
fn describe_broker(
    broker: &BrokerContext,
    name: &str,
    opts: &Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ControllerError> {
    config_resource::check_broker_name(broker, name)?;
    let config = broker.effective_config();
    let per_broker = !name.is_empty();
    let entries: Vec<(&str, Option<String>, ConfigSource)> = if per_broker {
        config.describe().collect()
    } else {
        config
            .dynamic_layers()
            .0
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    Some(v.clone()),
                    ConfigSource::DynamicDefaultBroker,
                )
            })
            .collect()
    };
    Ok(entries
        .into_iter()
        .filter(|(key, _, _)| opts.wants(key))
        .map(|(key, value, source)| {
            let mut entry = opts.broker_entry(key, value, source);
            if opts.synonyms {
                // The default resource does not see a broker's own values.
                let secret = crate::config::is_secret(key);
                for (n, v, source) in config.synonyms(key) {
                    if per_broker || source != ConfigSource::DynamicBroker {
                        let shown = v.filter(|_| !secret).map(StrBytes::from_string);
                        entry
                            .synonyms
                            .push(synonym(&n, String::new(), source).with_value(shown));
                    }
                }
            }
            entry
        })
        .collect())
}

/// A group's configs (KIP-848): its overrides over the broker's settings.
fn describe_group(
    broker: &BrokerContext,
    name: &str,
    opts: &Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ControllerError> {
    Ok(group_config::describe(broker, name)?
        .into_iter()
        .filter(|d| opts.wants(d.config.def.name))
        .map(|d| {
            let mut entry = opts.entry(&d.config.def, d.value, d.source.wire_code(), false);
            if opts.synonyms {
                entry.synonyms = d
                    .synonyms
                    .into_iter()
                    .map(|(name, value, source)| synonym(name, value, source))
                    .collect();
            }
            entry
        })
        .collect())
}

impl Handler for DescribeConfigs {
    type Request = DescribeConfigsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: DescribeConfigsRequest,
    ) -> DescribeConfigsResponse {
        let auth = broker.authorization(&ctx);
        let results = request
            .resources
            .iter()
            .map(|r| {
                let opts = Options {
                    keys: r.configuration_keys.as_deref(),
                    synonyms: request.include_synonyms,
                    documentation: request.include_documentation,
                };
                let configs = config_resource::authorize(
                    &auth,
                    r.resource_type,
                    &r.resource_name,
                    AclOperation::DescribeConfigs,
                )
                .and_then(|()| match r.resource_type {
                    TOPIC => describe_topic(&broker, &r.resource_name, &opts),
                    BROKER => describe_broker(&broker, &r.resource_name, &opts),
                    GROUP => describe_group(&broker, &r.resource_name, &opts),
                    CLIENT_METRICS => client_metrics_config::describe(
                        &broker,
                        &r.resource_name,
                        opts.keys,
                        opts.synonyms,
                        opts.documentation,
                    ),
                    other => Err(config_resource::unsupported_resource(other)),
                });
                let result = DescribeConfigsResult::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone());
                match configs {
                    Ok(configs) => result.with_configs(configs),
                    Err(e) => result
                        .with_error_code(e.code.code())
                        .with_error_message(Some(StrBytes::from_string(e.message))),
                }
            })
            .collect();
        DescribeConfigsResponse::default().with_results(results)
    }
}
