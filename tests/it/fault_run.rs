//! A long randomised fault run, skipped by the normal suite and run by
//! `scripts/fault-run` (results in docs/reliability.md). Three brokers
//! serve a topic with three replicas and min.insync.replicas=2 while
//! idempotent acks=all producers write to it and a group of two members
//! consumes and commits; meanwhile one broker at a time is killed with
//! SIGKILL, paused with SIGSTOP or stopped with SIGTERM, and brought back.
//! Once the cluster has settled, every partition is read from the start:
//! every acknowledged record must be at its acknowledged offset, no record
//! twice, each producer's records in the order sent, everything the group
//! read still there; the high watermarks and the group's committed offsets,
//! probed throughout, must never have gone back, and no acknowledged commit
//! may be lost.
//!
//! `GREGOR_FAULT_SECONDS` (default 120) is how long faults are injected,
//! `GREGOR_FAULT_SEED` (default random, printed) seeds the fault schedule.

use crate::harness;

use std::collections::{BTreeMap, HashMap};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use harness::{client_config, start_cluster, wait_until, BrokerProcess, RawClient};
use kafka_protocol::messages::MetadataRequest;
use parking_lot::Mutex;
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

const TOPIC: &str = "faults";
const PARTITIONS: i32 = 6;
const GROUP: &str = "fault-readers";
const PRODUCERS: usize = 2;
const MEMBERS: usize = 2;

/// Short sessions and ISR lag so that a lost broker is fenced, and a
/// stalled follower dropped, within the few seconds a fault lasts.
const CLUSTER: &[&str] = &[
    "offsets.topic.num.partitions=3",
    "transaction.state.log.num.partitions=3",
    "group.initial.rebalance.delay.ms=0",
    "replica.lag.time.max.ms=2000",
    "broker.session.timeout.ms=2000",
    "broker.heartbeat.interval.ms=300",
];

/// What every part of the run shares: the clock, the phase, and what went wrong.
struct Run {
    start: Instant,
    producing: AtomicBool,
    consuming: AtomicBool,
    probing: AtomicBool,
    failures: Mutex<Vec<String>>,
}

impl Run {
    fn log(&self, message: &str) {
        println!("[{:7.1}s] {message}", self.start.elapsed().as_secs_f64());
    }

    fn fail(&self, message: String) {
        self.log(&format!("FAILURE: {message}"));
        self.failures.lock().push(message);
    }
}

/// A record the cluster acknowledged.
struct Acked {
    partition: i32,
    offset: i64,
    value: String,
}

/// A partition that took no acknowledgement for this long is reported as
/// stalled: longer than a lost leader takes to be fenced (2 s) plus the
/// producer's 5 s request timeout, with room for a slow machine.
const STALL: Duration = Duration::from_secs(10);

/// Every producer's delivery reports.
struct Ledger {
    start: Instant,
    sent: AtomicU64,
    acked: Mutex<Vec<Acked>>,
    /// Records not acknowledged, by error.
    unacked: Mutex<BTreeMap<String, u64>>,
    last_ack: Mutex<BTreeMap<i32, Instant>>,
    /// (partition, seconds without an acknowledgement, run time it ended at)
    stalls: Mutex<Vec<(i32, f64, f64)>>,
}

impl Ledger {
    fn new(start: Instant) -> Ledger {
        Ledger {
            start,
            sent: AtomicU64::new(0),
            acked: Mutex::new(Vec::new()),
            unacked: Mutex::new(BTreeMap::new()),
            last_ack: Mutex::new(BTreeMap::new()),
            stalls: Mutex::new(Vec::new()),
        }
    }
}

struct LedgerContext(Arc<Ledger>);

impl ClientContext for LedgerContext {}

impl ProducerContext for LedgerContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let ledger = &self.0;
        match result {
            Ok(m) => {
                let now = Instant::now();
                if let Some(before) = ledger.last_ack.lock().insert(m.partition(), now) {
                    let gap = now - before;
                    if gap > STALL {
                        let ended = (now - ledger.start).as_secs_f64();
                        ledger
                            .stalls
                            .lock()
                            .push((m.partition(), gap.as_secs_f64(), ended));
                    }
                }
                ledger.acked.lock().push(Acked {
                    partition: m.partition(),
                    offset: m.offset(),
                    value: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                });
            }
            Err((e, _)) => *ledger.unacked.lock().entry(e.to_string()).or_default() += 1,
        }
    }
}

fn ledger_producer(bootstrap: &str, ledger: &Arc<Ledger>) -> ThreadedProducer<LedgerContext> {
    client_config(bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        // Long enough to ride out any single fault, so an unacknowledged
        // record means the cluster could not take writes for a minute.
        .set("message.timeout.ms", "60000")
        // A request stuck on a stopped leader is given up after 5 s (not
        // the harness's 10), so a stall measures the cluster more than
        // the client; acks=all waits far less than that for the ISR.
        .set("socket.timeout.ms", "5000")
        .create_with_context(LedgerContext(ledger.clone()))
        .expect("producer")
}

/// Writes `"{id}.{instance}-{seq}"` round-robin over the partitions at
/// about 250 records/s until the run stops producing; a producer that hits
/// a fatal error is reported and replaced by a new instance.
fn produce(id: usize, bootstrap: String, run: Arc<Run>, ledger: Arc<Ledger>) {
    let mut instance = 0;
    let mut producer = ledger_producer(&bootstrap, &ledger);
    let mut seq = 0u64;
    while run.producing.load(Ordering::SeqCst) {
        let value = format!("{id}.{instance}-{seq}");
        let record = BaseRecord::<(), _, ()>::to(TOPIC)
            .partition((seq % PARTITIONS as u64) as i32)
            .payload(&value);
        match producer.send(record) {
            Ok(()) => {
                ledger.sent.fetch_add(1, Ordering::SeqCst);
                seq += 1;
                if seq % 5 == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Err((e, _)) => match producer.client().fatal_error() {
                Some((code, reason)) => {
                    run.fail(format!(
                        "producer {id}.{instance}: fatal error {code:?}: {reason} (send: {e})"
                    ));
                    instance += 1;
                    seq = 0;
                    producer = ledger_producer(&bootstrap, &ledger);
                }
                // librdkafka's queue is full: let deliveries make room.
                None => std::thread::sleep(Duration::from_millis(10)),
            },
        }
    }
    if let Err(e) = producer.flush(Duration::from_secs(90)) {
        run.fail(format!("producer {id}.{instance}: flush: {e}"));
    }
}

/// What the group's members read and which commits were acknowledged.
#[derive(Default)]
struct GroupLedger {
    seen: Mutex<Vec<(i32, i64, String)>>,
    /// Highest acknowledged commit per partition.
    committed: Mutex<BTreeMap<i32, i64>>,
    commits_ok: AtomicU64,
    commits_failed: AtomicU64,
    errors: Mutex<BTreeMap<String, u64>>,
}

/// A group member that reads until the run stops consuming and commits
/// its positions every second.
fn consume(bootstrap: String, run: Arc<Run>, group: Arc<GroupLedger>) {
    let member = harness::subscribed_member(
        &bootstrap,
        GROUP,
        TOPIC,
        &[
            ("session.timeout.ms", "10000"),
            ("heartbeat.interval.ms", "1000"),
        ],
    );
    let mut last_commit = Instant::now();
    while run.consuming.load(Ordering::SeqCst) {
        match member.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => group.seen.lock().push((
                m.partition(),
                m.offset(),
                String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
            )),
            Some(Err(e)) => *group.errors.lock().entry(e.to_string()).or_default() += 1,
            None => {}
        }
        if last_commit.elapsed() < Duration::from_secs(1) {
            continue;
        }
        last_commit = Instant::now();
        let mut positions = TopicPartitionList::new();
        let Ok(current) = member.position() else {
            continue;
        };
        for e in current.elements() {
            if let Offset::Offset(o) = e.offset() {
                positions
                    .add_partition_offset(TOPIC, e.partition(), Offset::Offset(o))
                    .expect("position");
            }
        }
        if positions.count() == 0 {
            continue;
        }
        match member.commit(&positions, CommitMode::Sync) {
            Ok(()) => {
                group.commits_ok.fetch_add(1, Ordering::SeqCst);
                let mut committed = group.committed.lock();
                for e in positions.elements() {
                    if let Offset::Offset(o) = e.offset() {
                        let highest = committed.entry(e.partition()).or_insert(o);
                        *highest = (*highest).max(o);
                    }
                }
            }
            Err(_) => {
                group.commits_failed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

/// What the probes saw.
#[derive(Default)]
struct Probes {
    rounds: u64,
    unanswered: u64,
}

/// Per partition, the highest value a probe has read and whether the
/// last reading was below it (or below `floor`): a regression is reported
/// once, when it begins, not at every reading while it lasts.
#[derive(Default)]
struct Monotonic {
    highest: BTreeMap<i32, i64>,
    behind: BTreeMap<i32, bool>,
}

impl Monotonic {
    /// Takes a reading; describes it if it starts a regression.
    fn read(&mut self, partition: i32, value: i64, floor: Option<i64>) -> Option<String> {
        let highest = *self.highest.entry(partition).or_insert(value);
        self.highest.insert(partition, highest.max(value));
        let below_floor = floor.filter(|f| value < *f);
        let behind = value < highest || below_floor.is_some();
        let began = behind && !self.behind.insert(partition, behind).unwrap_or(false);
        began.then(|| {
            let acknowledged = below_floor.map_or(String::new(), |f| format!(", acknowledged {f}"));
            format!("{TOPIC}-{partition} {value} (highest read {highest}{acknowledged})")
        })
    }
}

/// Probes every partition's high watermark (ListOffsets) and the group's
/// committed offsets (OffsetFetch) twice a second, and reports either
/// going back, or a committed offset read below an acknowledged commit.
fn probe(bootstrap: String, run: Arc<Run>, group: Arc<GroupLedger>) -> Probes {
    // Not subscribed, so it reads the group's offsets without joining it.
    let prober: BaseConsumer = client_config(&bootstrap)
        .set("group.id", GROUP)
        .create()
        .expect("prober");
    let mut probes = Probes::default();
    let mut high_watermarks = Monotonic::default();
    let mut committed = Monotonic::default();
    while run.probing.load(Ordering::SeqCst) {
        probes.rounds += 1;
        let mut went_back = Vec::new();
        for p in 0..PARTITIONS {
            match prober.fetch_watermarks(TOPIC, p, Duration::from_secs(2)) {
                Ok((_, high)) => went_back.extend(high_watermarks.read(p, high, None)),
                Err(_) => probes.unanswered += 1,
            }
        }
        if !went_back.is_empty() {
            run.fail(format!(
                "high watermark went back: {}",
                went_back.join(", ")
            ));
        }
        let acknowledged = group.committed.lock().clone();
        let mut went_back = Vec::new();
        match prober.committed_offsets(all_partitions(Offset::Invalid), Duration::from_secs(3)) {
            Ok(list) => {
                for e in list.elements() {
                    if e.error().is_err() {
                        probes.unanswered += 1;
                        continue;
                    }
                    let offset = committed_offset(e.offset());
                    let p = e.partition();
                    went_back.extend(committed.read(p, offset, acknowledged.get(&p).copied()));
                }
            }
            Err(_) => probes.unanswered += 1,
        }
        if !went_back.is_empty() {
            run.fail(format!(
                "committed offset went back: {}",
                went_back.join(", ")
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    probes
}

/// A committed offset as OffsetFetch answers it: -1 when there is none.
fn committed_offset(offset: Offset) -> i64 {
    match offset {
        Offset::Offset(o) => o,
        _ => -1,
    }
}

fn all_partitions(offset: Offset) -> TopicPartitionList {
    let mut list = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        list.add_partition_offset(TOPIC, p, offset)
            .expect("partition");
    }
    list
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    Kill,
    Pause,
    Stop,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill -9",
            Fault::Pause => "SIGSTOP",
            Fault::Stop => "SIGTERM",
        }
    }
}

/// Until `until`, every 1-5 s takes one random broker down for 1-10 s by a
/// random fault and brings it back, so at most one is ever down and a
/// quorum and min.insync.replicas remain. Returns the faults injected.
fn inject(
    brokers: &mut [BrokerProcess],
    run: &Run,
    seed: u64,
    until: Instant,
) -> BTreeMap<Fault, u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut injected = BTreeMap::new();
    loop {
        let gap = Duration::from_millis(rng.u64(1000..=5000));
        std::thread::sleep(gap.min(until.saturating_duration_since(Instant::now())));
        if Instant::now() >= until {
            return injected;
        }
        let victim = rng.usize(0..brokers.len());
        let fault = [Fault::Kill, Fault::Pause, Fault::Stop][rng.usize(0..3)];
        let down = Duration::from_millis(rng.u64(1000..=10_000));
        let node = victim + 1;
        run.log(&format!(
            "{} broker {node} for {:.1} s",
            fault.name(),
            down.as_secs_f64()
        ));
        *injected.entry(fault).or_default() += 1;
        let broker = &mut brokers[victim];
        let back = match fault {
            Fault::Kill => {
                report(
                    run,
                    &format!("kill -9 of broker {node}"),
                    guarded(broker, |b| b.kill9()),
                );
                std::thread::sleep(down);
                bring_back(run, node, broker)
            }
            Fault::Pause => {
                let what = format!("SIGSTOP of broker {node}");
                report(run, &what, guarded(broker, |b| b.pause(true)));
                std::thread::sleep(down);
                let what = format!("SIGCONT of broker {node}");
                report(run, &what, guarded(broker, |b| b.pause(false)))
            }
            Fault::Stop => {
                let what = format!("clean stop of broker {node}");
                report(run, &what, guarded(broker, |b| b.stop()));
                std::thread::sleep(down);
                bring_back(run, node, broker)
            }
        };
        if !back {
            run.log("a broker did not come back: no more faults, one more could take a second broker down");
            return injected;
        }
        run.log(&format!("broker {node} back"));
    }
}

/// Starts a stopped broker again on its old client port, as a restarted
/// broker comes back where clients knew it, or on a new one if that was
/// taken meanwhile. False, reported, if it does not start.
fn bring_back(run: &Run, node: usize, broker: &mut BrokerProcess) -> bool {
    let port = broker.port;
    let outcome = guarded(broker, |b| b.restart_on_same_port()).or_else(|e| {
        run.log(&format!(
            "broker {node} did not start on port {port} again ({e}); starting it on a new port"
        ));
        guarded(broker, |b| b.restart())
    });
    report(run, &format!("restart of broker {node}"), outcome)
}

/// True if `outcome` is Ok; a failure is reported.
fn report(run: &Run, what: &str, outcome: Result<(), String>) -> bool {
    outcome
        .map_err(|e| run.fail(format!("{what}: {e}")))
        .is_ok()
}

/// Runs `op` on `broker`; if it has not returned within a minute (a
/// broker hanging in shutdown or start-up) the broker's process is killed,
/// which ends the wait `op` is stuck in. Err says how `op` failed.
fn guarded(
    broker: &mut BrokerProcess,
    op: impl FnOnce(&mut BrokerProcess) + Send,
) -> Result<(), String> {
    let dir = broker.dir.clone();
    std::thread::scope(|s| {
        let handle = s.spawn(|| op(broker));
        let hung = !wait_until(Duration::from_secs(60), || handle.is_finished());
        if hung {
            kill_by_data_dir(&dir);
        }
        let panicked = handle.join().err().map(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        });
        match (hung, panicked) {
            (false, None) => Ok(()),
            (true, why) => Err(format!(
                "hung for 60 s, killed; {}",
                why.unwrap_or_default()
            )),
            (false, Some(why)) => Err(why),
        }
    })
}

/// SIGKILLs the broker process serving `dir`: BrokerProcess does not give
/// out its pid, and each broker's data dir is its own.
fn kill_by_data_dir(dir: &Path) {
    let wanted = format!("log.dirs={}", dir.display());
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == wanted.as_bytes())
        {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(entry.file_name())
                .status();
        }
    }
}

/// Why the broker on `port` does not yet see a settled cluster: every
/// partition of every topic led with its whole replica set in sync, and
/// `TOPIC` with all its partitions. `Ok` once it does.
fn unsettled(port: u16) -> Result<(), String> {
    TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("port {port}: {e}"))?;
    let response = RawClient::connect(port)
        .call(&MetadataRequest::default().with_topics(None), 12)
        .ok_or(format!("port {port}: Metadata not answered"))?;
    let mut problems = Vec::new();
    let mut topic_partitions = 0;
    for t in &response.topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        if name == TOPIC {
            topic_partitions = t.partitions.len();
        }
        for p in &t.partitions {
            let mut replicas: Vec<i32> = p.replica_nodes.iter().map(|b| b.0).collect();
            let mut isr: Vec<i32> = p.isr_nodes.iter().map(|b| b.0).collect();
            replicas.sort();
            isr.sort();
            if p.leader_id.0 < 0 || isr != replicas {
                problems.push(format!(
                    "{name}-{}: leader {}, isr {isr:?}, replicas {replicas:?}",
                    p.partition_index, p.leader_id.0
                ));
            }
        }
    }
    if topic_partitions != PARTITIONS as usize {
        problems.push(format!("{TOPIC} has {topic_partitions} partitions"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("port {port}: {}", problems.join("; ")))
    }
}

/// Waits up to `timeout` for every broker to see a settled cluster; if
/// they do not, reports what they see instead.
fn settle(brokers: &[BrokerProcess], run: &Run, timeout: Duration) -> bool {
    let ports: Vec<u16> = brokers.iter().map(|b| b.port).collect();
    if wait_until(timeout, || ports.iter().all(|p| unsettled(*p).is_ok())) {
        return true;
    }
    let seen: Vec<String> = ports.iter().filter_map(|p| unsettled(*p).err()).collect();
    run.fail(format!(
        "the cluster did not settle within {} s: {}",
        timeout.as_secs(),
        seen.join(" | ")
    ));
    false
}

fn bootstrap(brokers: &[BrokerProcess]) -> String {
    brokers
        .iter()
        .map(|b| b.bootstrap())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads every partition from its start up to `ends` (exclusive).
fn read_log(bootstrap: &str, ends: &BTreeMap<i32, i64>, run: &Run) -> Vec<BTreeMap<i64, String>> {
    let reader: BaseConsumer = client_config(bootstrap)
        .set("group.id", "fault-run-verifier")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    reader
        .assign(&all_partitions(Offset::Beginning))
        .expect("assign");
    let mut log = vec![BTreeMap::new(); PARTITIONS as usize];
    let done = |log: &[BTreeMap<i64, String>]| {
        (0..PARTITIONS).all(|p| {
            let end = ends[&p];
            end == 0
                || log[p as usize]
                    .last_key_value()
                    .is_some_and(|(o, _)| *o + 1 >= end)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done(&log) && Instant::now() < deadline {
        if let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) {
            let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
            log[m.partition() as usize].insert(m.offset(), value);
        }
    }
    if !done(&log) {
        let short: Vec<String> = (0..PARTITIONS)
            .map(|p| format!("{p}: {} of {}", log[p as usize].len(), ends[&p]))
            .collect();
        run.fail(format!(
            "could not read every partition to its high watermark in 120 s ({})",
            short.join(", ")
        ));
    }
    log
}

/// The checks on the final log; returns how many acknowledged records were
/// found where they were acknowledged.
fn verify(
    log: &[BTreeMap<i64, String>],
    acked: &[Acked],
    seen: &[(i32, i64, String)],
    run: &Run,
) -> usize {
    // Listing every missing record of a bad run would bury the summary.
    const SHOWN: usize = 20;
    let mut verified = 0;
    let mut lost = Vec::new();
    for a in acked {
        match log[a.partition as usize].get(&a.offset) {
            Some(v) if *v == a.value => verified += 1,
            found => lost.push(format!(
                "{} acknowledged at {TOPIC}-{}@{} but {}",
                a.value,
                a.partition,
                a.offset,
                found.map_or("missing".to_string(), |v| format!("{v} is there"))
            )),
        }
    }
    if !lost.is_empty() {
        run.fail(format!(
            "{} acknowledged records not at their offsets, e.g. {}",
            lost.len(),
            lost[..lost.len().min(SHOWN)].join("; ")
        ));
    }

    let mut first_seen: HashMap<&str, (usize, i64)> = HashMap::new();
    let mut duplicates = Vec::new();
    // Per producer instance and partition: the last sequence number and its offset.
    let mut last_seq: HashMap<(&str, usize), (u64, i64)> = HashMap::new();
    let mut reordered = Vec::new();
    for (p, records) in log.iter().enumerate() {
        for (offset, value) in records {
            if let Some((fp, fo)) = first_seen.insert(value, (p, *offset)) {
                duplicates.push(format!(
                    "{value} at {TOPIC}-{fp}@{fo} and {TOPIC}-{p}@{offset}"
                ));
            }
            let Some((producer, seq)) = value
                .rsplit_once('-')
                .and_then(|(id, seq)| Some((id, seq.parse::<u64>().ok()?)))
            else {
                run.fail(format!(
                    "{TOPIC}-{p}@{offset} holds {value:?}, which no producer sent"
                ));
                continue;
            };
            if let Some((before, at)) = last_seq.insert((producer, p), (seq, *offset)) {
                if before >= seq {
                    reordered.push(format!(
                        "{producer}-{before} at {at} before {value} at {offset} in {TOPIC}-{p}"
                    ));
                }
            }
        }
    }
    if !duplicates.is_empty() {
        run.fail(format!(
            "{} records written twice, e.g. {}",
            duplicates.len(),
            duplicates[..duplicates.len().min(SHOWN)].join("; ")
        ));
    }
    if !reordered.is_empty() {
        run.fail(format!(
            "{} records out of their producer's order, e.g. {}",
            reordered.len(),
            reordered[..reordered.len().min(SHOWN)].join("; ")
        ));
    }

    // The group read only below the high watermark, so all of it must have stayed.
    let vanished: Vec<String> = seen
        .iter()
        .filter(|(p, o, v)| log[*p as usize].get(o) != Some(v))
        .map(|(p, o, v)| {
            let now = log[*p as usize].get(o).map_or("missing", String::as_str);
            format!("{v} read at {TOPIC}-{p}@{o}, now {now}")
        })
        .collect();
    if !vanished.is_empty() {
        run.fail(format!(
            "{} records the group read are no longer in the log, e.g. {}",
            vanished.len(),
            vanished[..vanished.len().min(SHOWN)].join("; ")
        ));
    }
    verified
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, not {v:?}"))
    })
}

#[test]
#[ignore = "a long fault run: scripts/fault-run"]
fn acknowledged_records_survive_random_kills_pauses_and_restarts() {
    let seconds = env_u64("GREGOR_FAULT_SECONDS").unwrap_or(120);
    let seed = env_u64("GREGOR_FAULT_SEED").unwrap_or_else(|| fastrand::u64(..));
    println!(
        "fault run: {seconds} s of faults, seed {seed} \
         (replay with GREGOR_FAULT_SEED={seed} GREGOR_FAULT_SECONDS={seconds} scripts/fault-run)"
    );
    let run = Arc::new(Run {
        start: Instant::now(),
        producing: AtomicBool::new(true),
        consuming: AtomicBool::new(true),
        probing: AtomicBool::new(true),
        failures: Mutex::new(Vec::new()),
    });

    let mut brokers = start_cluster(3, CLUSTER);
    let bs = bootstrap(&brokers);
    let topic = NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(3))
        .set("min.insync.replicas", "2");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for r in runtime
        .block_on(harness::admin(&bs).create_topics([&topic], &AdminOptions::new()))
        .expect("CreateTopics answered")
    {
        r.unwrap_or_else(|(t, e)| panic!("creating {t}: {e}"));
    }
    assert!(
        settle(&brokers, &run, Duration::from_secs(30)),
        "the cluster settles before any fault"
    );
    run.log("cluster up; producers, group and probes starting");

    let ledger = Arc::new(Ledger::new(run.start));
    let group = Arc::new(GroupLedger::default());
    let producers: Vec<JoinHandle<()>> = (0..PRODUCERS)
        .map(|id| {
            let (bs, run, ledger) = (bs.clone(), run.clone(), ledger.clone());
            std::thread::spawn(move || produce(id, bs, run, ledger))
        })
        .collect();
    let members: Vec<JoinHandle<()>> = (0..MEMBERS)
        .map(|_| {
            let (bs, run, group) = (bs.clone(), run.clone(), group.clone());
            std::thread::spawn(move || consume(bs, run, group))
        })
        .collect();
    let prober = {
        let (bs, run, group) = (bs.clone(), run.clone(), group.clone());
        std::thread::spawn(move || probe(bs, run, group))
    };

    let faults = inject(
        &mut brokers,
        &run,
        seed,
        Instant::now() + Duration::from_secs(seconds),
    );
    run.log("faults over; waiting for the cluster to settle");
    let settled = settle(&brokers, &run, Duration::from_secs(120));

    run.producing.store(false, Ordering::SeqCst);
    for p in producers {
        p.join().expect("producer thread");
    }
    run.log("producers flushed");

    // Every partition takes writes again once the cluster has settled.
    let bs = bootstrap(&brokers);
    let last = ledger_producer(&bs, &ledger);
    let before = ledger.acked.lock().len();
    for p in 0..PARTITIONS {
        let value = format!("final.0-{p}");
        last.send(
            BaseRecord::<(), _, ()>::to(TOPIC)
                .partition(p)
                .payload(&value),
        )
        .unwrap_or_else(|(e, _)| panic!("enqueue {value}: {e}"));
        ledger.sent.fetch_add(1, Ordering::SeqCst);
    }
    if last.flush(Duration::from_secs(30)).is_err()
        || ledger.acked.lock().len() < before + PARTITIONS as usize
    {
        run.fail(format!(
            "not every partition acknowledged a write within 30 s of settling: {:?}",
            ledger.unacked.lock()
        ));
    }
    drop(last);

    // In the group, unsubscribed, to read its committed offsets at the end.
    let reader: BaseConsumer = client_config(&bs)
        .set("group.id", GROUP)
        .create()
        .expect("watermark reader");
    let ends: BTreeMap<i32, i64> = (0..PARTITIONS)
        .map(|p| {
            let (_, high) = reader
                .fetch_watermarks(TOPIC, p, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("high watermark of {TOPIC}-{p}: {e}"));
            (p, high)
        })
        .collect();

    // The group reads to the end and commits it once the cluster is whole.
    let caught_up = wait_until(Duration::from_secs(90), || {
        let committed = group.committed.lock();
        ends.iter().all(|(p, end)| committed.get(p) == Some(end))
    });
    if !caught_up {
        run.fail(format!(
            "the group did not commit the log ends {ends:?} within 90 s of settling; acknowledged commits {:?}",
            group.committed.lock()
        ));
    }
    run.consuming.store(false, Ordering::SeqCst);
    for m in members {
        m.join().expect("member thread");
    }
    run.probing.store(false, Ordering::SeqCst);
    let probes = prober.join().expect("prober thread");

    let acknowledged_commits = group.committed.lock().clone();
    let final_commits = reader
        .committed_offsets(all_partitions(Offset::Invalid), Duration::from_secs(10))
        .map(|l| {
            l.elements()
                .iter()
                .map(|e| (e.partition(), committed_offset(e.offset())))
                .collect::<BTreeMap<_, _>>()
        });
    match final_commits {
        Ok(committed) => {
            for (p, ack) in &acknowledged_commits {
                let now = committed.get(p).copied().unwrap_or(-1);
                if now < *ack || now > ends[p] {
                    run.fail(format!(
                        "{TOPIC}-{p}: committed offset {now} after the run, acknowledged {ack}, log end {}",
                        ends[p]
                    ));
                }
            }
        }
        Err(e) => run.fail(format!(
            "the group's offsets could not be read after the run: {e}"
        )),
    }

    run.log("reading every partition from the start");
    let log = read_log(&bs, &ends, &run);
    let acked = std::mem::take(&mut *ledger.acked.lock());
    let seen = std::mem::take(&mut *group.seen.lock());
    let verified = verify(&log, &acked, &seen, &run);

    let failures = run.failures.lock().clone();
    let faults_total: u64 = faults.values().sum();
    let faults: Vec<String> = faults
        .iter()
        .map(|(f, n)| format!("{} {n}", f.name()))
        .collect();
    println!("\nfault run summary (seed {seed}, {seconds} s of faults, settled: {settled})");
    println!("  faults injected: {faults_total} ({})", faults.join(", "));
    println!(
        "  records sent {}, acknowledged {}, not acknowledged {:?}",
        ledger.sent.load(Ordering::SeqCst),
        acked.len(),
        ledger.unacked.lock()
    );
    let stalls: Vec<String> = ledger
        .stalls
        .lock()
        .iter()
        .map(|(p, gap, ended)| format!("{TOPIC}-{p} {gap:.1} s until {ended:.1} s"))
        .collect();
    println!(
        "  partitions without an acknowledgement for over {} s: {}",
        STALL.as_secs(),
        if stalls.is_empty() {
            "none".to_string()
        } else {
            stalls.join(", ")
        }
    );
    println!(
        "  records verified at their acknowledged offsets: {verified} of {}; log holds {}",
        acked.len(),
        log.iter().map(BTreeMap::len).sum::<usize>()
    );
    println!(
        "  group: {} records read, {} commits acknowledged, {} failed, errors {:?}",
        seen.len(),
        group.commits_ok.load(Ordering::SeqCst),
        group.commits_failed.load(Ordering::SeqCst),
        group.errors.lock()
    );
    println!(
        "  probes: {} rounds, {} reads unanswered",
        probes.rounds, probes.unanswered
    );
    println!("  failures: {}", failures.len());
    for f in &failures {
        println!("    - {f}");
    }
    assert!(
        failures.is_empty(),
        "{} failures (seed {seed})",
        failures.len()
    );
}
