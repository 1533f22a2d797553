//! The metrics endpoint as the tests read it: one GET of /metrics, parsed
//! with a real Prometheus text parser.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One sample: its name, sorted labels and value.
pub type Sample = (String, Vec<(String, String)>, f64);

/// The counter, gauge and untyped samples of one scrape (histograms are
/// read through their `_count` and `_sum` samples).
pub fn scrape(port: u16) -> Vec<Sample> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read metrics");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(
        head.starts_with("HTTP/1.1 200 "),
        "/metrics answered {response:?}"
    );
    let parsed = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .expect("the exposition parses");
    parsed
        .samples
        .into_iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            Some((s.metric, labels, value))
        })
        .collect()
}

/// The value of `name` whose labels include `labels`, if scraped.
pub fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
}

/// The value of the series `name` with exactly `labels` (in any order),
/// if scraped: unlike `sample`, `name{a="1"}` does not match
/// `name{a="1",b="2"}`.
pub fn series(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && l.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, _, v)| *v)
}
