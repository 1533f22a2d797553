//! One share-partition (Kafka's SharePartition): a share group's view of
//! one topic-partition. Records from the start offset up to the end
//! offset are in flight, each AVAILABLE, ACQUIRED by one member until its
//! acquisition lock expires, ACKNOWLEDGED or ARCHIVED; below the start
//! offset every record is done, from the end offset on none was ever
//! acquired. Offsets the log does not hold (compaction) have no entry and
//! count as done; control records are archived as they are passed, and so
//! are the records of aborted transactions under read_committed. The
//! start offset is the first entry not done, or the end offset.
//!
//! Pure state: the caller passes the clock (`now`, epoch milliseconds) and
//! the batches read from the log.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;

/// A record's delivery state (Kafka's RecordState).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

/// KIP-932's AcknowledgeType, as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckType {
    /// The offset holds no record (compaction, a control record).
    Gap,
    Accept,
    Release,
    Reject,
}

impl AckType {
    pub fn from_wire(v: i8) -> Option<AckType> {
        match v {
            0 => Some(AckType::Gap),
            1 => Some(AckType::Accept),
            2 => Some(AckType::Release),
            3 => Some(AckType::Reject),
            _ => None,
        }
    }
}

/// One acknowledgement batch: offsets `first..=last`, with one type for
/// the whole range or one per offset (ShareFetch / ShareAcknowledge).
#[derive(Debug, Clone)]
pub struct AckBatch {
    pub first: i64,
    pub last: i64,
    pub types: Vec<AckType>,
}

impl AckBatch {
    fn type_of(&self, offset: i64) -> AckType {
        if self.types.len() == 1 {
            self.types[0]
        } else {
            self.types[(offset - self.first) as usize]
        }
    }
}

/// A record batch as read from the log: its offsets, whether it is a
/// control batch (a transaction marker, never delivered), its producer
/// when it is transactional, whether it belongs to an aborted transaction
/// (see [`mark_aborted`]; never delivered under read_committed), and where
/// its bytes are in what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBatch {
    pub base: i64,
    pub last: i64,
    pub control: bool,
    pub transactional_producer: Option<i64>,
    pub aborted: bool,
    pub bytes: std::ops::Range<usize>,
}

impl LogBatch {
    /// Whether its records are never delivered, only archived.
    fn undeliverable(&self) -> bool {
        self.control || self.aborted
    }
}

/// Acquired offsets `first..=last`, delivered for the `delivery_count`th time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acquired {
    pub first: i64,
    pub last: i64,
    pub delivery_count: i16,
}

/// The limits a share-partition runs under (the group's configs).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `group.share.record.lock.duration.ms`.
    pub lock_duration_ms: i64,
    /// `group.share.delivery.count.limit`: after this many deliveries a
    /// record that comes back is archived instead.
    pub delivery_count_limit: i16,
    /// `group.share.partition.max.record.locks`: records in flight at most.
    pub max_in_flight: usize,
}

#[derive(Debug, Clone)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    /// The member holding the record while it is ACQUIRED.
    member: Option<String>,
    /// When its acquisition lock expires, while ACQUIRED.
    lock_deadline: i64,
}

#[derive(Debug, Clone)]
pub struct SharePartition {
    start: i64,
    end: i64,
    records: BTreeMap<i64, InFlight>,
    /// The state epoch of its state in `__share_group_state`.
    state_epoch: i32,
    /// The partition's leader epoch it was loaded under: its writes carry
    /// it, so that the share coordinator fences a deposed leader's.
    leader_epoch: i32,
    /// Whether its durable state changed since it was last written:
    /// acknowledgements, records given back or archived, the start offset.
    /// Acquisitions alone are not written, as in Kafka: after a restart
    /// an acquired record is available again.
    dirty: bool,
}

/// Offsets `first..=last` in one state with one delivery count, as
/// `__share_group_state` keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersistedBatch {
    pub first: i64,
    pub last: i64,
    pub state: RecordState,
    pub delivery_count: i16,
}

impl SharePartition {
    /// A share-partition with nothing in flight, starting at `start` (the
    /// offset `share.auto.offset.reset` picked).
    pub fn new(start: i64) -> SharePartition {
        SharePartition {
            start,
            end: start,
            records: BTreeMap::new(),
            state_epoch: 0,
            leader_epoch: -1,
            dirty: true,
        }
    }

    /// A share-partition as `__share_group_state` kept it: acquired
    /// records come back available, their locks gone with the broker that
    /// held them.
    pub fn from_state(start: i64, state_epoch: i32, batches: &[PersistedBatch]) -> SharePartition {
        let mut records = BTreeMap::new();
        let mut end = start;
        for b in batches {
            for offset in b.first.max(start)..=b.last {
                let state = match b.state {
                    RecordState::Acquired => RecordState::Available,
                    other => other,
                };
                records.insert(
                    offset,
                    InFlight {
                        state,
                        delivery_count: b.delivery_count,
                        member: None,
                        lock_deadline: 0,
                    },
                );
                end = end.max(offset + 1);
            }
        }
        let mut sp = SharePartition {
            start,
            end,
            records,
            state_epoch,
            leader_epoch: -1,
            dirty: false,
        };
        sp.advance();
        sp
    }

    pub fn state_epoch(&self) -> i32 {
        self.state_epoch
    }

    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    pub fn set_leader_epoch(&mut self, leader_epoch: i32) {
        self.leader_epoch = leader_epoch;
    }

    /// Whether the durable state changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Marks the state as not yet written (its write failed).
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// The records in flight as state batches: runs of adjacent offsets
    /// with one state and delivery count. An acquired record is written
    /// as available (its lock does not outlive this broker).
    pub fn persisted_batches(&self) -> Vec<PersistedBatch> {
        let mut out: Vec<PersistedBatch> = Vec::new();
        for (&offset, r) in &self.records {
            let state = match r.state {
                RecordState::Acquired => RecordState::Available,
                other => other,
            };
            match out.last_mut() {
                Some(b)
                    if b.last + 1 == offset
                        && b.state == state
                        && b.delivery_count == r.delivery_count =>
                {
                    b.last = offset
                }
                _ => out.push(PersistedBatch {
                    first: offset,
                    last: offset,
                    state,
                    delivery_count: r.delivery_count,
                }),
            }
        }
        out
    }

    /// The share-partition start offset: every record below it is done.
    pub fn start_offset(&self) -> i64 {
        self.start
    }

    /// The first offset never acquired.
    pub fn end_offset(&self) -> i64 {
        self.end
    }

    pub fn in_flight(&self) -> usize {
        self.records.len()
    }

    /// An in-flight record's state and delivery count.
    pub fn state(&self, offset: i64) -> Option<(RecordState, i16)> {
        self.records
            .get(&offset)
            .map(|r| (r.state, r.delivery_count))
    }

    /// Where the next read of the log starts: the first record that may be
    /// acquired again, else the end offset.
    pub fn fetch_offset(&self) -> i64 {
        self.records
            .iter()
            .find(|(_, r)| r.state == RecordState::Available)
            .map_or(self.end, |(o, _)| *o)
    }

    /// Whether a fetch could acquire anything below `high_watermark`
    /// without a new append: a record made available again, or records
    /// past the end offset while the in-flight limit allows.
    pub fn has_acquirable(&self, high_watermark: i64, limits: &Limits) -> bool {
        self.records
            .values()
            .any(|r| r.state == RecordState::Available)
            || (self.end < high_watermark && self.records.len() < limits.max_in_flight)
    }

    /// The earliest acquisition lock deadline, when any record is acquired.
    pub fn next_lock_deadline(&self) -> Option<i64> {
        self.records
            .values()
            .filter(|r| r.state == RecordState::Acquired)
            .map(|r| r.lock_deadline)
            .min()
    }

    /// The log's start offset moved past records (retention, DeleteRecords):
    /// they can no longer be delivered, and are dropped.
    pub fn log_start_moved(&mut self, log_start: i64) {
        if log_start <= self.start {
            return;
        }
        self.records = self.records.split_off(&log_start);
        self.end = self.end.max(log_start);
        self.dirty = true;
        self.advance();
    }

    /// Acquisition locks that ran out by `now`: their records become
    /// available again, or archived when they reached the delivery limit.
    pub fn expire_locks(&mut self, now: i64, limits: &Limits) {
        let mut any = false;
        for r in self.records.values_mut() {
            if r.state == RecordState::Acquired && r.lock_deadline <= now {
                Self::give_back(r, limits);
                any = true;
            }
        }
        if any {
            self.dirty = true;
            self.advance();
        }
    }

    /// Acquires for `member` what `batches` (read from the log from
    /// [`Self::fetch_offset`]) hold below `high_watermark`: available
    /// records again, then new ones past the end offset while the
    /// in-flight limit allows; `max_records` at most. Offsets the batches
    /// skip over, control records and the records of aborted transactions
    /// are archived as the end offset passes them; an aborted record in
    /// flight and available is archived too (the group turned
    /// read_committed). Returns the acquired ranges in offset order.
    pub fn acquire(
        &mut self,
        member: &str,
        batches: &[LogBatch],
        high_watermark: i64,
        max_records: usize,
        now: i64,
        limits: &Limits,
    ) -> Vec<Acquired> {
        let from = self.fetch_offset();
        let deadline = now + limits.lock_duration_ms;
        let mut acquired: Vec<Acquired> = Vec::new();
        let mut count = 0usize;
        let mut take = |offset: i64, r: &mut InFlight| {
            r.state = RecordState::Acquired;
            r.delivery_count = r.delivery_count.saturating_add(1);
            r.member = Some(member.to_string());
            r.lock_deadline = deadline;
            match acquired.last_mut() {
                Some(a) if a.last + 1 == offset && a.delivery_count == r.delivery_count => {
                    a.last = offset
                }
                _ => acquired.push(Acquired {
                    first: offset,
                    last: offset,
                    delivery_count: r.delivery_count,
                }),
            }
        };
        'batches: for batch in batches {
            for offset in batch.base.max(from)..=batch.last {
                if count >= max_records || offset >= high_watermark {
                    break 'batches;
                }
                if offset < self.end {
                    if let Some(r) = self.records.get_mut(&offset) {
                        if r.state == RecordState::Available && batch.aborted {
                            Self::finish(r, RecordState::Archived);
                            self.dirty = true;
                        } else if r.state == RecordState::Available && !batch.control {
                            take(offset, r);
                            count += 1;
                        }
                    }
                    continue;
                }
                if self.records.len() >= limits.max_in_flight {
                    break 'batches;
                }
                let mut r = InFlight {
                    state: RecordState::Available,
                    delivery_count: 0,
                    member: None,
                    lock_deadline: 0,
                };
                if batch.undeliverable() {
                    r = InFlight::archived();
                } else {
                    take(offset, &mut r);
                    count += 1;
                }
                self.records.insert(offset, r);
                self.end = offset + 1;
            }
        }
        self.advance();
        acquired
    }

    /// Applies `member`'s acknowledgements, all or none: every offset must
    /// be in flight and acquired by `member` (INVALID_RECORD_STATE), and a
    /// batch's types must be one, or one per offset (INVALID_REQUEST).
    pub fn acknowledge(
        &mut self,
        member: &str,
        batches: &[AckBatch],
        limits: &Limits,
    ) -> Result<(), ResponseError> {
        for b in batches {
            if b.first > b.last || b.types.is_empty() {
                return Err(ResponseError::InvalidRequest);
            }
            // Any range the client sends, however wide, is checked in
            // time bounded by what is in flight.
            let len = i128::from(b.last) - i128::from(b.first) + 1;
            if b.types.len() != 1 && b.types.len() as i128 != len {
                return Err(ResponseError::InvalidRequest);
            }
            if len > self.records.len() as i128 {
                return Err(ResponseError::InvalidRecordState);
            }
            for offset in b.first..=b.last {
                let held = self.records.get(&offset).is_some_and(|r| {
                    r.state == RecordState::Acquired && r.member.as_deref() == Some(member)
                });
                if !held {
                    return Err(ResponseError::InvalidRecordState);
                }
            }
        }
        for b in batches {
            for offset in b.first..=b.last {
                let Some(r) = self.records.get_mut(&offset) else {
                    continue;
                };
                match b.type_of(offset) {
                    AckType::Accept => Self::finish(r, RecordState::Acknowledged),
                    AckType::Release => Self::give_back(r, limits),
                    AckType::Reject | AckType::Gap => Self::finish(r, RecordState::Archived),
                }
            }
        }
        self.dirty = true;
        self.advance();
        Ok(())
    }

    /// Undoes acknowledgements [`Self::acknowledge`] applied to `before`
    /// (their write failed): the acknowledged records are held again as
    /// they were, whatever else changed since.
    pub fn undo_acknowledge(&mut self, before: &SharePartition, batches: &[AckBatch]) {
        for b in batches {
            for (&offset, r) in before.records.range(b.first..=b.last) {
                self.records.insert(offset, r.clone());
                self.start = self.start.min(offset);
            }
        }
        self.dirty = true;
    }

    /// Gives back everything `member` holds (its share session closed or
    /// it left the group), as a RELEASE of each record.
    pub fn release_member(&mut self, member: &str, limits: &Limits) {
        for r in self.records.values_mut() {
            if r.state == RecordState::Acquired && r.member.as_deref() == Some(member) {
                Self::give_back(r, limits);
                self.dirty = true;
            }
        }
        self.advance();
    }

    /// A record coming back undelivered: available for another delivery,
    /// or archived once it has been delivered as often as the limit allows.
    fn give_back(r: &mut InFlight, limits: &Limits) {
        if r.delivery_count >= limits.delivery_count_limit {
            Self::finish(r, RecordState::Archived);
        } else {
            r.state = RecordState::Available;
            r.member = None;
        }
    }

    fn finish(r: &mut InFlight, state: RecordState) {
        r.state = state;
        r.member = None;
    }

    /// Moves the start offset over the finished prefix of the in-flight records.
    fn advance(&mut self) {
        while let Some(entry) = self.records.first_entry() {
            if !matches!(
                entry.get().state,
                RecordState::Acknowledged | RecordState::Archived
            ) {
                break;
            }
            entry.remove();
        }
        let start = self.records.first_key_value().map_or(self.end, |(o, _)| *o);
        if start != self.start {
            // The end offset moving over control records or compacted
            // offsets moves the start offset with it, without an
            // acknowledgement: written so a restart does not read them again.
            self.dirty = true;
            self.start = start;
        }
    }
}

impl InFlight {
    fn archived() -> InFlight {
        InFlight {
            state: RecordState::Archived,
            delivery_count: 0,
            member: None,
            lock_deadline: 0,
        }
    }
}

/// The batches of `records` (record batches as the log stores them): each
/// one's base and last offset, whether it is a control batch, and its
/// producer when transactional. Stops at a truncated batch.
pub fn log_batches(records: &[u8]) -> Vec<LogBatch> {
    // Kafka's batch header: baseOffset (8) batchLength (4) leaderEpoch (4)
    // magic (1) crc (4) attributes (2) lastOffsetDelta (4) baseTimestamp
    // (8) maxTimestamp (8) producerId (8) producerEpoch (2) baseSequence
    // (4) recordsCount (4).
    const HEADER: usize = 61;
    const TRANSACTIONAL: i16 = 0x10;
    const CONTROL: i16 = 0x20;
    let mut out = Vec::new();
    let mut at = 0usize;
    while records.len() >= at + HEADER {
        let b = &records[at..];
        let base = i64::from_be_bytes(b[0..8].try_into().unwrap_or_default());
        let length = i32::from_be_bytes(b[8..12].try_into().unwrap_or_default());
        let attributes = i16::from_be_bytes(b[21..23].try_into().unwrap_or_default());
        let delta = i32::from_be_bytes(b[23..27].try_into().unwrap_or_default());
        let producer = i64::from_be_bytes(b[43..51].try_into().unwrap_or_default());
        let size = 12 + length.max(0) as usize;
        if length < 0 || records.len() < at + size {
            break;
        }
        out.push(LogBatch {
            base,
            last: base.saturating_add(i64::from(delta.max(0))),
            control: attributes & CONTROL != 0,
            transactional_producer: (attributes & TRANSACTIONAL != 0).then_some(producer),
            aborted: false,
            bytes: at..at + size,
        });
        at += size;
    }
    out
}

/// Marks the data batches of aborted transactions, as Kafka's read_committed
/// consumer finds them: `aborted` holds (producer id, first offset) of each
/// aborted transaction the read overlaps (what a read_committed read of
/// the log answers); a producer's transaction runs from its first offset
/// to the producer's next control batch, its abort marker (a producer's
/// transactions do not overlap, so no commit marker of it falls inside).
pub fn mark_aborted(batches: &mut [LogBatch], aborted: &[(i64, i64)]) {
    let mut pending: Vec<(i64, i64)> = aborted.to_vec();
    pending.sort_by_key(|&(_, first)| first);
    let mut pending = pending.into_iter().peekable();
    let mut open: std::collections::HashSet<i64> = std::collections::HashSet::new();
    for batch in batches {
        while let Some((producer, _)) = pending.next_if(|&(_, first)| first <= batch.last) {
            open.insert(producer);
        }
        let Some(producer) = batch.transactional_producer else {
            continue;
        };
        if batch.control {
            open.remove(&producer);
        } else if open.contains(&producer) {
            batch.aborted = true;
        }
    }
}
