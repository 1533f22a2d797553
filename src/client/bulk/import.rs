//! topic-import's engine: files of records into a topic, exactly once.
//!
//! Records go in chunks, each in a transaction of a producer with a fixed
//! transactional.id; the same transaction writes to the state topic how
//! many records of each file are now in, keyed by that id. Both commit or
//! neither does. A rerun first fences the previous producer
//! (init_transactions aborts what it left open), reads the last committed
//! state, and skips what it says is in.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer as _};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::{BulkRecord, Format, Place};
use crate::client::admin::{Admin, NewTopicSpec};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::transform::{Applied, Record, Transforms};

/// The state topic used unless one is named: compacted, one partition.
pub const STATE_TOPIC: &str = "__topic-import-state";

#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub topic: String,
    pub files: Vec<PathBuf>,
    pub format: Format,
    /// Write each record to the partition it names, when the topic has it.
    pub keep_partitions: bool,
    pub transactional_id: String,
    pub chunk_records: u64,
    pub state_topic: String,
}

/// A record that cannot be read, and where it is.
#[derive(Clone, Debug)]
pub struct Problem {
    pub file: PathBuf,
    pub place: Place,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.place, self.reason)
    }
}

/// What reading every file found.
#[derive(Debug, Default)]
pub struct Validation {
    /// The records of each file, in the order given.
    pub records: Vec<u64>,
    pub problems: Vec<Problem>,
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let file = File::open(path).map_err(|cause| ClientError::Io {
        path: path.display().to_string(),
        cause,
    })?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
}

/// Reads every file through, counting records and noting each one that
/// cannot be read; a file that cannot be opened is an error.
pub fn validate(files: &[PathBuf], format: Format) -> Result<Validation> {
    let mut out = Validation::default();
    for path in files {
        let mut count = 0;
        for (place, record) in format.records(open(path)?) {
            match record {
                Ok(_) => count += 1,
                Err(reason) => out.problems.push(Problem {
                    file: path.clone(),
                    place,
                    reason,
                }),
            }
        }
        out.records.push(count);
    }
    Ok(out)
}

/// Creates the state topic unless it exists: compacted, since only the
/// last state of each import counts.
pub async fn ensure_state_topic(settings: &ClientSettings, name: &str) -> Result<()> {
    let admin = Admin::connect(settings).await?;
    let spec = NewTopicSpec {
        name: name.to_string(),
        partitions: Some(1),
        replication_factor: None,
        configs: vec![("cleanup.policy".into(), "compact".into())],
    };
    admin.create_topic(&spec, true).await.map(|_| ())
}

/// The state an import commits with each chunk: how many records of each
/// file (by absolute path) are in.
#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportState {
    pub files: BTreeMap<String, u64>,
}

/// The last committed state of import `id` in `topic` (empty for a new
/// one), read to the end of what is committed.
pub fn read_state(settings: &ClientSettings, topic: &str, id: &str) -> Result<ImportState> {
    let settings = settings.clone().with_defaults([
        ("group.id", "topic-import-state-reader"),
        ("enable.auto.commit", "false"),
        ("enable.auto.offset.store", "false"),
        ("enable.partition.eof", "true"),
        ("isolation.level", "read_committed"),
    ]);
    let timeout = settings.timeout;
    let context = || format!("cannot read the import state in topic '{topic}'");
    let consumer: BaseConsumer = settings
        .rdkafka()
        .create()
        .map_err(ClientError::kafka("cannot create the consumer"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(ClientError::kafka(context()))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    let mut tpl = TopicPartitionList::new();
    let mut left = 0;
    for p in partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, timeout)
            .map_err(ClientError::kafka(context()))?;
        if high > low {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .map_err(ClientError::kafka(context()))?;
            left += 1;
        }
    }
    let mut state = ImportState::default();
    if left == 0 {
        return Ok(state);
    }
    consumer
        .assign(&tpl)
        .map_err(ClientError::kafka(context()))?;
    let deadline = Instant::now() + timeout;
    while left > 0 {
        if Instant::now() >= deadline {
            return Err(ClientError::Invalid(format!(
                "{}: its end was not reached within {} ms",
                context(),
                timeout.as_millis()
            )));
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Err(KafkaError::PartitionEOF(_))) => left -= 1,
            Some(Err(e)) => return Err(ClientError::kafka(context())(e)),
            Some(Ok(m)) if m.key() == Some(id.as_bytes()) => {
                state = match m.payload() {
                    Some(v) => serde_json::from_slice(v).map_err(|e| {
                        ClientError::Invalid(format!(
                            "{}: the state of '{id}' at offset {} is not JSON: {e}",
                            context(),
                            m.offset()
                        ))
                    })?,
                    None => ImportState::default(),
                };
            }
            Some(Ok(_)) => {}
        }
    }
    Ok(state)
}

#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Records written by this run.
    pub records: u64,
    /// Records an earlier run had written, skipped.
    pub skipped: u64,
    pub transactions: u64,
}

/// The name a file's progress is kept under: its absolute path, so that a
/// rerun from another directory finds it.
fn state_key(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

fn send(
    producer: &BaseProducer,
    topic: &str,
    partition: Option<i32>,
    r: &BulkRecord,
) -> Result<()> {
    let headers = (!r.headers.is_empty()).then(|| {
        r.headers.iter().fold(
            OwnedHeaders::new_with_capacity(r.headers.len()),
            |h, (k, v)| {
                h.insert(Header {
                    key: k,
                    value: v.as_deref(),
                })
            },
        )
    });
    loop {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic);
        if let Some(h) = &headers {
            record = record.headers(h.clone());
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        if let Some(k) = &r.key {
            record = record.key(k);
        }
        if let Some(v) = &r.value {
            record = record.payload(v);
        }
        if let Some((_, ms)) = r.timestamp {
            record = record.timestamp(ms);
        }
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                producer.poll(Duration::from_millis(50));
            }
            Err((e, _)) => {
                return Err(ClientError::kafka(format!(
                    "cannot send to topic '{topic}'"
                ))(e))
            }
        }
    }
}

/// Commits the open transaction; one that cannot commit is aborted, so
/// that none of its records is read as written.
fn commit(producer: &BaseProducer, timeout: Duration) -> Result<()> {
    producer.commit_transaction(timeout).map_err(|e| {
        let _ = producer.abort_transaction(timeout);
        ClientError::kafka("cannot commit a transaction")(e)
    })
}

/// Imports the files `validation` read, skipping what the state says an
/// earlier run wrote. `stop` ends the import after the chunk under way;
/// `progress` gets the records written so far after each chunk.
pub fn import(
    settings: &ClientSettings,
    options: &ImportOptions,
    validation: &Validation,
    transforms: &mut Transforms,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportSummary> {
    let producer_settings = settings
        .clone()
        .with_defaults([("partitioner", "murmur2_random"), ("linger.ms", "5")])
        .set("transactional.id", &options.transactional_id)
        .set("enable.idempotence", "true");
    producer_settings.probe()?;
    let timeout = settings.timeout;
    let producer: BaseProducer = producer_settings
        .rdkafka()
        .create()
        .map_err(ClientError::kafka("cannot create the producer"))?;
    let topic = &options.topic;
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), timeout)
        .map_err(ClientError::unreachable(settings))?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none())
        .map_or(0, |t| t.partitions().len() as i32);
    if partitions == 0 {
        return Err(ClientError::Invalid(format!(
            "topic '{topic}' does not exist"
        )));
    }
    // Fences an earlier run's producer and aborts what it left open, so
    // that the state read next is the last one committed.
    producer
        .init_transactions(timeout)
        .map_err(ClientError::kafka(format!(
            "cannot start transactions as '{}'",
            options.transactional_id
        )))?;
    let mut state = read_state(settings, &options.state_topic, &options.transactional_id)?;

    let mut summary = ImportSummary::default();
    'files: for (path, total) in options.files.iter().zip(&validation.records) {
        let key = state_key(path);
        let done = state.files.get(&key).copied().unwrap_or(0);
        summary.skipped += done.min(*total);
        if done >= *total {
            continue;
        }
        let mut in_transaction = 0;
        let mut position = done;
        let records = options
            .format
            .records(open(path)?)
            .skip(done as usize)
            .take((total - done) as usize);
        for (place, record) in records {
            let record = record.map_err(|reason| {
                ClientError::Invalid(format!(
                    "{}:{place}: {reason} (the file changed after it was read through)",
                    path.display()
                ))
            })?;
            if in_transaction == 0 {
                producer
                    .begin_transaction()
                    .map_err(ClientError::kafka("cannot begin a transaction"))?;
            }
            let partition = (options.keep_partitions
                && (0..partitions).contains(&record.partition))
            .then_some(record.partition);
            if transforms.is_empty() {
                send(&producer, topic, partition, &record)?;
            } else {
                let place = format!("{}:{place}", path.display());
                let out = match transforms.apply(Record::from_bulk(topic, &record), &place)? {
                    Applied::Records(records) => records,
                    Applied::DeadLetter(letter) => vec![letter],
                };
                for r in out {
                    // A routed record (or a dead letter) goes where the
                    // producer's partitioner puts it.
                    let to = r.topic.clone();
                    let partition = partition.filter(|_| to == *topic);
                    send(&producer, &to, partition, &r.into_bulk(&record))?;
                }
            }
            in_transaction += 1;
            position += 1;
            if in_transaction == options.chunk_records || position == *total {
                state.files.insert(key.clone(), position);
                let value = serde_json::to_vec(&state).map_err(|e| {
                    ClientError::Invalid(format!("cannot encode the import state: {e}"))
                })?;
                let chunk_state = BulkRecord {
                    partition: -1,
                    offset: -1,
                    timestamp: None,
                    key: Some(options.transactional_id.as_bytes().to_vec()),
                    value: Some(value),
                    headers: Vec::new(),
                };
                send(&producer, &options.state_topic, None, &chunk_state)?;
                commit(&producer, timeout)?;
                summary.records += in_transaction;
                summary.transactions += 1;
                in_transaction = 0;
                progress(summary.records);
                if stop.load(Ordering::Relaxed) {
                    break 'files;
                }
            }
        }
    }
    Ok(summary)
}
