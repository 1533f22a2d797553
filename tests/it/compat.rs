//! Conformance with other Kafka clients: kafka-python and kafkajs, which
//! share no code with librdkafka, and confluent-kafka for the admin API
//! surface, transactions and share groups, each run their scenarios (tests/compat)
//! against a broker this test starts. scripts/install-compat installs them.

use crate::harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::pki::{write, Ca};
use harness::BrokerProcess;

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat")
}

/// Runs one client's scenario script with `args` (the bootstrap address
/// first); a failure shows the client's own account of the scenario, API
/// and error code.
fn run_scenarios(client: &str, program: PathBuf, script: &str, scenarios: usize, args: &[&str]) {
    // One client at a time: two interpreters and two brokers on a 2-core
    // machine starved kafka-python's group join past its scenario's 20 s.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        program.exists() || program.components().count() == 1,
        "{client} is not installed: run scripts/install-compat ({} is missing)",
        program.display()
    );
    let out = Command::new(&program)
        .arg(compat_dir().join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{client} scenarios failed ({}):\n{stdout}{stderr}",
        out.status
    );
    assert!(
        stdout.lines().count() >= scenarios,
        "{client} ran every scenario:\n{stdout}"
    );
}

#[test]
fn kafka_python_scenarios() {
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    run_scenarios(
        "kafka-python",
        compat_dir().join("python/.venv/bin/python"),
        "python/kafka_python_scenarios.py",
        10,
        &[&broker.bootstrap()],
    );
}

#[test]
fn kafkajs_scenarios() {
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    assert!(
        compat_dir().join("node/node_modules/kafkajs").exists(),
        "kafkajs is not installed: run scripts/install-compat"
    );
    run_scenarios(
        "kafkajs",
        PathBuf::from("node"),
        "node/kafkajs_scenarios.js",
        10,
        &[&broker.bootstrap()],
    );
}

#[test]
fn confluent_kafka_scenarios() {
    let broker = BrokerProcess::start(&["group.initial.rebalance.delay.ms=0"]);
    run_scenarios(
        "confluent-kafka",
        compat_dir().join("python/.venv/bin/python"),
        "python/confluent_kafka_scenarios.py",
        6,
        &[&broker.bootstrap()],
    );
}

/// Share groups (KIP-932) through confluent-kafka's ShareConsumer: three
/// consumers sharing one partition, a killed consumer's records
/// redelivered once its acquisition lock runs out, RELEASE redelivering
/// and REJECT not, and a record archived at the delivery count limit.
#[test]
fn confluent_kafka_share_consumer_scenarios() {
    let broker = BrokerProcess::start(&[
        "group.share.enable=true",
        "group.share.min.record.lock.duration.ms=1000",
        "group.share.record.lock.duration.ms=3000",
        "group.share.delivery.count.limit=3",
    ]);
    run_scenarios(
        "confluent-kafka",
        compat_dir().join("python/.venv/bin/python"),
        "python/share_groups.py",
        4,
        &[&broker.bootstrap(), "3000", "3"],
    );
}

/// A broker whose only listener is SSL with mTLS required, and the files a
/// client needs: the CA, and a certificate and key of its own.
struct TlsSetup {
    broker: BrokerProcess,
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsSetup {
    fn start() -> TlsSetup {
        use rcgen::DnType;
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("compat CA");
        let ca_path = write(dir.path(), "ca.pem", ca.pem());
        let server = ca.issue(&[(DnType::CommonName, "broker")], 1);
        let keystore = write(
            dir.path(),
            "broker.pem",
            format!("{}{}", server.cert_pem, server.key_pem),
        );
        let client = ca.issue(&[(DnType::CommonName, "client")], 2);
        let cert = write(dir.path(), "client.pem", &client.cert_pem);
        let key = write(dir.path(), "client.key", &client.key_pem);
        let broker = BrokerProcess::start(&[
            "listeners=SSL://127.0.0.1:0",
            &format!("ssl.keystore.location={}", keystore.display()),
            &format!("ssl.truststore.location={}", ca_path.display()),
            "ssl.client.auth=required",
            "group.initial.rebalance.delay.ms=0",
        ]);
        TlsSetup {
            broker,
            _dir: dir,
            ca: ca_path,
            cert,
            key,
        }
    }

    fn args(&self) -> Vec<String> {
        vec![
            self.broker.bootstrap(),
            self.ca.display().to_string(),
            self.cert.display().to_string(),
            self.key.display().to_string(),
        ]
    }
}

#[test]
fn kafka_python_over_mtls() {
    let setup = TlsSetup::start();
    let args = setup.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_scenarios(
        "kafka-python",
        compat_dir().join("python/.venv/bin/python"),
        "python/kafka_python_tls.py",
        2,
        &args,
    );
}

#[test]
fn kafkajs_over_mtls() {
    let setup = TlsSetup::start();
    assert!(
        compat_dir().join("node/node_modules/kafkajs").exists(),
        "kafkajs is not installed: run scripts/install-compat"
    );
    let args = setup.args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_scenarios(
        "kafkajs",
        PathBuf::from("node"),
        "node/kafkajs_tls.js",
        2,
        &args,
    );
}

/// SASL settings for a broker with the users the SASL scenarios log in
/// as, on its listener `name`.
fn sasl_settings(name: &str) -> Vec<String> {
    vec![
        "group.initial.rebalance.delay.ms=0".into(),
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER".into(),
        format!("listener.name.{name}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_alice=\"alice-secret\";"),
        "gregor.scram.bootstrap.credentials=SCRAM-SHA-256=[name=carol,password=carol-secret];SCRAM-SHA-512=[name=dave,password=dave-secret]".into(),
    ]
}

/// A broker whose only listener is SASL_PLAINTEXT.
fn sasl_broker() -> BrokerProcess {
    let mut overrides = sasl_settings("sasl_plaintext");
    overrides.push("listeners=SASL_PLAINTEXT://127.0.0.1:0".into());
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    BrokerProcess::start(&overrides)
}

/// A broker whose only listener is SASL_SSL, and the CA that signed its
/// certificate (in the directory returned with it).
fn sasl_ssl_broker() -> (BrokerProcess, tempfile::TempDir, PathBuf) {
    use rcgen::DnType;
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("compat CA");
    let ca_path = write(dir.path(), "ca.pem", ca.pem());
    let server = ca.issue(&[(DnType::CommonName, "broker")], 1);
    let keystore = write(
        dir.path(),
        "broker.pem",
        format!("{}{}", server.cert_pem, server.key_pem),
    );
    let mut overrides = sasl_settings("sasl_ssl");
    overrides.push("listeners=SASL_SSL://127.0.0.1:0".into());
    overrides.push(format!("ssl.keystore.location={}", keystore.display()));
    let overrides: Vec<&str> = overrides.iter().map(String::as_str).collect();
    (BrokerProcess::start(&overrides), dir, ca_path)
}

#[test]
fn kafka_python_sasl_scenarios() {
    let broker = sasl_broker();
    run_scenarios(
        "kafka-python",
        compat_dir().join("python/.venv/bin/python"),
        "python/kafka_python_sasl.py",
        7,
        &[&broker.bootstrap()],
    );
}

#[test]
fn kafka_python_sasl_ssl_scenarios() {
    let (broker, _dir, ca) = sasl_ssl_broker();
    run_scenarios(
        "kafka-python",
        compat_dir().join("python/.venv/bin/python"),
        "python/kafka_python_sasl.py",
        7,
        &[&broker.bootstrap(), ca.to_str().unwrap()],
    );
}

#[test]
fn kafkajs_sasl_scenarios() {
    let broker = sasl_broker();
    assert!(
        compat_dir().join("node/node_modules/kafkajs").exists(),
        "kafkajs is not installed: run scripts/install-compat"
    );
    run_scenarios(
        "kafkajs",
        PathBuf::from("node"),
        "node/kafkajs_sasl.js",
        7,
        &[&broker.bootstrap()],
    );
}

#[test]
fn kafkajs_sasl_ssl_scenarios() {
    let (broker, _dir, ca) = sasl_ssl_broker();
    assert!(
        compat_dir().join("node/node_modules/kafkajs").exists(),
        "kafkajs is not installed: run scripts/install-compat"
    );
    run_scenarios(
        "kafkajs",
        PathBuf::from("node"),
        "node/kafkajs_sasl.js",
        7,
        &[&broker.bootstrap(), ca.to_str().unwrap()],
    );
}
