//! Named listeners and TLS end to end: several listeners on one broker,
//! each answering with its own endpoints; SSL listeners with PEM and
//! PKCS12 keystores, mTLS and the principal mapping, clients speaking the
//! wrong protocol, untrusted certificates, and certificates renewed while
//! the broker runs. Certificates are made here with rcgen.

use crate::harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use harness::pki::{
    pem_keystore, replace, served_serial, tls_client, tls_client_of, tls_connect, write, Ca,
};
use harness::{run_tool, wait_until, BrokerProcess, RawClient};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, DescribeClusterRequest, DescribeConfigsRequest,
    FindCoordinatorRequest, MetadataRequest, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use rcgen::DnType;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use tempfile::TempDir;

fn broker_subject() -> Vec<(DnType, &'static str)> {
    vec![(DnType::CommonName, "broker")]
}

fn alice_subject() -> Vec<(DnType, &'static str)> {
    vec![
        (DnType::OrganizationName, "Acme"),
        (DnType::OrganizationalUnitName, "eng"),
        (DnType::CommonName, "alice"),
    ]
}

/// A broker with a PLAINTEXT and an SSL listener, and `extra` settings.
fn tls_broker(keystore: &Path, extra: &[String]) -> BrokerProcess {
    let mut overrides = vec![
        "listeners=PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0".to_string(),
        format!("ssl.keystore.location={}", keystore.display()),
    ];
    overrides.extend(extra.iter().cloned());
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    BrokerProcess::start(&overrides)
}

/// A broker whose SSL listener requires client certificates from its own
/// CA, with `extra` settings; the CA and its PEM file (in `tmp`) issue the
/// tests' clients. `tmp` holds the broker's keystore and truststore: a
/// test keeps it, and lets it go after the broker.
struct Mtls {
    broker: BrokerProcess,
    ca: Ca,
    ca_path: PathBuf,
    tmp: TempDir,
}

fn mtls_broker(extra: &[&str]) -> Mtls {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let mut settings = vec![
        "ssl.client.auth=required".to_string(),
        format!("ssl.truststore.location={}", ca_path.display()),
    ];
    settings.extend(extra.iter().map(|s| s.to_string()));
    Mtls {
        broker: tls_broker(&keystore, &settings),
        ca,
        ca_path,
        tmp,
    }
}

/// librdkafka over SSL to `port`, trusting `ca`, with `extra` settings.
fn ssl_config(port: u16, ca: &Path, extra: &[(&str, &str)]) -> ClientConfig {
    let mut c = harness::client_config(&format!("127.0.0.1:{port}"));
    c.set("security.protocol", "ssl")
        .set("ssl.ca.location", ca.to_str().unwrap())
        .set("socket.timeout.ms", "5000");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c
}

/// Whether a librdkafka client with `config` gets the cluster's metadata
/// within a few seconds.
fn metadata_ok(config: &ClientConfig) -> bool {
    let consumer: BaseConsumer = config.create().expect("client");
    consumer
        .fetch_metadata(None, Duration::from_secs(4))
        .is_ok()
}

/// Produces `values` to partition 0 of `topic` (created by the broker on
/// first use) and reads them back, both over `config`.
async fn round_trip(config: &ClientConfig, topic: &str, values: &[&str]) {
    produce_values(config, topic, values).await;
    assert_eq!(read_values(config, topic, values.len()), values);
}

async fn produce_values(config: &ClientConfig, topic: &str, values: &[&str]) {
    let mut producer_config = config.clone();
    producer_config.set("message.timeout.ms", "30000");
    let producer: FutureProducer = producer_config.create().expect("producer");
    for v in values {
        producer
            .send(
                FutureRecord::<(), str>::to(topic).partition(0).payload(*v),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce over TLS failed: {e}"));
    }
}

/// The first `count` values of partition 0 of `topic`, read over `config`.
fn read_values(config: &ClientConfig, topic: &str, count: usize) -> Vec<String> {
    let mut consumer_config = config.clone();
    consumer_config
        .set("group.id", "tls-reader")
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = consumer_config.create().expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut got = Vec::new();
    let ok = wait_until(Duration::from_secs(30), || {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) {
            got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
        got.len() >= count
    });
    assert!(ok, "consumed only {got:?} over TLS");
    got
}

/// One Kafka request over any stream; `None` if the connection closed.
fn call<S: Read + Write, R: Request>(
    stream: &mut S,
    request: &R,
    version: i16,
) -> Option<R::Response> {
    let key = ApiKey::try_from(R::KEY).unwrap();
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("tls-test")));
    let mut body = BytesMut::new();
    header
        .encode(&mut body, key.request_header_version(version))
        .unwrap();
    request.encode(&mut body, version).unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.put_slice(&body);
    stream.write_all(&frame).ok()?;
    stream.flush().ok()?;
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).ok()?;
    let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
    stream.read_exact(&mut buf).ok()?;
    let mut resp = Bytes::from(buf);
    let header = ResponseHeader::decode(&mut resp, key.response_header_version(version)).unwrap();
    assert_eq!(header.correlation_id, 7);
    Some(R::Response::decode(&mut resp, version).expect("decode response"))
}

fn api_versions_ok<S: Read + Write>(stream: &mut S) -> bool {
    call(stream, &ApiVersionsRequest::default(), 2).is_some_and(|r| r.error_code == 0)
}

/// The ports a Metadata answer gives for the brokers.
fn metadata_ports<S: Read + Write>(stream: &mut S) -> Vec<i32> {
    call(
        stream,
        &MetadataRequest::default().with_topics(Some(vec![])),
        12,
    )
    .expect("metadata")
    .brokers
    .iter()
    .map(|b| b.port)
    .collect()
}

#[test]
fn named_listeners_each_answer_with_their_own_endpoints() {
    let broker = BrokerProcess::start(&[
        "listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0,HIDDEN://127.0.0.1:0",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,HIDDEN:PLAINTEXT",
        "advertised.listeners=PLAINTEXT://127.0.0.1:0,INTERNAL://127.0.0.1:0",
        "inter.broker.listener.name=INTERNAL",
    ]);
    let plain = broker.listener_port("PLAINTEXT");
    let internal = broker.listener_port("INTERNAL");
    let hidden = broker.listener_port("HIDDEN");
    assert_eq!(
        broker.port, plain,
        "the first listener is the banner's address"
    );
    assert!(plain != internal && internal != hidden);
    for port in [plain, internal] {
        let mut client = RawClient::connect(port);
        let metadata = client
            .call(&MetadataRequest::default().with_topics(Some(vec![])), 12)
            .expect("metadata");
        let ports: Vec<i32> = metadata.brokers.iter().map(|b| b.port).collect();
        assert_eq!(ports, vec![i32::from(port)], "Metadata on port {port}");
        let cluster = client
            .call(&DescribeClusterRequest::default(), 0)
            .expect("describe cluster");
        let ports: Vec<i32> = cluster.brokers.iter().map(|b| b.port).collect();
        assert_eq!(
            ports,
            vec![i32::from(port)],
            "DescribeCluster on port {port}"
        );
        let coordinator = client
            .call(
                &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
                3,
            )
            .expect("find coordinator");
        assert_eq!(coordinator.error_code, 0);
        assert_eq!(
            coordinator.port,
            i32::from(port),
            "FindCoordinator on port {port}"
        );
    }
    // A listener that is not advertised serves, but names no broker: as
    // Kafka, a broker without the client's listener is left out.
    let mut client = RawClient::connect(hidden);
    let metadata = client
        .call(&MetadataRequest::default().with_topics(Some(vec![])), 12)
        .expect("metadata");
    assert!(metadata.brokers.is_empty(), "{:?}", metadata.brokers);
    let coordinator = client
        .call(
            &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
            3,
        )
        .expect("find coordinator");
    assert_eq!(coordinator.error_code, 15, "COORDINATOR_NOT_AVAILABLE");
}

#[test]
fn listener_settings_that_cannot_work_stop_the_start_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.pem");
    let garbage = write(tmp.path(), "garbage.pem", "not a certificate");
    let cases = [
        (
            vec!["listeners=SSL://127.0.0.1:0".to_string()],
            "needs a keystore",
        ),
        (
            vec![
                "listeners=SSL://127.0.0.1:0".to_string(),
                format!("ssl.keystore.location={}", missing.display()),
            ],
            "missing.pem",
        ),
        (
            vec![
                "listeners=SSL://127.0.0.1:0".to_string(),
                "ssl.keystore.type=PEM".to_string(),
                format!("ssl.keystore.location={}", garbage.display()),
            ],
            "garbage.pem",
        ),
        (
            vec![
                "listeners=PLAINTEXT://127.0.0.1:0,A://127.0.0.1:0".to_string(),
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,A:PLAINTEXT".to_string(),
                "inter.broker.listener.name=B".to_string(),
            ],
            "inter.broker.listener.name",
        ),
        (
            vec!["listeners=PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0".to_string()],
            "invalid listener",
        ),
    ];
    for (overrides, expected) in cases {
        harness::assert_start_refused(&overrides, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_and_ssl_listeners_both_produce_and_consume() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let broker = tls_broker(&keystore, &[]);
    let ssl = ssl_config(broker.listener_port("SSL"), &ca_path, &[]);
    round_trip(&ssl, "over-tls", &["a", "b", "c"]).await;
    // The same topic over PLAINTEXT on the same broker.
    let plain = harness::client_config(&format!("127.0.0.1:{}", broker.listener_port("PLAINTEXT")));
    round_trip(&plain, "over-tls", &["a", "b", "c"]).await;
    // Clients on the SSL listener are sent to the SSL port.
    let mut stream = tls_connect(broker.listener_port("SSL"), tls_client(&ca, None)).unwrap();
    assert_eq!(
        metadata_ports(&mut stream),
        vec![i32::from(broker.listener_port("SSL"))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pkcs12_keystore_and_inline_pem_serve_tls() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let issued = ca.issue(&broker_subject(), 2);
    let mut store = p12_keystore::KeyStore::new();
    store.add_entry(
        "broker",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(p12_keystore::PrivateKeyChain::new(
            &issued.key_der,
            [1u8; 20],
            [
                p12_keystore::Certificate::from_der(&issued.cert_der).unwrap(),
                p12_keystore::Certificate::from_der(ca.cert.der()).unwrap(),
            ],
        )),
    );
    let p12 = write(
        tmp.path(),
        "broker.p12",
        store.writer("s3cret").write().unwrap(),
    );
    let broker = tls_broker(
        &p12,
        &[
            "ssl.keystore.type=PKCS12".into(),
            "ssl.keystore.password=s3cret".into(),
        ],
    );
    let ssl = ssl_config(broker.listener_port("SSL"), &ca_path, &[]);
    round_trip(&ssl, "pkcs12", &["x"]).await;
    // DescribeConfigs says the password is set, and never what it is.
    let mut client = RawClient::connect(broker.listener_port("PLAINTEXT"));
    let described = client
        .call(
            &DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(StrBytes::from_static_str("1"))
                    .with_configuration_keys(Some(vec![
                        StrBytes::from_static_str("ssl.keystore.password"),
                        StrBytes::from_static_str("ssl.keystore.type"),
                    ])),
            ]),
            4,
        )
        .expect("describe configs");
    let configs = &described.results[0].configs;
    let password = configs
        .iter()
        .find(|c| c.name.as_str() == "ssl.keystore.password")
        .expect("ssl.keystore.password described");
    assert!(
        password.is_sensitive && password.value.is_none(),
        "{password:?}"
    );
    let kind = configs
        .iter()
        .find(|c| c.name.as_str() == "ssl.keystore.type")
        .expect("ssl.keystore.type described");
    assert_eq!(kind.value.as_deref(), Some("PKCS12"));

    // Inline PEM, per listener, on a listener named otherwise.
    let broker = BrokerProcess::start(&[
        "listeners=SECURE://127.0.0.1:0",
        "listener.security.protocol.map=SECURE:SSL",
        "listener.name.secure.ssl.keystore.type=PEM",
        &format!(
            "listener.name.secure.ssl.keystore.certificate.chain={}",
            issued.cert_pem
        ),
        &format!("listener.name.secure.ssl.keystore.key={}", issued.key_pem),
    ]);
    let mut stream = tls_connect(broker.port, tls_client(&ca, None)).unwrap();
    assert!(api_versions_ok(&mut stream));
    assert_eq!(served_serial(&stream), 2);

    // A wrong PKCS12 password stops the start with one clear line.
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_broker-start"))
        .args(["--override", "listeners=SSL://127.0.0.1:0"])
        .arg("--override")
        .arg(format!("ssl.keystore.location={}", p12.display()))
        .args(["--override", "ssl.keystore.password=wrong"])
        .arg("--override")
        .arg(format!("log.dirs={}", data.path().display()))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("wrong password"), "{stderr}");
}

/// `key_der` (PKCS#8) encrypted with `password` as `openssl pkcs8 -topk8
/// -v2 aes-256-cbc` writes it: PBES2, PBKDF2-SHA256 and AES-256-CBC.
fn encrypted_pkcs8_pem(key_der: &[u8], password: &str) -> String {
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7u8; 16], &[9u8; 16])
            .unwrap();
    pkcs8::PrivateKeyInfo::try_from(key_der)
        .unwrap()
        .encrypt_with_params(params, password)
        .unwrap()
        .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
        .unwrap()
        .to_string()
}

#[test]
fn an_encrypted_pkcs8_key_opens_with_ssl_key_password() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let issued = ca.issue(&broker_subject(), 3);
    let encrypted = encrypted_pkcs8_pem(&issued.key_der, "k3y pass");
    let keystore = write(
        tmp.path(),
        "broker.pem",
        format!("{}{encrypted}", issued.cert_pem),
    );
    let broker = tls_broker(
        &keystore,
        &[
            "ssl.keystore.type=PEM".into(),
            "ssl.key.password=k3y pass".into(),
        ],
    );
    let mut stream = tls_connect(broker.listener_port("SSL"), tls_client(&ca, None)).unwrap();
    assert!(api_versions_ok(&mut stream));
    assert_eq!(served_serial(&stream), 3);

    // Inline PEM takes the same password.
    let broker = BrokerProcess::start(&[
        "listeners=SSL://127.0.0.1:0",
        "ssl.keystore.type=PEM",
        &format!("ssl.keystore.certificate.chain={}", issued.cert_pem),
        &format!("ssl.keystore.key={encrypted}"),
        "ssl.key.password=k3y pass",
    ]);
    let mut stream = tls_connect(broker.port, tls_client(&ca, None)).unwrap();
    assert!(api_versions_ok(&mut stream));

    let listener = "listeners=SSL://127.0.0.1:0".to_string();
    let location = format!("ssl.keystore.location={}", keystore.display());
    let missing = harness::refused_start(&[listener.clone(), location.clone()]);
    assert!(missing.contains("set ssl.key.password"), "{missing}");
    let wrong = harness::refused_start(&[listener, location, "ssl.key.password=wrong".into()]);
    assert!(wrong.contains("cannot decrypt the private key"), "{wrong}");
}

/// The tools' own connection (`client::wire`: config-admin's broker
/// defaults) presents a client certificate whose key is encrypted PKCS#8,
/// opened with librdkafka's `ssl.key.password`.
#[test]
fn the_tools_own_connection_opens_an_encrypted_client_key() {
    let Mtls {
        tmp,
        broker,
        ca,
        ca_path,
    } = mtls_broker(&["ssl.truststore.type=PEM"]);
    let alice = ca.issue(&alice_subject(), 10);
    let cert = write(tmp.path(), "alice.pem", &alice.cert_pem);
    let key = write(
        tmp.path(),
        "alice.key",
        encrypted_pkcs8_pem(&alice.key_der, "alice-pass"),
    );
    let bootstrap = format!("127.0.0.1:{}", broker.listener_port("SSL"));
    let describe = |password: &str| {
        run_tool(
            env!("CARGO_BIN_EXE_config-admin"),
            &bootstrap,
            &[
                "-X",
                "security.protocol=SSL",
                "-X",
                &format!("ssl.ca.location={}", ca_path.display()),
                "-X",
                &format!("ssl.certificate.location={}", cert.display()),
                "-X",
                &format!("ssl.key.location={}", key.display()),
                "-X",
                &format!("ssl.key.password={password}"),
                "--describe",
                "--broker-defaults",
                "--json",
            ],
            b"",
        )
    };
    let described: serde_json::Value = serde_json::from_str(describe("alice-pass").ok()).unwrap();
    assert_eq!(described[0]["entity_type"], "brokers", "{described}");
    assert!(described[0]["configs"].is_array(), "{described}");
    let wrong = describe("guessed");
    assert_eq!(wrong.code, Some(1), "{}", wrong.stderr);
    // librdkafka, set up first, refuses it before the tool's own
    // connection would.
    assert!(wrong.stderr.contains("ssl.key"), "{}", wrong.stderr);
}

#[test]
fn mtls_required_takes_the_principal_from_the_certificate_subject() {
    // Only subjects of the form CN=...,OU=eng,O=Acme map to a principal:
    // a connection is served only if its subject reads that way.
    let Mtls {
        tmp,
        broker,
        ca,
        ca_path,
    } = mtls_broker(&[
        "ssl.truststore.type=PEM",
        "ssl.principal.mapping.rules=RULE:^CN=([a-z]+),OU=eng,O=Acme$/$1/",
    ]);
    let port = broker.listener_port("SSL");
    let alice = ca.issue(&alice_subject(), 10);
    let mallory = ca.issue(
        &[
            (DnType::OrganizationName, "Acme"),
            (DnType::OrganizationalUnitName, "ops"),
            (DnType::CommonName, "mallory"),
        ],
        11,
    );
    let alice_cert = write(tmp.path(), "alice.pem", &alice.cert_pem);
    let alice_key = write(tmp.path(), "alice.key", &alice.key_pem);
    let with_cert = ssl_config(
        port,
        &ca_path,
        &[
            ("ssl.certificate.location", alice_cert.to_str().unwrap()),
            ("ssl.key.location", alice_key.to_str().unwrap()),
        ],
    );
    assert!(
        metadata_ok(&with_cert),
        "a client with a certificate is served"
    );
    assert!(
        !metadata_ok(&ssl_config(port, &ca_path, &[])),
        "a client without a certificate is refused"
    );
    // The raw client: the handshake of one without a certificate fails
    // (TLS 1.3 reports it at the first read).
    let refused = tls_connect(port, tls_client(&ca, None))
        .map(|mut s| api_versions_ok(&mut s))
        .unwrap_or(false);
    assert!(!refused);
    let mut stream = tls_connect(port, tls_client(&ca, Some(&alice))).unwrap();
    assert!(api_versions_ok(&mut stream));
    // Trusted, but its subject maps to no principal: closed, as Kafka.
    let unmapped = tls_connect(port, tls_client(&ca, Some(&mallory)))
        .map(|mut s| api_versions_ok(&mut s))
        .unwrap_or(false);
    assert!(!unmapped, "a subject no rule maps is not served");
    // Plaintext clients on the same broker are untouched.
    let mut plain = RawClient::connect(broker.listener_port("PLAINTEXT"));
    assert!(plain.call(&ApiVersionsRequest::default(), 2).is_some());
}

#[test]
fn untrusted_certificates_fail_on_both_sides() {
    let Mtls {
        tmp, broker, ca, ..
    } = mtls_broker(&[]);
    let other = Ca::new("someone else");
    let other_path = write(tmp.path(), "other.pem", other.pem());
    let port = broker.listener_port("SSL");
    // A client certificate from a CA the broker does not trust.
    let stranger = other.issue(&alice_subject(), 5);
    let served = tls_connect(port, tls_client(&ca, Some(&stranger)))
        .map(|mut s| api_versions_ok(&mut s))
        .unwrap_or(false);
    assert!(!served, "a certificate from an untrusted CA is refused");
    // A client that does not trust the broker's CA.
    let stranger_cert = write(tmp.path(), "stranger.pem", &stranger.cert_pem);
    let stranger_key = write(tmp.path(), "stranger.key", &stranger.key_pem);
    assert!(!metadata_ok(&ssl_config(
        port,
        &other_path,
        &[
            ("ssl.certificate.location", stranger_cert.to_str().unwrap()),
            ("ssl.key.location", stranger_key.to_str().unwrap()),
        ],
    )));
    let alice = ca.issue(&alice_subject(), 6);
    let mut stream = tls_connect(port, tls_client(&ca, Some(&alice))).unwrap();
    assert!(
        api_versions_ok(&mut stream),
        "a trusted client is still served"
    );
}

/// A TLS 1.2 client that sends no certificate where one is required is
/// refused with bad_certificate (42), as Kafka refuses it, not rustls's
/// certificate_required (116): librdkafka leaves out a certificate the
/// broker's CA names do not cover, and takes only 42 for the broker's
/// refusal (0097_ssl_verify). TLS 1.2 as trivup's brokers enable it.
#[test]
fn a_client_without_a_required_certificate_gets_kafkas_bad_certificate_alert() {
    let Mtls {
        tmp: _tmp,
        broker,
        ca,
        ..
    } = mtls_broker(&["ssl.enabled.protocols=TLSv1.2"]);
    let port = broker.listener_port("SSL");
    let tls12 = |identity| tls_client_of(&ca, identity, &[&rustls::version::TLS12]);
    let refused = tls_connect(port, tls12(None))
        .map(drop)
        .expect_err("refused");
    let alert = refused
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::BadCertificate
        )),
        "{refused}"
    );
    let alice = ca.issue(&alice_subject(), 2);
    let mut stream = tls_connect(port, tls12(Some(&alice))).unwrap();
    assert!(
        api_versions_ok(&mut stream),
        "a client with a certificate is served"
    );
}

#[test]
fn clients_of_the_wrong_protocol_fail_fast_and_the_broker_serves_others() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let broker = tls_broker(&keystore, &[]);
    let ssl_port = broker.listener_port("SSL");
    let plain_port = broker.listener_port("PLAINTEXT");

    // A plaintext request to the TLS port: the handshake fails, the
    // connection closes.
    let mut plain_to_tls = RawClient::connect(ssl_port);
    plain_to_tls.set_read_timeout(Duration::from_secs(5));
    assert!(plain_to_tls
        .call(&ApiVersionsRequest::default(), 2)
        .is_none());
    // A TLS client to the plaintext port: its ClientHello reads as an
    // oversized frame and the connection closes.
    assert!(tls_connect(plain_port, tls_client(&ca, None)).is_err());
    // librdkafka, both ways round, gets no metadata.
    assert!(!metadata_ok(&ssl_config(plain_port, &ca_path, &[])));
    assert!(!metadata_ok(&harness::client_config(&format!(
        "127.0.0.1:{ssl_port}"
    ))));
    // A client that connects and says nothing holds no one up.
    let _silent = TcpStream::connect(("127.0.0.1", ssl_port)).unwrap();
    let mut stream = tls_connect(ssl_port, tls_client(&ca, None)).unwrap();
    assert!(api_versions_ok(&mut stream));
    let mut plain = RawClient::connect(plain_port);
    assert!(plain.call(&ApiVersionsRequest::default(), 2).is_some());
}

#[test]
fn a_renewed_certificate_is_served_to_new_connections_while_old_ones_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let broker = tls_broker(&keystore, &[]);
    let port = broker.listener_port("SSL");
    let client = tls_client(&ca, None);
    let mut old = tls_connect(port, client.clone()).unwrap();
    assert_eq!(served_serial(&old), 1);
    assert!(api_versions_ok(&mut old));

    let renewed = ca.issue(&broker_subject(), 2);
    replace(
        &keystore,
        format!("{}{}", renewed.cert_pem, renewed.key_pem),
    );
    assert!(
        wait_until(Duration::from_secs(20), || {
            tls_connect(port, client.clone()).is_ok_and(|s| served_serial(&s) == 2)
        }),
        "the renewed certificate was not served"
    );
    assert!(api_versions_ok(&mut old), "the old connection still works");

    // A broken file is not taken: new connections keep the last good one.
    replace(&keystore, "-----BEGIN CERTIFICATE-----\nbroken\n");
    let mut kept = true;
    // Long enough for several reload checks; each connection must still succeed.
    let _ = wait_until(Duration::from_secs(5), || {
        kept &= tls_connect(port, client.clone())
            .is_ok_and(|mut s| served_serial(&s) == 2 && api_versions_ok(&mut s));
        !kept
    });
    assert!(kept, "a broken keystore replaced the good one");
}

#[test]
fn a_keystore_set_through_config_admin_is_served_to_new_connections() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let mut broker = tls_broker(&keystore, &[]);
    let client = tls_client(&ca, None);
    assert_eq!(
        served_serial(&tls_connect(broker.listener_port("SSL"), client.clone()).unwrap()),
        1
    );
    let config_admin = |bs: &str, config: &str| {
        run_tool(
            env!("CARGO_BIN_EXE_config-admin"),
            bs,
            &["--alter", "--broker", "1", "--add-config", config],
            b"",
        )
    };

    // A keystore that does not load is refused before it is stored.
    let refused = config_admin(
        &broker.bootstrap(),
        "listener.name.ssl.ssl.keystore.location=/nonexistent.pem",
    );
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("/nonexistent.pem"),
        "{}",
        refused.stderr
    );

    let renewed = ca.issue(&broker_subject(), 2);
    let second = write(
        tmp.path(),
        "second.pem",
        format!("{}{}", renewed.cert_pem, renewed.key_pem),
    );
    config_admin(
        &broker.bootstrap(),
        &format!(
            "listener.name.ssl.ssl.keystore.location={}",
            second.display()
        ),
    )
    .ok();
    let port = broker.listener_port("SSL");
    assert!(
        wait_until(Duration::from_secs(20), || {
            tls_connect(port, client.clone()).is_ok_and(|s| served_serial(&s) == 2)
        }),
        "the keystore set through config-admin was not served"
    );

    // It is in the metadata quorum: a restarted broker serves it too.
    broker.stop();
    broker.restart();
    let port = broker.listener_port("SSL");
    assert!(
        wait_until(Duration::from_secs(20), || {
            tls_connect(port, client.clone()).is_ok_and(|s| served_serial(&s) == 2)
        }),
        "the dynamic keystore was not served after a restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_brokers_and_controllers_talk_tls_replicates() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    // mTLS everywhere: a node without the CA's certificate could neither
    // join the quorum nor fetch.
    let settings = [
        "listener.security.protocol.map=SSL:SSL,CONTROLLER:SSL".to_string(),
        "broker.session.timeout.ms=2000".to_string(),
        "replica.lag.time.max.ms=2000".to_string(),
        "broker.heartbeat.interval.ms=300".to_string(),
        "inter.broker.listener.name=SSL".to_string(),
        format!("ssl.keystore.location={}", keystore.display()),
        format!("ssl.truststore.location={}", ca_path.display()),
        "ssl.client.auth=required".to_string(),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let mut cluster = harness::start_cluster_listening(3, "SSL://127.0.0.1:0", &settings, &[]);
    let alice = ca.issue(&alice_subject(), 10);
    let alice_cert = write(tmp.path(), "alice.pem", &alice.cert_pem);
    let alice_key = write(tmp.path(), "alice.key", &alice.key_pem);
    let bootstrap_port = cluster[0].port;
    let client = ssl_config(
        bootstrap_port,
        &ca_path,
        &[
            ("ssl.certificate.location", alice_cert.to_str().unwrap()),
            ("ssl.key.location", alice_key.to_str().unwrap()),
        ],
    );
    let admin: AdminClient<DefaultClientContext> = client.create().unwrap();
    let topic =
        NewTopic::new("replicated", 1, TopicReplication::Fixed(3)).set("min.insync.replicas", "2");
    for r in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics")
    {
        r.expect("topic created");
    }
    // acks=all is acknowledged only once every replica in the ISR (all
    // three, while none falls behind) fetched the records over TLS.
    let mut acks_all = client.clone();
    acks_all.set("acks", "all");
    round_trip(&acks_all, "replicated", &["one", "two"]).await;
    // Every broker names the others by their SSL endpoints.
    let mut stream = tls_connect(cluster[1].port, tls_client(&ca, Some(&alice))).unwrap();
    let mut ports = metadata_ports(&mut stream);
    ports.sort_unstable();
    let mut expected: Vec<i32> = cluster.iter().map(|b| i32::from(b.port)).collect();
    expected.sort_unstable();
    assert_eq!(ports, expected);

    // Failover: the leader dies, the controllers (over TLS) fence it and
    // elect another, and acknowledged records are all still there.
    let leader = call(
        &mut stream,
        &MetadataRequest::default().with_topics(None),
        12,
    )
    .expect("metadata")
    .topics
    .iter()
    .find(|t| {
        t.name
            .as_ref()
            .is_some_and(|n| n.0.as_str() == "replicated")
    })
    .expect("the topic")
    .partitions[0]
        .leader_id
        .0;
    drop(stream);
    cluster[(leader - 1) as usize].kill9();
    let all: Vec<String> = cluster
        .iter()
        .filter(|b| b.pid().is_some())
        .map(|b| format!("127.0.0.1:{}", b.port))
        .collect();
    let mut survivors = acks_all.clone();
    survivors.set("bootstrap.servers", all.join(","));
    produce_values(&survivors, "replicated", &["three", "four"]).await;
    assert_eq!(
        read_values(&survivors, "replicated", 4),
        ["one", "two", "three", "four"]
    );
}

#[test]
fn enabled_protocols_and_cipher_suites_are_what_the_listener_offers() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let broker = tls_broker(
        &keystore,
        &[
            "ssl.enabled.protocols=TLSv1.2".into(),
            "ssl.cipher.suites=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        ],
    );
    let port = broker.listener_port("SSL");
    let client = |versions: &[&'static rustls::SupportedProtocolVersion]| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert.der().clone()).unwrap();
        Arc::new(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
        )
    };
    assert!(
        tls_connect(port, client(&[&rustls::version::TLS13])).is_err(),
        "TLS 1.3 is not enabled"
    );
    let mut stream = tls_connect(port, client(&[&rustls::version::TLS12])).unwrap();
    assert_eq!(
        stream.conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
    );
    assert!(api_versions_ok(&mut stream));
}

/// SASL over TLS: SCRAM users log in on a SASL_SSL listener, and the
/// principal the ACLs see is the SASL user, not the TLS client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_logs_scram_users_in_and_acls_see_them() {
    use kafka_protocol::messages::create_acls_request::AclCreation;
    use kafka_protocol::messages::CreateAclsRequest;
    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let keystore = pem_keystore(tmp.path(), &ca.issue(&broker_subject(), 1));
    let broker = BrokerProcess::start(&[
        "listeners=PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0",
        &format!("ssl.keystore.location={}", keystore.display()),
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-512=[name=alice,password=alice-secret];SCRAM-SHA-512=[name=bob,password=bob-secret]",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found=true",
    ]);
    // Only alice may use "secure" once an ACL names it.
    let created = RawClient::connect(broker.listener_port("PLAINTEXT"))
        .call(
            &CreateAclsRequest::default().with_creations(vec![AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("secure"))
                .with_resource_pattern_type(3)
                .with_principal(StrBytes::from_static_str("User:alice"))
                .with_host(StrBytes::from_static_str("*"))
                .with_operation(2)
                .with_permission_type(3)]),
            3,
        )
        .expect("create acls");
    assert_eq!(created.results[0].error_code, 0);
    let as_user = |user: &str, password: &str| {
        ssl_config(
            broker.listener_port("SASL_SSL"),
            &ca_path,
            &[
                ("security.protocol", "sasl_ssl"),
                ("sasl.mechanism", "SCRAM-SHA-512"),
                ("sasl.username", user),
                ("sasl.password", password),
            ],
        )
    };
    round_trip(&as_user("alice", "alice-secret"), "secure", &["x", "y"]).await;

    let mut bob = as_user("bob", "bob-secret");
    bob.set("message.timeout.ms", "5000");
    let producer: FutureProducer = bob.create().expect("producer");
    let refused = producer
        .send(
            FutureRecord::<(), str>::to("secure")
                .partition(0)
                .payload("z"),
            Duration::from_secs(10),
        )
        .await
        .expect_err("bob may not write to alice's topic");
    assert_eq!(
        refused.0.rdkafka_error_code(),
        Some(rdkafka::types::RDKafkaErrorCode::TopicAuthorizationFailed),
        "{}",
        refused.0
    );
    // A wrong password over TLS fails; a plain SSL client without SASL is not served.
    assert!(!metadata_ok(&as_user("alice", "wrong")));
    assert!(!metadata_ok(&ssl_config(
        broker.listener_port("SASL_SSL"),
        &ca_path,
        &[]
    )));
}
