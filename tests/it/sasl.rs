//! SASL on a SASL_PLAINTEXT listener, end to end: librdkafka clients with
//! PLAIN, SCRAM-SHA-256/512 and OAUTHBEARER produce and consume; wrong
//! credentials fail fast with Kafka's messages while other clients keep
//! working; nothing is served before authentication; SCRAM credentials
//! altered through the quorum work on every broker; KIP-368 re-authentication;
//! OAUTHBEARER tokens checked against a JWKS file or https endpoint that
//! is refreshed when keys rotate.

use crate::harness;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use bytes::Bytes;
use harness::{wait_until, BrokerProcess, LoggedBroker, RawClient};
use kafka_protocol::messages::alter_user_scram_credentials_request::{
    ScramCredentialDeletion, ScramCredentialUpsertion,
};
use kafka_protocol::messages::describe_user_scram_credentials_request::UserName;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, ApiKey, ApiVersionsRequest, DescribeClusterRequest,
    DescribeUserScramCredentialsRequest, MetadataRequest, SaslAuthenticateRequest,
    SaslAuthenticateResponse, SaslHandshakeRequest,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};

const PLAIN_JAAS: &str = "org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\" user_admin=\"admin-secret\";";
const SCRAM_BOOTSTRAP: &str = "SCRAM-SHA-256=[name=carol,password=carol-secret];SCRAM-SHA-512=[name=dave,password=dave-secret]";

/// A broker whose only client listener is SASL_PLAINTEXT with every mechanism.
fn sasl_broker(extra: &[&str]) -> BrokerProcess {
    let jaas = format!("listener.name.sasl_plaintext.plain.sasl.jaas.config={PLAIN_JAAS}");
    let scram = format!("gregor.scram.bootstrap.credentials={SCRAM_BOOTSTRAP}");
    let mut overrides = vec![
        "listeners=SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER",
        &jaas,
        &scram,
    ];
    overrides.extend(extra);
    BrokerProcess::start(&overrides)
}

fn sasl_client(bootstrap: &str, mechanism: &str, user: &str, password: &str) -> ClientConfig {
    let mut c = harness::client_config(bootstrap);
    c.set("security.protocol", "sasl_plaintext")
        .set("sasl.mechanism", mechanism);
    if mechanism == "OAUTHBEARER" {
        c.set("enable.sasl.oauthbearer.unsecure.jwt", "true")
            .set("sasl.oauthbearer.config", format!("principal={user}"));
    } else {
        c.set("sasl.username", user).set("sasl.password", password);
    }
    c
}

/// Keeps what librdkafka reports as client errors (authentication failures among them).
#[derive(Default)]
struct Errors(Arc<Mutex<Vec<String>>>);

impl ClientContext for Errors {
    fn error(&self, error: KafkaError, reason: &str) {
        self.0.lock().unwrap().push(format!("{error}: {reason}"));
    }
}

impl ConsumerContext for Errors {}

impl Errors {
    fn seen(&self, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|e| e.contains(needle))
    }
}

async fn produce_and_consume(config: &ClientConfig, topic: &str) {
    let producer: rdkafka::producer::FutureProducer = config
        .clone()
        .set("message.timeout.ms", "15000")
        .create()
        .expect("producer");
    producer
        .send(
            FutureRecord::<(), str>::to(topic).payload("hello"),
            Duration::from_secs(15),
        )
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", format!("{topic}-reader"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut value = None;
    assert!(
        wait_until(Duration::from_secs(15), || {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
                value = m.payload().map(<[u8]>::to_vec);
            }
            value.is_some()
        }),
        "nothing consumed from {topic}"
    );
    assert_eq!(value.as_deref(), Some(&b"hello"[..]));
}

/// Connects a client that fails to authenticate; returns its errors once
/// it reported one naming `needle`.
fn failing_client(config: &ClientConfig, needle: &str) -> Vec<String> {
    let consumer: BaseConsumer<Errors> = config
        .clone()
        .set("group.id", "failing")
        .create_with_context(Errors::default())
        .expect("consumer");
    let _ = consumer.fetch_metadata(None, Duration::from_millis(100));
    let reported = wait_until(Duration::from_secs(10), || {
        // Errors reach the context as the client is polled.
        if let Some(Err(e)) = consumer.poll(Duration::from_millis(100)) {
            consumer.context().0.lock().unwrap().push(e.to_string());
        }
        consumer.context().seen(needle)
    });
    let errors = consumer.context().0.lock().unwrap().clone();
    assert!(
        reported,
        "no client error naming {needle:?}; got {errors:?}"
    );
    errors
}

fn str(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

fn handshake(client: &mut RawClient, mechanism: &str) {
    let response = client
        .call(
            &SaslHandshakeRequest::default().with_mechanism(str(mechanism)),
            1,
        )
        .expect("handshake answered");
    assert_eq!(response.error_code, 0, "{response:?}");
}

fn authenticate(client: &mut RawClient, token: &[u8]) -> Option<SaslAuthenticateResponse> {
    client.call(
        &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token)),
        2,
    )
}

fn plain_login(client: &mut RawClient, user: &str, password: &str) -> SaslAuthenticateResponse {
    handshake(client, "PLAIN");
    authenticate(client, format!("\0{user}\0{password}").as_bytes()).expect("authenticate answered")
}

fn metadata_served(client: &mut RawClient) -> bool {
    client.call(&MetadataRequest::default(), 12).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mechanism_produces_and_consumes() {
    let broker = sasl_broker(&[]);
    let bootstrap = broker.bootstrap();
    for (mechanism, user, password) in [
        ("PLAIN", "alice", "alice-secret"),
        ("SCRAM-SHA-256", "carol", "carol-secret"),
        ("SCRAM-SHA-512", "dave", "dave-secret"),
        ("OAUTHBEARER", "erin", ""),
    ] {
        let config = sasl_client(&bootstrap, mechanism, user, password);
        produce_and_consume(&config, &format!("t-{}", mechanism.to_lowercase())).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_fail_fast_with_kafkas_message_while_others_keep_working() {
    let broker = sasl_broker(&[]);
    let bootstrap = broker.bootstrap();
    let good = sasl_client(&bootstrap, "PLAIN", "alice", "alice-secret");
    let producer: rdkafka::producer::FutureProducer = good.create().expect("producer");
    failing_client(
        &sasl_client(&bootstrap, "PLAIN", "alice", "wrong"),
        "Invalid username or password",
    );
    failing_client(
        &sasl_client(&bootstrap, "PLAIN", "mallory", "alice-secret"),
        "Invalid username or password",
    );
    let scram = "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256";
    failing_client(
        &sasl_client(&bootstrap, "SCRAM-SHA-256", "carol", "wrong"),
        scram,
    );
    failing_client(
        &sasl_client(&bootstrap, "SCRAM-SHA-256", "nobody", "x"),
        scram,
    );
    // A mechanism the listener does not enable.
    failing_client(
        &sasl_client(&bootstrap, "SCRAM-SHA-512", "carol", "carol-secret"),
        "SASL",
    );
    producer
        .send(
            FutureRecord::<(), str>::to("still-served").payload("x"),
            Duration::from_secs(15),
        )
        .await
        .expect("the authenticated client is still served");
}

#[test]
fn requests_before_authentication_close_the_connection_unserved() {
    let broker = sasl_broker(&["sasl.enabled.mechanisms=PLAIN"]);
    let mut client = RawClient::connect(broker.port);
    assert!(
        !metadata_served(&mut client),
        "Metadata was answered before authentication"
    );
    // Nor is a large frame read (sasl.server.max.receive.size).
    let mut client = RawClient::connect(broker.port);
    client.send_raw(&600_000i32.to_be_bytes());
    assert!(client.read_frame().is_none());
    // ApiVersions is answered first, then only the handshake.
    let mut client = RawClient::connect(broker.port);
    let versions = client
        .call(
            &ApiVersionsRequest::default()
                .with_client_software_name(str("raw"))
                .with_client_software_version(str("1")),
            3,
        )
        .expect("ApiVersions answered");
    assert_eq!(versions.error_code, 0);
    assert!(versions
        .api_keys
        .iter()
        .any(|k| k.api_key == 36 && k.max_version == 2));
    let mechanisms = client
        .call(
            &SaslHandshakeRequest::default().with_mechanism(str("GSSAPI")),
            1,
        )
        .expect("handshake answered");
    assert_eq!(mechanisms.error_code, 33, "UNSUPPORTED_SASL_MECHANISM");
    assert_eq!(mechanisms.mechanisms, vec![str("PLAIN")]);
    assert!(client.is_closed());
    // A failed authentication is answered, then the connection closes.
    let mut client = RawClient::connect(broker.port);
    let failed = plain_login(&mut client, "alice", "nope");
    assert_eq!(failed.error_code, 58, "SASL_AUTHENTICATION_FAILED");
    assert_eq!(
        failed.error_message.as_deref(),
        Some("Authentication failed: Invalid username or password")
    );
    assert!(client.is_closed());
    // Authenticated, everything is served; a second SaslAuthenticate is out of turn.
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        plain_login(&mut client, "alice", "alice-secret").error_code,
        0
    );
    assert!(metadata_served(&mut client));
    let again = authenticate(&mut client, b"\0alice\0alice-secret").unwrap();
    assert_eq!(again.error_code, 34, "ILLEGAL_SASL_STATE");
    assert!(metadata_served(&mut client));
}

fn scram_upsert(
    user: &str,
    mechanism: i8,
    password: &str,
    iterations: i32,
) -> ScramCredentialUpsertion {
    let salt = b"0123456789abcdef".to_vec();
    let m = if mechanism == 1 {
        gregor::security::sasl::scram::ScramMechanism::Sha256
    } else {
        gregor::security::sasl::scram::ScramMechanism::Sha512
    };
    let salted = m.salted_password(password.as_bytes(), &salt, iterations.max(1) as u32);
    ScramCredentialUpsertion::default()
        .with_name(str(user))
        .with_mechanism(mechanism)
        .with_iterations(iterations)
        .with_salt(Bytes::from(salt))
        .with_salted_password(Bytes::from(salted))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_credentials_altered_on_one_broker_log_in_on_every_broker() {
    let jaas = format!("listener.name.plaintext.plain.sasl.jaas.config={PLAIN_JAAS}");
    let cluster = harness::start_cluster(
        3,
        &[
            "listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            &jaas,
        ],
    );
    let mut admin = RawClient::connect(cluster[0].port);
    assert_eq!(
        plain_login(&mut admin, "admin", "admin-secret").error_code,
        0
    );
    let request = AlterUserScramCredentialsRequest::default()
        .with_upsertions(vec![
            scram_upsert("frank", 1, "frank-secret", 4096),
            scram_upsert("frank", 2, "frank-secret-512", 8192),
            scram_upsert("grace", 1, "g", 100),
            scram_upsert("heidi", 3, "h", 4096),
            scram_upsert("ivan", 1, "i", 4096),
            scram_upsert("ivan", 1, "i2", 4096),
        ])
        .with_deletions(vec![ScramCredentialDeletion::default()
            .with_name(str("judy"))
            .with_mechanism(1)]);
    let response = admin.call(&request, 0).expect("answered");
    let results: Vec<(String, i16)> = response
        .results
        .iter()
        .map(|r| (r.user.to_string(), r.error_code))
        .collect();
    assert_eq!(
        results,
        vec![
            ("judy".to_string(), 91), // RESOURCE_NOT_FOUND
            ("frank".to_string(), 0),
            ("grace".to_string(), 93), // UNACCEPTABLE_CREDENTIAL: too few iterations
            ("heidi".to_string(), 33), // UNSUPPORTED_SASL_MECHANISM
            ("ivan".to_string(), 92),  // DUPLICATE_RESOURCE
        ]
    );
    let described = admin
        .call(
            &DescribeUserScramCredentialsRequest::default().with_users(Some(vec![
                UserName::default().with_name(str("frank")),
                UserName::default().with_name(str("ivan")),
            ])),
            0,
        )
        .expect("answered");
    assert_eq!(described.results[0].error_code, 0);
    let infos: Vec<(i8, i32)> = described.results[0]
        .credential_infos
        .iter()
        .map(|c| (c.mechanism, c.iterations))
        .collect();
    assert_eq!(infos, vec![(1, 4096), (2, 8192)]);
    assert_eq!(described.results[1].error_code, 91);
    for broker in &cluster {
        for (mechanism, password) in [
            ("SCRAM-SHA-256", "frank-secret"),
            ("SCRAM-SHA-512", "frank-secret-512"),
        ] {
            let config = sasl_client(&broker.bootstrap(), mechanism, "frank", password);
            let consumer: BaseConsumer<Errors> = config
                .create_with_context(Errors::default())
                .expect("consumer");
            // The credential reaches each broker's image as it applies the quorum's log.
            assert!(
                wait_until(Duration::from_secs(15), || consumer
                    .fetch_metadata(None, Duration::from_secs(2))
                    .is_ok()),
                "frank cannot log in with {mechanism} on broker {}: {:?}",
                broker.port,
                consumer.context().0.lock().unwrap()
            );
        }
    }
    // Deleted, the credential no longer logs in.
    let deleted = admin
        .call(
            &AlterUserScramCredentialsRequest::default().with_deletions(vec![
                ScramCredentialDeletion::default()
                    .with_name(str("frank"))
                    .with_mechanism(1),
            ]),
            0,
        )
        .expect("answered");
    assert_eq!(deleted.results[0].error_code, 0);
    failing_client(
        &sasl_client(
            &cluster[2].bootstrap(),
            "SCRAM-SHA-256",
            "frank",
            "frank-secret",
        ),
        "invalid credentials with SASL mechanism SCRAM-SHA-256",
    );
}

fn unsecured_jws(claims: &str) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn an_expired_oauthbearer_token_is_refused_with_a_clear_message() {
    let broker = sasl_broker(&["sasl.enabled.mechanisms=OAUTHBEARER"]);
    let expired = unsecured_jws(&format!(
        r#"{{"sub":"alice","iat":{},"exp":{}}}"#,
        now_secs() - 7200,
        now_secs() - 3600
    ));
    let mut client = RawClient::connect(broker.port);
    handshake(&mut client, "OAUTHBEARER");
    let challenge = authenticate(
        &mut client,
        format!("n,,\x01auth=Bearer {expired}\x01\x01").as_bytes(),
    )
    .expect("answered");
    // RFC 7628: the error comes as a challenge, the client acknowledges it.
    assert_eq!(challenge.error_code, 0);
    assert_eq!(&challenge.auth_bytes[..], br#"{"status":"invalid_token"}"#);
    let failed = authenticate(&mut client, b"\x01").expect("answered");
    assert_eq!(failed.error_code, 58);
    let message = failed.error_message.unwrap().to_string();
    assert!(message.contains("expired"), "{message}");
    assert!(client.is_closed());
    // A valid token logs in as its subject.
    let valid = unsecured_jws(&format!(r#"{{"sub":"alice","exp":{}}}"#, now_secs() + 3600));
    let mut client = RawClient::connect(broker.port);
    handshake(&mut client, "OAUTHBEARER");
    let ok = authenticate(
        &mut client,
        format!("n,,\x01auth=Bearer {valid}\x01\x01").as_bytes(),
    )
    .expect("answered");
    assert_eq!(ok.error_code, 0, "{ok:?}");
    // The session lasts no longer than the token (KIP-368).
    assert!((1..=3_600_000).contains(&ok.session_lifetime_ms), "{ok:?}");
    assert!(metadata_served(&mut client));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reauthentication_keeps_connections_and_expired_sessions_are_closed() {
    let broker = sasl_broker(&["listener.name.sasl_plaintext.connections.max.reauth.ms=1500"]);
    // A session that is not renewed ends with the next request after its lifetime.
    let mut client = RawClient::connect(broker.port);
    let session = plain_login(&mut client, "alice", "alice-secret");
    assert_eq!(session.error_code, 0);
    assert_eq!(session.session_lifetime_ms, 1500);
    assert!(
        wait_until(Duration::from_secs(10), || !metadata_served(&mut client)),
        "an expired session is still served"
    );
    // Re-authenticating renews it on the same connection.
    let mut client = RawClient::connect(broker.port);
    assert_eq!(
        plain_login(&mut client, "alice", "alice-secret").error_code,
        0
    );
    let mut renewals = 0;
    assert!(wait_until(Duration::from_secs(10), || {
        let renewed = plain_login(&mut client, "alice", "alice-secret");
        assert_eq!(renewed.error_code, 0, "{renewed:?}");
        assert!(metadata_served(&mut client));
        renewals += 1;
        renewals == 5
    }));
    // ... but not as someone else.
    let changed = plain_login(&mut client, "admin", "admin-secret");
    assert_eq!(changed.error_code, 58);
    assert!(changed
        .error_message
        .unwrap()
        .contains("Cannot change principals during re-authentication"));
    assert!(client.is_closed());
    // librdkafka re-authenticates on its own (KIP-368) and keeps producing.
    let config = sasl_client(
        &broker.bootstrap(),
        "SCRAM-SHA-256",
        "carol",
        "carol-secret",
    );
    let reported = Errors::default();
    let errors = reported.0.clone();
    let producer: rdkafka::producer::FutureProducer<Errors> =
        config.create_with_context(reported).expect("producer");
    let started = std::time::Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_secs(5) {
        producer
            .send(
                FutureRecord::<(), str>::to("reauth").payload("x"),
                Duration::from_secs(15),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("produce after {:?}: {e}", started.elapsed()));
        sent += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(sent > 10);
    // Renewed in place: the broker never had to close an expired session.
    let errors = errors.lock().unwrap().clone();
    assert!(errors.is_empty(), "{errors:?}");
}

/// A token signed with `key` (ES256) under key id `kid`.
fn signed_jwt(key: &rcgen::KeyPair, kid: &str, claims: serde_json::Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let encoding =
        jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).expect("EC key");
    jsonwebtoken::encode(&header, &claims, &encoding).expect("sign")
}

/// The public half of `key` as a JWKS entry.
fn jwk(key: &rcgen::KeyPair, kid: &str) -> serde_json::Value {
    // An uncompressed P-256 point: 0x04, then X and Y.
    let point = key.public_key_raw();
    serde_json::json!({
        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    })
}

/// Logs in with `token`; the principal's name on success, else the failure message.
fn oauth_login(port: u16, token: &str) -> Result<(), String> {
    let mut client = RawClient::connect(port);
    handshake(&mut client, "OAUTHBEARER");
    let first = authenticate(
        &mut client,
        format!("n,,\x01auth=Bearer {token}\x01\x01").as_bytes(),
    )
    .expect("answered");
    assert_eq!(first.error_code, 0, "{first:?}");
    if first.auth_bytes.is_empty() {
        assert!(metadata_served(&mut client));
        return Ok(());
    }
    let failed = authenticate(&mut client, b"\x01").expect("answered");
    assert_eq!(failed.error_code, 58);
    assert!(client.is_closed());
    Err(failed.error_message.unwrap().to_string())
}

#[test]
fn signed_oauthbearer_tokens_are_checked_against_the_jwks() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = rcgen::KeyPair::generate().unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        serde_json::json!({ "keys": [jwk(&trusted, "k1")] }).to_string(),
    )
    .unwrap();
    let url = format!(
        "sasl.oauthbearer.jwks.endpoint.url=file://{}",
        jwks.display()
    );
    let broker = sasl_broker(&[
        "sasl.enabled.mechanisms=OAUTHBEARER",
        &url,
        "sasl.oauthbearer.expected.audience=gregor",
        "sasl.oauthbearer.expected.issuer=https://issuer.example",
        "sasl.oauthbearer.sub.claim.name=client_id",
    ]);
    let claims = |exp: u64, aud: &str| {
        serde_json::json!({
            "client_id": "svc-orders", "sub": "ignored", "aud": aud,
            "iss": "https://issuer.example", "iat": now_secs(), "exp": exp,
        })
    };
    let hour = now_secs() + 3600;
    oauth_login(
        broker.port,
        &signed_jwt(&trusted, "k1", claims(hour, "gregor")),
    )
    .expect("a token signed by the JWKS's key logs in");
    let expired = oauth_login(
        broker.port,
        &signed_jwt(&trusted, "k1", claims(now_secs() - 3600, "gregor")),
    )
    .unwrap_err();
    assert!(expired.contains("expired"), "{expired}");
    let audience = oauth_login(
        broker.port,
        &signed_jwt(&trusted, "k1", claims(hour, "other")),
    )
    .unwrap_err();
    assert!(audience.contains("invalid_token"), "{audience}");
    let forged = oauth_login(
        broker.port,
        &signed_jwt(&other, "k1", claims(hour, "gregor")),
    )
    .unwrap_err();
    assert!(forged.contains("invalid_token"), "{forged}");
    let unknown_key = oauth_login(
        broker.port,
        &signed_jwt(&other, "k2", claims(hour, "gregor")),
    )
    .unwrap_err();
    assert!(unknown_key.contains("k2"), "{unknown_key}");
    let unsigned = unsecured_jws(&claims(hour, "gregor").to_string());
    assert!(oauth_login(broker.port, &unsigned).is_err());

    // The file is read again when it changes: a key added there is
    // trusted without a restart.
    let next = dir.path().join("jwks.next");
    std::fs::write(
        &next,
        serde_json::json!({ "keys": [jwk(&trusted, "k1"), jwk(&other, "k2")] }).to_string(),
    )
    .unwrap();
    std::fs::rename(&next, &jwks).unwrap();
    let added = signed_jwt(&other, "k2", claims(hour, "gregor"));
    assert!(
        wait_until(Duration::from_secs(10), || oauth_login(broker.port, &added)
            .is_ok()),
        "a key added to the JWKS file is trusted"
    );
}

/// An http server for one JWKS document, which the test can replace,
/// counting the requests it answers. With `ca`, https with a certificate
/// of `ca`'s.
struct JwksServer {
    port: u16,
    body: Arc<Mutex<String>>,
    requests: Arc<std::sync::atomic::AtomicUsize>,
}

impl JwksServer {
    fn start(ca: Option<&harness::pki::Ca>, body: String) -> JwksServer {
        let config = ca.map(|ca| {
            let issued = ca.issue(&[(rcgen::DnType::CommonName, "jwks")], 7);
            Arc::new(
                rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(
                    vec![issued.cert_der.clone().into()],
                    rustls::pki_types::PrivateKeyDer::Pkcs8(issued.key_der.clone().into()),
                )
                .unwrap(),
            )
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = Arc::new(Mutex::new(body));
        let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (served, count) = (body.clone(), requests.clone());
        std::thread::spawn(move || {
            for mut tcp in listener.incoming().map_while(Result::ok) {
                let answer = |stream: &mut dyn ReadWrite| {
                    if read_request(stream) {
                        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let body = served.lock().unwrap().clone();
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                };
                match &config {
                    Some(config) => {
                        let connection = rustls::ServerConnection::new(config.clone()).unwrap();
                        let mut stream = rustls::StreamOwned::new(connection, tcp);
                        answer(&mut stream);
                        stream.conn.send_close_notify();
                        let _ = stream.flush();
                    }
                    None => answer(&mut tcp),
                }
            }
        });
        JwksServer {
            port,
            body,
            requests,
        }
    }

    fn serve(&self, body: String) {
        *self.body.lock().unwrap() = body;
    }

    fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Reads one request's head; whether it came whole.
fn read_request(stream: &mut dyn ReadWrite) -> bool {
    let mut request = Vec::new();
    let mut byte = [0u8; 1];
    while !request.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => request.push(byte[0]),
            _ => return false,
        }
    }
    true
}

#[test]
fn an_https_jwks_is_refreshed_when_a_token_names_a_new_key() {
    let dir = tempfile::tempdir().unwrap();
    let ca = harness::pki::Ca::new("JWKS CA");
    let ca_path = harness::pki::write(dir.path(), "ca.pem", ca.pem());
    let old = rcgen::KeyPair::generate().unwrap();
    let new = rcgen::KeyPair::generate().unwrap();
    let server = JwksServer::start(
        Some(&ca),
        serde_json::json!({ "keys": [jwk(&old, "old")] }).to_string(),
    );
    let url = format!(
        "sasl.oauthbearer.jwks.endpoint.url=https://127.0.0.1:{}/jwks",
        server.port
    );
    let trust = format!("ssl.truststore.location={}", ca_path.display());
    let broker = sasl_broker(&["sasl.enabled.mechanisms=OAUTHBEARER", &url, &trust]);
    let claims = serde_json::json!({ "sub": "svc", "exp": now_secs() + 3600 });
    oauth_login(broker.port, &signed_jwt(&old, "old", claims.clone()))
        .expect("a token signed by the served key logs in");
    assert_eq!(server.requests(), 1, "the JWKS is read once at start");

    // The issuer rotates its key: the first token naming the new key id is
    // refused while the broker fetches the key set again, as Kafka does,
    // and a retry logs in.
    server.serve(serde_json::json!({ "keys": [jwk(&new, "new")] }).to_string());
    let rotated = signed_jwt(&new, "new", claims.clone());
    let first = oauth_login(broker.port, &rotated).unwrap_err();
    assert!(first.contains("being refreshed"), "{first}");
    assert!(
        wait_until(Duration::from_secs(10), || oauth_login(
            broker.port,
            &rotated
        )
        .is_ok()),
        "a token signed by the rotated key logs in once the JWKS is refreshed"
    );
    let retired = oauth_login(broker.port, &signed_jwt(&old, "old", claims.clone())).unwrap_err();
    assert!(retired.contains("'old'"), "{retired}");

    // An unknown key id asks for one refresh a minute, however many
    // tokens name it.
    let stranger = rcgen::KeyPair::generate().unwrap();
    let unknown = signed_jwt(&stranger, "unknown", claims);
    let asked = oauth_login(broker.port, &unknown).unwrap_err();
    assert!(asked.contains("being refreshed"), "{asked}");
    let again = oauth_login(broker.port, &unknown).unwrap_err();
    assert!(
        again.contains("'unknown'") && !again.contains("being refreshed"),
        "{again}"
    );

    // Without the listener's truststore the endpoint is checked against
    // the public roots, which do not know this CA: the start fails.
    let start = std::process::Command::new(env!("CARGO_BIN_EXE_broker-start"))
        .arg("--override")
        .arg(format!("log.dirs={}", dir.path().join("data").display()))
        .args(["--override", "listeners=SASL_PLAINTEXT://127.0.0.1:0"])
        .args(["--override", "sasl.enabled.mechanisms=OAUTHBEARER"])
        .arg("--override")
        .arg(&url)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&start.stderr);
    assert!(!start.status.success());
    assert!(
        stderr.contains("sasl.oauthbearer.jwks.endpoint.url") && stderr.contains("127.0.0.1"),
        "{stderr}"
    );
}

/// As trivup's token endpoint serves librdkafka's OIDC tests: the key set
/// over plain http, which Kafka reads as it reads an https one.
#[test]
fn an_http_jwks_endpoint_checks_tokens_as_kafka_does() {
    let key = rcgen::KeyPair::generate().unwrap();
    let server = JwksServer::start(
        None,
        serde_json::json!({ "keys": [jwk(&key, "abcdefg")] }).to_string(),
    );
    let url = format!(
        "sasl.oauthbearer.jwks.endpoint.url=http://127.0.0.1:{}/keys",
        server.port
    );
    let broker = sasl_broker(&[
        "sasl.enabled.mechanisms=OAUTHBEARER",
        &url,
        "sasl.oauthbearer.expected.audience=api://default",
    ]);
    let claims = |exp: u64| {
        serde_json::json!({
            "sub": "subject", "iss": "issuer", "aud": "api://default",
            "iat": now_secs(), "exp": exp,
        })
    };
    let token = signed_jwt(&key, "abcdefg", claims(now_secs() + 60));
    oauth_login(broker.port, &token).expect("a token signed by the served key logs in");
    assert_eq!(server.requests(), 1, "the JWKS is read once at start");
    // trivup's "badformat" token: a valid one with text appended to its
    // signature.
    let tampered = oauth_login(broker.port, &format!("{token}invalid")).unwrap_err();
    assert!(tampered.contains("invalid_token"), "{tampered}");
    let expired = oauth_login(
        broker.port,
        &signed_jwt(&key, "abcdefg", claims(now_secs() - 3600)),
    )
    .unwrap_err();
    assert!(expired.contains("expired"), "{expired}");
}

#[test]
fn a_v0_handshake_takes_bare_tokens() {
    let broker = sasl_broker(&["sasl.enabled.mechanisms=PLAIN"]);
    let mut client = RawClient::connect(broker.port);
    let response = client
        .call(
            &SaslHandshakeRequest::default().with_mechanism(str("PLAIN")),
            0,
        )
        .expect("handshake answered");
    assert_eq!(response.error_code, 0);
    let token = b"\0alice\0alice-secret";
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    client.send_raw(&frame);
    assert_eq!(client.read_frame().expect("bare answer").len(), 0);
    assert!(metadata_served(&mut client));
    // Without Kafka framing there is no error to send: the connection closes.
    let mut client = RawClient::connect(broker.port);
    client
        .call(
            &SaslHandshakeRequest::default().with_mechanism(str("PLAIN")),
            0,
        )
        .expect("handshake answered");
    let token = b"\0alice\0wrong";
    let mut frame = (token.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(token);
    client.send_raw(&frame);
    assert!(client.read_frame().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brokers_replicate_and_fail_over_through_a_sasl_listener() {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::producer::Producer;

    let plain = format!("listener.name.plaintext.plain.sasl.jaas.config={PLAIN_JAAS}");
    let scram = "listener.name.plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"broker\" password=\"broker-secret\";";
    let mut cluster = harness::start_cluster(
        3,
        &[
            "listener.security.protocol.map=PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512",
            "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512",
            &plain,
            scram,
            "gregor.scram.bootstrap.credentials=SCRAM-SHA-512=[name=broker,password=broker-secret]",
        ],
    );
    let bootstraps: Vec<String> = cluster.iter().map(|b| b.bootstrap()).collect();
    let config = |i: usize| sasl_client(&bootstraps[i], "PLAIN", "alice", "alice-secret");
    let admin: AdminClient<DefaultClientContext> = config(0).create().expect("admin");
    let topic =
        NewTopic::new("replicated", 1, TopicReplication::Fixed(3)).set("min.insync.replicas", "3");
    for result in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics")
    {
        result.expect("topic created");
    }
    // Every replica must be in sync for acks=all to succeed: the followers
    // fetch through the SASL listener.
    let producer: rdkafka::producer::FutureProducer = config(0)
        .set("acks", "all")
        .set("message.timeout.ms", "20000")
        .create()
        .expect("producer");
    for i in 0..20 {
        producer
            .send(
                FutureRecord::<(), str>::to("replicated").payload(&format!("v{i}")),
                Duration::from_secs(20),
            )
            .await
            .unwrap_or_else(|(e, _)| panic!("record {i} not replicated: {e}"));
    }
    let metadata = producer
        .client()
        .fetch_metadata(Some("replicated"), Duration::from_secs(5))
        .expect("metadata");
    let leader = metadata.topics()[0].partitions()[0].leader();
    drop(producer);
    cluster[(leader - 1) as usize].stop();
    let survivor = if leader == 1 { 1 } else { 0 };
    let consumer: BaseConsumer = config(survivor)
        .set("group.id", "failover-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("replicated", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read = Vec::new();
    wait_until(Duration::from_secs(30), || {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            read.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
        read.len() == 20
    });
    let expected: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    assert_eq!(
        read, expected,
        "records read from a new leader after broker {leader} stopped"
    );
}

/// Whether `user` logs in with `mechanism` and `password` on `port`.
fn scram_login_works(port: u16, mechanism: &str, user: &str, password: &str) -> bool {
    let config = sasl_client(&format!("127.0.0.1:{port}"), mechanism, user, password);
    let consumer: BaseConsumer = config.create().expect("consumer");
    consumer
        .fetch_metadata(None, Duration::from_secs(5))
        .is_ok()
}

#[test]
fn scram_credentials_survive_a_restart_and_bootstrap_never_replaces_them() {
    let mut broker = sasl_broker(&[]);
    let mut admin = RawClient::connect(broker.port);
    assert_eq!(
        plain_login(&mut admin, "admin", "admin-secret").error_code,
        0
    );
    let altered = admin
        .call(
            &AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                scram_upsert("kim", 1, "kim-secret", 4096),
                // carol came from gregor.scram.bootstrap.credentials.
                scram_upsert("carol", 1, "carol-new-secret", 4096),
            ]),
            0,
        )
        .expect("answered");
    assert!(
        altered.results.iter().all(|r| r.error_code == 0),
        "{altered:?}"
    );
    drop(admin);
    broker.stop();
    broker.restart();
    assert!(scram_login_works(
        broker.port,
        "SCRAM-SHA-256",
        "kim",
        "kim-secret"
    ));
    assert!(scram_login_works(
        broker.port,
        "SCRAM-SHA-256",
        "carol",
        "carol-new-secret"
    ));
    assert!(!scram_login_works(
        broker.port,
        "SCRAM-SHA-256",
        "carol",
        "carol-secret"
    ));
}

#[test]
fn unusable_sasl_settings_stop_the_broker_at_start_with_the_reason() {
    let start = |overrides: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_broker-start"));
        cmd.arg("--override")
            .arg(format!("log.dirs={}", dir.path().display()))
            .arg("--override")
            .arg("listeners=SASL_PLAINTEXT://127.0.0.1:0");
        for o in overrides {
            cmd.arg("--override").arg(o);
        }
        let out = cmd.output().expect("run broker-start");
        assert!(!out.status.success(), "started with {overrides:?}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    // Kafka's default mechanism, GSSAPI, is not supported.
    let stderr = start(&[]);
    assert!(stderr.contains("GSSAPI is not supported"), "{stderr}");
    let stderr = start(&["sasl.enabled.mechanisms=PLAIN"]);
    assert!(
        stderr.contains("listener.name.sasl_plaintext.plain.sasl.jaas.config"),
        "{stderr}"
    );
    let stderr = start(&[
        "sasl.enabled.mechanisms=PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"s3cret\"",
    ]);
    assert!(stderr.contains("must end with ';'"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    let stderr = start(&[
        "sasl.enabled.mechanisms=SCRAM-SHA-256",
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-256=[name=admin]",
    ]);
    assert!(stderr.contains("needs a password"), "{stderr}");
}

/// A 3-node cluster whose client, inter-broker and controller listeners
/// are all SASL_SSL: the controllers log in to each other with SCRAM
/// (bootstrap credentials, as Kafka's controllers need), the brokers with
/// SCRAM, clients with PLAIN; acks=all needs every follower's fetches, and
/// the quorum fences a killed leader and elects another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_whose_every_listener_is_sasl_ssl_replicates_and_fails_over() {
    use harness::pki::{write, Ca};
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::producer::{FutureProducer, Producer};

    let tmp = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_path = write(tmp.path(), "ca.pem", ca.pem());
    let issued = ca.issue(&[(rcgen::DnType::CommonName, "broker")], 1);
    let keystore = write(
        tmp.path(),
        "broker.pem",
        format!("{}{}", issued.cert_pem, issued.key_pem),
    );
    let scram_login = |user: &str| {
        format!("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{user}-secret\";")
    };
    let settings = [
        "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL".to_string(),
        "inter.broker.listener.name=SASL_SSL".to_string(),
        "broker.session.timeout.ms=2000".to_string(),
        "replica.lag.time.max.ms=2000".to_string(),
        "broker.heartbeat.interval.ms=300".to_string(),
        format!("ssl.keystore.location={}", keystore.display()),
        format!("ssl.truststore.location={}", ca_path.display()),
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512".to_string(),
        format!("listener.name.sasl_ssl.plain.sasl.jaas.config={PLAIN_JAAS}"),
        "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512".to_string(),
        format!(
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={}",
            scram_login("broker")
        ),
        "listener.name.controller.sasl.enabled.mechanisms=SCRAM-SHA-512".to_string(),
        "sasl.mechanism.controller.protocol=SCRAM-SHA-512".to_string(),
        format!(
            "listener.name.controller.scram-sha-512.sasl.jaas.config={}",
            scram_login("controller")
        ),
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-512=[name=broker,password=broker-secret];SCRAM-SHA-512=[name=controller,password=controller-secret]".to_string(),
    ];
    let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
    let mut cluster = harness::start_cluster_listening(3, "SASL_SSL://127.0.0.1:0", &settings, &[]);
    let client = |ports: &[u16]| {
        let bootstrap: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let mut c = sasl_client(&bootstrap.join(","), "PLAIN", "alice", "alice-secret");
        c.set("security.protocol", "sasl_ssl")
            .set("ssl.ca.location", ca_path.to_str().unwrap())
            .set("acks", "all")
            .set("message.timeout.ms", "30000");
        c
    };
    let admin: AdminClient<DefaultClientContext> =
        client(&[cluster[0].port]).create().expect("admin");
    let topic =
        NewTopic::new("replicated", 1, TopicReplication::Fixed(3)).set("min.insync.replicas", "2");
    for result in admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("CreateTopics")
    {
        result.expect("topic created");
    }
    let produce = |ports: Vec<u16>, values: &'static [&'static str]| {
        let producer: FutureProducer = client(&ports).create().expect("producer");
        async move {
            for v in values {
                producer
                    .send(
                        FutureRecord::<(), str>::to("replicated")
                            .partition(0)
                            .payload(*v),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|(e, _)| panic!("{v} not acknowledged: {e}"));
            }
            producer
        }
    };
    let producer = produce(vec![cluster[0].port], &["one", "two"]).await;
    let leader = producer
        .client()
        .fetch_metadata(Some("replicated"), Duration::from_secs(5))
        .expect("metadata")
        .topics()[0]
        .partitions()[0]
        .leader();
    drop(producer);
    cluster[(leader - 1) as usize].kill9();
    let survivors: Vec<u16> = cluster
        .iter()
        .filter(|b| b.pid().is_some())
        .map(|b| b.port)
        .collect();
    drop(produce(survivors.clone(), &["three", "four"]).await);
    let consumer: BaseConsumer = client(&survivors)
        .set("group.id", "sasl-ssl-reader")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("replicated", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut read = Vec::new();
    wait_until(Duration::from_secs(30), || {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            read.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
        }
        read.len() == 4
    });
    assert_eq!(
        read,
        ["one", "two", "three", "four"],
        "records read after broker {leader} was killed"
    );
}

/// Controllers log in to each other with PLAIN on a SASL_PLAINTEXT
/// CONTROLLER listener; the one whose password is wrong is refused by
/// the others, never joins, and the two that agree run the cluster.
#[test]
fn a_controller_with_a_wrong_password_cannot_join_the_quorum() {
    let quorum = PlainQuorum::new();
    let nodes: Vec<LoggedBroker> = (0..3)
        .map(|i| {
            let password = if i == 2 { "guessed" } else { "quorum-secret" };
            quorum.launch(
                i,
                "controller",
                password,
                &format!("user_controller=\"{password}\""),
                &[],
            )
        })
        .collect();
    let port = nodes[0]
        .port(Duration::from_secs(30))
        .expect("node 1 serves with node 2");
    assert!(nodes[1].port(Duration::from_secs(30)).is_some());
    assert!(
        wait_until(Duration::from_secs(15), || nodes[2]
            .logged("cannot log in to a metadata quorum peer")
            && nodes[..2].iter().any(
                |n| n.logged("quorum peer refused: SASL authentication failed")
            )),
        "node 3: {}\nnode 1: {}",
        nodes[2].log.lock().unwrap(),
        nodes[0].log.lock().unwrap()
    );
    assert!(nodes[2].logged("Invalid username or password"));
    let mut client = RawClient::connect(port);
    let metadata = client
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("metadata");
    let mut brokers: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
    brokers.sort_unstable();
    assert_eq!(brokers, [1, 2], "the refused controller never registered");
    assert!(nodes[2].port(Duration::ZERO).is_none());
}

/// KIP-919 on a SASL CONTROLLER listener: an admin client that starts with
/// ApiVersions, and one that logs in straight away as a quorum peer would,
/// are both served the controller's APIs once logged in; a request before
/// the login closes the connection, as on a broker listener.
#[test]
fn admin_clients_log_in_to_a_sasl_controller_listener() {
    let quorum = PlainQuorum::new();
    let users = "user_controller=\"quorum-secret\" user_admin=\"admin-secret\"";
    let nodes: Vec<LoggedBroker> = (0..3)
        .map(|i| quorum.launch(i, "controller", "quorum-secret", users, &[]))
        .collect();
    for node in &nodes {
        assert!(
            node.port(Duration::from_secs(30)).is_some(),
            "{}",
            node.log.lock().unwrap()
        );
    }
    let describe_controllers = |client: &mut RawClient| {
        client
            .call(&DescribeClusterRequest::default().with_endpoint_type(2), 1)
            .expect("DescribeCluster answered")
    };

    let mut polite = RawClient::connect(quorum.ports[0]);
    let versions = polite
        .call(
            &ApiVersionsRequest::default()
                .with_client_software_name(str("test"))
                .with_client_software_version(str("1")),
            3,
        )
        .expect("ApiVersions answered before the login");
    assert!(versions
        .api_keys
        .iter()
        .all(|k| k.api_key != ApiKey::Produce as i16));
    assert_eq!(
        plain_login(&mut polite, "admin", "admin-secret").error_code,
        0
    );
    let cluster = describe_controllers(&mut polite);
    assert_eq!(cluster.error_code, 0);
    assert_eq!(cluster.brokers.len(), 3, "{cluster:?}");

    let mut hasty = RawClient::connect(quorum.ports[1]);
    assert_eq!(
        plain_login(&mut hasty, "admin", "admin-secret").error_code,
        0
    );
    assert_eq!(describe_controllers(&mut hasty).brokers.len(), 3);

    let mut rude = RawClient::connect(quorum.ports[2]);
    assert!(rude
        .call(&DescribeClusterRequest::default().with_endpoint_type(2), 1)
        .is_none());
}

/// A broker-only node logs in to the controllers over SASL like a
/// controller does: with the quorum's password it follows the metadata
/// log and registers; with a wrong one it is refused and never does.
#[test]
fn a_broker_only_node_joins_a_sasl_quorum_only_with_its_password() {
    let quorum = PlainQuorum::new();
    let users = "user_controller=\"quorum-secret\" user_broker=\"broker-secret\"";
    let controllers: Vec<LoggedBroker> = (0..3)
        .map(|i| quorum.launch(i, "controller", "quorum-secret", users, &[]))
        .collect();
    let port = controllers[0]
        .port(Duration::from_secs(90))
        .unwrap_or_else(|| panic!("node 1 serves: {}", controllers[0].log.lock().unwrap()));
    let observer = quorum.launch_broker(4, "broker", "broker-secret", users);
    let intruder = quorum.launch_broker(5, "broker", "guessed", users);
    let registered = || {
        let metadata = RawClient::connect(port)
            .call(&MetadataRequest::default().with_topics(None), 12)
            .expect("metadata");
        let mut brokers: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
        brokers.sort_unstable();
        brokers
    };
    assert!(
        wait_until(Duration::from_secs(60), || registered() == [1, 2, 3, 4]),
        "the broker-only node registers: {:?}\nnode 4: {}",
        registered(),
        observer.log.lock().unwrap()
    );
    assert!(
        observer.port(Duration::from_secs(30)).is_some(),
        "node 4 serves: {}",
        observer.log.lock().unwrap()
    );
    assert!(
        wait_until(Duration::from_secs(15), || intruder
            .logged("cannot log in to a metadata quorum peer")
            && intruder.logged("Invalid username or password")),
        "node 5: {}",
        intruder.log.lock().unwrap()
    );
    assert_eq!(
        registered(),
        [1, 2, 3, 4],
        "the refused node never registered"
    );
    assert!(intruder.port(Duration::ZERO).is_none());
}

/// With an authorizer on, a quorum peer needs CLUSTER_ACTION on the
/// cluster: node 3 logs in with a valid PLAIN user that is neither a
/// super user nor granted it, is refused by the others, stops with
/// Kafka's reason (as KRaft's raft client dies of
/// CLUSTER_AUTHORIZATION_FAILED) and never joins; the two controllers
/// whose user is a super user run the cluster, undisturbed by the
/// elections node 3 would otherwise keep calling.
#[test]
fn an_authenticated_peer_without_cluster_action_cannot_join_the_quorum() {
    let quorum = PlainQuorum::new();
    let mut nodes: Vec<LoggedBroker> = (0..3)
        .map(|i| {
            let user = if i == 2 { "intruder" } else { "controller" };
            quorum.launch(
                i,
                user,
                &format!("{user}-secret"),
                "user_controller=\"controller-secret\" user_intruder=\"intruder-secret\"",
                &[STANDARD_AUTHORIZER, "super.users=User:controller"],
            )
        })
        .collect();
    // Generous: the suite's other tests run beside it on a small machine.
    let port = nodes[0].port(Duration::from_secs(90)).unwrap_or_else(|| {
        panic!(
            "node 1 serves with node 2: {}",
            nodes[0].log.lock().unwrap()
        )
    });
    assert!(nodes[1].port(Duration::from_secs(90)).is_some());
    assert!(
        wait_until(Duration::from_secs(15), || nodes[..2].iter().any(|n| n
            .logged(
                "quorum peer refused: CLUSTER_ACTION on the cluster is not authorized"
            )
            && n.logged("User:intruder"))),
        "node 1: {}",
        nodes[0].log.lock().unwrap()
    );
    let mut client = RawClient::connect(port);
    let metadata = client
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("metadata");
    let mut brokers: Vec<i32> = metadata.brokers.iter().map(|b| b.node_id.0).collect();
    brokers.sort_unstable();
    assert_eq!(
        brokers,
        [1, 2],
        "the unauthorised controller never registered"
    );
    assert!(nodes[2].port(Duration::ZERO).is_none());
    let node3 = &mut nodes[2];
    assert!(
        wait_until(Duration::from_secs(60), || node3.exited()),
        "node 3 stops: {}",
        node3.log.lock().unwrap()
    );
    assert!(
        node3.logged("ClusterAuthorizationFailed")
            && node3.logged("User:intruder is not allowed CLUSTER_ACTION on the cluster"),
        "node 3 says why: {}",
        node3.log.lock().unwrap()
    );
}

/// Kafka's default controller mechanism, GSSAPI, stops the start with one line.
#[test]
fn a_sasl_controller_listener_without_a_supported_mechanism_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_broker-start"))
        .args([
            "--override",
            &format!("log.dirs={}", dir.path().display()),
            "--override",
            "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
            "--override",
            "controller.listener.names=CONTROLLER",
            "--override",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "--override",
            "sasl.enabled.mechanisms=PLAIN",
            "--override",
            &format!("listener.name.controller.plain.sasl.jaas.config={PLAIN_JAAS}"),
        ])
        .output()
        .expect("run broker-start");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sasl.mechanism.controller.protocol")
            && stderr.contains("'GSSAPI' (Kafka's default) is not supported"),
        "{stderr}"
    );
}

/// KIP-368: once a SaslHandshake has begun a re-authentication, any
/// request but its SaslAuthenticate closes the connection unserved, as
/// Kafka's authenticator refuses it (IllegalSaslState): the old principal
/// is not used for it.
#[test]
fn a_request_in_the_middle_of_a_reauthentication_is_not_served() {
    let broker = sasl_broker(&["listener.name.sasl_plaintext.connections.max.reauth.ms=60000"]);
    let begun = || {
        let mut client = RawClient::connect(broker.port);
        assert_eq!(
            plain_login(&mut client, "alice", "alice-secret").error_code,
            0
        );
        assert!(metadata_served(&mut client));
        handshake(&mut client, "PLAIN");
        client
    };
    let mut client = begun();
    assert!(!metadata_served(&mut client));
    assert!(client.is_closed());
    let mut client = begun();
    assert!(client.call(&ApiVersionsRequest::default(), 3).is_none());
    assert!(client.is_closed());
    // Finished, the re-authentication serves again.
    let mut client = begun();
    let renewed = authenticate(&mut client, b"\0alice\0alice-secret").expect("answered");
    assert_eq!(renewed.error_code, 0);
    assert!(metadata_served(&mut client));
}

/// CLUSTER_ACTION taken away from a running controller stops it, as KRaft
/// stops a node whose raft client is refused: node 3 joins through an ACL
/// that grants its user CLUSTER_ACTION, and once the ACL is deleted its
/// next request to a peer is refused and the process exits with the
/// reason, while nodes 1 and 2 serve on.
#[test]
fn a_controller_whose_cluster_action_is_revoked_stops_with_the_reason() {
    use kafka_protocol::messages::create_acls_request::AclCreation;
    use kafka_protocol::messages::delete_acls_request::DeleteAclsFilter;
    use kafka_protocol::messages::{CreateAclsRequest, DeleteAclsRequest};
    const CLUSTER: i8 = 4;
    const LITERAL: i8 = 3;
    const CLUSTER_ACTION: i8 = 9;
    const ALLOW: i8 = 3;
    let quorum = PlainQuorum::new();
    let launch = |i: usize| {
        let user = if i == 2 { "ops" } else { "controller" };
        quorum.launch(
            i,
            user,
            &format!("{user}-secret"),
            "user_controller=\"controller-secret\" user_ops=\"ops-secret\"",
            // The test's own client, on the PLAINTEXT listener, manages the ACLs.
            &[
                STANDARD_AUTHORIZER,
                "super.users=User:controller;User:ANONYMOUS",
            ],
        )
    };
    let first: Vec<LoggedBroker> = (0..2).map(launch).collect();
    let port = first[0].port(Duration::from_secs(90)).unwrap_or_else(|| {
        panic!(
            "node 1 serves with node 2: {}",
            first[0].log.lock().unwrap()
        )
    });
    assert!(first[1].port(Duration::from_secs(90)).is_some());
    let grant = AclCreation::default()
        .with_resource_type(CLUSTER)
        .with_resource_name(StrBytes::from_static_str("kafka-cluster"))
        .with_resource_pattern_type(LITERAL)
        .with_principal(StrBytes::from_static_str("User:ops"))
        .with_host(StrBytes::from_static_str("*"))
        .with_operation(CLUSTER_ACTION)
        .with_permission_type(ALLOW);
    let created = RawClient::connect(port)
        .call(&CreateAclsRequest::default().with_creations(vec![grant]), 3)
        .expect("CreateAcls");
    assert_eq!(created.results[0].error_code, 0, "{created:?}");
    let mut third = launch(2);
    assert!(
        third.port(Duration::from_secs(90)).is_some(),
        "node 3 joins with CLUSTER_ACTION granted: {}",
        third.log.lock().unwrap()
    );
    let revoke = DeleteAclsFilter::default()
        .with_resource_type_filter(CLUSTER)
        .with_resource_name_filter(None)
        .with_pattern_type_filter(LITERAL)
        .with_principal_filter(Some(StrBytes::from_static_str("User:ops")))
        .with_host_filter(None)
        .with_operation(CLUSTER_ACTION)
        .with_permission_type(ALLOW);
    let deleted = RawClient::connect(port)
        .call(&DeleteAclsRequest::default().with_filters(vec![revoke]), 3)
        .expect("DeleteAcls");
    assert_eq!(
        deleted.filter_results[0].matching_acls.len(),
        1,
        "{deleted:?}"
    );
    assert!(
        wait_until(Duration::from_secs(60), || third.exited()),
        "node 3 stops once refused: {}",
        third.log.lock().unwrap()
    );
    assert!(
        third.logged("broker-start: stopping: node")
            && third.logged("User:ops is not allowed CLUSTER_ACTION on the cluster"),
        "node 3 says why: {}",
        third.log.lock().unwrap()
    );
    let metadata = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .expect("nodes 1 and 2 serve on");
    assert!(metadata.brokers.iter().any(|b| b.node_id.0 == 1));
}

const STANDARD_AUTHORIZER: &str =
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer";

/// Three controllers whose CONTROLLER listener is SASL_PLAINTEXT with
/// PLAIN: their ports, voters and data dirs.
struct PlainQuorum {
    ports: Vec<u16>,
    voters: String,
    dirs: Vec<tempfile::TempDir>,
}

impl PlainQuorum {
    fn new() -> PlainQuorum {
        let ports: Vec<u16> = (0..3).map(|_| harness::free_port()).collect();
        let voters = ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        // Nodes 1-3 are the voters; 4 and 5 may join as broker-only nodes.
        let dirs = (0..5).map(|_| tempfile::tempdir().unwrap()).collect();
        PlainQuorum {
            ports,
            voters,
            dirs,
        }
    }

    /// Starts node `i + 1`, logging in to its peers as `user`/`password`
    /// and checking theirs against the JAAS `users` list
    /// (`user_<name>="<password>" ...`).
    fn launch(
        &self,
        i: usize,
        user: &str,
        password: &str,
        users: &str,
        extra: &[&str],
    ) -> LoggedBroker {
        self.launch_node(i as i32 + 1, self.ports[i], user, password, users, extra)
    }

    /// Starts broker-only node `node_id` (`process.roles=broker`), an
    /// observer of the quorum, logging in to the controllers as `user`.
    fn launch_broker(&self, node_id: i32, user: &str, password: &str, users: &str) -> LoggedBroker {
        self.launch_node(
            node_id,
            harness::free_port(),
            user,
            password,
            users,
            &["process.roles=broker"],
        )
    }

    fn launch_node(
        &self,
        node_id: i32,
        controller_port: u16,
        user: &str,
        password: &str,
        users: &str,
        extra: &[&str],
    ) -> LoggedBroker {
        let mut overrides = vec![
            format!("node.id={node_id}"),
            format!("controller.quorum.voters={}", self.voters),
            "controller.listener.names=CONTROLLER".to_string(),
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
                .to_string(),
            format!("listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{controller_port}"),
            "sasl.enabled.mechanisms=PLAIN".to_string(),
            "sasl.mechanism.controller.protocol=PLAIN".to_string(),
            format!("listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{user}\" password=\"{password}\" {users};"),
        ];
        overrides.extend(extra.iter().map(|e| e.to_string()));
        LoggedBroker::launch(self.dirs[node_id as usize - 1].path(), &overrides)
    }
}
