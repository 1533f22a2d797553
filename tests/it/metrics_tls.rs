//! The metrics endpoint over https (`metrics.listener=https://...`): it
//! serves the exposition with the keystore a listener named METRICS
//! would take (`listener.name.metrics.ssl.*` over `ssl.*`), refuses plain
//! HTTP, serves a renewed certificate (or a keystore set with
//! config-admin) to new scrapes, asks for a client
//! certificate under `ssl.client.auth=required`, and stops the start with
//! one line when its scheme or keystore is wrong. Certificates are made
//! here with rcgen.

use crate::harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use harness::pki::{pem_keystore, replace, served_serial, tls_client, tls_connect, write, Ca};
use harness::{free_port, run_tool, wait_until, BrokerProcess};
use rcgen::DnType;

/// The raw answer to a GET of `path` over `stream`.
fn get_over<S: Read + Write>(mut stream: S, path: &str) -> std::io::Result<String> {
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    match stream.read_to_end(&mut response) {
        Ok(_) => {}
        // hyper closes without close_notify; what came before counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(e),
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

/// An https GET: the status line's code and the body.
fn https_get(
    port: u16,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> std::io::Result<(u16, String)> {
    let response = get_over(tls_connect(port, config)?, path)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

fn served_serial_at(port: u16, config: Arc<rustls::ClientConfig>) -> Option<u64> {
    tls_connect(port, config)
        .ok()
        .map(|stream| served_serial(&stream))
}

fn server_subject() -> Vec<(DnType, &'static str)> {
    vec![(DnType::CommonName, "broker")]
}

#[test]
fn https_serves_the_exposition_refuses_plain_http_and_takes_a_renewed_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("metrics CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&server_subject(), 1));
    let port = free_port();
    let _broker = BrokerProcess::start(&[
        &format!("metrics.listener=https://127.0.0.1:{port}"),
        &format!("ssl.keystore.location={}", keystore.display()),
    ]);
    let trusting = tls_client(&ca, None);

    let (status, body) = https_get(port, trusting.clone(), "/metrics").expect("https scrape");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("kafka_server_replicamanager_partitioncount"),
        "{body}"
    );
    assert!(body.trim_end().ends_with("# EOF"), "{body}");
    assert_eq!(
        https_get(port, trusting.clone(), "/health").unwrap(),
        (200, "ok\n".to_string())
    );

    let plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let answer = get_over(plain, "/metrics").unwrap_or_default();
    assert!(
        !answer.starts_with("HTTP/"),
        "plain HTTP was answered: {answer:?}"
    );

    let renewed = ca.issue(&server_subject(), 2);
    replace(
        &keystore,
        format!("{}{}", renewed.cert_pem, renewed.key_pem),
    );
    assert!(
        wait_until(Duration::from_secs(20), || served_serial_at(
            port,
            trusting.clone()
        ) == Some(2)),
        "the renewed certificate was not served to a new scrape"
    );
    assert_eq!(
        https_get(port, trusting, "/metrics").unwrap().0,
        200,
        "scrapes work with the renewed certificate"
    );
}

#[test]
fn a_keystore_set_through_config_admin_is_served_to_new_scrapes() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("metrics CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&server_subject(), 1));
    let port = free_port();
    let broker = BrokerProcess::start(&[
        &format!("metrics.listener=https://127.0.0.1:{port}"),
        &format!("ssl.keystore.location={}", keystore.display()),
    ]);
    let trusting = tls_client(&ca, None);
    assert_eq!(served_serial_at(port, trusting.clone()), Some(1));
    let config_admin = |config: &str| {
        run_tool(
            env!("CARGO_BIN_EXE_config-admin"),
            &broker.bootstrap(),
            &["--alter", "--broker", "1", "--add-config", config],
            b"",
        )
    };

    // Checked as a listener's keystore is: one that does not load is refused.
    let refused = config_admin("listener.name.metrics.ssl.keystore.location=/nonexistent.pem");
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("/nonexistent.pem"),
        "{}",
        refused.stderr
    );

    let renewed = ca.issue(&server_subject(), 2);
    let second = write(
        tmp.path(),
        "second.pem",
        format!("{}{}", renewed.cert_pem, renewed.key_pem),
    );
    config_admin(&format!(
        "listener.name.metrics.ssl.keystore.location={}",
        second.display()
    ))
    .ok();
    assert!(
        wait_until(Duration::from_secs(20), || served_serial_at(
            port,
            trusting.clone()
        ) == Some(2)),
        "the keystore set through config-admin was not served"
    );
}

#[test]
fn ssl_client_auth_required_for_the_metrics_listener_asks_scrapers_for_a_certificate() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("metrics CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&server_subject(), 1));
    let truststore = write(tmp.path(), "ca.pem", ca.pem());
    let port = free_port();
    // Only the metrics endpoint asks for certificates: the listener.name
    // prefix scopes it as for a Kafka listener.
    let broker = BrokerProcess::start(&[
        &format!("metrics.listener=https://127.0.0.1:{port}"),
        &format!("ssl.keystore.location={}", keystore.display()),
        &format!(
            "listener.name.metrics.ssl.truststore.location={}",
            truststore.display()
        ),
        "listener.name.metrics.ssl.client.auth=required",
    ]);

    let anonymous = https_get(port, tls_client(&ca, None), "/metrics");
    // The server ends the handshake (an alert, then a closed socket,
    // whichever the client meets first): never an HTTP answer.
    assert!(
        anonymous.is_err(),
        "a scrape without a client certificate was answered: {anonymous:?}"
    );
    let scraper = ca.issue(&[(DnType::CommonName, "prometheus")], 3);
    let (status, body) =
        https_get(port, tls_client(&ca, Some(&scraper)), "/metrics").expect("mTLS scrape");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("kafka_server_"), "{body}");

    // The Kafka listener is PLAINTEXT and untouched by the metrics settings.
    let mut raw = harness::RawClient::connect(broker.port);
    assert!(raw
        .call(&kafka_protocol::messages::ApiVersionsRequest::default(), 2)
        .is_some());
}

#[test]
fn a_bad_scheme_or_a_missing_keystore_stops_the_start_with_one_line() {
    let port = free_port();
    let cases = [
        (
            vec![format!("metrics.listener=ftp://127.0.0.1:{port}")],
            "invalid metrics.listener",
        ),
        (
            vec![format!("metrics.listener=https://127.0.0.1:{port}")],
            "needs a keystore",
        ),
        (
            vec![
                format!("metrics.listener=https://127.0.0.1:{port}"),
                "listener.name.metrics.ssl.keystore.location=/nonexistent/metrics.pem".to_string(),
            ],
            "/nonexistent/metrics.pem",
        ),
    ];
    for (overrides, expected) in cases {
        let overrides = [
            vec!["listeners=PLAINTEXT://127.0.0.1:0".to_string()],
            overrides,
        ]
        .concat();
        harness::assert_start_refused(&overrides, expected);
    }
}
