//! The consumer facade: read topics as a group member or straight from
//! chosen partitions and offsets, records handed out owned.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, Timestamp, TopicPartitionList};

use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::format::ConsumedRecord;
use super::offset_spec::OffsetSpec;
use crate::topic_partition::TopicPartition;

/// Which topics to read.
#[derive(Clone, Debug)]
pub enum Source {
    Topics(Vec<String>),
    /// A regular expression matching whole topic names.
    Pattern(String),
}

pub struct Consumer {
    inner: BaseConsumer,
    grouped: bool,
    /// Where a group member starts without a committed offset.
    from_beginning: bool,
    /// Where each partition starts: as assigned, or as first looked up.
    start: HashMap<TopicPartition, i64>,
    /// With a stop time, each partition's first offset at or after it.
    stop_at: HashMap<TopicPartition, i64>,
    timeout: Duration,
    /// Reading a pattern without a group: when to look for topics that
    /// have started to match.
    discovery: Option<(Source, Instant)>,
}

/// How often a pattern read without a group looks for new matching topics
/// and partitions (a group member leaves that to librdkafka).
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(5);

impl Consumer {
    fn open(settings: ClientSettings, grouped: bool, from_beginning: bool) -> Result<Consumer> {
        // librdkafka stops fetching a partition for fetch.queue.backoff.ms
        // (1 s) whenever its queue passes queued.min.messages, even when
        // the reader drains it in milliseconds: reading a million short
        // records stalled six times for a second each.
        // The broker hands batches out as stored, as Kafka's does, so the
        // consumer is where a batch damaged on disk is caught: Kafka's
        // consumer checks CRCs by default, librdkafka does not.
        let settings =
            settings.with_defaults([("fetch.queue.backoff.ms", "10"), ("check.crcs", "true")]);
        settings.probe()?;
        let inner: BaseConsumer = settings
            .rdkafka()
            .create()
            .map_err(ClientError::kafka("cannot create the consumer"))?;
        inner
            .fetch_metadata(None, settings.timeout)
            .map_err(ClientError::unreachable(&settings))?;
        Ok(Consumer {
            inner,
            grouped,
            from_beginning,
            start: HashMap::new(),
            stop_at: HashMap::new(),
            timeout: settings.timeout,
            discovery: None,
        })
    }

    /// Joins `group` and reads what the group assigns; partitions without a
    /// committed offset start at the beginning or the end.
    pub fn subscribe(
        settings: &ClientSettings,
        group: &str,
        source: &Source,
        from_beginning: bool,
    ) -> Result<Consumer> {
        let reset = if from_beginning { "earliest" } else { "latest" };
        // Only records the caller has handed on (`printed`) are stored for
        // commit: librdkafka's automatic store would take every record polled,
        // and its periodic commit then commits those stored offsets only.
        let settings = settings.clone().with_defaults([
            ("group.id", group),
            ("auto.offset.reset", reset),
            ("enable.auto.offset.store", "false"),
        ]);
        let consumer = Consumer::open(settings, true, from_beginning)?;
        let subscription: Vec<String> = match source {
            Source::Topics(t) => t.clone(),
            // librdkafka reads a subscription starting with ^ as a regex.
            Source::Pattern(p) => vec![format!("^(?:{p})$")],
        };
        let refs: Vec<&str> = subscription.iter().map(String::as_str).collect();
        consumer
            .inner
            .subscribe(&refs)
            .map_err(ClientError::kafka("cannot subscribe"))?;
        Ok(consumer)
    }

    /// Reads the partitions of `source` (only partition `only`, when given)
    /// without a group, each from `start`.
    pub fn assign(
        settings: &ClientSettings,
        source: &Source,
        only: Option<i32>,
        start: OffsetSpec,
    ) -> Result<Consumer> {
        // librdkafka wants a group id even for assign(); nothing is committed.
        let settings = settings.clone().with_defaults([
            ("group.id", "gregor-console-assign"),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ]);
        let mut consumer = Consumer::open(settings, false, false)?;
        let mut partitions = consumer.partitions_of(source)?;
        if let Some(p) = only {
            partitions.retain(|tp| tp.partition == p);
            if partitions.is_empty() {
                return Err(ClientError::Invalid(format!("there is no partition {p}")));
            }
        }
        let offsets = consumer.resolve(&partitions, start)?;
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in partitions.iter().zip(offsets.iter().copied()) {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(offset))
                .map_err(ClientError::kafka("cannot assign partitions"))?;
        }
        consumer.start = partitions.into_iter().zip(offsets).collect();
        consumer
            .inner
            .assign(&tpl)
            .map_err(ClientError::kafka("cannot assign partitions"))?;
        if matches!(source, Source::Pattern(_)) && only.is_none() {
            consumer.discovery = Some((source.clone(), Instant::now() + DISCOVERY_INTERVAL));
        }
        Ok(consumer)
    }

    /// Adds the partitions of topics that have started to match the pattern
    /// (or grown) since reading began, from their beginning: every record in
    /// them is newer than the start of this read.
    fn discover(&mut self) -> Result<()> {
        let source = match &mut self.discovery {
            Some((source, due)) if Instant::now() >= *due => {
                *due = Instant::now() + DISCOVERY_INTERVAL;
                source.clone()
            }
            _ => return Ok(()),
        };
        let new: Vec<TopicPartition> = self
            .partitions_of(&source)?
            .into_iter()
            .filter(|tp| !self.start.contains_key(tp))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let offsets = self.resolve(&new, OffsetSpec::Earliest)?;
        let mut tpl = TopicPartitionList::new();
        for (tp, offset) in new.iter().zip(offsets.iter().copied()) {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(offset))
                .map_err(ClientError::kafka("cannot assign partitions"))?;
        }
        self.inner
            .incremental_assign(&tpl)
            .map_err(ClientError::kafka("cannot assign new partitions"))?;
        self.start.extend(new.into_iter().zip(offsets));
        Ok(())
    }

    /// Every partition of the topics `source` names, sorted.
    fn partitions_of(&self, source: &Source) -> Result<Vec<TopicPartition>> {
        let metadata = self
            .inner
            .fetch_metadata(None, self.timeout)
            .map_err(ClientError::kafka("cannot list topics"))?;
        let pattern = match source {
            Source::Pattern(p) => Some(super::whole_name_regex(p).map_err(ClientError::Invalid)?),
            Source::Topics(_) => None,
        };
        let wanted = |name: &str| match (source, &pattern) {
            (Source::Topics(t), _) => t.iter().any(|t| t == name),
            (_, Some(re)) => re.is_match(name),
            _ => false,
        };
        let mut out: Vec<TopicPartition> = metadata
            .topics()
            .iter()
            .filter(|t| wanted(t.name()) && t.error().is_none())
            .flat_map(|t| {
                t.partitions()
                    .iter()
                    .map(|p| TopicPartition::new(t.name(), p.id()))
            })
            .collect();
        out.sort();
        if let Source::Topics(topics) = source {
            if let Some(missing) = topics
                .iter()
                .find(|t| !out.iter().any(|tp| tp.topic == **t))
            {
                return Err(ClientError::Invalid(format!(
                    "topic '{missing}' does not exist"
                )));
            }
        }
        Ok(out)
    }

    /// The offset each partition starts at for `spec`, as an absolute offset.
    fn resolve(&self, partitions: &[TopicPartition], spec: OffsetSpec) -> Result<Vec<i64>> {
        let by_time = match spec {
            OffsetSpec::Timestamp(ms) => self.offsets_for_time(partitions, ms)?,
            _ => HashMap::new(),
        };
        partitions
            .iter()
            .map(|tp| {
                let (low, high) = self.watermarks(tp)?;
                Ok(match spec {
                    OffsetSpec::Earliest => low,
                    OffsetSpec::Latest => high,
                    OffsetSpec::At(n) => n,
                    OffsetSpec::FromEnd(n) => (high - n).max(low),
                    OffsetSpec::Timestamp(_) => by_time.get(tp).copied().unwrap_or(high),
                })
            })
            .collect()
    }

    fn watermarks(&self, tp: &TopicPartition) -> Result<(i64, i64)> {
        self.inner
            .fetch_watermarks(&tp.topic, tp.partition, self.timeout)
            .map_err(ClientError::kafka(format!(
                "cannot read the offsets of {tp}"
            )))
    }

    /// Where reading of each partition starts: the assigned offset, or for
    /// a group member its committed offset, else where the reset policy points.
    fn start_offsets(&self, partitions: &[TopicPartition]) -> Result<HashMap<TopicPartition, i64>> {
        let mut out = HashMap::new();
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition(&tp.topic, tp.partition);
        }
        let committed = if self.grouped {
            self.inner
                .committed_offsets(tpl, self.timeout)
                .map_err(ClientError::kafka("cannot read committed offsets"))?
        } else {
            TopicPartitionList::new()
        };
        for tp in partitions {
            let start = match self.start.get(tp) {
                Some(o) => *o,
                None => match committed
                    .find_partition(&tp.topic, tp.partition)
                    .map(|e| e.offset())
                {
                    Some(Offset::Offset(o)) => o,
                    _ => {
                        let (low, high) = self.watermarks(tp)?;
                        if self.from_beginning {
                            low
                        } else {
                            high
                        }
                    }
                },
            };
            out.insert(tp.clone(), start);
        }
        Ok(out)
    }

    /// For each partition, the first offset whose record is at or after
    /// `ms`; partitions with no such record are left out.
    fn offsets_for_time(
        &self,
        partitions: &[TopicPartition],
        ms: i64,
    ) -> Result<HashMap<TopicPartition, i64>> {
        let mut tpl = TopicPartitionList::new();
        for tp in partitions {
            tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(ms))
                .map_err(ClientError::kafka("cannot look up offsets by time"))?;
        }
        let found = self
            .inner
            .offsets_for_times(tpl, self.timeout)
            .map_err(ClientError::kafka("cannot look up offsets by time"))?;
        Ok(absolute_offsets(&found))
    }

    /// The partitions this consumer reads now.
    fn assignment(&self) -> Result<Vec<TopicPartition>> {
        let tpl = self
            .inner
            .assignment()
            .map_err(ClientError::kafka("cannot read the assignment"))?;
        Ok(tpl
            .elements()
            .iter()
            .map(|e| TopicPartition::new(e.topic(), e.partition()))
            .collect())
    }

    /// Where the application is in each assigned partition: the offset after
    /// the last record handed out, or where reading starts; partitions whose
    /// position is not known yet are left out.
    fn positions(&self) -> Result<HashMap<TopicPartition, i64>> {
        let tpl = self
            .inner
            .position()
            .map_err(ClientError::kafka("cannot read positions"))?;
        Ok(absolute_offsets(&tpl))
    }

    /// Whether every assigned partition has been read up to its first record
    /// at or after `until_ms`, or, when it has none, to the end it had when
    /// first looked at.
    pub fn reached(&mut self, until_ms: i64) -> Result<bool> {
        let assigned = self.assignment()?;
        let new: Vec<TopicPartition> = assigned
            .iter()
            .filter(|tp| !self.stop_at.contains_key(*tp))
            .cloned()
            .collect();
        if !new.is_empty() {
            let stops = self.resolve(&new, OffsetSpec::Timestamp(until_ms))?;
            self.stop_at.extend(new.into_iter().zip(stops));
        }
        let positions = self.positions()?;
        let unknown: Vec<TopicPartition> = assigned
            .iter()
            .filter(|tp| !positions.contains_key(*tp) && !self.start.contains_key(*tp))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let starts = self.start_offsets(&unknown)?;
            self.start.extend(starts);
        }
        Ok(!assigned.is_empty()
            && assigned.iter().all(|tp| {
                positions
                    .get(tp)
                    .or(self.start.get(tp))
                    .is_some_and(|p| *p >= self.stop_at[tp])
            }))
    }

    /// Whether a record lies at or past its partition's stop offset.
    pub fn past_stop(&self, record: &ConsumedRecord) -> bool {
        self.stop_at
            .get(&TopicPartition::new(record.topic.clone(), record.partition))
            .is_some_and(|end| record.offset >= *end)
    }

    /// The next record, or None when none arrived within `timeout`.
    pub fn poll(&mut self, timeout: Duration) -> Option<Result<ConsumedRecord>> {
        if let Err(e) = self.discover() {
            return Some(Err(e));
        }
        let message = match self.inner.poll(timeout)? {
            Ok(m) => m,
            Err(e)
                if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::BadMessage) =>
            {
                let context =
                    "cannot consume: a fetched batch failed its CRC check or did not parse";
                return Some(Err(ClientError::kafka(context)(e)));
            }
            Err(e) => return Some(Err(ClientError::kafka("cannot consume")(e))),
        };
        let timestamp = match message.timestamp() {
            Timestamp::CreateTime(ms) => Some(("CreateTime", ms)),
            Timestamp::LogAppendTime(ms) => Some(("LogAppendTime", ms)),
            Timestamp::NotAvailable => None,
        };
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        Some(Ok(ConsumedRecord {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp,
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        }))
    }

    /// Marks a record as done with (printed, for the console consumer): a
    /// group member commits up to and including it, and nothing beyond.
    pub fn printed(&self, record: &ConsumedRecord) -> Result<()> {
        if !self.grouped {
            return Ok(());
        }
        // rd_kafka_offset_store keeps offset + 1, the next record to read.
        match self
            .inner
            .store_offset(&record.topic, record.partition, record.offset)
        {
            Ok(()) => Ok(()),
            // The partition went to another member in a rebalance; its new
            // owner reads on from what was committed, so this one is re-read.
            Err(e) if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::State) => {
                Ok(())
            }
            Err(e) => Err(ClientError::kafka(format!(
                "cannot store the offset of {}-{}",
                record.topic, record.partition
            ))(e)),
        }
    }

    /// Commits the records marked `printed`, when reading as a group member.
    pub fn commit(&self) -> Result<()> {
        if !self.grouped {
            return Ok(());
        }
        match self.inner.commit_consumer_state(CommitMode::Sync) {
            Ok(()) => Ok(()),
            // Nothing consumed since the last commit.
            Err(e)
                if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::NoOffset) =>
            {
                Ok(())
            }
            Err(e) => Err(ClientError::kafka("cannot commit")(e)),
        }
    }
}

/// The timestamp of the first record at or after each given offset that a
/// read_committed consumer sees, read without a group. Partitions where no
/// record arrives within the settings' timeout, or whose records carry no
/// timestamp, are left out.
pub fn record_timestamps(
    settings: &ClientSettings,
    offsets: &BTreeMap<TopicPartition, i64>,
) -> Result<BTreeMap<TopicPartition, i64>> {
    let mut out = BTreeMap::new();
    if offsets.is_empty() {
        return Ok(out);
    }
    // Records below the log start offset are gone; the oldest left counts.
    // Aborted transactions are skipped, as a consumer's default skips them.
    let settings = settings.clone().with_defaults([
        ("group.id", "gregor-record-timestamps"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("auto.offset.reset", "earliest"),
        ("isolation.level", "read_committed"),
    ]);
    let deadline = Instant::now() + settings.timeout;
    let mut consumer = Consumer::open(settings, false, false)?;
    let mut tpl = TopicPartitionList::new();
    for (tp, offset) in offsets {
        tpl.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
            .map_err(ClientError::kafka("cannot assign partitions"))?;
    }
    consumer
        .inner
        .assign(&tpl)
        .map_err(ClientError::kafka("cannot assign partitions"))?;
    let mut missing: BTreeSet<&TopicPartition> = offsets.keys().collect();
    while !missing.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let Some(record) = consumer.poll(left) else {
            continue;
        };
        let record = record?;
        let key = TopicPartition::new(record.topic.clone(), record.partition);
        if missing.remove(&key) {
            if let Some((_, ms)) = record.timestamp {
                out.insert(key, ms);
            }
        }
    }
    Ok(out)
}

/// The partitions of a list that carry an absolute offset, and that offset.
fn absolute_offsets(tpl: &TopicPartitionList) -> HashMap<TopicPartition, i64> {
    tpl.elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((TopicPartition::new(e.topic(), e.partition()), o)),
            _ => None,
        })
        .collect()
}
