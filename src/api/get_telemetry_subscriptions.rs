//! GetTelemetrySubscriptions (KIP-714): which metrics the client
//! subscriptions selecting this client want, how often, and how big a push
//! may be; a client sending the zero instance id is given one.

use std::sync::Arc;

use kafka_protocol::messages::{
    GetTelemetrySubscriptionsRequest, GetTelemetrySubscriptionsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::telemetry::subscription::ClientSelector;
use crate::telemetry::{instance_id_text, ACCEPTED_COMPRESSION};

pub struct GetTelemetrySubscriptions;

/// The client as subscriptions' `match` patterns see it.
pub(super) fn selector(ctx: &RequestContext) -> impl FnOnce(uuid::Uuid) -> ClientSelector + '_ {
    move |id| {
        let (software_name, software_version) = ctx.client_software.get();
        ClientSelector {
            client_instance_id: instance_id_text(id),
            client_id: ctx.client_id().to_string(),
            client_software_name: software_name,
            client_software_version: software_version,
            client_source_address: ctx.peer.ip().to_string(),
            client_source_port: ctx.peer.port().to_string(),
        }
    }
}

impl Handler for GetTelemetrySubscriptions {
    type Request = GetTelemetrySubscriptionsRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: GetTelemetrySubscriptionsRequest,
    ) -> GetTelemetrySubscriptionsResponse {
        let image = broker.image();
        let answer = broker.telemetry.subscriptions(
            request.client_instance_id,
            selector(&ctx),
            (image.epoch, &image.client_metrics),
            now_ms(),
        );
        match answer {
            Ok(s) => GetTelemetrySubscriptionsResponse::default()
                .with_client_instance_id(s.client_instance_id)
                .with_subscription_id(s.subscription_id)
                .with_accepted_compression_types(ACCEPTED_COMPRESSION.to_vec())
                .with_push_interval_ms(s.push_interval_ms)
                .with_telemetry_max_bytes(s.telemetry_max_bytes)
                .with_delta_temporality(false)
                .with_requested_metrics(
                    s.requested_metrics
                        .into_iter()
                        .map(StrBytes::from_string)
                        .collect(),
                ),
            Err(e) => {
                tracing::debug!(client = ctx.client_id(), "{}", e.message);
                GetTelemetrySubscriptionsResponse::default()
                    .with_error_code(ctx.error_code(Some(e.code)))
            }
        }
    }
}
