//! DescribeConfigs for topics (every topic config, resolved, with its
//! source) and for this broker.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use super::client_metrics_config::{self, CLIENT_METRICS};
use super::config_resource::{self, BROKER, TOPIC};
use super::{BrokerContext, Handler, RequestContext};
use crate::cluster::ControllerError;
use crate::config::{ConfigDef, ConfigKind, ConfigSource, TOPIC_CONFIGS};
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
    Ok(TOPIC_CONFIGS
        .iter()
        .filter(|(def, _)| opts.wants(def.name))
        .filter_map(|(def, broker_name)| {
            let (value, source) = config.resolve(def.name, &broker.config)?;
            let mut entry = opts.entry(def, Some(value), source.wire_code(), false);
            if opts.synonyms {
                // Most specific first, as Kafka lists them.
                if let Some(v) = config.overrides.get(def.name) {
                    entry
                        .synonyms
                        .push(synonym(def.name, v.clone(), ConfigSource::DynamicTopic));
                }
                if let Some(v) =
                    broker_name.and_then(|b| broker.config.topic_default(b).map(|v| (b, v)))
                {
                    entry
                        .synonyms
                        .push(synonym(v.0, v.1, ConfigSource::StaticBroker));
                }
                if let Some(d) = def.default {
                    entry.synonyms.push(synonym(
                        broker_name.unwrap_or(def.name),
                        d.to_string(),
                        ConfigSource::Default,
                    ));
                }
            }
            Some(entry)
        })
        .collect())
}

fn describe_broker(
    broker: &BrokerContext,
    name: &str,
    opts: &Options,
) -> Result<Vec<DescribeConfigsResourceResult>, ControllerError> {
    if !name.is_empty() && name != broker.node_id.to_string() {
        return Err(ControllerError::new(
            ResponseError::InvalidRequest,
            format!("Broker '{name}' is not this broker ({}).", broker.node_id),
        ));
    }
    Ok(broker
        .config
        .describe()
        .filter(|(def, _, _)| opts.wants(def.name))
        .map(|(def, value, explicit)| {
            let source = if explicit {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            // As Kafka: a secret is reported as set or not, never shown.
            if def.kind == ConfigKind::Password {
                return opts
                    .entry(def, None, source.wire_code(), true)
                    .with_is_sensitive(true);
            }
            let mut entry = opts.entry(def, value.clone(), source.wire_code(), true);
            if opts.synonyms {
                // Kafka lists every level that has a value, most specific first.
                if let (true, Some(v)) = (explicit, value) {
                    entry
                        .synonyms
                        .push(synonym(def.name, v, ConfigSource::StaticBroker));
                }
                if let Some(d) = def.default {
                    entry
                        .synonyms
                        .push(synonym(def.name, d.to_string(), ConfigSource::Default));
                }
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
