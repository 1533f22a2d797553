//! Test harness: real `broker-start` processes on ephemeral ports with
//! temporary data dirs, rdkafka clients, and a raw wire client for what
//! rdkafka cannot send (malformed frames, specific API versions).

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod pki;
pub mod requests;
pub mod scrape;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record as WireRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};

pub struct BrokerProcess {
    child: Option<Child>,
    /// The first listener's port.
    pub port: u16,
    /// Each listener's name and port, when the broker has several.
    pub listeners: Vec<(String, u16)>,
    pub dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    overrides: Vec<String>,
    /// RLIMIT_NOFILE (soft and hard) the broker runs under, when not inherited.
    open_files: Option<u64>,
}

fn spawn(dir: &Path, overrides: &[String], open_files: Option<u64>) -> (Child, Banner) {
    let mut child = launch_limited(dir, overrides, open_files);
    let banner = banner(&mut child);
    (child, banner)
}

/// Starts the process without waiting for it to serve.
fn launch(dir: &Path, overrides: &[String]) -> Child {
    launch_limited(dir, overrides, None)
}

// pre_exec is unsafe: what runs between fork and exec must be.
#[allow(unsafe_code)]
fn launch_limited(dir: &Path, overrides: &[String], open_files: Option<u64>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    if let Some(limit) = open_files {
        use std::os::unix::process::CommandExt;
        let limit = rustix::process::Rlimit {
            current: Some(limit),
            maximum: Some(limit),
        };
        // SAFETY: setrlimit is a single system call, safe between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                rustix::process::setrlimit(rustix::process::Resource::Nofile, limit)
                    .map_err(std::io::Error::from)
            });
        }
    }
    cmd.arg("--override")
        .arg("listeners=PLAINTEXT://127.0.0.1:0")
        .arg("--override")
        .arg(format!("log.dirs={}", dir.display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    cmd.env(
        "RUST_LOG",
        // openraft reports every unreachable peer while a quorum forms.
        std::env::var("GREGOR_TEST_LOG").unwrap_or_else(|_| "warn,openraft=off".into()),
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .expect("spawn broker-start")
}

/// What the broker's "listening on" line says: the first listener's port,
/// and each listener's port by name.
#[derive(Default)]
struct Banner {
    port: u16,
    listeners: Vec<(String, u16)>,
}

/// Waits for the broker's "listening on" line.
fn banner(child: &mut Child) -> Banner {
    try_banner(child)
        .unwrap_or_else(|line| panic!("broker did not print its address; got {line:?}"))
}

/// `gregor broker 1 listening on 127.0.0.1:9092`, with several listeners
/// followed by ` (PLAINTEXT://127.0.0.1:9092,SSL://127.0.0.1:9093)`.
fn try_banner(child: &mut Child) -> Result<Banner, String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read broker banner");
    let port_of = |addr: &str| addr.rsplit(':').next().and_then(|p| p.parse().ok());
    let mut words = line.split_whitespace().skip_while(|w| *w != "on").skip(1);
    let port = words.next().and_then(port_of).ok_or(line.clone())?;
    let listeners = match words.next() {
        Some(list) => list
            .trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|l| {
                let (name, addr) = l.split_once("://")?;
                Some((name.to_string(), port_of(addr)?))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or(line.clone())?,
        None => Vec::new(),
    };
    Ok(Banner { port, listeners })
}

/// A port free now, for listeners whose port must be known in advance;
/// taken below Linux's ephemeral range (32768 and up), where listeners on
/// port 0 and outgoing connections cannot take it in the meantime.
pub fn free_port() -> u16 {
    loop {
        let port = fastrand::u16(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts stopped cluster nodes again on their data dirs, all launched
/// before any is waited for (none serves until a quorum of them runs).
pub fn restart_cluster(brokers: &mut [BrokerProcess]) {
    let mut launched = Vec::new();
    for b in brokers.iter_mut() {
        assert!(b.child.is_none(), "stop or kill the broker first");
        launched.push(launch(&b.dir, &b.overrides));
    }
    for (b, mut child) in brokers.iter_mut().zip(launched) {
        let banner = banner(&mut child);
        b.port = banner.port;
        b.listeners = banner.listeners;
        b.child = Some(child);
    }
}

/// `n` brokers that are also the metadata quorum's voters (node ids 1..=n),
/// each with its own data dir; all are launched before any is waited for,
/// since none serves until the quorum has a leader.
pub fn start_cluster(n: usize, overrides: &[&str]) -> Vec<BrokerProcess> {
    start_cluster_per_node(n, overrides, &[])
}

/// As [`start_cluster`], with `per_node[i]` added to node i+1's overrides
/// (a rack, say).
pub fn start_cluster_per_node(
    n: usize,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Vec<BrokerProcess> {
    start_cluster_listening(n, "PLAINTEXT://127.0.0.1:0", overrides, per_node)
}

/// As [`start_cluster_per_node`], with `client_listeners` (such as
/// `SSL://127.0.0.1:0`) in front of each node's CONTROLLER listener.
pub fn start_cluster_listening(
    n: usize,
    client_listeners: &str,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Vec<BrokerProcess> {
    // Another test may still take a chosen port first: start again on new ones.
    for _ in 0..3 {
        if let Some(cluster) = try_start_cluster(n, client_listeners, overrides, per_node) {
            return cluster;
        }
    }
    panic!("a cluster of {n} brokers did not start");
}

fn try_start_cluster(
    n: usize,
    client_listeners: &str,
    overrides: &[&str],
    per_node: &[&[&str]],
) -> Option<Vec<BrokerProcess>> {
    let controller_ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
    let voters = controller_ports
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}@127.0.0.1:{p}", i + 1))
        .collect::<Vec<_>>()
        .join(",");
    let mut launched = Vec::new();
    for (i, controller_port) in controller_ports.iter().enumerate() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().to_path_buf();
        let mut node_overrides = vec![
            format!("node.id={}", i + 1),
            format!("controller.quorum.voters={voters}"),
            "controller.listener.names=CONTROLLER".to_string(),
            format!("listeners={client_listeners},CONTROLLER://127.0.0.1:{controller_port}"),
        ];
        node_overrides.extend(overrides.iter().map(|s| s.to_string()));
        if let Some(own) = per_node.get(i) {
            node_overrides.extend(own.iter().map(|s| s.to_string()));
        }
        let child = launch(&dir, &node_overrides);
        launched.push((child, dir, tmp, node_overrides));
    }
    let mut brokers = Vec::new();
    let mut failed = false;
    for (mut child, dir, tmp, overrides) in launched {
        // Without one node the others may never form a quorum: stop them
        // rather than wait for their banners.
        let banner = if failed {
            let _ = child.kill();
            Banner::default()
        } else {
            try_banner(&mut child).unwrap_or_else(|_| {
                failed = true;
                Banner::default()
            })
        };
        brokers.push(BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir,
            _tmp: Some(tmp),
            overrides,
            open_files: None,
        });
    }
    // Dropping the brokers kills those that did start.
    (!failed).then_some(brokers)
}

/// A broker-only node (`process.roles=broker`) joining the running
/// `cluster` as `node_id`, with the cluster's other overrides.
pub fn add_broker(cluster: &[BrokerProcess], node_id: i32) -> BrokerProcess {
    let mut overrides: Vec<String> = cluster[0]
        .overrides
        .iter()
        .filter(|o| !o.starts_with("node.id=") && !o.starts_with("listeners="))
        .cloned()
        .collect();
    overrides.extend([
        format!("node.id={node_id}"),
        "process.roles=broker".to_string(),
        format!(
            "listeners=PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:{}",
            free_port()
        ),
    ]);
    BrokerProcess::start_in(tempfile::tempdir().expect("tempdir"), overrides)
}

impl BrokerProcess {
    /// Starts a broker with `overrides` (KEY=VALUE) in a fresh temporary data dir.
    pub fn start(overrides: &[&str]) -> BrokerProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        BrokerProcess::start_in(tmp, overrides.iter().map(|s| s.to_string()).collect())
    }

    fn start_in(tmp: tempfile::TempDir, overrides: Vec<String>) -> BrokerProcess {
        let dir = tmp.path().to_path_buf();
        let (child, banner) = spawn(&dir, &overrides, None);
        BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir,
            _tmp: Some(tmp),
            overrides,
            open_files: None,
        }
    }

    /// Starts a broker on `dir`, which the caller owns (a mount point, say),
    /// under an open file limit of `open_files` (soft and hard) if given.
    pub fn start_with(dir: &Path, open_files: Option<u64>, overrides: &[&str]) -> BrokerProcess {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let (child, banner) = spawn(dir, &overrides, open_files);
        BrokerProcess {
            child: Some(child),
            port: banner.port,
            listeners: banner.listeners,
            dir: dir.to_path_buf(),
            _tmp: None,
            overrides,
            open_files,
        }
    }

    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The port of the listener named `name`.
    pub fn listener_port(&self, name: &str) -> u16 {
        if self.listeners.is_empty() {
            return self.port;
        }
        self.listeners
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, port)| *port)
            .unwrap_or_else(|| panic!("no listener {name} in {:?}", self.listeners))
    }

    /// The port of the CONTROLLER listener a cluster node was started with.
    pub fn controller_port(&self) -> u16 {
        self.overrides
            .iter()
            .filter_map(|o| o.strip_prefix("listeners="))
            .flat_map(|l| l.split(','))
            .find_map(|l| l.strip_prefix("CONTROLLER://"))
            .and_then(|addr| addr.rsplit_once(':')?.1.parse().ok())
            .expect("a node started with a CONTROLLER listener")
    }

    /// SIGTERM and wait: a clean shutdown.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait broker");
            assert!(status.success(), "broker exited with {status} on SIGTERM");
        }
    }

    /// SIGSTOP (`true`) or SIGCONT (`false`): a broker that stops answering
    /// without closing its connections.
    pub fn pause(&mut self, stopped: bool) {
        if let Some(child) = &self.child {
            let signal = if stopped { "-STOP" } else { "-CONT" };
            let status = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill {signal} failed");
        }
    }

    /// SIGKILL: no chance to flush or mark a clean shutdown.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The `--override`s it was started with after its listeners and
    /// log.dirs (a cluster node's id, voters and CONTROLLER listener).
    pub fn overrides(&self) -> &[String] {
        &self.overrides
    }

    /// Starts again on the same data dir (on a new ephemeral port).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        let (child, banner) = spawn(&self.dir, &self.overrides, self.open_files);
        self.child = Some(child);
        self.port = banner.port;
        self.listeners = banner.listeners;
    }

    /// Starts again on the same data dir and the same port, so that
    /// connected clients find the broker again.
    pub fn restart_on_same_port(&mut self) {
        assert!(self.child.is_none(), "stop or kill the broker first");
        let mut overrides = self.overrides.clone();
        let pinned = format!("PLAINTEXT://127.0.0.1:{}", self.port);
        match overrides.iter_mut().find(|o| o.starts_with("listeners=")) {
            // A cluster node keeps its CONTROLLER listener.
            Some(o) => *o = o.replace("PLAINTEXT://127.0.0.1:0", &pinned),
            None => overrides.push(format!("listeners={pinned}")),
        }
        let (child, banner) = spawn(&self.dir, &overrides, self.open_files);
        self.child = Some(child);
        self.port = banner.port;
        self.listeners = banner.listeners;
    }

    /// The process id while the broker runs, to read its /proc entries.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// A memory field of the broker's /proc/PID/status (VmRSS, VmHWM,
    /// VmPeak...), in bytes.
    pub fn memory(&self, field: &str) -> u64 {
        let pid = self.pid().expect("the broker is running");
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
            * 1024
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => c.try_wait().map(|s| s.is_none()).unwrap_or(false),
            None => false,
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub fn client_config(bootstrap: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
        .set("socket.timeout.ms", "10000");
    c
}

/// A group member subscribed to `topic` that commits only when told and
/// starts new partitions at the beginning; `settings` add to or override that.
pub fn subscribed_member(
    bootstrap: &str,
    group: &str,
    topic: &str,
    settings: &[(&str, &str)],
) -> BaseConsumer {
    let mut config = client_config(bootstrap);
    config
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest");
    for (k, v) in settings {
        config.set(*k, *v);
    }
    let consumer: BaseConsumer = config.create().expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

pub fn producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut c = client_config(bootstrap);
    c.set("message.timeout.ms", "15000").set("linger.ms", "5");
    for (k, v) in extra {
        c.set(*k, *v);
    }
    c.create().expect("create producer")
}

pub fn admin(bootstrap: &str) -> AdminClient<DefaultClientContext> {
    client_config(bootstrap)
        .create()
        .expect("create admin client")
}

pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin = admin(bootstrap);
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin
        .create_topics([&topic], &AdminOptions::new())
        .await
        .expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t} failed: {e}"));
    }
}

/// A consumed record, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Reads `partition` of `topic` from `from` until `count` records arrived or `timeout` passed.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    partition: i32,
    from: i64,
    count: usize,
    timeout: Duration,
) -> Vec<Record> {
    use rdkafka::message::Headers;
    // librdkafka needs a group.id to assign(), even though nothing is committed.
    let consumer: BaseConsumer = client_config(bootstrap)
        .set("group.id", "gregor-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("create consumer");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, partition, Offset::Offset(from))
        .expect("tpl");
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < count && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => out.push(Record {
                partition: m.partition(),
                offset: m.offset(),
                key: m.key().map(<[u8]>::to_vec),
                value: m.payload().map(<[u8]>::to_vec),
                timestamp: m.timestamp().to_millis(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Some(Err(e)) => panic!("consume error: {e}"),
            None => {}
        }
    }
    out
}

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// A bare Kafka wire client for requests rdkafka will not make.
pub struct RawClient {
    stream: TcpStream,
    correlation_id: i32,
    client_id: String,
}

impl RawClient {
    pub fn connect(port: u16) -> RawClient {
        RawClient::over(TcpStream::connect(("127.0.0.1", port)).expect("connect"))
    }

    /// A client on a connection made elsewhere (from a chosen local address, say).
    pub fn over(stream: TcpStream) -> RawClient {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        RawClient {
            stream,
            correlation_id: 0,
            client_id: "gregor-raw-test".to_string(),
        }
    }

    /// Sends `client_id` in its request headers from now on.
    pub fn with_client_id(mut self, client_id: &str) -> RawClient {
        self.client_id = client_id.to_string();
        self
    }

    /// Waits at most `timeout` for a read, so that `is_closed` can tell a
    /// quiet connection from a closed one sooner.
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Reads one response frame; `None` if the broker closed the connection.
    pub fn read_frame(&mut self) -> Option<Bytes> {
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).ok()?;
        let mut buf = vec![0u8; i32::from_be_bytes(size) as usize];
        self.stream.read_exact(&mut buf).ok()?;
        Some(Bytes::from(buf))
    }

    /// True once the broker has closed the connection (EOF or reset).
    pub fn is_closed(&mut self) -> bool {
        let mut b = [0u8; 1];
        match self.stream.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// Sends `request` at `version` and decodes the response.
    pub fn call<R: Request>(&mut self, request: &R, version: i16) -> Option<R::Response> {
        let correlation_id = self.send(request, version);
        self.receive::<R>(version, correlation_id)
    }

    /// Sends `request` at `version` without waiting for its response;
    /// its correlation id.
    pub fn send<R: Request>(&mut self, request: &R, version: i16) -> i32 {
        self.correlation_id += 1;
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut body = BytesMut::new();
        header
            .encode(&mut body, key.request_header_version(version))
            .unwrap();
        request.encode(&mut body, version).unwrap();
        let mut frame = BytesMut::new();
        frame.put_i32(body.len() as i32);
        frame.put_slice(&body);
        self.send_raw(&frame);
        self.correlation_id
    }

    /// Reads the next response, which must answer `correlation_id`.
    pub fn receive<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> Option<R::Response> {
        let key = ApiKey::try_from(R::KEY).unwrap();
        let mut resp = self.read_frame()?;
        let header =
            ResponseHeader::decode(&mut resp, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, correlation_id);
        Some(R::Response::decode(&mut resp, version).expect("decode response"))
    }
}

/// A connection to `port` on 127.0.0.1 from the local address `from`.
pub fn connect_from(from: &str, port: u16) -> RawClient {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(format!("{from}:0").parse::<std::net::SocketAddr>().unwrap())
            .unwrap_or_else(|e| panic!("bind {from}: {e}"));
        socket
            .connect(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("connect")
            .into_std()
            .expect("std stream")
    });
    stream.set_nonblocking(false).unwrap();
    RawClient::over(stream)
}

/// The partitions currently assigned to `c`.
pub fn assigned(c: &BaseConsumer) -> BTreeSet<i32> {
    c.assignment()
        .map(|a| a.elements().iter().map(|e| e.partition()).collect())
        .unwrap_or_default()
}

/// Polls every consumer until `done` holds; returns the (partition, offset, value) each one read.
pub fn poll_until(
    consumers: &[&BaseConsumer],
    timeout: Duration,
    mut done: impl FnMut(&[Vec<(i32, i64, String)>]) -> bool,
) -> Vec<Vec<(i32, i64, String)>> {
    let deadline = Instant::now() + timeout;
    let mut seen = vec![Vec::new(); consumers.len()];
    while Instant::now() < deadline && !done(&seen) {
        for (i, c) in consumers.iter().enumerate() {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                seen[i].push((
                    m.partition(),
                    m.offset(),
                    String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string(),
                ));
            }
        }
    }
    seen
}

/// Produces the numbers in `values` as strings, record i to partition i % partitions.
pub async fn produce_values(
    bootstrap: &str,
    topic: &str,
    values: std::ops::Range<usize>,
    partitions: i32,
) {
    let p = producer(bootstrap, &[]);
    let mut sends = Vec::new();
    for i in values {
        let value = format!("{i}");
        let record = FutureRecord::<(), _>::to(topic)
            .partition(i as i32 % partitions)
            .payload(&value);
        sends.push(
            p.send_result(record)
                .unwrap_or_else(|(e, _)| panic!("enqueue: {e}")),
        );
    }
    for s in sends {
        s.await.expect("delivery").expect("delivered");
    }
}

/// The numbers every consumer read (as produced by `produce_values`), sorted.
pub fn values_read(seen: &[Vec<(i32, i64, String)>]) -> Vec<usize> {
    let mut values: Vec<usize> = seen
        .iter()
        .flatten()
        .map(|r| r.2.parse().expect("a produced number"))
        .collect();
    values.sort();
    values
}

/// Sends `record-{from}` up to `record-{from + n - 1}` to partition 0 of
/// `topic`, all in flight at once, and waits for every acknowledgement;
/// `extra` is the producer's configuration.
pub async fn produce_numbered(
    bootstrap: &str,
    topic: &str,
    from: usize,
    n: usize,
    extra: &[(&str, &str)],
) {
    let p = producer(bootstrap, extra);
    let sends: Vec<_> = (from..from + n)
        .map(|i| {
            let value = format!("record-{i}");
            p.send_result(
                FutureRecord::<(), _>::to(topic)
                    .partition(0)
                    .payload(&value),
            )
            .unwrap_or_else(|(e, _)| panic!("enqueue {i}: {e}"))
        })
        .collect();
    for (i, s) in sends.into_iter().enumerate() {
        s.await
            .expect("delivery future completes")
            .unwrap_or_else(|(e, _)| panic!("send {} failed: {e}", from + i));
    }
}

/// `record-0` up to `record-{n - 1}`, as `produce_numbered` sends them.
pub fn numbered(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("record-{i}")).collect()
}

/// The records' values as text.
pub fn record_values(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
        .collect()
}

/// The values of the first `count` records of partition 0 of `topic`
/// (fewer if they do not all arrive within 30 s).
pub fn read_from_start(bootstrap: &str, topic: &str, count: usize) -> Vec<String> {
    record_values(&consume(
        bootstrap,
        topic,
        0,
        0,
        count,
        Duration::from_secs(30),
    ))
}

/// What a command-line tool printed and how it exited.
pub struct ToolOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "tool failed: stdout {:?} stderr {:?}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }
}

/// Runs one of the built tools (`env!("CARGO_BIN_EXE_<name>")`) against a
/// broker, with `stdin` fed to it and closed.
pub fn run_tool(bin: &str, bootstrap: &str, args: &[&str], stdin: &[u8]) -> ToolOutput {
    let mut child = Command::new(bin)
        .args(args)
        .env("GREGOR_BOOTSTRAP", bootstrap)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let mut input = child.stdin.take().expect("stdin piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("wait for tool");
    writer.join().expect("stdin writer");
    ToolOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A TCP proxy in front of a broker that breaks the connection instead of
/// passing on every `every`-th response, so that clients retry requests the
/// broker has already carried out (an acknowledgement lost on the wire).
pub struct FaultyProxy {
    pub port: u16,
    target: std::sync::Arc<std::sync::atomic::AtomicU16>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    every: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FaultyProxy {
    pub fn start(every: usize) -> FaultyProxy {
        use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
        use std::sync::Arc;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let target = Arc::new(AtomicU16::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let responses = Arc::new(AtomicUsize::new(0));
        let every = Arc::new(AtomicUsize::new(every));
        let (t, d, e) = (target.clone(), dropped.clone(), every.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(broker) = TcpStream::connect(("127.0.0.1", t.load(Ordering::SeqCst))) else {
                    continue;
                };
                let (mut c_in, mut b_out) =
                    (client.try_clone().unwrap(), broker.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut b_out);
                });
                let (responses, dropped, every) = (responses.clone(), d.clone(), e.clone());
                std::thread::spawn(move || {
                    let (mut from, mut to) = (broker, client);
                    loop {
                        let mut len = [0u8; 4];
                        if from.read_exact(&mut len).is_err() {
                            break;
                        }
                        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
                        if from.read_exact(&mut frame).is_err() {
                            break;
                        }
                        let n = responses.fetch_add(1, Ordering::SeqCst) + 1;
                        if n % every.load(Ordering::SeqCst) == 0 {
                            dropped.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                        if to
                            .write_all(&len)
                            .and_then(|_| to.write_all(&frame))
                            .is_err()
                        {
                            break;
                        }
                    }
                    let _ = from.shutdown(std::net::Shutdown::Both);
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FaultyProxy {
            port,
            target,
            dropped,
            every,
        }
    }

    /// Passes every response on from now on.
    pub fn heal(&self) {
        self.every
            .store(usize::MAX, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn forward_to(&self, port: u16) {
        self.target.store(port, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// No producer id: a batch from a producer that is not idempotent.
pub const NO_PRODUCER: (i64, i16, i32) = (-1, -1, -1);

/// One uncompressed magic-2 batch of `values`, written by producer
/// (id, epoch) with sequence numbers from the third field on.
pub fn record_batch(values: &[&str], (id, epoch, sequence): (i64, i16, i32)) -> Bytes {
    let records: Vec<WireRecord> = values
        .iter()
        .enumerate()
        .map(|(i, value)| WireRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch wherever offset minus sequence
            // changes; without a producer this keeps one batch whose base
            // sequence is -1.
            sequence: if sequence < 0 {
                i as i32 - 1
            } else {
                sequence + i as i32
            },
            timestamp: 1_700_000_000_000,
            key: None,
            value: Some(Bytes::copy_from_slice(value.as_bytes())),
            headers: Default::default(),
        })
        .collect::<Vec<_>>();
    encode_batch(&records, Compression::None)
}

/// `records` as one magic-2 batch (or more, where the encoder splits).
pub fn encode_batch(
    records: &[kafka_protocol::records::Record],
    compression: Compression,
) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode a record batch");
    buf.freeze()
}

/// Starts one of the built tools with its output piped, for tests that
/// read it while it runs.
pub fn spawn_tool(bin: &str, bootstrap: &str, args: &[&str]) -> Child {
    Command::new(bin)
        .args(args)
        .env("GREGOR_BOOTSTRAP", bootstrap)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"))
}

/// One Produce (v9) of `records` to `topic`-`partition` with `acks`, over
/// the raw wire: the partition's answer.
pub fn produce_raw(
    client: &mut RawClient,
    topic: &str,
    partition: i32,
    acks: i16,
    records: Bytes,
) -> kafka_protocol::messages::produce_response::PartitionProduceResponse {
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let request = kafka_protocol::messages::ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(kafka_protocol::messages::TopicName(StrBytes::from_string(
                topic.to_string(),
            )))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response = client.call(&request, 9).expect("produce answered");
    response.responses[0].partition_responses[0].clone()
}

/// The offset of every record in a fetched partition's batches.
pub fn record_offsets(p: &kafka_protocol::messages::fetch_response::PartitionData) -> Vec<i64> {
    let mut bytes = p.records.clone().unwrap_or_default();
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let set = RecordBatchDecoder::decode(&mut bytes).expect("whole batches");
        out.extend(set.records.iter().map(|r| r.offset));
    }
    out
}

/// A broker started with its log kept (stderr, at `RUST_LOG=rust_log`),
/// for tests that look for what it logged; its banner may never come (a
/// node that cannot join).
pub struct LoggedBroker {
    child: std::process::Child,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
    banner: std::sync::mpsc::Receiver<String>,
}

impl LoggedBroker {
    pub fn launch(dir: &std::path::Path, overrides: &[String]) -> LoggedBroker {
        LoggedBroker::launch_logging(dir, overrides, "warn,openraft=off")
    }

    pub fn launch_logging(
        dir: &std::path::Path,
        overrides: &[String],
        rust_log: &str,
    ) -> LoggedBroker {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
        cmd.arg("--override")
            .arg(format!("log.dirs={}", dir.display()));
        for o in overrides {
            cmd.arg("--override").arg(o);
        }
        let mut child = cmd
            .env("RUST_LOG", rust_log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn broker-start");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let kept = log.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let (tx, banner) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut line = String::new();
            if std::io::BufReader::new(stdout).read_line(&mut line).is_ok() {
                let _ = tx.send(line);
            }
        });
        LoggedBroker { child, log, banner }
    }

    pub fn logged(&self, needle: &str) -> bool {
        self.log.lock().unwrap().contains(needle)
    }

    /// Whether the process has ended.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Each listener's port by name, once the node serves (its banner
    /// names them when it has several).
    pub fn listeners(&self, timeout: std::time::Duration) -> Option<Vec<(String, u16)>> {
        let line = self.banner.recv_timeout(timeout).ok()?;
        let list = line.split_whitespace().skip_while(|w| *w != "on").nth(2)?;
        list.trim_matches(|c| c == '(' || c == ')')
            .split(',')
            .map(|l| {
                let (name, addr) = l.split_once("://")?;
                Some((name.to_string(), addr.rsplit(':').next()?.parse().ok()?))
            })
            .collect()
    }

    /// The port of the banner's first listener, once the node serves.
    pub fn port(&self, timeout: std::time::Duration) -> Option<u16> {
        let line = self.banner.recv_timeout(timeout).ok()?;
        line.split_whitespace()
            .skip_while(|w| *w != "on")
            .nth(1)?
            .rsplit(':')
            .next()?
            .parse()
            .ok()
    }
}

impl Drop for LoggedBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts broker-start with `overrides` in a fresh data dir and returns
/// its stderr, which must be one line, after it refused to start.
pub fn refused_start(overrides: &[String]) -> String {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_broker-start"));
    cmd.arg("--override")
        .arg(format!("log.dirs={}", data.path().display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    let out = cmd
        .stdin(Stdio::null())
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert!(!out.status.success(), "{overrides:?} started");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr
}

/// As [`refused_start`], and the line contains `expected`.
pub fn assert_start_refused(overrides: &[String], expected: &str) {
    let stderr = refused_start(overrides);
    assert!(
        stderr.contains(expected),
        "{overrides:?}: expected {expected:?} in {stderr}"
    );
}

/// (leader, ISR) of partition 0 of `topic` as the broker on `port` reports
/// them; (-1, none) while it names no such partition.
pub fn leadership(port: u16, topic: &str) -> (i32, Vec<i32>) {
    let response = RawClient::connect(port)
        .call(
            &kafka_protocol::messages::MetadataRequest::default().with_topics(None),
            12,
        )
        .expect("Metadata answered");
    response
        .topics
        .iter()
        .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        .and_then(|t| t.partitions.iter().find(|p| p.partition_index == 0))
        .map(|p| (p.leader_id.0, p.isr_nodes.iter().map(|b| b.0).collect()))
        .unwrap_or((-1, Vec::new()))
}

/// The segment files (`.log`) of a partition directory, by base offset.
pub fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("partition directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    files
}
