//! Client telemetry (KIP-714) on the endpoint: the latest values each
//! client instance pushed, one family per metric name (dots and other
//! characters Prometheus does not allow become `_`), each series labelled
//! with the client's instance id and client id and the data point's
//! attributes.

use std::collections::BTreeMap;
use std::fmt;

use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::metrics::MetricType;

use crate::api::BrokerContext;
use crate::partition::now_ms;

/// `name` as a Prometheus metric or label name.
fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

pub(super) fn encode(enc: &mut DescriptorEncoder, ctx: &BrokerContext) -> fmt::Result {
    type Row = (Vec<(String, String)>, f64);
    let mut families: BTreeMap<String, (String, Vec<Row>)> = BTreeMap::new();
    for client in ctx.telemetry.snapshot(now_ms()) {
        for sample in client.samples.iter() {
            let mut labels = vec![
                (
                    "client_instance_id".to_string(),
                    client.client_instance_id.clone(),
                ),
                ("client_id".to_string(), client.client_id.clone()),
            ];
            for (k, v) in &sample.attributes {
                let k = sanitize(k);
                if !labels.iter().any(|(l, _)| *l == k) {
                    labels.push((k, v.clone()));
                }
            }
            families
                .entry(sanitize(&sample.name))
                .or_insert_with(|| (sample.name.clone(), Vec::new()))
                .1
                .push((labels, sample.value));
        }
    }
    for (name, (original, rows)) in families {
        let help = format!("The latest {original} pushed by the client (KIP-714).");
        let mut metric = enc.encode_descriptor(&name, &help, None, MetricType::Gauge)?;
        for (labels, value) in rows {
            metric.encode_family(&labels)?.encode_gauge(&value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_become_prometheus_names() {
        assert_eq!(
            super::sanitize("org.apache.kafka.producer.record.queue.time.avg"),
            "org_apache_kafka_producer_record_queue_time_avg"
        );
        assert_eq!(super::sanitize("1x-y"), "_1x_y");
    }
}
