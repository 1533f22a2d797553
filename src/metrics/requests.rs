//! Kafka's RequestMetrics per API: requests, errors per error code (as
//! Kafka counts them, from each response's error codes, NONE included)
//! and a histogram of the time from the decoded request to the encoded
//! response. All of it fixed arrays of atomics indexed by API key and
//! error code: a request costs a few relaxed adds.

use std::any::Any;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kafka_protocol::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, ApiVersionsResponse, CreateTopicsResponse,
    DeleteTopicsResponse, DescribeClusterResponse, EndTxnResponse, FetchRequest, FetchResponse,
    FindCoordinatorResponse, HeartbeatResponse, InitProducerIdResponse, JoinGroupResponse,
    LeaveGroupResponse, ListGroupsResponse, ListOffsetsResponse, MetadataResponse,
    OffsetCommitResponse, OffsetFetchResponse, ProduceResponse, SaslAuthenticateResponse,
    SaslHandshakeResponse, SyncGroupResponse, TxnOffsetCommitResponse,
};

use super::histogram::TimeHistogram;
use super::topics;

/// API keys counted: every key Kafka has assigned so far fits.
const KEYS: usize = 128;
/// Error codes -1 (UNKNOWN_SERVER_ERROR) up to 158 are counted by code.
const CODES: usize = 160;

pub struct ApiStats {
    pub requests: AtomicU64,
    total_time: TimeHistogram,
    errors: [AtomicU64; CODES],
}

impl ApiStats {
    const fn new() -> ApiStats {
        ApiStats {
            requests: AtomicU64::new(0),
            total_time: TimeHistogram::new(),
            errors: [const { AtomicU64::new(0) }; CODES],
        }
    }

    fn error(&self, code: i16) {
        let index = (i32::from(code) + 1).clamp(0, CODES as i32 - 1) as usize;
        self.errors[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The total time histogram (see [`TimeHistogram::snapshot`]).
    pub fn histogram(&self) -> (f64, u64, Vec<(f64, u64)>) {
        self.total_time.snapshot()
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

/// One request being handled, from its decoded body on.
pub struct RequestTimer {
    key: i16,
    /// `None` when no endpoint serves the figures.
    started: Option<Instant>,
    /// A Fetch from a follower replica: its bytes are replication.
    follower: bool,
}

impl RequestTimer {
    pub fn start(key: i16, request: &dyn Any) -> RequestTimer {
        let follower = request
            .downcast_ref::<FetchRequest>()
            .is_some_and(|r| r.replica_id.0 >= 0 || r.replica_state.replica_id.0 >= 0);
        RequestTimer {
            key,
            started: super::enabled().then(Instant::now),
            follower,
        }
    }

    /// Counts the request, its time and the error codes of `response`.
    pub fn finish(self, response: &dyn Any) {
        let Some(started) = self.started else {
            return;
        };
        let stats = match api(self.key) {
            Some(_) if self.follower => &FETCH_FOLLOWER,
            Some(stats) => stats,
            None => return,
        };
        stats.requests.fetch_add(1, Ordering::Relaxed);
        stats.total_time.observe(started.elapsed());
        error_codes(response, self.follower, &mut |code| stats.error(code));
    }
}

/// Kafka's ThrottleTimeMs per API: the throttle time each response
/// carried, 0 included, in the total time histogram's buckets.
pub type ThrottleStats = TimeHistogram;

static THROTTLES: [ThrottleStats; KEYS] = [const { TimeHistogram::new() }; KEYS];
static FETCH_FOLLOWER_THROTTLES: ThrottleStats = TimeHistogram::new();

/// Every API's throttle times under Kafka's request name, as [`all`].
pub fn throttles() -> Vec<(String, &'static ThrottleStats)> {
    let mut out = Vec::new();
    for endpoint in crate::api::endpoints() {
        let key = endpoint.key as i16;
        let Some(stats) = usize::try_from(key).ok().and_then(|k| THROTTLES.get(k)) else {
            continue;
        };
        if key == FETCH {
            out.push(("FetchConsumer".to_string(), stats));
            out.push(("FetchFollower".to_string(), &FETCH_FOLLOWER_THROTTLES));
        } else {
            out.push((format!("{:?}", endpoint.key), stats));
        }
    }
    out
}

impl RequestTimer {
    /// Counts the throttle time the response carries.
    pub fn throttled(&self, ms: i32) {
        if self.started.is_none() {
            return;
        }
        let stats = if self.follower {
            &FETCH_FOLLOWER_THROTTLES
        } else {
            match usize::try_from(self.key)
                .ok()
                .and_then(|k| THROTTLES.get(k))
            {
                Some(stats) => stats,
                None => return,
            }
        };
        stats.observe(std::time::Duration::from_millis(
            u64::try_from(ms).unwrap_or(0),
        ));
    }
}

/// Calls `count` with each error code `response` carries, as Kafka's
/// `errorCounts` does, and counts Produce and Fetch per topic. Responses of
/// other APIs are not read: their requests are counted without errors.
fn error_codes(response: &dyn Any, follower: bool, count: &mut dyn FnMut(i16)) {
    if let Some(r) = response.downcast_ref::<ProduceResponse>() {
        for t in &r.responses {
            let handle = topics::known(&t.name, &t.topic_id);
            for p in &t.partition_responses {
                count(p.error_code);
                if let Some(h) = &handle {
                    h.produced(p.error_code != 0);
                }
            }
        }
    } else if let Some(r) = response.downcast_ref::<FetchResponse>() {
        if r.responses.is_empty() {
            count(r.error_code);
        }
        for t in &r.responses {
            let handle = topics::known(&t.topic, &t.topic_id);
            for p in &t.partitions {
                count(p.error_code);
                if let Some(h) = &handle {
                    let bytes = p.records.as_ref().map_or(0, |b| b.len() as u64);
                    h.fetched(follower, p.error_code != 0, bytes);
                }
            }
        }
    } else if let Some(r) = response.downcast_ref::<ListOffsetsResponse>() {
        r.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    } else if let Some(r) = response.downcast_ref::<MetadataResponse>() {
        count(r.error_code);
        r.topics.iter().for_each(|t| count(t.error_code));
    } else if let Some(r) = response.downcast_ref::<OffsetCommitResponse>() {
        r.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    } else if let Some(r) = response.downcast_ref::<TxnOffsetCommitResponse>() {
        r.topics
            .iter()
            .flat_map(|t| &t.partitions)
            .for_each(|p| count(p.error_code));
    } else if let Some(r) = response.downcast_ref::<OffsetFetchResponse>() {
        if r.groups.is_empty() {
            count(r.error_code);
            r.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| count(p.error_code));
        }
        for g in &r.groups {
            count(g.error_code);
            g.topics
                .iter()
                .flat_map(|t| &t.partitions)
                .for_each(|p| count(p.error_code));
        }
    } else if let Some(r) = response.downcast_ref::<FindCoordinatorResponse>() {
        if r.coordinators.is_empty() {
            count(r.error_code);
        }
        r.coordinators.iter().for_each(|c| count(c.error_code));
    } else if let Some(r) = response.downcast_ref::<CreateTopicsResponse>() {
        r.topics.iter().for_each(|t| count(t.error_code));
    } else if let Some(r) = response.downcast_ref::<DeleteTopicsResponse>() {
        r.responses.iter().for_each(|t| count(t.error_code));
    } else if let Some(r) = response.downcast_ref::<AddPartitionsToTxnResponse>() {
        count(r.error_code);
    } else {
        top_level(response, count);
    }
}

/// The APIs whose response carries one error code.
fn top_level(response: &dyn Any, count: &mut dyn FnMut(i16)) {
    macro_rules! one_code {
        ($($t:ty),*) => {
            $(
                if let Some(r) = response.downcast_ref::<$t>() {
                    count(r.error_code);
                    return;
                }
            )*
        };
    }
    one_code!(
        ApiVersionsResponse,
        HeartbeatResponse,
        JoinGroupResponse,
        SyncGroupResponse,
        LeaveGroupResponse,
        ListGroupsResponse,
        InitProducerIdResponse,
        EndTxnResponse,
        AddOffsetsToTxnResponse,
        DescribeClusterResponse,
        SaslHandshakeResponse,
        SaslAuthenticateResponse
    );
}
