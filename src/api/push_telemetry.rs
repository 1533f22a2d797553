//! PushTelemetry (KIP-714): a client's metrics, kept as its latest values
//! for the metrics endpoint.

use std::sync::Arc;

use kafka_protocol::messages::{PushTelemetryRequest, PushTelemetryResponse};

use super::get_telemetry_subscriptions::selector;
use super::{BrokerContext, Handler, RequestContext};
use crate::partition::now_ms;
use crate::telemetry::Push;

pub struct PushTelemetry;

impl Handler for PushTelemetry {
    type Request = PushTelemetryRequest;

    async fn handle(
        broker: Arc<BrokerContext>,
        ctx: RequestContext,
        request: PushTelemetryRequest,
    ) -> PushTelemetryResponse {
        let image = broker.image();
        let outcome = broker.telemetry.push(
            Push {
                client_instance_id: request.client_instance_id,
                subscription_id: request.subscription_id,
                terminating: request.terminating,
                compression_type: request.compression_type,
                metrics: &request.metrics,
            },
            selector(&ctx),
            (image.epoch, &image.client_metrics),
            now_ms(),
        );
        let code = match outcome {
            Ok(()) => None,
            Err(e) => {
                tracing::debug!(client = ctx.client_id(), "{}", e.message);
                Some(e.code)
            }
        };
        PushTelemetryResponse::default().with_error_code(ctx.error_code(code))
    }
}
