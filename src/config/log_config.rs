/// Which timestamp a batch carries once stored (`message.timestamp.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    CreateTime,
    LogAppendTime,
}

/// The resolved, typed settings one partition's log runs with: topic-level
/// overrides applied on top of the broker's `log.*` defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes`: roll to a new segment once the active one would exceed this.
    pub segment_bytes: u64,
    /// `segment.ms`: roll once the active segment's first batch is older than this.
    pub segment_ms: i64,
    /// `retention.ms`: delete whole segments whose newest record is older; -1 keeps forever.
    pub retention_ms: i64,
    /// `retention.bytes`: delete oldest whole segments while the log is larger; -1 is unbounded.
    pub retention_bytes: i64,
    /// `flush.messages`: fsync after this many messages (1 = before every ack).
    pub flush_messages: i64,
    /// `flush.ms`: fsync when the oldest unflushed write is older than this.
    pub flush_ms: i64,
    /// `max.message.bytes`: largest record batch accepted.
    pub max_message_bytes: i32,
    /// `message.timestamp.type`.
    pub message_timestamp_type: TimestampType,
    /// `message.timestamp.before.max.ms`: how far a CreateTime record may
    /// lag the broker's clock.
    pub message_timestamp_before_max_ms: i64,
    /// `message.timestamp.after.max.ms`: how far a CreateTime record may be
    /// ahead of the broker's clock.
    pub message_timestamp_after_max_ms: i64,
    /// `index.interval.bytes`: bytes between sparse index entries.
    pub index_interval_bytes: u32,
    /// `segment.index.bytes`: maximum size of one segment's offset index; a full index rolls the segment.
    pub segment_index_bytes: u32,
    /// `file.delete.delay.ms`: how long a deleted segment lingers before its files go.
    pub file_delete_delay_ms: i64,
    /// `producer.id.expiration.ms` (broker-wide): forget an idempotent
    /// producer this long after its last write to the partition.
    pub producer_id_expiration_ms: i64,
    /// `cleanup.policy` contains `delete`: retention deletes old segments.
    pub cleanup_delete: bool,
    /// `cleanup.policy` contains `compact`: the cleaner keeps each key's latest record.
    pub cleanup_compact: bool,
    /// `delete.retention.ms`: how long the cleaner keeps tombstones.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms`: records younger than this are not compacted.
    pub min_compaction_lag_ms: i64,
    /// `gregor.log.writeback.bytes` (broker-wide, Gregor's own): start writeback of
    /// the active segment every this many bytes appended; 0 leaves it to the kernel.
    pub writeback_bytes: u64,
}

impl Default for LogConfig {
    /// Kafka's defaults, and the broker's default gregor.log.writeback.bytes.
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            flush_messages: i64::MAX,
            flush_ms: i64::MAX,
            max_message_bytes: 1024 * 1024 + 12,
            message_timestamp_type: TimestampType::CreateTime,
            message_timestamp_before_max_ms: i64::MAX,
            message_timestamp_after_max_ms: 60 * 60 * 1000,
            index_interval_bytes: 4096,
            segment_index_bytes: 10 * 1024 * 1024,
            file_delete_delay_ms: 60_000,
            producer_id_expiration_ms: 24 * 60 * 60 * 1000,
            cleanup_delete: true,
            cleanup_compact: false,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            writeback_bytes: 1024 * 1024,
        }
    }
}
