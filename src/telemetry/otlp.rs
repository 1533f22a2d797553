//! The metrics a client pushes: an OTLP `MetricsData` protobuf (decoded by
//! opentelemetry-proto's prost types), flattened to the latest value of
//! each series.

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, MetricsData};
use prost::Message;

/// One pushed value: the metric's name, the data point's attributes and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub attributes: Vec<(String, String)>,
    pub value: f64,
}

fn attribute_value(v: &any_value::Value) -> Option<String> {
    match v {
        any_value::Value::StringValue(s) => Some(s.clone()),
        any_value::Value::BoolValue(b) => Some(b.to_string()),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        any_value::Value::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

fn attributes(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .filter_map(|kv| {
            let value = kv.value.as_ref()?.value.as_ref()?;
            Some((kv.key.clone(), attribute_value(value)?))
        })
        .collect()
}

/// The samples in an uncompressed `MetricsData`. Gauges and sums give
/// one sample per data point; histograms their `_sum` and `_count`;
/// exponential histograms and summaries, which KIP-714 clients do not
/// send, are left out.
pub fn decode(payload: &[u8]) -> Result<Vec<Sample>, prost::DecodeError> {
    let data = MetricsData::decode(payload)?;
    let mut out = Vec::new();
    let metrics = data
        .resource_metrics
        .iter()
        .flat_map(|r| &r.scope_metrics)
        .flat_map(|s| &s.metrics);
    for m in metrics {
        let number = |points: &[opentelemetry_proto::tonic::metrics::v1::NumberDataPoint],
                      out: &mut Vec<Sample>| {
            for p in points {
                let value = match p.value {
                    Some(number_data_point::Value::AsDouble(d)) => d,
                    Some(number_data_point::Value::AsInt(i)) => i as f64,
                    None => continue,
                };
                out.push(Sample {
                    name: m.name.clone(),
                    attributes: attributes(&p.attributes),
                    value,
                });
            }
        };
        match &m.data {
            Some(metric::Data::Gauge(g)) => number(&g.data_points, &mut out),
            Some(metric::Data::Sum(s)) => number(&s.data_points, &mut out),
            Some(metric::Data::Histogram(h)) => {
                for p in &h.data_points {
                    let attributes = attributes(&p.attributes);
                    if let Some(sum) = p.sum {
                        out.push(Sample {
                            name: format!("{}.sum", m.name),
                            attributes: attributes.clone(),
                            value: sum,
                        });
                    }
                    out.push(Sample {
                        name: format!("{}.count", m.name),
                        attributes,
                        value: p.count as f64,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::metrics::v1::{
        Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    };

    #[test]
    fn flattens_gauges_with_attributes() {
        let point = NumberDataPoint {
            attributes: vec![KeyValue {
                key: "node.id".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::IntValue(1)),
                }),
                ..Default::default()
            }],
            value: Some(number_data_point::Value::AsDouble(2.5)),
            ..Default::default()
        };
        let data = MetricsData {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "org.apache.kafka.producer.record.queue.time.avg".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![point],
                        })),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let samples = decode(&data.encode_to_vec()).unwrap();
        assert_eq!(
            samples,
            [Sample {
                name: "org.apache.kafka.producer.record.queue.time.avg".into(),
                attributes: vec![("node.id".into(), "1".into())],
                value: 2.5,
            }]
        );
        assert!(decode(b"\xff\xff\xff").is_err());
    }
}
