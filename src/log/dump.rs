//! What `log-dump` shows of a stopped broker's files, as Kafka's
//! DumpLogSegments does: a segment's batches (and with deep iteration its
//! records), an offset or time index checked against its segment, the
//! leader-epoch checkpoint and a producer state snapshot.
//!
//! Files are only read, through the same readers the log opens them with,
//! never repaired: damage (a CRC that fails, bytes that are no batch, an
//! index entry pointing where no batch is) is reported with the file and
//! byte position and the dump goes on where it can.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use kafka_protocol::records::Record;
use serde::Serialize;
use serde_json::Value;

use super::batch::{self, BatchHeader};
use super::control::{self, CONTROL_BIT, TRANSACTIONAL_BIT};
use super::index::{self, OFFSET_ENTRY_LEN, TIME_ENTRY_LEN};
use super::producer_state::{ProducerStateManager, SnapshotProducer};
use super::records::{self, Codec};
use super::segment::{self, Fault};
use super::{cleaner, epoch};

/// Turns a record of an internal topic into Kafka's decoded `key` and
/// `payload` (`--offsets-decoder`, `--transaction-log-decoder`); `Ok(None)`
/// for a record it does not know.
pub type Decoder = dyn Fn(Record) -> Result<Option<(Value, Value)>, String>;

/// What to show.
#[derive(Default)]
pub struct Options<'a> {
    /// Every record of every batch, not only the batch headers.
    pub deep_iteration: bool,
    /// Records' keys and values too (implies deep iteration, as in Kafka).
    pub print_data_log: bool,
    /// For an index: only whether it passes the checks, not its entries.
    pub index_sanity_check: bool,
    /// For an index: only the entries that do not match the segment.
    pub verify_index_only: bool,
    /// Decodes records' keys and values (implies `print_data_log`).
    pub decoder: Option<&'a Decoder>,
}

impl Options<'_> {
    fn print_data(&self) -> bool {
        self.print_data_log || self.decoder.is_some()
    }

    fn deep(&self) -> bool {
        self.deep_iteration || self.print_data()
    }
}

/// One file's dump.
#[derive(Debug, Serialize)]
pub struct FileDump {
    pub file: PathBuf,
    #[serde(flatten)]
    pub contents: Contents,
    /// Everything found wrong, in file order.
    pub damage: Vec<Damage>,
}

/// Something wrong in a file, at a byte position when one can be named.
#[derive(Debug, Clone, Serialize)]
pub struct Damage {
    pub position: Option<u64>,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Contents {
    Segment {
        log_starting_offset: i64,
        batches: Vec<BatchDump>,
    },
    OffsetIndex {
        entries: Vec<OffsetEntry>,
    },
    TimeIndex {
        entries: Vec<TimeEntry>,
    },
    LeaderEpochCheckpoint {
        entries: Vec<EpochEntry>,
    },
    ProducerSnapshot {
        producers: Vec<SnapshotProducer>,
    },
    /// A file log-dump does not know, skipped as Kafka's tool does.
    Unknown,
}

#[derive(Debug, Serialize)]
pub struct BatchDump {
    pub base_offset: i64,
    pub last_offset: i64,
    pub count: i32,
    pub base_sequence: i32,
    pub last_sequence: i32,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub partition_leader_epoch: i32,
    pub is_transactional: bool,
    pub is_control: bool,
    pub position: u64,
    /// `CreateTime` or `LogAppendTime`.
    pub timestamp_type: &'static str,
    /// The batch's max timestamp, as Kafka's tool prints it.
    pub timestamp: i64,
    pub size: u64,
    pub magic: i8,
    pub compresscodec: &'static str,
    pub crc: u32,
    pub is_valid: bool,
    /// With deep iteration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<Vec<RecordDump>>,
}

#[derive(Debug, Serialize)]
pub struct RecordDump {
    pub offset: i64,
    pub timestamp: i64,
    pub key_size: i64,
    pub value_size: i64,
    pub sequence: i32,
    pub header_keys: Vec<String>,
    /// A control record's marker (`COMMIT` / `ABORT`) and coordinator epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_txn_marker: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinator_epoch: Option<i32>,
    /// With `--print-data-log`: the bytes as UTF-8 (lossy), or decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

#[derive(Debug, Serialize)]
pub struct OffsetEntry {
    pub offset: i64,
    pub position: u32,
}

#[derive(Debug, Serialize)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub offset: i64,
}

#[derive(Debug, Serialize)]
pub struct EpochEntry {
    pub epoch: i32,
    pub start_offset: i64,
}

/// Kafka's default max.message.bytes: a dump inflates a compressed batch no
/// further than a broker with the default would have taken it.
const DEFAULT_MAX_MESSAGE_BYTES: i32 = 1024 * 1024 + 12;

/// Dumps one file, chosen by its name as the log names them.
pub fn dump(path: &Path, options: &Options<'_>) -> FileDump {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string());
    let (contents, damage) = match name.as_deref() {
        Some(n) if n.ends_with(".log") => segment_dump(path, options),
        Some(n) if n.ends_with(".index") => offset_index_dump(path),
        Some(n) if n.ends_with(".timeindex") => time_index_dump(path),
        Some(n) if n.ends_with(".snapshot") => snapshot_dump(path),
        Some("leader-epoch-checkpoint") => epoch_dump(path),
        _ => (Contents::Unknown, Vec::new()),
    };
    FileDump {
        file: path.to_path_buf(),
        contents,
        damage,
    }
}

fn unreadable(e: std::io::Error) -> Damage {
    Damage {
        position: None,
        message: format!("cannot read: {e}"),
    }
}

/// The base offset in a `<20 digits>.<ext>` name.
fn base_offset_of(path: &Path) -> Option<i64> {
    path.file_stem()?.to_str()?.parse().ok()
}

/// The batches of a segment file up to the first bytes that are no batch.
fn scan_batches(path: &Path) -> std::io::Result<(Vec<segment::BatchPosition>, Option<Damage>)> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut batches = Vec::new();
    let mut position = 0;
    while position < size {
        match segment::batch_at(&file, size, position) {
            Ok(b) => {
                position += b.size;
                batches.push(b);
            }
            Err(Fault::Io(e)) => return Err(e),
            Err(Fault::Invalid(why)) => {
                let message = format!(
                    "found {} invalid bytes at the end of the segment: {why}",
                    size - position
                );
                return Ok((
                    batches,
                    Some(Damage {
                        position: Some(position),
                        message,
                    }),
                ));
            }
        }
    }
    Ok((batches, None))
}

fn segment_dump(path: &Path, options: &Options<'_>) -> (Contents, Vec<Damage>) {
    let log_starting_offset = base_offset_of(path).unwrap_or(0);
    let mut damage = Vec::new();
    let (positions, tail) = match scan_batches(path) {
        Ok(scan) => scan,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    let cap = records::inflation_cap(DEFAULT_MAX_MESSAGE_BYTES);
    let mut batches = Vec::with_capacity(positions.len());
    for b in positions {
        let mut bytes = vec![0u8; b.size as usize];
        if let Err(e) = std::os::unix::fs::FileExt::read_exact_at(&file, &mut bytes, b.position) {
            damage.push(unreadable(e));
            break;
        }
        let at = |message: String| Damage {
            position: Some(b.position),
            message,
        };
        let check = batch::check_batch(&bytes);
        if let Err(e) = &check {
            damage.push(at(format!("batch at offset {}: {e}", b.header.base_offset)));
        }
        let records = (options.deep() && check.is_ok())
            .then(
                || match cleaner::decode(Bytes::from(bytes), &b.header, cap) {
                    Ok(records) => Some(
                        records
                            .into_iter()
                            .map(|r| record_dump(r, options))
                            .collect::<Vec<_>>(),
                    ),
                    Err(e) => {
                        damage.push(at(format!(
                            "records of the batch at offset {}: {e}",
                            b.header.base_offset
                        )));
                        None
                    }
                },
            )
            .flatten();
        batches.push(batch_dump(&b, check.is_ok(), records));
    }
    damage.extend(tail);
    (
        Contents::Segment {
            log_starting_offset,
            batches,
        },
        damage,
    )
}

fn codec_name(attributes: i16) -> &'static str {
    match Codec::of(attributes) {
        Ok(Codec::None) => "none",
        Ok(Codec::Gzip) => "gzip",
        Ok(Codec::Snappy) => "snappy",
        Ok(Codec::Lz4) => "lz4",
        Ok(Codec::Zstd) => "zstd",
        Err(_) => "unknown",
    }
}

fn batch_dump(
    b: &segment::BatchPosition,
    valid: bool,
    records: Option<Vec<RecordDump>>,
) -> BatchDump {
    let h: &BatchHeader = &b.header;
    let last_sequence = if h.base_sequence < 0 {
        -1
    } else {
        // Sequences wrap at i32::MAX, as the producers number them.
        h.base_sequence.wrapping_add(h.last_offset_delta) & i32::MAX
    };
    BatchDump {
        base_offset: h.base_offset,
        last_offset: h.last_offset(),
        count: h.record_count,
        base_sequence: h.base_sequence,
        last_sequence,
        producer_id: h.producer_id,
        producer_epoch: h.producer_epoch,
        partition_leader_epoch: h.partition_leader_epoch,
        is_transactional: h.attributes & TRANSACTIONAL_BIT != 0,
        is_control: h.attributes & CONTROL_BIT != 0,
        position: b.position,
        timestamp_type: if h.is_log_append_time() {
            "LogAppendTime"
        } else {
            "CreateTime"
        },
        timestamp: h.max_timestamp,
        size: b.size,
        magic: h.magic,
        compresscodec: codec_name(h.attributes),
        crc: h.crc,
        is_valid: valid,
        records,
    }
}

fn text(bytes: &Option<Bytes>) -> Value {
    match bytes {
        Some(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        None => Value::Null,
    }
}

fn size_of(bytes: &Option<Bytes>) -> i64 {
    bytes.as_ref().map_or(-1, |b| b.len() as i64)
}

fn record_dump(r: Record, options: &Options<'_>) -> RecordDump {
    let (end_txn_marker, coordinator_epoch) = if r.control {
        let kind = r.key.as_deref().and_then(control::control_record_kind);
        // EndTransactionMarker value: version i16, coordinator epoch i32.
        let epoch = r
            .value
            .as_deref()
            .and_then(|v| v.get(2..6))
            .and_then(|e| e.try_into().ok())
            .map(i32::from_be_bytes);
        (
            kind.map(|commit| if commit { "COMMIT" } else { "ABORT" }),
            epoch,
        )
    } else {
        (None, None)
    };
    let mut dump = RecordDump {
        offset: r.offset,
        timestamp: r.timestamp,
        key_size: size_of(&r.key),
        value_size: size_of(&r.value),
        sequence: r.sequence,
        header_keys: r.headers.keys().map(|k| k.to_string()).collect(),
        end_txn_marker,
        coordinator_epoch,
        key: None,
        payload: None,
    };
    if options.print_data() && !r.control {
        let (key, payload) = (text(&r.key), text(&r.value));
        let decoded = match options.decoder {
            Some(decode) => match decode(r) {
                Ok(Some(kv)) => kv,
                Ok(None) => (key, payload),
                Err(e) => (key, Value::String(format!("<does not decode: {e}>"))),
            },
            None => (key, payload),
        };
        dump.key = Some(decoded.0);
        dump.payload = Some(decoded.1);
    }
    dump
}

/// The segment beside an index file, with its batches by position, when
/// it can be read.
fn segment_beside(path: &Path) -> Option<(PathBuf, i64, Vec<segment::BatchPosition>)> {
    let base = base_offset_of(path)?;
    let log = path.with_extension("log");
    let (batches, _) = scan_batches(&log).ok()?;
    Some((log, base, batches))
}

fn partial_entry(len: usize, entry_len: usize) -> Option<Damage> {
    let whole = len - len % entry_len;
    (whole != len).then(|| Damage {
        position: Some(whole as u64),
        message: format!(
            "{} bytes after the last whole entry ({entry_len}-byte entries)",
            len - whole
        ),
    })
}

fn offset_index_dump(path: &Path) -> (Contents, Vec<Damage>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    let base = base_offset_of(path).unwrap_or(0);
    let raw = index::offset_entries(&bytes);
    let mut damage = Vec::new();
    let log = segment_beside(path);
    let mut previous: Option<(u32, u32)> = None;
    for (i, &(rel, position)) in raw.iter().enumerate() {
        let at = Some((i * OFFSET_ENTRY_LEN) as u64);
        let offset = base + i64::from(rel);
        if previous.is_some_and(|(r, p)| r >= rel || p >= position) {
            damage.push(Damage {
                position: at,
                message: format!(
                    "entry {i} (offset {offset}, position {position}) is not after the one before it"
                ),
            });
        }
        previous = Some((rel, position));
        if let Some((log_path, _, batches)) = &log {
            match batches.iter().find(|b| b.position == u64::from(position)) {
                Some(b) if b.header.base_offset == offset => {}
                Some(b) => damage.push(Damage {
                    position: at,
                    message: format!(
                        "Index offset: {offset}, log offset: {} (entry {i}, position {position} of {})",
                        b.header.base_offset,
                        log_path.display()
                    ),
                }),
                None => damage.push(Damage {
                    position: at,
                    message: format!(
                        "Index offset: {offset} points to position {position}, where no batch of {} starts",
                        log_path.display()
                    ),
                }),
            }
        }
    }
    damage.extend(partial_entry(bytes.len(), OFFSET_ENTRY_LEN));
    let entries = raw
        .into_iter()
        .map(|(rel, position)| OffsetEntry {
            offset: base + i64::from(rel),
            position,
        })
        .collect();
    (Contents::OffsetIndex { entries }, damage)
}

fn time_index_dump(path: &Path) -> (Contents, Vec<Damage>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    let base = base_offset_of(path).unwrap_or(0);
    let raw = index::time_entries(&bytes);
    let mut damage = Vec::new();
    let log = segment_beside(path);
    let mut previous: Option<i64> = None;
    for (i, &(timestamp, rel)) in raw.iter().enumerate() {
        let at = Some((i * TIME_ENTRY_LEN) as u64);
        let offset = base + i64::from(rel);
        if let Some(before) = previous.filter(|t| *t >= timestamp) {
            damage.push(Damage {
                position: at,
                message: format!(
                    "Found out of order timestamp: Index timestamp: {timestamp}, Previously indexed timestamp: {before}"
                ),
            });
        }
        previous = Some(timestamp);
        if let Some((log_path, _, batches)) = &log {
            match batches.iter().find(|b| b.header.base_offset == offset) {
                Some(b) if b.header.max_timestamp == timestamp => {}
                Some(b) => damage.push(Damage {
                    position: at,
                    message: format!(
                        "Found timestamp mismatch: Index timestamp: {timestamp}, log timestamp: {} (offset {offset} in {})",
                        b.header.max_timestamp,
                        log_path.display()
                    ),
                }),
                None => damage.push(Damage {
                    position: at,
                    message: format!(
                        "Index timestamp: {timestamp} points to offset {offset}, where no batch of {} starts",
                        log_path.display()
                    ),
                }),
            }
        }
    }
    damage.extend(partial_entry(bytes.len(), TIME_ENTRY_LEN));
    let entries = raw
        .into_iter()
        .map(|(timestamp, rel)| TimeEntry {
            timestamp,
            offset: base + i64::from(rel),
        })
        .collect();
    (Contents::TimeIndex { entries }, damage)
}

fn epoch_dump(path: &Path) -> (Contents, Vec<Damage>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    let (entries, mut damage) = match epoch::parse_checkpoint(&text) {
        Ok(entries) => (entries, Vec::new()),
        Err(line) => {
            // The byte where the line that does not read starts.
            let position = text
                .split_inclusive('\n')
                .take(line - 1)
                .map(str::len)
                .sum::<usize>() as u64;
            let message = format!("line {line} is not Kafka's checkpoint format");
            let damage = Damage {
                position: Some(position),
                message,
            };
            (Vec::new(), vec![damage])
        }
    };
    if entries
        .windows(2)
        .any(|w| w[0].0 >= w[1].0 || w[0].1 > w[1].1)
    {
        damage.push(Damage {
            position: None,
            message: "epochs or start offsets do not increase".to_string(),
        });
    }
    let entries = entries
        .into_iter()
        .map(|(epoch, start_offset)| EpochEntry {
            epoch,
            start_offset,
        })
        .collect();
    (Contents::LeaderEpochCheckpoint { entries }, damage)
}

fn snapshot_dump(path: &Path) -> (Contents, Vec<Damage>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (Contents::Unknown, vec![unreadable(e)]),
    };
    match ProducerStateManager::snapshot_producers(&bytes) {
        Ok(producers) => (Contents::ProducerSnapshot { producers }, Vec::new()),
        Err(e) => {
            // serde_json names line and column; the byte is what the tool promises.
            let position = bytes
                .split_inclusive(|b| *b == b'\n')
                .take(e.line().saturating_sub(1))
                .map(<[u8]>::len)
                .sum::<usize>()
                + e.column().saturating_sub(1);
            let damage = Damage {
                position: Some(position as u64),
                message: format!("not a producer state snapshot: {e}"),
            };
            (
                Contents::ProducerSnapshot {
                    producers: Vec::new(),
                },
                vec![damage],
            )
        }
    }
}

fn opt_i64(v: Option<i64>) -> String {
    v.map_or_else(|| "None".to_string(), |o| o.to_string())
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

impl FileDump {
    /// Kafka's DumpLogSegments layout.
    pub fn write_text(&self, out: &mut impl Write, options: &Options<'_>) -> std::io::Result<()> {
        writeln!(out, "Dumping {}", self.file.display())?;
        let index_only = options.index_sanity_check || options.verify_index_only;
        match &self.contents {
            Contents::Segment {
                log_starting_offset,
                batches,
            } => {
                writeln!(out, "Log starting offset: {log_starting_offset}")?;
                for b in batches {
                    write_batch(out, b)?;
                }
            }
            Contents::OffsetIndex { entries } if !index_only => {
                for e in entries {
                    writeln!(out, "offset: {} position: {}", e.offset, e.position)?;
                }
            }
            Contents::TimeIndex { entries } if !index_only => {
                for e in entries {
                    writeln!(out, "timestamp: {} offset: {}", e.timestamp, e.offset)?;
                }
            }
            Contents::OffsetIndex { .. } | Contents::TimeIndex { .. } => {
                if self.damage.is_empty() && options.index_sanity_check {
                    writeln!(out, "{} passed sanity check.", self.file.display())?;
                }
            }
            Contents::LeaderEpochCheckpoint { entries } => {
                for e in entries {
                    writeln!(out, "epoch: {} startOffset: {}", e.epoch, e.start_offset)?;
                }
            }
            Contents::ProducerSnapshot { producers } => {
                for p in producers {
                    writeln!(
                        out,
                        "producerId: {} producerEpoch: {} currentTxnFirstOffset: {} lastWriteMs: {}",
                        p.producer_id,
                        p.producer_epoch,
                        opt_i64(p.current_txn_first_offset),
                        p.last_write_ms
                    )?;
                    for b in &p.batches {
                        writeln!(
                            out,
                            "| firstSequence: {} lastSequence: {} firstOffset: {} lastOffset: {} timestamp: {}",
                            b.first_seq, b.last_seq, b.first_offset, b.last_offset, b.max_timestamp
                        )?;
                    }
                }
            }
            Contents::Unknown => {
                if self.damage.is_empty() {
                    writeln!(out, "Ignoring unknown file {}", self.file.display())?;
                }
            }
        }
        for d in &self.damage {
            match d.position {
                Some(p) => writeln!(
                    out,
                    "DAMAGE in {} at byte {p}: {}",
                    self.file.display(),
                    d.message
                )?,
                None => writeln!(out, "DAMAGE in {}: {}", self.file.display(), d.message)?,
            }
        }
        Ok(())
    }
}

fn write_batch(out: &mut impl Write, b: &BatchDump) -> std::io::Result<()> {
    writeln!(
        out,
        "baseOffset: {} lastOffset: {} count: {} baseSequence: {} lastSequence: {} producerId: {} \
         producerEpoch: {} partitionLeaderEpoch: {} isTransactional: {} isControl: {} position: {} \
         {}: {} size: {} magic: {} compresscodec: {} crc: {} isvalid: {}",
        b.base_offset,
        b.last_offset,
        b.count,
        b.base_sequence,
        b.last_sequence,
        b.producer_id,
        b.producer_epoch,
        b.partition_leader_epoch,
        b.is_transactional,
        b.is_control,
        b.position,
        b.timestamp_type,
        b.timestamp,
        b.size,
        b.magic,
        b.compresscodec,
        b.crc,
        b.is_valid
    )?;
    for r in b.records.iter().flatten() {
        write!(
            out,
            "| offset: {} {}: {} keySize: {} valueSize: {} sequence: {} headerKeys: [{}]",
            r.offset,
            b.timestamp_type,
            r.timestamp,
            r.key_size,
            r.value_size,
            r.sequence,
            r.header_keys.join(",")
        )?;
        if let Some(marker) = r.end_txn_marker {
            write!(
                out,
                " endTxnMarker: {marker} coordinatorEpoch: {}",
                r.coordinator_epoch.unwrap_or(-1)
            )?;
        }
        if let (Some(key), Some(payload)) = (&r.key, &r.payload) {
            write!(
                out,
                " key: {} payload: {}",
                value_text(key),
                value_text(payload)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::HEADER_LEN;

    #[test]
    fn bytes_shorter_than_a_batch_header_are_damage_at_their_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(segment::file_name(0, "log"));
        std::fs::write(&path, vec![0u8; HEADER_LEN - 1]).unwrap();
        let d = dump(&path, &Options::default());
        assert_eq!(d.damage.len(), 1);
        assert_eq!(d.damage[0].position, Some(0));
    }
}
