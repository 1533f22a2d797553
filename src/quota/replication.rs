//! Replication throttles (KIP-73), as Kafka's ReplicationQuotaManager:
//! a broker's `leader.replication.throttled.rate` bounds the bytes it
//! sends followers of throttled replicas, its
//! `follower.replication.throttled.rate` the bytes it fetches for them.
//! Which replicas are throttled is per topic:
//! `leader.replication.throttled.replicas` lists the `partition:broker`
//! pairs whose broker is throttled as the source of the partition, and
//! `follower.replication.throttled.replicas` those throttled as its
//! destination (`*` throttles every replica of the topic).
//!
//! Only replicas outside the ISR are held back, so a throttle set for a
//! reassignment never slows the replicas that acknowledge producers.
//! Throttled partitions are skipped for a fetch while the measured rate is
//! over the bound; what they do move is recorded afterwards, so a burst
//! may overshoot by one fetch and the rate then stays over the bound for
//! as long as that takes to even out.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::rate::{QuotaWindow, Rate};
use crate::cluster::MetadataImage;

/// The broker configs of the rates, in bytes per second.
pub const LEADER_RATE: &str = "leader.replication.throttled.rate";
pub const FOLLOWER_RATE: &str = "follower.replication.throttled.rate";
/// The topic configs of the throttled replicas.
pub const LEADER_REPLICAS: &str = "leader.replication.throttled.replicas";
pub const FOLLOWER_REPLICAS: &str = "follower.replication.throttled.replicas";

/// A rate of Long.MAX_VALUE, Kafka's default: no throttle.
pub const UNTHROTTLED: i64 = i64::MAX;

/// A topic's throttled-replicas config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrottledReplicas {
    /// `*`: every replica of the topic.
    All,
    /// `partition:broker` pairs (empty: none).
    Listed(Vec<(i32, i32)>),
}

impl ThrottledReplicas {
    /// Reads config `key`'s value as Kafka's ThrottledReplicaListValidator
    /// accepts it: `*`, or comma-separated `partition:broker` pairs (empty
    /// items are allowed, so the empty string throttles nothing).
    pub fn parse(key: &str, value: &str) -> Result<ThrottledReplicas, String> {
        let value = value.trim();
        if value == "*" {
            return Ok(ThrottledReplicas::All);
        }
        let malformed = || {
            format!(
                "{key} must be the literal '*' or a list of replicas in the form \
                 partitionId:brokerId,partitionId:brokerId,..."
            )
        };
        let id = |s: &str| -> Result<i32, String> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed());
            }
            s.parse().map_err(|_| malformed())
        };
        let mut pairs = Vec::new();
        for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (partition, broker) = item.split_once(':').ok_or_else(malformed)?;
            pairs.push((id(partition)?, id(broker)?));
        }
        Ok(ThrottledReplicas::Listed(pairs))
    }

    /// The partitions throttled on broker `node_id` (Kafka's
    /// parseThrottledPartitions): `None` for every partition.
    fn on_broker(&self, node_id: i32) -> Option<BTreeSet<i32>> {
        match self {
            ThrottledReplicas::All => None,
            ThrottledReplicas::Listed(pairs) => Some(
                pairs
                    .iter()
                    .filter(|(_, broker)| *broker == node_id)
                    .map(|(partition, _)| *partition)
                    .collect(),
            ),
        }
    }
}

/// Which side of replication a quota bounds (Kafka's ReplicationQuotaType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Bytes a leader sends followers.
    Leader,
    /// Bytes a follower fetches from leaders.
    Follower,
}

impl Side {
    fn rate_key(self) -> &'static str {
        match self {
            Side::Leader => LEADER_RATE,
            Side::Follower => FOLLOWER_RATE,
        }
    }

    fn replicas_key(self) -> &'static str {
        match self {
            Side::Leader => LEADER_REPLICAS,
            Side::Follower => FOLLOWER_REPLICAS,
        }
    }
}

/// The partitions of one topic that are throttled here.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Partitions {
    All,
    Some(BTreeSet<i32>),
}

struct State {
    rate: Rate,
    bound: i64,
    throttled: HashMap<String, Partitions>,
}

/// One side's quota on this broker.
pub struct ReplicationQuota {
    side: Side,
    window: QuotaWindow,
    epoch: Instant,
    /// Whether any topic throttles a partition here: every follower fetch
    /// asks, so the common case does not take the lock.
    active: AtomicBool,
    state: parking_lot::Mutex<State>,
}

impl ReplicationQuota {
    pub fn new(side: Side, window: QuotaWindow) -> ReplicationQuota {
        ReplicationQuota {
            side,
            window,
            epoch: Instant::now(),
            active: AtomicBool::new(false),
            state: parking_lot::Mutex::new(State {
                rate: Rate::new(0),
                bound: UNTHROTTLED,
                throttled: HashMap::new(),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Takes the rate and this broker's throttled partitions from the
    /// broker's `rate` config and the topics' configs in `image`. A value
    /// that does not parse (the controller checks them, so only one from
    /// an older version could) throttles nothing.
    fn update(&self, rate: Option<i64>, image: &MetadataImage, node_id: i32) {
        let key = self.side.replicas_key();
        let throttled: HashMap<String, Partitions> = image
            .topics
            .values()
            .filter_map(|topic| {
                let value = topic.config.overrides.get(key)?;
                let replicas = ThrottledReplicas::parse(key, value)
                    .map_err(|e| tracing::warn!(topic = %topic.name, error = %e, "ignoring a throttled-replicas config"))
                    .ok()?;
                let partitions = match replicas.on_broker(node_id) {
                    None => Partitions::All,
                    Some(set) if set.is_empty() => return None,
                    Some(set) => Partitions::Some(set),
                };
                Some((topic.name.clone(), partitions))
            })
            .collect();
        let mut state = self.state.lock();
        state.bound = rate.unwrap_or(UNTHROTTLED);
        self.active.store(!throttled.is_empty(), Ordering::Release);
        state.throttled = throttled;
    }

    /// Whether `partition` of `topic` is throttled on this side here.
    pub fn is_throttled(&self, topic: &str, partition: i32) -> bool {
        if !self.active.load(Ordering::Acquire) {
            return false;
        }
        match self.state.lock().throttled.get(topic) {
            None => false,
            Some(Partitions::All) => true,
            Some(Partitions::Some(set)) => set.contains(&partition),
        }
    }

    /// Whether the bytes recorded are over the rate now (Kafka's
    /// isQuotaExceeded): throttled partitions are then skipped.
    pub fn is_quota_exceeded(&self) -> bool {
        self.exceeded_at(self.now_ms())
    }

    fn exceeded_at(&self, now_ms: u64) -> bool {
        let mut state = self.state.lock();
        if state.bound == UNTHROTTLED {
            return false;
        }
        let bound = state.bound as f64;
        state.rate.measure(self.window, now_ms) > bound
    }

    /// Counts bytes moved for throttled partitions.
    pub fn record(&self, bytes: usize) {
        self.record_at(bytes, self.now_ms());
    }

    fn record_at(&self, bytes: usize, now_ms: u64) {
        if bytes > 0 {
            self.state
                .lock()
                .rate
                .record(self.window, bytes as f64, now_ms);
        }
    }

    /// Bytes per second of throttled partitions over the window (Kafka's
    /// `byte-rate` of LeaderReplication / FollowerReplication).
    pub fn byte_rate(&self) -> f64 {
        let now = self.now_ms();
        self.state.lock().rate.measure(self.window, now)
    }

    /// The bound in bytes per second; Long.MAX_VALUE when unthrottled.
    pub fn bound(&self) -> i64 {
        self.state.lock().bound
    }
}

/// A broker's two replication quotas.
pub struct ReplicationQuotas {
    pub leader: ReplicationQuota,
    pub follower: ReplicationQuota,
}

impl ReplicationQuotas {
    /// With `replication.quota.window.num` samples of
    /// `replication.quota.window.size.seconds`.
    pub fn new(window: QuotaWindow) -> ReplicationQuotas {
        ReplicationQuotas {
            leader: ReplicationQuota::new(Side::Leader, window),
            follower: ReplicationQuota::new(Side::Follower, window),
        }
    }

    /// Follows the metadata: `config` is this broker's configuration under
    /// the dynamic configs of `image`.
    pub fn update(
        &self,
        config: &crate::config::BrokerConfig,
        image: &MetadataImage,
        node_id: i32,
    ) {
        for quota in [&self.leader, &self.follower] {
            let rate = config
                .get(quota.side.rate_key())
                .and_then(|v| v.trim().parse().ok());
            quota.update(rate, image, node_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::TopicImage;
    use crate::config::TopicConfig;

    const KAFKA: QuotaWindow = QuotaWindow::KAFKA_DEFAULT;

    #[test]
    fn throttled_replicas_parse_as_kafka_validates_them() {
        let parse = |v: &str| ThrottledReplicas::parse(LEADER_REPLICAS, v);
        assert_eq!(parse(" * "), Ok(ThrottledReplicas::All));
        assert_eq!(parse(""), Ok(ThrottledReplicas::Listed(vec![])));
        assert_eq!(
            parse("0:101, 1:102,,"),
            Ok(ThrottledReplicas::Listed(vec![(0, 101), (1, 102)]))
        );
        for bad in [
            "0",
            "0:",
            ":1",
            "a:1",
            "0:1:2",
            "-1:1",
            "*,0:1",
            "99999999999:1",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with(LEADER_REPLICAS), "{bad}: {e}");
        }
    }

    #[test]
    fn a_malformed_topic_config_is_invalid_naming_the_key() {
        let refused = TopicConfig::from_overrides([(FOLLOWER_REPLICAS, "0-1")]).unwrap_err();
        assert!(
            matches!(&refused, crate::config::ConfigError::Invalid { name, .. } if name == FOLLOWER_REPLICAS),
            "{refused:?}"
        );
        assert!(refused.to_string().contains(FOLLOWER_REPLICAS));
        let fine =
            TopicConfig::from_overrides([(LEADER_REPLICAS, "0:1, 1:2"), (FOLLOWER_REPLICAS, "*")]);
        assert!(fine.is_ok(), "{fine:?}");
    }

    #[test]
    fn each_broker_throttles_the_partitions_listed_with_its_id() {
        let listed = ThrottledReplicas::Listed(vec![(0, 1), (0, 2), (1, 2)]);
        assert_eq!(listed.on_broker(1), Some(BTreeSet::from([0])));
        assert_eq!(listed.on_broker(2), Some(BTreeSet::from([0, 1])));
        assert_eq!(listed.on_broker(3), Some(BTreeSet::new()));
        assert_eq!(ThrottledReplicas::All.on_broker(3), None);
    }

    fn image(topics: &[(&str, &str, &str)]) -> MetadataImage {
        let mut image = MetadataImage::default();
        for (name, key, value) in topics {
            image.insert_topic(TopicImage {
                name: name.to_string(),
                id: uuid::Uuid::new_v4(),
                partitions: vec![],
                config: TopicConfig::from_overrides([(*key, *value)]).unwrap(),
                internal: false,
            });
        }
        image
    }

    #[test]
    fn the_topic_configs_say_which_partitions_each_side_throttles() {
        let quota = ReplicationQuota::new(Side::Leader, KAFKA);
        let image = image(&[
            ("a", LEADER_REPLICAS, "0:1,2:1,1:2"),
            ("b", LEADER_REPLICAS, "*"),
            ("c", FOLLOWER_REPLICAS, "0:1"),
        ]);
        quota.update(Some(1000), &image, 1);
        assert!(quota.is_throttled("a", 0));
        assert!(quota.is_throttled("a", 2));
        assert!(!quota.is_throttled("a", 1), "throttled on broker 2 only");
        assert!(quota.is_throttled("b", 7));
        assert!(!quota.is_throttled("c", 0), "a follower throttle");
        // The config removed, nothing is throttled.
        quota.update(Some(1000), &MetadataImage::default(), 1);
        assert!(!quota.is_throttled("a", 0));
    }

    #[test]
    fn the_quota_is_exceeded_while_the_rate_is_over_the_bound() {
        let quota = ReplicationQuota::new(Side::Follower, KAFKA);
        // Unthrottled: nothing recorded ever exceeds it.
        quota.record_at(1 << 40, 0);
        assert!(!quota.exceeded_at(0));
        let quota = ReplicationQuota::new(Side::Follower, KAFKA);
        quota.update(Some(100_000), &MetadataImage::default(), 1);
        // A first burst is measured over ten windows: 1 MB is 100 kB/s.
        quota.record_at(1_000_000, 0);
        assert!(!quota.exceeded_at(0));
        quota.record_at(1, 0);
        assert!(quota.exceeded_at(0));
        // Once the span has grown enough, the rate is back under.
        assert!(quota.exceeded_at(10_000));
        assert!(!quota.exceeded_at(10_100));
        // A lower bound set later applies to what was recorded.
        quota.update(Some(10_000), &MetadataImage::default(), 1);
        assert!(quota.exceeded_at(10_100));
    }
}
