use std::path::PathBuf;

use kafka_protocol::error::ResponseError;

/// One refused record: its index in its batch and why (a Produce
/// response's record_errors entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: String,
}

/// Why the log refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("offset {offset} is outside the log's range [{log_start_offset}, {log_end_offset}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start_offset: i64,
        log_end_offset: i64,
    },
    #[error("record batch is corrupt: {0}")]
    CorruptMessage(String),
    #[error("record batch has magic {0}; only magic 2 is stored")]
    UnsupportedMagic(i8),
    #[error("record batch of {size} bytes exceeds max.message.bytes ({max})")]
    MessageTooLarge { size: usize, max: i32 },
    #[error("record batch of {size} bytes exceeds segment.bytes ({max})")]
    RecordListTooLarge { size: usize, max: u64 },
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    /// Whole records the topic does not take, each named by its index in
    /// the batch (Kafka's RecordValidationException); INVALID_TIMESTAMP if
    /// a timestamp is among the reasons, else INVALID_RECORD.
    #[error("{message}")]
    InvalidRecords {
        timestamp: bool,
        message: String,
        record_errors: Vec<RecordError>,
    },
    #[error("record batch decompresses to more than {cap} bytes, 64 times max.message.bytes")]
    InflatesTooFar { cap: u64 },
    #[error("producer {producer_id} sent sequence {sequence}; expected {expected}")]
    OutOfOrderSequence {
        producer_id: i64,
        sequence: i32,
        expected: i32,
    },
    #[error("producer {producer_id} wrote with epoch {epoch}, older than its current {current}")]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current: i16,
    },
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl LogError {
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> LogError {
        let path = path.into();
        move |source| LogError::Io { op, path, source }
    }

    /// The records a Produce response names as refused, if any.
    pub fn record_errors(&self) -> &[RecordError] {
        match self {
            LogError::InvalidRecords { record_errors, .. } => record_errors,
            _ => &[],
        }
    }

    /// Whether the error is about what the request carried, so that its
    /// text is worth telling the producer (a storage failure is not: its
    /// details stay in the broker's log).
    pub fn is_about_the_records(&self) -> bool {
        !matches!(
            self,
            LogError::Io { .. } | LogError::OffsetOutOfRange { .. }
        )
    }

    /// Whether a write failed for want of space (ENOSPC, or EDQUOT).
    pub fn is_disk_full(&self) -> bool {
        use std::io::ErrorKind;
        matches!(self, LogError::Io { source, .. }
            if matches!(source.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded))
    }

    pub fn kafka_error_code(&self) -> i16 {
        match self {
            LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
            LogError::CorruptMessage(_) => ResponseError::CorruptMessage,
            LogError::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
            LogError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
            LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
            LogError::InvalidRecord(_) => ResponseError::InvalidRecord,
            LogError::InvalidRecords {
                timestamp: true, ..
            } => ResponseError::InvalidTimestamp,
            LogError::InvalidRecords { .. } => ResponseError::InvalidRecord,
            LogError::InflatesTooFar { .. } => ResponseError::MessageTooLarge,
            LogError::OutOfOrderSequence { .. } => ResponseError::OutOfOrderSequenceNumber,
            LogError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            LogError::Io { .. } => ResponseError::KafkaStorageError,
        }
        .code()
    }
}
