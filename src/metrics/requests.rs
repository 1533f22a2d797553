//! Kafka's RequestMetrics per API: requests, errors per error code (as
//! Kafka counts them, from each response's error codes, NONE included),
//! the request's size, and the phases of its time as Kafka's
//! RequestChannel splits them. All of it fixed arrays of atomics indexed
//! by API key and error code: a request costs a few relaxed adds.
//!
//! The phases, from the request read off the socket to its response
//! written: RequestQueueTimeMs until its handler first runs, LocalTimeMs
//! of the handler's own work, RemoteTimeMs of its waits on others (the
//! ISR's acks, a long poll, the controller: whatever the handler awaits
//! inside [`remote`]), ResponseQueueTimeMs until the write of the response
//! starts, ResponseSendTimeMs of the write. TotalTimeMs spans all of them.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kafka_protocol::messages::{FetchRequest, FetchResponse, ProduceResponse};

use super::histogram::{SizeHistogram, TimeHistogram};
use super::topics;
use crate::api::ErrorCodes;

/// API keys counted: every key Kafka has assigned so far fits.
const KEYS: usize = 128;
/// Error codes -1 (UNKNOWN_SERVER_ERROR) up to 158 are counted by code.
const CODES: usize = 160;

/// One of Kafka's per-request timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    RequestQueue,
    Local,
    Remote,
    Throttle,
    ResponseQueue,
    ResponseSend,
    Total,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::RequestQueue,
        Phase::Local,
        Phase::Remote,
        Phase::Throttle,
        Phase::ResponseQueue,
        Phase::ResponseSend,
        Phase::Total,
    ];

    /// Kafka's MBean name (`kafka.network:type=RequestMetrics,name=...`).
    pub fn kafka_name(self) -> &'static str {
        match self {
            Phase::RequestQueue => "RequestQueueTimeMs",
            Phase::Local => "LocalTimeMs",
            Phase::Remote => "RemoteTimeMs",
            Phase::Throttle => "ThrottleTimeMs",
            Phase::ResponseQueue => "ResponseQueueTimeMs",
            Phase::ResponseSend => "ResponseSendTimeMs",
            Phase::Total => "TotalTimeMs",
        }
    }

    /// What the phase measures here, for the exposition's help text.
    pub fn help(self) -> &'static str {
        match self {
            Phase::RequestQueue => {
                "Milliseconds from a request read off the socket to its handler's first run, per API"
            }
            Phase::Local => {
                "Milliseconds of the handler's own work (its time less its remote waits, response encoding included), per API"
            }
            Phase::Remote => {
                "Milliseconds the handler waited on others: the ISR's acks (acks=all), a long-poll fetch, the controller, per API"
            }
            Phase::Throttle => {
                "The throttle time each response carried, 0 included, per API"
            }
            Phase::ResponseQueue => {
                "Milliseconds from a response ready to the start of its write, per API"
            }
            Phase::ResponseSend => {
                "Milliseconds the write holding the response took (responses written together share one write), per API"
            }
            Phase::Total => {
                "Milliseconds from a request read off the socket to its response written, per API"
            }
        }
    }
}

pub struct ApiStats {
    pub requests: AtomicU64,
    errors: [AtomicU64; CODES],
    request_bytes: SizeHistogram,
    phases: [TimeHistogram; Phase::ALL.len()],
}

impl ApiStats {
    const fn new() -> ApiStats {
        ApiStats {
            requests: AtomicU64::new(0),
            errors: [const { AtomicU64::new(0) }; CODES],
            request_bytes: SizeHistogram::new(),
            phases: [const { TimeHistogram::new() }; Phase::ALL.len()],
        }
    }

    fn error(&self, code: i16) {
        let index = (i32::from(code) + 1).clamp(0, CODES as i32 - 1) as usize;
        self.errors[index].fetch_add(1, Ordering::Relaxed);
    }

    fn observe(&self, phase: Phase, elapsed: Duration) {
        self.phases[phase as usize].observe(elapsed);
    }

    /// The histogram of `phase` (see [`TimeHistogram::snapshot`]).
    pub fn histogram(&self, phase: Phase) -> (f64, u64, Vec<(f64, u64)>) {
        self.phases[phase as usize].snapshot()
    }

    /// The request size histogram, in bytes.
    pub fn request_bytes(&self) -> (f64, u64, Vec<(f64, u64)>) {
        self.request_bytes.snapshot()
    }

    /// Non-zero error counts, by error code.
    pub fn errors(&self) -> impl Iterator<Item = (i16, u64)> + '_ {
        self.errors.iter().enumerate().filter_map(|(i, c)| {
            let n = c.load(Ordering::Relaxed);
            (n > 0).then_some((i as i16 - 1, n))
        })
    }
}

static APIS: [ApiStats; KEYS] = [const { ApiStats::new() }; KEYS];
/// Fetches from follower replicas, apart from consumers' as Kafka keeps them
/// (its FetchFollower and FetchConsumer request names).
static FETCH_FOLLOWER: ApiStats = ApiStats::new();

/// The Fetch key.
const FETCH: i16 = 1;

/// Every API's stats under Kafka's request name, Fetch split in two.
pub fn all() -> Vec<(String, &'static ApiStats)> {
    let mut out = Vec::new();
    for endpoint in crate::api::endpoints() {
        let key = endpoint.key as i16;
        let Some(stats) = api(key) else { continue };
        if key == FETCH {
            out.push(("FetchConsumer".to_string(), stats));
            out.push(("FetchFollower".to_string(), &FETCH_FOLLOWER));
        } else {
            out.push((format!("{:?}", endpoint.key), stats));
        }
    }
    out
}

/// The stats of API `key`, for keys this broker can be sent.
fn api(key: i16) -> Option<&'static ApiStats> {
    APIS.get(usize::try_from(key).ok()?)
}

/// A Fetch from a follower replica: Kafka's FetchFollower, exempt from
/// client quotas, its bytes replication.
pub fn is_follower_fetch(request: &dyn Any) -> bool {
    request
        .downcast_ref::<FetchRequest>()
        .is_some_and(|r| r.replica_id.0 >= 0 || r.replica_state.replica_id.0 >= 0)
}

/// One request on its way through the broker, from the moment it was read
/// off the socket. It travels with the response to the connection's
/// writer, which records its times once the response is written.
pub struct RequestTimer {
    stats: &'static ApiStats,
    follower: bool,
    received: Instant,
    request_bytes: usize,
    dequeued: Instant,
    remote: Duration,
    ready: Instant,
}

impl RequestTimer {
    /// A timer for a request of API `key` read at `received`, `None` when
    /// no endpoint serves the figures or the key is out of range.
    pub fn start(
        key: i16,
        request: &dyn Any,
        received: Instant,
        request_bytes: usize,
    ) -> Option<RequestTimer> {
        if !super::enabled() {
            return None;
        }
        let follower = is_follower_fetch(request);
        let stats = if follower { &FETCH_FOLLOWER } else { api(key)? };
        Some(RequestTimer {
            stats,
            follower,
            received,
            request_bytes,
            dequeued: received,
            remote: Duration::ZERO,
            ready: received,
        })
    }

    /// The handler starts running.
    pub fn dequeued(&mut self) {
        self.dequeued = Instant::now();
    }

    /// The handler is done and its response encoded: counts the request,
    /// the response's error codes and its throttle time, which are known
    /// (and read by quota users) before the response is written.
    pub fn handled<R: ErrorCodes + Any>(
        &mut self,
        remote: Duration,
        throttle_ms: i32,
        response: &R,
    ) {
        self.ready = Instant::now();
        self.remote = remote;
        let stats = self.stats;
        stats.requests.fetch_add(1, Ordering::Relaxed);
        stats.observe(
            Phase::Throttle,
            Duration::from_millis(u64::try_from(throttle_ms).unwrap_or(0)),
        );
        response.error_codes(&mut |code| stats.error(code));
        count_topics(response, self.follower);
    }

    /// The response was written from `write_started` to `written`; a
    /// request without a response passes its ready time for both.
    pub fn sent(self, write_started: Instant, written: Instant) {
        let s = self.stats;
        let handler = self.ready.saturating_duration_since(self.dequeued);
        s.request_bytes.observe(self.request_bytes);
        s.observe(
            Phase::RequestQueue,
            self.dequeued.saturating_duration_since(self.received),
        );
        s.observe(Phase::Local, handler.saturating_sub(self.remote));
        s.observe(Phase::Remote, self.remote.min(handler));
        s.observe(
            Phase::ResponseQueue,
            write_started.saturating_duration_since(self.ready),
        );
        s.observe(
            Phase::ResponseSend,
            written.saturating_duration_since(write_started),
        );
        s.observe(
            Phase::Total,
            written.saturating_duration_since(self.received),
        );
    }

    /// A request that gets no response (Produce with acks=0): done once
    /// handled, as Kafka completes it without a send.
    pub fn unanswered(self) {
        let ready = self.ready;
        self.sent(ready, ready);
    }
}

/// Counts Produce and Fetch per topic (BrokerTopicMetrics), from the
/// response as Kafka does on the way out.
fn count_topics(response: &dyn Any, follower: bool) {
    if let Some(r) = response.downcast_ref::<ProduceResponse>() {
        for t in &r.responses {
            let Some(handle) = topics::known(&t.name, &t.topic_id) else {
                continue;
            };
            for p in &t.partition_responses {
                handle.produced(p.error_code != 0);
            }
        }
    } else if let Some(r) = response.downcast_ref::<FetchResponse>() {
        for t in &r.responses {
            let Some(handle) = topics::known(&t.topic, &t.topic_id) else {
                continue;
            };
            for p in &t.partitions {
                let bytes = p.records.as_ref().map_or(0, |b| b.len() as u64);
                handle.fetched(follower, p.error_code != 0, bytes);
            }
        }
    }
}

/// The time a request's handler spends waiting inside [`remote`]: nested
/// or overlapping waits count once, from the first one started to the
/// last one done.
struct RemoteClock {
    open: Cell<u32>,
    since: Cell<Instant>,
    total: Cell<Duration>,
}

tokio::task_local! {
    static REMOTE: RemoteClock;
}

/// Runs a request's handler, returning its output and the time it spent
/// in [`remote`] waits.
pub async fn measure_remote<F: Future>(handler: F) -> (F::Output, Duration) {
    let clock = RemoteClock {
        open: Cell::new(0),
        since: Cell::new(Instant::now()),
        total: Cell::new(Duration::ZERO),
    };
    REMOTE
        .scope(clock, async {
            let output = handler.await;
            (output, REMOTE.with(|c| c.total.get()))
        })
        .await
}

/// Awaits `wait` as time the request waits on others (Kafka's
/// RemoteTimeMs: its purgatories, the controller) rather than its own
/// work. Outside a request's handler it only awaits.
pub async fn remote<F: Future>(wait: F) -> F::Output {
    let _open = OpenWait::enter();
    wait.await
}

struct OpenWait(bool);

impl OpenWait {
    fn enter() -> OpenWait {
        OpenWait(
            REMOTE
                .try_with(|c| {
                    if c.open.get() == 0 {
                        c.since.set(Instant::now());
                    }
                    c.open.set(c.open.get() + 1);
                })
                .is_ok(),
        )
    }
}

impl Drop for OpenWait {
    fn drop(&mut self) {
        if !self.0 {
            return;
        }
        let _ = REMOTE.try_with(|c| {
            c.open.set(c.open.get() - 1);
            if c.open.get() == 0 {
                c.total.set(c.total.get() + c.since.get().elapsed());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn remote_waits_count_once_when_they_overlap() {
        let sleep = |ms| tokio::time::sleep(Duration::from_millis(ms));
        let started = Instant::now();
        let ((), waited) = measure_remote(async {
            remote(sleep(20)).await;
            // Local work between the waits is not theirs.
            sleep(50).await;
            // Two waits side by side, one of them nested, count once.
            tokio::join!(remote(sleep(30)), remote(remote(sleep(10))));
        })
        .await;
        let total = started.elapsed();
        assert!(waited >= Duration::from_millis(50), "{waited:?}");
        assert!(
            waited <= total - Duration::from_millis(50),
            "{waited:?} of {total:?}"
        );
        // Outside a handler it only awaits.
        remote(sleep(1)).await;
    }
}
