//! Fetch sessions (KIP-227), as Kafka's FetchSessionCache keeps them: a
//! consumer's first Fetch (epoch 0) names every partition and opens a
//! session; later ones (epoch 1, 2, ...) name only the partitions whose
//! fetch offset changed and those to forget, and are answered with only
//! the partitions that have records, a changed high watermark, last stable
//! offset or log start offset, or an error. Over thousands of partitions
//! that spares both sides encoding and decoding every partition on every
//! fetch; the broker still reads every partition of the session.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchTopic, ForgottenTopic};
use kafka_protocol::messages::TopicName;
use parking_lot::Mutex;
use uuid::Uuid;

/// A session idle this long may make room for a new one (Kafka's
/// min.incremental.fetch.session.eviction.ms).
const EVICTION_AFTER: Duration = Duration::from_millis(120_000);

/// The epoch of a request that opens a session, and of one that fetches
/// without (or closes) one.
const INITIAL_EPOCH: i32 = 0;
const FINAL_EPOCH: i32 = -1;

/// A topic as a request names it: by id from Fetch v13, by name before (the
/// other half is then empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicKey {
    pub name: TopicName,
    pub id: Uuid,
}

/// One partition to read: index, fetch offset, current leader epoch and
/// the most bytes it may return.
pub type Wanted = (i32, i64, i32, usize);

/// What to read: partitions grouped by topic.
pub type Asked = Vec<(TopicKey, Vec<Wanted>)>;

/// One partition's answer, as the response will carry it, before it is
/// made a `PartitionData`: an incremental fetch leaves out most partitions
/// of a session over thousands of idle ones, and building and dropping
/// the codec's struct (four tagged-field maps) for each of them cost more
/// than reading them.
#[derive(Debug)]
pub struct PartitionRead {
    pub index: i32,
    pub error_code: i16,
    pub high_watermark: i64,
    pub last_stable_offset: i64,
    pub log_start_offset: i64,
    pub records: Bytes,
    pub aborted_transactions: Option<Vec<(i64, i64)>>,
}

/// A topic's partitions' answers, the topic named as it was asked for.
#[derive(Debug)]
pub struct TopicRead {
    pub topic: TopicKey,
    pub partitions: Vec<PartitionRead>,
}

/// A partition of a session, with what the client was last told of it.
#[derive(Clone, Debug)]
struct Cached {
    topic: TopicKey,
    want: Wanted,
    /// High watermark, last stable offset, log start offset last sent.
    told: Option<(i64, i64, i64)>,
    /// Whether the response being answered returned records of it.
    returned: bool,
}

struct Session {
    /// The epoch the next incremental request must carry.
    epoch: i32,
    /// The session's partitions, each staying at its place while it is in
    /// the session.
    partitions: Vec<Cached>,
    /// The order partitions are read in, as places in `partitions`: the
    /// response comes back in this order, so answering it walks the two
    /// side by side instead of looking each partition up.
    order: Vec<usize>,
    /// Where each partition is in `partitions`, by topic and then index:
    /// a topic's key (a name or id) is hashed once per topic of a request,
    /// not once per partition.
    index: HashMap<TopicKey, HashMap<i32, usize>>,
    used: Instant,
}

impl Session {
    fn new(topics: &[FetchTopic], now: Instant) -> Session {
        let mut session = Session {
            epoch: next_epoch(INITIAL_EPOCH),
            partitions: Vec::new(),
            order: Vec::new(),
            index: HashMap::new(),
            used: now,
        };
        session.update(topics, &[]);
        session
    }

    /// Adds or updates the request's partitions, drops the forgotten ones.
    fn update(&mut self, topics: &[FetchTopic], forgotten: &[ForgottenTopic]) {
        let mut removed = false;
        for t in forgotten {
            let topic = TopicKey {
                name: t.topic.clone(),
                id: t.topic_id,
            };
            if let Some(held) = self.index.get_mut(&topic) {
                for p in &t.partitions {
                    removed |= held.remove(p).is_some();
                }
                if held.is_empty() {
                    self.index.remove(&topic);
                }
            }
        }
        if removed {
            let index = &self.index;
            let mut kept = Vec::with_capacity(self.order.len());
            for &i in &self.order {
                let c = &self.partitions[i];
                if index
                    .get(&c.topic)
                    .is_some_and(|held| held.contains_key(&c.want.0))
                {
                    kept.push(c.clone());
                }
            }
            self.partitions = kept;
            self.order = (0..self.partitions.len()).collect();
            self.reindex();
        }
        for t in topics {
            let topic = TopicKey {
                name: t.topic.clone(),
                id: t.topic_id,
            };
            let held = self.index.entry(topic.clone()).or_default();
            for p in &t.partitions {
                let want = (
                    p.partition,
                    p.fetch_offset,
                    p.current_leader_epoch,
                    p.partition_max_bytes.max(0) as usize,
                );
                match held.get(&p.partition) {
                    Some(&i) => self.partitions[i].want = want,
                    None => {
                        held.insert(p.partition, self.partitions.len());
                        self.order.push(self.partitions.len());
                        self.partitions.push(Cached {
                            topic: topic.clone(),
                            want,
                            told: None,
                            returned: false,
                        });
                    }
                }
            }
        }
    }

    /// Points the index at the partitions' places after forgotten ones
    /// left; the index holds exactly the session's partitions already. A
    /// topic is looked up once per run of its partitions.
    fn reindex(&mut self) {
        let Session {
            partitions, index, ..
        } = self;
        let mut run: Option<(&TopicKey, &mut HashMap<i32, usize>)> = None;
        for (i, c) in partitions.iter().enumerate() {
            if !run.as_ref().is_some_and(|(topic, _)| **topic == c.topic) {
                run = index.get_mut(&c.topic).map(|held| (&c.topic, held));
            }
            if let Some((_, held)) = run.as_mut() {
                held.insert(c.want.0, i);
            }
        }
    }

    /// The session's partitions grouped by topic, in the session's order.
    fn wanted(&self) -> Asked {
        let mut out: Asked = Vec::new();
        for c in self.order.iter().map(|&i| &self.partitions[i]) {
            match out.last_mut() {
                Some((topic, partitions)) if *topic == c.topic => partitions.push(c.want),
                _ => out.push((c.topic.clone(), vec![c.want])),
            }
        }
        out
    }
}

/// Kafka's FetchMetadata.nextEpoch: 1, 2, ... wrapping to 1.
fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// What a Fetch request's session fields make of it.
#[derive(Debug, PartialEq, Eq)]
pub enum FetchContext {
    /// The request's partitions, answered in full, with no session.
    Sessionless,
    /// The request's partitions, answered in full, opening session `id`
    /// (0 when the cache had no room: the client then fetches in full).
    Full { id: i32 },
    /// Session `id`'s partitions, answered with those that changed.
    Incremental { id: i32 },
}

impl FetchContext {
    pub fn session_id(&self) -> i32 {
        match self {
            FetchContext::Sessionless => 0,
            FetchContext::Full { id } | FetchContext::Incremental { id } => *id,
        }
    }
}

/// The broker's fetch sessions, at most `slots` of them (Kafka's
/// max.incremental.fetch.session.cache.slots).
pub struct FetchSessions {
    slots: usize,
    sessions: Mutex<HashMap<i32, Session>>,
}

impl FetchSessions {
    pub fn new(slots: usize) -> FetchSessions {
        FetchSessions {
            slots,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Reads a request's session id and epoch as Kafka's FetchManager
    /// does, and returns what to read: the request's topics for a full
    /// fetch, the session's (updated by the request) for an incremental
    /// one. FETCH_SESSION_ID_NOT_FOUND and INVALID_FETCH_SESSION_EPOCH
    /// when the session is gone or the epoch is not the one expected.
    pub fn open(
        &self,
        session_id: i32,
        epoch: i32,
        topics: &[FetchTopic],
        forgotten: &[ForgottenTopic],
    ) -> Result<(FetchContext, Option<Asked>), ResponseError> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        if epoch == INITIAL_EPOCH || epoch == FINAL_EPOCH {
            if session_id != 0 {
                sessions.remove(&session_id);
            }
            if epoch == FINAL_EPOCH {
                return Ok((FetchContext::Sessionless, None));
            }
            let size = topics.iter().map(|t| t.partitions.len()).sum();
            let id = if self.make_room(&mut sessions, size, now) {
                let id = new_id(&sessions);
                sessions.insert(id, Session::new(topics, now));
                id
            } else {
                0
            };
            return Ok((FetchContext::Full { id }, None));
        }
        let session = sessions
            .get_mut(&session_id)
            .ok_or(ResponseError::FetchSessionIdNotFound)?;
        if session.epoch != epoch {
            return Err(ResponseError::InvalidFetchSessionEpoch);
        }
        session.update(topics, forgotten);
        session.epoch = next_epoch(epoch);
        session.used = now;
        Ok((
            FetchContext::Incremental { id: session_id },
            Some(session.wanted()),
        ))
    }

    /// Whether a session of `size` partitions may be kept: there is a free
    /// slot, or one is freed from a session idle past the eviction time or,
    /// failing that, from the smallest session if it is smaller (Kafka
    /// favours the sessions that save the most).
    fn make_room(&self, sessions: &mut HashMap<i32, Session>, size: usize, now: Instant) -> bool {
        if self.slots == 0 {
            return false;
        }
        if sessions.len() < self.slots {
            return true;
        }
        let stale = sessions
            .iter()
            .filter(|(_, s)| now.duration_since(s.used) >= EVICTION_AFTER)
            .min_by_key(|(_, s)| s.used)
            .map(|(id, _)| *id);
        let smaller = || {
            sessions
                .iter()
                .filter(|(_, s)| s.partitions.len() < size)
                .min_by_key(|(_, s)| (s.partitions.len(), s.used))
                .map(|(id, _)| *id)
        };
        match stale.or_else(smaller) {
            Some(id) => {
                sessions.remove(&id);
                true
            }
            None => false,
        }
    }

    /// Notes what the response tells the client of each partition and, for
    /// an incremental fetch, keeps in `topics` only the partitions that
    /// have records, an error or offsets the client was not yet told.
    /// Partitions that returned records move to the end of the session, so
    /// that the next fetch, if its bytes run out, serves the others first.
    pub fn answer(&self, context: &FetchContext, topics: &mut Vec<TopicRead>) {
        let (id, incremental) = match *context {
            FetchContext::Sessionless | FetchContext::Full { id: 0 } => return,
            FetchContext::Full { id } => (id, false),
            FetchContext::Incremental { id } => (id, true),
        };
        let mut sessions = self.sessions.lock();
        let Some(session) = sessions.get_mut(&id) else {
            return;
        };
        let Session {
            partitions,
            order,
            index,
            ..
        } = session;
        // The handler answers the partitions in the order it read them,
        // which is the session's (or, opening it, the request's): the
        // partition at `next` in `order` is the one answered, unless the
        // session changed in between, when it is looked up.
        let mut next = 0;
        let mut any_returned = false;
        for t in topics.iter_mut() {
            let topic = &t.topic;
            let mut held = None;
            t.partitions.retain(|p| {
                let in_step = order.get(next).copied().filter(|&i| {
                    let c = &partitions[i];
                    c.want.0 == p.index && c.topic == *topic
                });
                next += 1;
                let place = in_step.or_else(|| {
                    held.get_or_insert_with(|| index.get(topic))
                        .and_then(|held| held.get(&p.index).copied())
                });
                let Some(i) = place else {
                    return true;
                };
                let cached = &mut partitions[i];
                let now = (p.high_watermark, p.last_stable_offset, p.log_start_offset);
                let has_records = !p.records.is_empty();
                let changed = cached.told != Some(now);
                cached.told = Some(now);
                if has_records {
                    cached.returned = true;
                    any_returned = true;
                }
                !incremental || has_records || changed || p.error_code != 0
            });
        }
        topics.retain(|t| !t.partitions.is_empty());
        // Partitions that returned records go last, in the order they were.
        if any_returned {
            let (mut rest, last): (Vec<usize>, Vec<usize>) =
                order.iter().partition(|&&i| !partitions[i].returned);
            for &i in &last {
                partitions[i].returned = false;
            }
            rest.extend(last);
            *order = rest;
        }
    }

    /// Sessions kept and the partitions they hold, for Kafka's
    /// FetchSessionCache gauges.
    pub fn sizes(&self) -> (usize, usize) {
        let sessions = self.sessions.lock();
        let partitions = sessions.values().map(|s| s.partitions.len()).sum();
        (sessions.len(), partitions)
    }
}

/// A random session id, positive and not in use (Kafka draws them at
/// random so that one cannot be guessed from another).
fn new_id(sessions: &HashMap<i32, Session>) -> i32 {
    loop {
        let id = rand::random_range(1..=i32::MAX);
        if !sessions.contains_key(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_request::FetchPartition;
    use kafka_protocol::protocol::StrBytes;

    fn name(n: &str) -> TopicName {
        TopicName(StrBytes::from_string(n.to_string()))
    }

    fn request(topic: &str, partitions: &[(i32, i64)]) -> Vec<FetchTopic> {
        vec![FetchTopic::default()
            .with_topic(name(topic))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&(p, o)| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(o)
                            .with_partition_max_bytes(1024)
                    })
                    .collect(),
            )]
    }

    /// A response for partitions (index, high watermark, records or not).
    fn response(topic: &str, partitions: &[(i32, i64, bool)]) -> Vec<TopicRead> {
        vec![TopicRead {
            topic: TopicKey {
                name: name(topic),
                id: Uuid::nil(),
            },
            partitions: partitions
                .iter()
                .map(|&(p, hw, records)| PartitionRead {
                    index: p,
                    error_code: 0,
                    high_watermark: hw,
                    last_stable_offset: hw,
                    log_start_offset: 0,
                    records: if records {
                        Bytes::from_static(b"batch")
                    } else {
                        Bytes::new()
                    },
                    aborted_transactions: None,
                })
                .collect(),
        }]
    }

    fn indexes(topics: &[TopicRead]) -> Vec<i32> {
        topics
            .iter()
            .flat_map(|t| t.partitions.iter().map(|p| p.index))
            .collect()
    }

    fn order(wanted: &[(TopicKey, Vec<Wanted>)]) -> Vec<(i32, i64)> {
        wanted
            .iter()
            .flat_map(|(_, p)| p.iter().map(|w| (w.0, w.1)))
            .collect()
    }

    #[test]
    fn an_incremental_fetch_reads_the_whole_session_and_answers_what_changed() {
        let sessions = FetchSessions::new(10);
        let (full, wanted) = sessions
            .open(0, 0, &request("t", &[(0, 0), (1, 0), (2, 0)]), &[])
            .unwrap();
        assert!(wanted.is_none(), "a full fetch reads the request");
        let id = full.session_id();
        assert!(id > 0);
        let mut topics = response("t", &[(0, 5, true), (1, 0, false), (2, 0, false)]);
        sessions.answer(&full, &mut topics);
        assert_eq!(indexes(&topics), vec![0, 1, 2], "a full fetch answers all");

        // Only partition 0's offset moved; the session supplies the others.
        let (inc, wanted) = sessions.open(id, 1, &request("t", &[(0, 5)]), &[]).unwrap();
        assert_eq!(inc, FetchContext::Incremental { id });
        // Partition 0 returned records last time: it goes last.
        assert_eq!(order(&wanted.unwrap()), vec![(1, 0), (2, 0), (0, 5)]);
        let mut topics = response("t", &[(1, 0, false), (2, 3, false), (0, 5, false)]);
        sessions.answer(&inc, &mut topics);
        assert_eq!(indexes(&topics), vec![2], "only the moved high watermark");

        let mut nothing = response("t", &[(1, 0, false), (2, 3, false), (0, 5, false)]);
        let (inc, _) = sessions.open(id, 2, &[], &[]).unwrap();
        sessions.answer(&inc, &mut nothing);
        assert!(nothing.is_empty(), "no news, no partitions: {nothing:?}");
    }

    #[test]
    fn a_response_out_of_the_sessions_order_is_answered_by_lookup() {
        let sessions = FetchSessions::new(10);
        let (full, _) = sessions
            .open(0, 0, &request("t", &[(0, 0), (1, 0), (2, 0)]), &[])
            .unwrap();
        let id = full.session_id();
        // As if the session had changed between the read and the answer:
        // the partitions come back in another order than they were read.
        let mut topics = response("t", &[(2, 7, false), (0, 5, true), (1, 3, false)]);
        sessions.answer(&full, &mut topics);
        assert_eq!(indexes(&topics), vec![2, 0, 1]);

        let (inc, wanted) = sessions.open(id, 1, &[], &[]).unwrap();
        assert_eq!(order(&wanted.unwrap()), vec![(1, 0), (2, 0), (0, 0)]);
        // Each partition's offsets were noted against the right partition:
        // only partition 1's moved since.
        let mut topics = response("t", &[(1, 4, false), (2, 7, false), (0, 5, false)]);
        sessions.answer(&inc, &mut topics);
        assert_eq!(indexes(&topics), vec![1]);
    }

    #[test]
    fn a_wrong_epoch_or_an_unknown_session_is_refused_and_forgotten_partitions_leave() {
        let sessions = FetchSessions::new(10);
        let (full, _) = sessions
            .open(0, 0, &request("t", &[(0, 0), (1, 0)]), &[])
            .unwrap();
        let id = full.session_id();
        assert_eq!(
            sessions.open(id, 5, &[], &[]).unwrap_err(),
            ResponseError::InvalidFetchSessionEpoch
        );
        assert_eq!(
            sessions.open(id.wrapping_add(1), 1, &[], &[]).unwrap_err(),
            ResponseError::FetchSessionIdNotFound
        );
        let forget = [ForgottenTopic::default()
            .with_topic(name("t"))
            .with_partitions(vec![0])];
        let (_, wanted) = sessions.open(id, 1, &[], &forget).unwrap();
        assert_eq!(order(&wanted.unwrap()), vec![(1, 0)]);
        // Epoch -1 closes the session and fetches without one.
        let (closed, _) = sessions.open(id, -1, &[], &[]).unwrap();
        assert_eq!(closed, FetchContext::Sessionless);
        assert_eq!(sessions.sizes(), (0, 0));
    }

    #[test]
    fn a_full_cache_makes_room_only_for_a_larger_session() {
        let sessions = FetchSessions::new(1);
        let (small, _) = sessions.open(0, 0, &request("t", &[(0, 0)]), &[]).unwrap();
        assert!(small.session_id() > 0);
        let (same, _) = sessions.open(0, 0, &request("u", &[(0, 0)]), &[]).unwrap();
        assert_eq!(same, FetchContext::Full { id: 0 }, "no room: no session");
        let (large, _) = sessions
            .open(0, 0, &request("v", &[(0, 0), (1, 0)]), &[])
            .unwrap();
        assert!(large.session_id() > 0);
        assert_eq!(
            sessions.open(small.session_id(), 1, &[], &[]).unwrap_err(),
            ResponseError::FetchSessionIdNotFound,
            "the smaller session made room"
        );
        let none = FetchSessions::new(0);
        let (full, _) = none.open(0, 0, &request("t", &[(0, 0)]), &[]).unwrap();
        assert_eq!(full, FetchContext::Full { id: 0 });
    }

    #[test]
    fn epochs_wrap_to_one() {
        assert_eq!(next_epoch(0), 1);
        assert_eq!(next_epoch(i32::MAX), 1);
        assert_eq!(next_epoch(-1), -1);
    }
}
