//! Group commit under flush.messages=1: concurrent producers' appends share
//! fsyncs (the LogFlushRateAndTimeMs count on the metrics endpoint stays
//! well below the produce requests), and every acknowledged record
//! survives a `kill -9`.

use crate::harness;

use std::collections::BTreeSet;
use std::time::Duration;

use harness::scrape::{scrape, series};
use harness::{consume, create_topic, free_port, producer, BrokerProcess};
use rdkafka::producer::FutureRecord;

const PRODUCERS: usize = 16;
const RECORDS_EACH: usize = 40;

/// The value of `name{labels}` in one scrape.
fn scraped(port: u16, name: &str, labels: &[(&str, &str)]) -> f64 {
    series(&scrape(port), name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} scraped"))
}

const FLUSHES: &str = "kafka_log_logflushstats_logflushrateandtimems_count";
const PRODUCES: &str = "kafka_network_requestmetrics_requests_total";
const PRODUCE: &[(&str, &str)] = &[("request", "Produce")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_producers_share_fsyncs_and_lose_nothing_acknowledged_to_kill_9() {
    let metrics_port = free_port();
    let listener = format!("metrics.listener=http://127.0.0.1:{metrics_port}");
    let mut broker = BrokerProcess::start(&[&listener]);
    create_topic(
        &broker.bootstrap(),
        "durable",
        1,
        &[("flush.messages", "1")],
    )
    .await;
    let flushes_before = scraped(metrics_port, FLUSHES, &[]);
    let produces_before = scraped(metrics_port, PRODUCES, PRODUCE);

    // Each producer waits for every ack before sending its next record, so
    // that each record is a produce request of its own: the requests from
    // different producers are what may share an fsync.
    let mut tasks = Vec::new();
    for p in 0..PRODUCERS {
        let bootstrap = broker.bootstrap();
        tasks.push(tokio::spawn(async move {
            let producer = producer(&bootstrap, &[("acks", "all"), ("linger.ms", "0")]);
            let mut acked = Vec::new();
            for i in 0..RECORDS_EACH {
                let value = format!("p{p}-r{i}");
                let sent = producer
                    .send(
                        FutureRecord::<(), _>::to("durable")
                            .partition(0)
                            .payload(&value),
                        Duration::from_secs(15),
                    )
                    .await;
                if let Err((e, _)) = sent {
                    panic!("{value} was not acknowledged: {e}");
                }
                acked.push(value);
            }
            acked
        }));
    }
    let mut acked = BTreeSet::new();
    for t in tasks {
        acked.extend(t.await.expect("producer task"));
    }
    assert_eq!(
        acked.len(),
        PRODUCERS * RECORDS_EACH,
        "every record acknowledged"
    );

    let flushes = scraped(metrics_port, FLUSHES, &[]) - flushes_before;
    let produces = scraped(metrics_port, PRODUCES, PRODUCE) - produces_before;
    eprintln!("{flushes} fsyncs for {produces} produce requests");
    assert!(
        produces >= (PRODUCERS * RECORDS_EACH) as f64,
        "one produce request per record, found {produces}"
    );
    assert!(flushes >= 1.0, "flush.messages=1 fsyncs");
    // Without group commit every request takes an fsync of its own. How
    // much they share depends on how long an fsync takes against how fast
    // the producers come back: from a third to just over a half of the
    // requests here (debug builds, 2 cores), so the bound is three quarters.
    assert!(
        flushes * 4.0 <= produces * 3.0,
        "{flushes} fsyncs for {produces} produce requests: appends made while an fsync runs must share the next"
    );

    broker.kill9();
    broker.restart();
    let read = consume(
        &broker.bootstrap(),
        "durable",
        0,
        0,
        acked.len(),
        Duration::from_secs(30),
    );
    let survived: BTreeSet<String> = read
        .iter()
        .map(|r| String::from_utf8(r.value.clone().expect("a value")).unwrap())
        .collect();
    let lost: Vec<&String> = acked.difference(&survived).collect();
    assert!(
        lost.is_empty(),
        "acknowledged records lost to kill -9: {lost:?}"
    );
    assert!(
        read.iter().enumerate().all(|(i, r)| r.offset == i as i64),
        "dense offsets from 0"
    );
}
