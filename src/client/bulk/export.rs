//! topic-export's engine: a topic's records into files, resumable and
//! exactly once.
//!
//! A file is written under a temporary name, fsynced, renamed into place
//! and its directory fsynced; then its MANIFEST line is appended and
//! fsynced; then the offset after its last record is committed to the
//! group. The MANIFEST is the truth: on start, a file the MANIFEST does not
//! list (a crash before its line was written) and any temporary file are
//! removed, each partition resumes after the last offset the MANIFEST
//! lists for it, and the group is brought level with it (a crash between
//! the MANIFEST and the commit). Every record below a partition's resume
//! point is in exactly one listed file, and none above it is.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer as _};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, Timestamp, TopicPartitionList};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::parquet::{read_schema_file, ParquetWriter, ValueFormat, ValueSchema};
use super::{BulkRecord, Format, Streamed};
use crate::client::config::ClientSettings;
use crate::client::error::{ClientError, Result};
use crate::client::offset_spec::{parse_time, OffsetSpec};
use crate::client::transform::{Record, Transforms};

/// The file listing every finished file, one JSON object a line.
pub const MANIFEST: &str = "MANIFEST";
/// Held locked while an export writes to the directory.
const LOCK: &str = ".lock";
const TEMPORARY: &str = ".tmp";
/// The value schema an export inferred, kept so that a rerun splits
/// values into the same columns.
pub const VALUE_SCHEMA: &str = "value-schema.json";
/// Records a value schema is inferred from.
pub const INFER_RECORDS: usize = 1000;

/// Which directory a record's file goes in.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PartitionBy {
    /// partition-N/, one per partition.
    #[default]
    Partition,
    /// YYYY-MM-DDTHH/ of the record's timestamp, in UTC.
    Hour,
    /// YYYY-MM-DD/ of the record's timestamp, in UTC.
    Day,
}

/// Where an export stops in each partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The end the partition had when the export started.
    End,
    /// Before this offset (or the end at start, if that comes first).
    Offset(i64),
    /// Before the first record at or after this time (epoch ms).
    Time(i64),
}

impl Until {
    /// `latest`, `N` or `@TIME` as console-consumer's --offset takes times.
    pub fn parse(s: &str, now_ms: i64) -> std::result::Result<Until, String> {
        match s {
            "latest" | "end" => return Ok(Until::End),
            _ => {}
        }
        if let Some(time) = s.strip_prefix('@') {
            return parse_time(time, now_ms).map(Until::Time);
        }
        match s.parse::<i64>() {
            Ok(n) if n >= 0 => Ok(Until::Offset(n)),
            _ => Err(format!(
                "'{s}' is not an end; use latest, an offset N, @TIMESTAMP or @-DURATION"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ExportOptions {
    pub topic: String,
    pub dir: PathBuf,
    pub format: Format,
    pub group: String,
    /// Where a partition with no MANIFEST entry and no committed offset starts.
    pub from: OffsetSpec,
    pub until: Until,
    pub max_records: Option<u64>,
    pub roll_records: u64,
    pub roll_bytes: u64,
    pub partition_by: PartitionBy,
    /// Parquet only: values as bytes or split into JSON columns.
    pub value_format: ValueFormat,
    /// The columns of --value-format json, rather than inferred ones.
    pub value_schema: Option<PathBuf>,
}

/// One finished file, as its MANIFEST line says.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The path relative to the export directory.
    pub file: String,
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    pub records: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// How far an export has got.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    pub records: u64,
    pub bytes: u64,
    /// Records left before every partition's end.
    pub lag: u64,
}

#[derive(Debug, Default)]
pub struct ExportSummary {
    pub records: u64,
    pub bytes: u64,
    pub files: u64,
    /// Files of an interrupted run that no MANIFEST line covered, removed.
    pub removed: Vec<PathBuf>,
    /// Partitions resumed from the MANIFEST.
    pub resumed: usize,
    /// Partitions the MANIFEST does not cover that resumed from the
    /// group's committed offsets (another directory's export, say).
    pub from_group: usize,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClientError + '_ {
    move |cause| ClientError::Io {
        path: path.display().to_string(),
        cause,
    }
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

/// Reads the MANIFEST of `dir` (none yet is an empty list). A last line
/// cut short by a crash is dropped from the file; a bad line before it is
/// an error.
pub fn read_manifest(dir: &Path) -> Result<Vec<ManifestEntry>> {
    let path = dir.join(MANIFEST);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&path)(e)),
    };
    let mut entries = Vec::new();
    let mut good = 0;
    let mut lines = bytes
        .split_inclusive(|b| *b == b'\n')
        .enumerate()
        .peekable();
    while let Some((n, line)) = lines.next() {
        let last = lines.peek().is_none();
        let parsed = line
            .strip_suffix(b"\n")
            .ok_or_else(|| "cut short".to_string())
            .and_then(|l| serde_json::from_slice::<ManifestEntry>(l).map_err(|e| e.to_string()));
        match parsed {
            Ok(entry) => {
                entries.push(entry);
                good += line.len();
            }
            Err(_) if last => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(io_error(&path))?;
                file.set_len(good as u64)
                    .and_then(|()| file.sync_all())
                    .map_err(io_error(&path))?;
            }
            Err(e) => {
                return Err(ClientError::Invalid(format!(
                    "{}:{}: not a MANIFEST entry: {e}",
                    path.display(),
                    n + 1
                )))
            }
        }
    }
    Ok(entries)
}

/// Whether a file name is one an export of `topic` writes:
/// `<topic>-<partition>-<20-digit offset>.<format>`, or that with `.tmp`.
/// Nothing else in the directory is touched.
fn exported_name(topic: &str, name: &str) -> bool {
    let name = name.strip_suffix(TEMPORARY).unwrap_or(name);
    let Some((stem, extension)) = name.rsplit_once('.') else {
        return false;
    };
    let known = <Format as clap::ValueEnum>::value_variants()
        .iter()
        .any(|f| f.extension() == extension);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let placed = stem
        .strip_prefix(topic)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(partition, offset)| {
            digits(partition) && offset.len() == 20 && digits(offset)
        });
    known && placed
}

/// Removes what an interrupted export left that the MANIFEST does not
/// list: temporary files, and finished files whose line was never written.
fn remove_unlisted(dir: &Path, topic: &str, listed: &HashSet<&str>) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for bucket in fs::read_dir(dir).map_err(io_error(dir))? {
        let bucket = bucket.map_err(io_error(dir))?;
        if !bucket.file_type().map_err(io_error(dir))?.is_dir() {
            continue;
        }
        let bucket_path = bucket.path();
        let mut changed = false;
        for file in fs::read_dir(&bucket_path).map_err(io_error(&bucket_path))? {
            let file = file.map_err(io_error(&bucket_path))?;
            let name = file.file_name().to_string_lossy().into_owned();
            let relative = format!("{}/{name}", bucket.file_name().to_string_lossy());
            if exported_name(topic, &name) && !listed.contains(relative.as_str()) {
                fs::remove_file(file.path()).map_err(io_error(&file.path()))?;
                removed.push(file.path());
                changed = true;
            }
        }
        if changed {
            sync_dir(&bucket_path)?;
        }
    }
    removed.sort();
    Ok(removed)
}

/// A file's bytes on their way to disk, hashed and counted as they go.
struct Hashed {
    out: BufWriter<File>,
    hash: Sha256,
    bytes: u64,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

enum Sink {
    Streamed(Streamed, Hashed),
    Parquet(Box<ParquetWriter<Hashed>>),
}

/// A file being written.
struct OpenFile {
    bucket: String,
    relative: String,
    temporary: PathBuf,
    sink: Sink,
    first: i64,
    last: i64,
    records: u64,
}

impl OpenFile {
    /// What the file is rolled on: its bytes, with those of the records a
    /// Parquet file holds for its next row group.
    fn size(&self) -> u64 {
        match &self.sink {
            Sink::Streamed(_, out) => out.bytes,
            Sink::Parquet(w) => w.size(),
        }
    }

    /// Bytes written to the file so far.
    fn written(&self) -> u64 {
        match &self.sink {
            Sink::Streamed(_, out) => out.bytes,
            Sink::Parquet(w) => w.written(),
        }
    }
}

fn parquet_error(path: &Path) -> impl FnOnce(String) -> ClientError + '_ {
    move |e| ClientError::Invalid(format!("{}: {e}", path.display()))
}

/// The directory a record's file goes in.
fn bucket_of(by: PartitionBy, partition: i32, timestamp: Option<i64>) -> String {
    let ms = match (by, timestamp) {
        (PartitionBy::Partition, _) => return format!("partition-{partition}"),
        (_, Some(ms)) if ms >= 0 => ms as u64,
        _ => return "no-timestamp".to_string(),
    };
    let time =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms)).to_string();
    match by {
        PartitionBy::Hour => time[..13].to_string(),
        _ => time[..10].to_string(),
    }
}

struct Exporter<'a> {
    options: &'a ExportOptions,
    consumer: BaseConsumer,
    manifest: File,
    open: HashMap<i32, OpenFile>,
    buffer: Vec<u8>,
    summary: ExportSummary,
    /// The columns JSON values are split into (Parquet files only).
    value_schema: Option<ValueSchema>,
    /// The first records, held while a value schema is inferred from them.
    sample: Option<Vec<BulkRecord>>,
}

impl Exporter<'_> {
    fn commit(&self, partition: i32, next: i64) -> Result<()> {
        let (topic, group) = (&self.options.topic, &self.options.group);
        let context =
            || format!("cannot commit offset {next} of {topic}-{partition} for group '{group}'");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, Offset::Offset(next))
            .map_err(ClientError::kafka(context()))?;
        self.consumer
            .commit(&tpl, CommitMode::Sync)
            .map_err(ClientError::kafka(context()))
    }

    fn write(&mut self, record: BulkRecord) -> Result<()> {
        self.summary.records += 1;
        if let Some(sample) = &mut self.sample {
            sample.push(record);
            if sample.len() >= INFER_RECORDS {
                self.settle_value_schema()?;
            }
            return Ok(());
        }
        self.write_now(record)
    }

    /// Infers the value schema from the records held for it, keeps it in
    /// the directory for a rerun, and writes the records.
    fn settle_value_schema(&mut self) -> Result<()> {
        let Some(sample) = self.sample.take() else {
            return Ok(());
        };
        // Nothing to infer from: a rerun infers from its own first records.
        if sample.is_empty() {
            return Ok(());
        }
        let schema = ValueSchema::infer(sample.iter().filter_map(|r| r.value.as_deref()));
        let mut text = serde_json::to_vec_pretty(&schema)
            .map_err(|e| ClientError::Invalid(format!("cannot encode the value schema: {e}")))?;
        text.push(b'\n');
        let path = self.options.dir.join(VALUE_SCHEMA);
        let temporary = self.options.dir.join(format!("{VALUE_SCHEMA}{TEMPORARY}"));
        File::create(&temporary)
            .and_then(|mut f| f.write_all(&text).and_then(|()| f.sync_all()))
            .map_err(io_error(&temporary))?;
        fs::rename(&temporary, &path).map_err(io_error(&path))?;
        sync_dir(&self.options.dir)?;
        self.value_schema = Some(schema);
        for record in sample {
            self.write_now(record)?;
        }
        Ok(())
    }

    fn write_now(&mut self, record: BulkRecord) -> Result<()> {
        let bucket = bucket_of(
            self.options.partition_by,
            record.partition,
            record.timestamp.map(|t| t.1),
        );
        if self
            .open
            .get(&record.partition)
            .is_some_and(|f| f.bucket != bucket)
        {
            self.finish(record.partition)?;
        }
        let (partition, offset) = (record.partition, record.offset);
        if !self.open.contains_key(&partition) {
            let file = self.create(bucket, &record)?;
            self.open.insert(partition, file);
        }
        let file = self
            .open
            .get_mut(&partition)
            .unwrap_or_else(|| unreachable!("opened above"));
        match &mut file.sink {
            Sink::Streamed(format, out) => {
                self.buffer.clear();
                format.encode(&record, &mut self.buffer);
                out.write_all(&self.buffer)
                    .map_err(io_error(&file.temporary))?;
            }
            Sink::Parquet(writer) => writer
                .write(record)
                .map_err(parquet_error(&file.temporary))?,
        }
        file.last = offset;
        file.records += 1;
        if file.records >= self.options.roll_records || file.size() >= self.options.roll_bytes {
            self.finish(partition)?;
        }
        Ok(())
    }

    fn create(&self, bucket: String, record: &BulkRecord) -> Result<OpenFile> {
        let dir = self.options.dir.join(&bucket);
        if !dir.exists() {
            fs::create_dir(&dir).map_err(io_error(&dir))?;
            sync_dir(&self.options.dir)?;
        }
        let name = format!(
            "{}-{}-{:020}.{}",
            self.options.topic,
            record.partition,
            record.offset,
            self.options.format.extension()
        );
        let temporary = dir.join(format!("{name}{TEMPORARY}"));
        let file = File::create(&temporary).map_err(io_error(&temporary))?;
        let mut out = Hashed {
            out: BufWriter::with_capacity(1 << 20, file),
            hash: Sha256::new(),
            bytes: 0,
        };
        let sink = match self.options.format.streamed() {
            Some(format) => {
                out.write_all(&format.preamble())
                    .map_err(io_error(&temporary))?;
                Sink::Streamed(format, out)
            }
            None => Sink::Parquet(Box::new(
                ParquetWriter::new(out, self.value_schema.clone())
                    .map_err(parquet_error(&temporary))?,
            )),
        };
        Ok(OpenFile {
            relative: format!("{bucket}/{name}"),
            bucket,
            temporary,
            sink,
            first: record.offset,
            last: record.offset,
            records: 0,
        })
    }

    /// Makes a partition's open file visible and durable, lists it, and
    /// only then commits the offsets it covers.
    fn finish(&mut self, partition: i32) -> Result<()> {
        let Some(file) = self.open.remove(&partition) else {
            return Ok(());
        };
        let temporary = file.temporary.clone();
        let hashed = match file.sink {
            Sink::Streamed(_, out) => out,
            Sink::Parquet(writer) => writer.finish().map_err(parquet_error(&temporary))?,
        };
        let written = hashed
            .out
            .into_inner()
            .map_err(|e| io_error(&temporary)(e.into_error()))?;
        written.sync_all().map_err(io_error(&temporary))?;
        let path = self.options.dir.join(&file.relative);
        fs::rename(&temporary, &path).map_err(io_error(&path))?;
        sync_dir(path.parent().unwrap_or(&self.options.dir))?;
        let entry = ManifestEntry {
            file: file.relative,
            topic: self.options.topic.clone(),
            partition,
            first_offset: file.first,
            last_offset: file.last,
            records: file.records,
            bytes: hashed.bytes,
            sha256: format!("{:x}", hashed.hash.finalize()),
        };
        let mut line = serde_json::to_vec(&entry)
            .map_err(|e| ClientError::Invalid(format!("cannot encode a MANIFEST entry: {e}")))?;
        line.push(b'\n');
        let manifest = self.options.dir.join(MANIFEST);
        self.manifest
            .write_all(&line)
            .and_then(|()| self.manifest.sync_data())
            .map_err(io_error(&manifest))?;
        self.summary.files += 1;
        self.summary.bytes += entry.bytes;
        self.commit(partition, entry.last_offset + 1)
    }
}

/// The consumed message as a file keeps it.
fn bulk_record(m: &BorrowedMessage<'_>) -> BulkRecord {
    let timestamp = match m.timestamp() {
        Timestamp::CreateTime(ms) => Some(("CreateTime", ms)),
        Timestamp::LogAppendTime(ms) => Some(("LogAppendTime", ms)),
        Timestamp::NotAvailable => None,
    };
    BulkRecord {
        partition: m.partition(),
        offset: m.offset(),
        timestamp,
        key: m.key().map(<[u8]>::to_vec),
        value: m.payload().map(<[u8]>::to_vec),
        headers: m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_string(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// For each partition, the first offset at or after `ms`; None where no
/// record is that late.
fn offsets_for_time(
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    ms: i64,
    timeout: Duration,
) -> Result<HashMap<i32, i64>> {
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, *p, Offset::Offset(ms))
            .map_err(ClientError::kafka("cannot look up offsets by time"))?;
    }
    let found = consumer
        .offsets_for_times(tpl, timeout)
        .map_err(ClientError::kafka("cannot look up offsets by time"))?;
    Ok(found
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect())
}

/// Exports until every partition reaches its end, --max-records are
/// written, or `stop` is set; the files open then are finished, so that a
/// stop loses no work. `progress` is called a few times a second.
pub fn export(
    settings: &ClientSettings,
    options: &ExportOptions,
    transforms: &mut Transforms,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExportSummary> {
    let json_values = options.value_format == ValueFormat::Json;
    if json_values && options.format != Format::Parquet {
        return Err(ClientError::Invalid(
            "--value-format json needs --format parquet".into(),
        ));
    }
    if options.value_schema.is_some() && !json_values {
        return Err(ClientError::Invalid(
            "--value-schema needs --value-format json".into(),
        ));
    }
    let value_schema = match &options.value_schema {
        Some(path) => Some(read_schema_file(path).map_err(ClientError::Invalid)?),
        None => None,
    };
    let dir = &options.dir;
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let lock_path = dir.join(LOCK);
    let lock = File::create(&lock_path).map_err(io_error(&lock_path))?;
    match fs4::FileExt::try_lock(&lock) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            return Err(ClientError::Invalid(format!(
                "another topic-export is writing to {}",
                dir.display()
            )))
        }
        Err(fs4::TryLockError::Error(e)) => return Err(io_error(&lock_path)(e)),
    }

    let entries = read_manifest(dir)?;
    if let Some(other) = entries.iter().find(|e| e.topic != options.topic) {
        return Err(ClientError::Invalid(format!(
            "{} holds an export of topic '{}', not '{}'",
            dir.display(),
            other.topic,
            options.topic
        )));
    }
    let listed: HashSet<&str> = entries.iter().map(|e| e.file.as_str()).collect();
    if let Some(other) = entries.iter().find(|e| {
        !e.file
            .ends_with(&format!(".{}", options.format.extension()))
    }) {
        return Err(ClientError::Invalid(format!(
            "{} holds files of another format ({}); export to another directory or give that --format",
            dir.display(),
            other.file
        )));
    }
    let removed = remove_unlisted(dir, &options.topic, &listed)?;
    let saved_schema = dir.join(VALUE_SCHEMA);
    let value_schema = match value_schema {
        Some(schema) => Some(schema),
        None if json_values && saved_schema.exists() => {
            Some(read_schema_file(&saved_schema).map_err(ClientError::Invalid)?)
        }
        None => None,
    };
    let mut listed_next: BTreeMap<i32, i64> = BTreeMap::new();
    for e in &entries {
        let next = listed_next.entry(e.partition).or_insert(0);
        *next = (*next).max(e.last_offset + 1);
    }

    let settings = settings
        .clone()
        .with_defaults([
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "true"),
            ("isolation.level", "read_committed"),
            ("auto.offset.reset", "earliest"),
            ("fetch.queue.backoff.ms", "10"),
        ])
        .set("group.id", &options.group);
    settings.probe()?;
    let timeout = settings.timeout;
    let consumer: BaseConsumer = settings
        .rdkafka()
        .create()
        .map_err(ClientError::kafka("cannot create the consumer"))?;
    let topic = &options.topic;
    let metadata = consumer
        .fetch_metadata(Some(topic), timeout)
        .map_err(ClientError::unreachable(&settings))?;
    let mut partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    partitions.sort_unstable();
    if partitions.is_empty() {
        return Err(ClientError::Invalid(format!(
            "topic '{topic}' does not exist"
        )));
    }

    let mut tpl = TopicPartitionList::new();
    for p in &partitions {
        tpl.add_partition(topic, *p);
    }
    let committed = consumer
        .committed_offsets(tpl, timeout)
        .map_err(ClientError::kafka(format!(
            "cannot read the offsets of group '{}'",
            options.group
        )))?;
    let committed: HashMap<i32, i64> = committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect();
    let mut watermarks = HashMap::new();
    for p in &partitions {
        let marks = consumer
            .fetch_watermarks(topic, *p, timeout)
            .map_err(ClientError::kafka(format!(
                "cannot read the offsets of {topic}-{p}"
            )))?;
        watermarks.insert(*p, marks);
    }
    let ends = match options.until {
        Until::Time(ms) => offsets_for_time(&consumer, topic, &partitions, ms, timeout)?,
        _ => HashMap::new(),
    };
    let from_time = match options.from {
        OffsetSpec::Timestamp(ms) => offsets_for_time(&consumer, topic, &partitions, ms, timeout)?,
        _ => HashMap::new(),
    };

    let mut exporter = Exporter {
        options,
        consumer,
        manifest: OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(MANIFEST))
            .map_err(io_error(&dir.join(MANIFEST)))?,
        open: HashMap::new(),
        buffer: Vec::new(),
        summary: ExportSummary {
            removed,
            ..ExportSummary::default()
        },
        sample: (json_values && value_schema.is_none()).then(Vec::new),
        value_schema,
    };
    // (next offset, end) of each partition still to read.
    let mut pending: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
    let mut assignment = TopicPartitionList::new();
    for p in &partitions {
        let (low, high) = watermarks[p];
        let end = match options.until {
            Until::End => high,
            Until::Offset(n) => n.min(high),
            Until::Time(_) => ends.get(p).copied().unwrap_or(high).min(high),
        };
        let start = match (listed_next.get(p), committed.get(p)) {
            (Some(listed), on_record) => {
                if on_record != Some(listed) {
                    exporter.commit(*p, *listed)?;
                }
                exporter.summary.resumed += 1;
                *listed
            }
            (None, Some(on_record)) => {
                exporter.summary.from_group += 1;
                *on_record
            }
            (None, None) => match options.from {
                OffsetSpec::Earliest => low,
                OffsetSpec::Latest => high,
                OffsetSpec::At(n) => n,
                OffsetSpec::FromEnd(n) => (high - n).max(low),
                OffsetSpec::Timestamp(_) => from_time.get(p).copied().unwrap_or(high),
            },
        };
        if start < end {
            pending.insert(*p, (start, end));
            assignment
                .add_partition_offset(topic, *p, Offset::Offset(start))
                .map_err(ClientError::kafka("cannot assign partitions"))?;
        }
    }
    exporter
        .consumer
        .assign(&assignment)
        .map_err(ClientError::kafka("cannot assign partitions"))?;

    let mut last_report = Instant::now();
    let report = |exporter: &Exporter, pending: &BTreeMap<i32, (i64, i64)>| Progress {
        records: exporter.summary.records,
        bytes: exporter.summary.bytes + exporter.open.values().map(OpenFile::written).sum::<u64>(),
        lag: pending
            .values()
            .map(|(next, end)| (end - next).max(0) as u64)
            .sum(),
    };
    while !pending.is_empty()
        && !stop.load(Ordering::Relaxed)
        && options
            .max_records
            .is_none_or(|max| exporter.summary.records < max)
    {
        if last_report.elapsed() >= Duration::from_millis(200) {
            progress(&report(&exporter, &pending));
            last_report = Instant::now();
        }
        let record = match exporter.consumer.poll(Duration::from_millis(100)) {
            None => continue,
            // At the end of what can be read now: the end recorded at
            // start, or an open transaction's first record, which a later
            // run exports once it is committed.
            Some(Err(KafkaError::PartitionEOF(p))) => {
                pending.remove(&p);
                continue;
            }
            Some(Err(e)) => {
                let e = ClientError::kafka(format!("cannot read topic '{topic}'"))(e);
                if e.is_transient() {
                    continue;
                }
                return Err(e);
            }
            Some(Ok(m)) => bulk_record(&m),
        };
        let Some((next, end)) = pending.get_mut(&record.partition) else {
            continue;
        };
        if record.offset >= *end {
            pending.remove(&record.partition);
            continue;
        }
        *next = record.offset + 1;
        if *next >= *end {
            pending.remove(&record.partition);
        }
        if transforms.is_empty() {
            exporter.write(record)?;
            continue;
        }
        // A route is not followed: the files hold one topic's partitions.
        let place = format!("{topic}-{} at offset {}", record.partition, record.offset);
        for r in transforms.apply_read(Record::from_bulk(topic, &record), &place)? {
            exporter.write(r.into_bulk(&record))?;
        }
    }
    exporter.settle_value_schema()?;
    let open: Vec<i32> = exporter.open.keys().copied().collect();
    for p in open {
        exporter.finish(p)?;
    }
    progress(&report(&exporter, &pending));
    Ok(exporter.summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_record_time_in_utc() {
        let ms = Some(1_700_000_000_000);
        assert_eq!(bucket_of(PartitionBy::Partition, 3, ms), "partition-3");
        assert_eq!(bucket_of(PartitionBy::Hour, 3, ms), "2023-11-14T22");
        assert_eq!(bucket_of(PartitionBy::Day, 3, ms), "2023-11-14");
        assert_eq!(bucket_of(PartitionBy::Day, 3, None), "no-timestamp");
    }

    #[test]
    fn a_cut_last_manifest_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let entry = ManifestEntry {
            file: "partition-0/t-0-00000000000000000000.jsonl".into(),
            topic: "t".into(),
            partition: 0,
            first_offset: 0,
            last_offset: 9,
            records: 10,
            bytes: 100,
            sha256: "00".into(),
        };
        let mut text = serde_json::to_string(&entry).unwrap();
        text.push('\n');
        let whole = text.len() as u64;
        text.push_str("{\"file\":");
        fs::write(dir.path().join(MANIFEST), &text).unwrap();
        assert_eq!(read_manifest(dir.path()).unwrap(), vec![entry]);
        assert_eq!(
            fs::metadata(dir.path().join(MANIFEST)).unwrap().len(),
            whole
        );
        fs::write(dir.path().join(MANIFEST), format!("x\n{text}")).unwrap();
        let error = read_manifest(dir.path()).unwrap_err().to_string();
        assert!(
            error.ends_with("MANIFEST:1: not a MANIFEST entry: expected value at line 1 column 1"),
            "{error}"
        );
    }

    #[test]
    fn only_files_an_export_writes_are_ever_removed() {
        assert!(exported_name(
            "orders",
            "orders-3-00000000000000000042.jsonl"
        ));
        assert!(exported_name(
            "orders",
            "orders-3-00000000000000000042.csv.tmp"
        ));
        assert!(exported_name("a-b", "a-b-0-00000000000000000000.raw"));
        for other in [
            "orders-3-42.jsonl",
            "orders-x-00000000000000000042.jsonl",
            "orders-3-00000000000000000042.txt",
            "audit-3-00000000000000000042.jsonl",
            "notes.csv",
            "MANIFEST",
        ] {
            assert!(!exported_name("orders", other), "{other}");
        }
    }

    #[test]
    fn ends_parse() {
        assert_eq!(Until::parse("latest", 0), Ok(Until::End));
        assert_eq!(Until::parse("42", 0), Ok(Until::Offset(42)));
        assert_eq!(Until::parse("@-1s", 5000), Ok(Until::Time(4000)));
        assert!(Until::parse("-3", 0).is_err());
    }
}
