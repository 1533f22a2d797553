//! WebAssembly transforms (`--transform FILE.wasm`, docs/plugins.md): each
//! record a tool reads or writes goes through a chain of modules, each
//! taking one record and emitting zero or more (filter, map, route to a
//! topic, redact). `engine` runs one module; `abi` is the record encoding
//! they share; this module chains them and decides what a failure does
//! (`--on-error`).

pub mod abi;
pub mod engine;

use std::path::PathBuf;

use super::bulk::BulkRecord;
use super::config::ClientSettings;
use super::error::{ClientError, Result};
use super::format::ConsumedRecord;
use super::producer::{Producer, ProducerRecord};

/// A record as a transform sees it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Record {
    /// The topic read from or written to; on the way out, where to write
    /// it (a route), for the tools that write.
    pub topic: String,
    /// -1 when not known (a record the producer's partitioner places).
    pub partition: i32,
    /// -1 for a record not yet written.
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl From<&ConsumedRecord> for Record {
    fn from(r: &ConsumedRecord) -> Record {
        Record {
            topic: r.topic.clone(),
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp.map(|(_, ms)| ms),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
        }
    }
}

impl Record {
    /// A transformed record in place of the consumed `source`: its
    /// timestamp type is kept unless the transform changed the time.
    pub fn into_consumed(self, source: &ConsumedRecord) -> ConsumedRecord {
        let timestamp = match (source.timestamp, self.timestamp) {
            (Some((kind, before)), Some(ms)) if before == ms => Some((kind, ms)),
            (_, ms) => ms.map(|ms| ("CreateTime", ms)),
        };
        ConsumedRecord {
            topic: self.topic,
            partition: source.partition,
            offset: source.offset,
            timestamp,
            key: self.key,
            value: self.value,
            headers: self.headers,
        }
    }

    /// A record of an export or import file, which names no topic.
    pub fn from_bulk(topic: &str, r: &BulkRecord) -> Record {
        Record {
            topic: topic.to_string(),
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp.map(|(_, ms)| ms),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r.headers.clone(),
        }
    }

    /// A transformed record in place of `source` in a file: at its
    /// partition and offset, the timestamp type kept unless the time
    /// changed.
    pub fn into_bulk(self, source: &BulkRecord) -> BulkRecord {
        let timestamp = match (source.timestamp, self.timestamp) {
            (Some((kind, before)), Some(ms)) if before == ms => Some((kind, ms)),
            (_, ms) => ms.map(|ms| ("CreateTime", ms)),
        };
        BulkRecord {
            partition: source.partition,
            offset: source.offset,
            timestamp,
            key: self.key,
            value: self.value,
            headers: self.headers,
        }
    }

    pub fn into_producer(self, partition: Option<i32>) -> ProducerRecord {
        ProducerRecord {
            topic: self.topic,
            partition,
            key: self.key,
            value: self.value,
            headers: self.headers,
            timestamp: self.timestamp,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("cannot read transform {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("transform {name} cannot be loaded: {reason}")]
    Load { name: String, reason: String },
}

impl From<TransformError> for ClientError {
    fn from(e: TransformError) -> ClientError {
        ClientError::Invalid(e.to_string())
    }
}

/// What a record that a transform fails on becomes (`--on-error`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum OnError {
    /// The tool stops with the error.
    #[default]
    Fail,
    /// The record is left out and counted.
    Skip,
    /// The original record goes to this topic, headers saying why.
    DeadLetter(String),
}

impl OnError {
    /// `--on-error`'s one or two words: skip, fail or dead-letter TOPIC.
    pub fn parse(words: &[String]) -> Result<OnError> {
        match words {
            [] => Ok(OnError::Fail),
            [w] if w == "fail" => Ok(OnError::Fail),
            [w] if w == "skip" => Ok(OnError::Skip),
            [w, topic] if w == "dead-letter" && !topic.is_empty() => {
                Ok(OnError::DeadLetter(topic.clone()))
            }
            [w] if w == "dead-letter" => Err(ClientError::Invalid(
                "--on-error dead-letter needs the topic: --on-error dead-letter TOPIC".into(),
            )),
            _ => Err(ClientError::Invalid(format!(
                "--on-error takes skip, fail or dead-letter TOPIC, not '{}'",
                words.join(" ")
            ))),
        }
    }
}

/// The headers a dead letter carries, beside the original record's own.
pub const ERROR_HEADER: &str = "gregor.transform.error";
pub const TRANSFORM_HEADER: &str = "gregor.transform.name";
pub const SOURCE_HEADER: &str = "gregor.transform.source";

/// Counts of what the transforms did, for a tool's summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Records in that came out as none (filtered).
    pub dropped: u64,
    /// Records a transform failed on, left out (--on-error skip).
    pub skipped: u64,
    /// Records a transform failed on, sent to the dead-letter topic.
    pub dead_lettered: u64,
}

impl Tally {
    /// The summary's words for it, empty when nothing was left out.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.dropped > 0 {
            parts.push(format!("{} dropped by transforms", self.dropped));
        }
        if self.skipped > 0 {
            parts.push(format!("{} skipped on transform errors", self.skipped));
        }
        if self.dead_lettered > 0 {
            parts.push(format!("{} dead-lettered", self.dead_lettered));
        }
        parts.join(", ")
    }
}

/// What became of a record.
#[derive(Debug, PartialEq)]
pub enum Applied {
    /// What the chain emitted: none, one or more.
    Records(Vec<Record>),
    /// A transform failed and --on-error dead-letter holds: this record
    /// (the original, with the why-headers) goes to the dead-letter topic.
    DeadLetter(Record),
}

/// The chain of --transform modules, in order, and --on-error.
pub struct Transforms {
    chain: Vec<engine::Transform>,
    on_error: OnError,
    /// Where apply_read sends dead letters.
    dead_letters: Option<DeadLetters>,
    pub tally: Tally,
}

impl Transforms {
    /// Loads every module, each to spend at most `fuel` on a record; a
    /// chain of none passes records through untouched.
    pub fn load(paths: &[PathBuf], on_error: OnError, fuel: u64) -> Result<Transforms> {
        let chain = paths
            .iter()
            .map(|p| engine::Transform::load(p, fuel))
            .collect::<std::result::Result<_, _>>()?;
        Ok(Transforms {
            chain,
            on_error,
            dead_letters: None,
            tally: Tally::default(),
        })
    }

    /// For a tool that only reads: a producer for --on-error dead-letter,
    /// which apply_read then sends through.
    pub fn with_dead_letters(mut self, settings: &ClientSettings) -> Result<Transforms> {
        if matches!(self.on_error, OnError::DeadLetter(_)) && !self.chain.is_empty() {
            self.dead_letters = Some(DeadLetters::new(settings)?);
        }
        Ok(self)
    }

    pub fn is_empty(&self) -> bool {
        self.chain.is_empty()
    }

    pub fn on_error(&self) -> &OnError {
        &self.on_error
    }

    /// Runs the chain on `record`; `place` names it in an error (e.g.
    /// "orders-0 at offset 5", "data.jsonl:12"). Err only with
    /// --on-error fail.
    pub fn apply(&mut self, record: Record, place: &dyn std::fmt::Display) -> Result<Applied> {
        let original = matches!(self.on_error, OnError::DeadLetter(_)).then(|| record.clone());
        let mut records = vec![record];
        for transform in &mut self.chain {
            let mut next = Vec::new();
            for r in &records {
                match transform.apply(r) {
                    Ok(out) => next.extend(out),
                    Err(reason) => {
                        let name = transform.name.clone();
                        return self.failed(original, &name, reason, place);
                    }
                }
            }
            records = next;
        }
        if records.is_empty() {
            self.tally.dropped += 1;
        }
        Ok(Applied::Records(records))
    }

    /// apply, for a tool that only reads: a dead letter is written (and
    /// acknowledged) here, through the producer of with_dead_letters.
    pub fn apply_read(
        &mut self,
        record: Record,
        place: &dyn std::fmt::Display,
    ) -> Result<Vec<Record>> {
        match self.apply(record, place)? {
            Applied::Records(records) => Ok(records),
            Applied::DeadLetter(letter) => {
                let dead_letters = self.dead_letters.as_mut().ok_or_else(|| {
                    ClientError::Invalid("--on-error dead-letter has no producer".into())
                })?;
                dead_letters.send(letter)?;
                Ok(Vec::new())
            }
        }
    }

    /// A consumed record through the chain, as the records to print in its
    /// place: itself when there is no chain.
    pub fn apply_consumed(&mut self, record: ConsumedRecord) -> Result<Vec<ConsumedRecord>> {
        if self.chain.is_empty() {
            return Ok(vec![record]);
        }
        let place = format!(
            "{}-{} at offset {}",
            record.topic, record.partition, record.offset
        );
        Ok(self
            .apply_read(Record::from(&record), &place)?
            .into_iter()
            .map(|r| r.into_consumed(&record))
            .collect())
    }

    fn failed(
        &mut self,
        original: Option<Record>,
        name: &str,
        reason: String,
        place: &dyn std::fmt::Display,
    ) -> Result<Applied> {
        let error = format!("transform {name} failed on {place}: {reason}");
        match &self.on_error {
            OnError::Fail => Err(ClientError::Invalid(error)),
            OnError::Skip => {
                self.tally.skipped += 1;
                Ok(Applied::Records(Vec::new()))
            }
            OnError::DeadLetter(topic) => {
                let mut source = original.unwrap_or_else(|| unreachable!("kept for dead-letter"));
                self.tally.dead_lettered += 1;
                let where_from = place.to_string();
                source.topic.clone_from(topic);
                source.headers.extend([
                    (ERROR_HEADER.to_string(), Some(error.into_bytes())),
                    (TRANSFORM_HEADER.to_string(), Some(name.as_bytes().to_vec())),
                    (SOURCE_HEADER.to_string(), Some(where_from.into_bytes())),
                ]);
                Ok(Applied::DeadLetter(source))
            }
        }
    }
}

/// A producer for the dead letters of a tool that otherwise only reads
/// (console-consumer, topic-export): each is sent and acknowledged before
/// the tool goes on, so that no record is marked as read before its dead
/// letter is safe.
pub struct DeadLetters {
    // Declared first, so dropped first: the producer delivers what it
    // holds while the runtime is still there.
    producer: Producer,
    runtime: tokio::runtime::Runtime,
}

impl DeadLetters {
    pub fn new(settings: &ClientSettings) -> Result<DeadLetters> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Invalid(format!("cannot start the async runtime: {e}")))?;
        let producer = {
            let _entered = runtime.enter();
            Producer::new(&settings.clone().with_defaults([("linger.ms", "0")]))?
        };
        Ok(DeadLetters { producer, runtime })
    }

    pub fn send(&mut self, record: Record) -> Result<()> {
        let topic = record.topic.clone();
        self.runtime
            .block_on(self.producer.send(record.into_producer(None)))
            .map_err(|e| {
                ClientError::Invalid(format!("cannot write a dead letter to '{topic}': {e}"))
            })
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests;
