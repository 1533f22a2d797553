//! Bulk movement of a topic's records to and from files: `export` writes
//! them (resumable, exactly once), `import` reads them back in (exactly
//! once, through a transactional producer). This module holds the record
//! as the files carry it and the file formats, jsonl, csv, raw and parquet,
//! which docs/export-format.md describes.

pub mod export;
pub mod import;
pub mod parquet;

use std::io::{BufRead, Read};

use base64::Engine;
use serde_json::{json, Value};

use super::format::ConsumedRecord;

/// A record's headers: names and values, a value possibly null.
pub type RecordHeaders = Vec<(String, Option<Vec<u8>>)>;

/// A record with every field a file keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkRecord {
    pub partition: i32,
    pub offset: i64,
    /// (type, milliseconds): type is CreateTime or LogAppendTime.
    pub timestamp: Option<(&'static str, i64)>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: RecordHeaders,
}

impl From<ConsumedRecord> for BulkRecord {
    fn from(r: ConsumedRecord) -> BulkRecord {
        BulkRecord {
            partition: r.partition,
            offset: r.offset,
            timestamp: r.timestamp,
            key: r.key,
            value: r.value,
            headers: r.headers,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line; bytes that are not UTF-8 in base64.
    #[default]
    Jsonl,
    /// A header row, then one row per record; headers as a JSON array.
    Csv,
    /// Length-prefixed binary records with a CRC (docs/export-format.md).
    Raw,
    /// Apache Parquet, snappy-compressed columns (docs/export-format.md).
    Parquet,
}

/// A format written a record at a time, each record's bytes on their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Streamed {
    Jsonl,
    Csv,
    Raw,
}

/// The columns of a csv file, in order.
const CSV_COLUMNS: [&str; 9] = [
    "partition",
    "offset",
    "timestamp",
    "timestamp_type",
    "key_encoding",
    "key",
    "value_encoding",
    "value",
    "headers",
];

/// What a raw file starts with, so that another file is refused at once.
pub const RAW_MAGIC: &[u8; 8] = b"GRGXRAW1";

impl Format {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Raw => "raw",
            Format::Parquet => "parquet",
        }
    }

    /// How a record is encoded on its own; None for Parquet, whose files
    /// are written a row group of columns at a time.
    pub fn streamed(self) -> Option<Streamed> {
        match self {
            Format::Jsonl => Some(Streamed::Jsonl),
            Format::Csv => Some(Streamed::Csv),
            Format::Raw => Some(Streamed::Raw),
            Format::Parquet => None,
        }
    }

    /// The records of a file, each with where it is in the file; a record
    /// that cannot be read is an error naming why, and reading goes on
    /// past it where the format allows (a raw file stops at a broken frame,
    /// a Parquet file at a row it cannot read). A Parquet file is read
    /// into memory first, as its footer comes last.
    pub fn records<'a>(
        self,
        mut input: Box<dyn BufRead + 'a>,
    ) -> Box<dyn Iterator<Item = ReadRecord> + 'a> {
        match self {
            Format::Parquet => {
                let mut file = Vec::new();
                match input.read_to_end(&mut file) {
                    Ok(_) => parquet::records(bytes::Bytes::from(file)),
                    Err(e) => Box::new(std::iter::once((
                        Place::Row(0),
                        Err(format!("cannot read: {e}")),
                    ))),
                }
            }
            Format::Jsonl => Box::new(JsonlRecords {
                input,
                line: 0,
                failed: false,
            }),
            Format::Csv => Box::new(CsvRecords::new(input)),
            Format::Raw => Box::new(RawRecords {
                input,
                index: 0,
                byte: 0,
                done: false,
            }),
        }
    }
}

impl Streamed {
    /// What a file starts with before its first record.
    pub fn preamble(self) -> Vec<u8> {
        match self {
            Streamed::Jsonl => Vec::new(),
            Streamed::Csv => format!("{}\n", CSV_COLUMNS.join(",")).into_bytes(),
            Streamed::Raw => RAW_MAGIC.to_vec(),
        }
    }

    /// Appends the record as this format writes it.
    pub fn encode(self, r: &BulkRecord, out: &mut Vec<u8>) {
        match self {
            Streamed::Jsonl => {
                let (key, key_encoding) = text_bytes(&r.key);
                let (value, value_encoding) = text_bytes(&r.value);
                let line = json!({
                    "partition": r.partition,
                    "offset": r.offset,
                    "timestamp": r.timestamp.map(|t| t.1),
                    "timestamp_type": r.timestamp.map(|t| t.0),
                    "key": key,
                    "key_encoding": key_encoding,
                    "value": value,
                    "value_encoding": value_encoding,
                    "headers": json_headers(&r.headers),
                });
                out.extend_from_slice(line.to_string().as_bytes());
                out.push(b'\n');
            }
            Streamed::Csv => {
                let (key, key_encoding) = text_bytes(&r.key);
                let (value, value_encoding) = text_bytes(&r.value);
                let cell = |v: Value| match v {
                    Value::String(s) => s,
                    _ => String::new(),
                };
                let row = [
                    r.partition.to_string(),
                    r.offset.to_string(),
                    r.timestamp.map(|t| t.1.to_string()).unwrap_or_default(),
                    r.timestamp.map(|t| t.0.to_string()).unwrap_or_default(),
                    key_encoding.to_string(),
                    cell(key),
                    value_encoding.to_string(),
                    cell(value),
                    json_headers(&r.headers).to_string(),
                ];
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::new());
                // Writing into memory fails only on a bug in csv.
                let written = writer.write_record(&row).and_then(|()| {
                    writer
                        .into_inner()
                        .map_err(|e| csv::Error::from(e.into_error()))
                });
                out.extend(written.unwrap_or_default());
            }
            Streamed::Raw => {
                let mut body = Vec::with_capacity(64);
                body.extend(r.partition.to_be_bytes());
                body.extend(r.offset.to_be_bytes());
                let (kind, ms) = match r.timestamp {
                    None => (0u8, -1),
                    Some(("LogAppendTime", ms)) => (2, ms),
                    Some((_, ms)) => (1, ms),
                };
                body.push(kind);
                body.extend(ms.to_be_bytes());
                raw_bytes(&mut body, r.key.as_deref());
                raw_bytes(&mut body, r.value.as_deref());
                body.extend((r.headers.len() as i32).to_be_bytes());
                for (k, v) in &r.headers {
                    raw_bytes(&mut body, Some(k.as_bytes()));
                    raw_bytes(&mut body, v.as_deref());
                }
                out.extend((body.len() as u32).to_be_bytes());
                out.extend(crc32c::crc32c(&body).to_be_bytes());
                out.extend(body);
            }
        }
    }
}

/// Where a record is in its file: the line it starts on for jsonl and csv,
/// its number (from 1) for raw, its row (from 1) for parquet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Line(u64),
    Record { number: u64, byte: u64 },
    Row(u64),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Line(n) => write!(f, "{n}"),
            Place::Record { number, byte } => write!(f, "record {number} (byte {byte})"),
            Place::Row(n) => write!(f, "row {n}"),
        }
    }
}

/// One record read from a file, or why it could not be.
pub type ReadRecord = (Place, std::result::Result<BulkRecord, String>);

/// Bytes as JSON text: a string when they are UTF-8, base64 otherwise,
/// with the encoding named.
fn text_bytes(b: &Option<Vec<u8>>) -> (Value, &'static str) {
    match b {
        None => (Value::Null, "none"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (json!(s), "utf8"),
            Err(_) => (
                json!(base64::engine::general_purpose::STANDARD.encode(b)),
                "base64",
            ),
        },
    }
}

/// The bytes `text_bytes` wrote.
fn bytes_of(
    text: Option<&str>,
    encoding: &str,
    what: &str,
) -> std::result::Result<Option<Vec<u8>>, String> {
    match (encoding, text) {
        ("none", _) => Ok(None),
        ("utf8", Some(s)) => Ok(Some(s.as_bytes().to_vec())),
        ("base64", Some(s)) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map(Some)
            .map_err(|e| format!("{what} is not valid base64: {e}")),
        ("utf8" | "base64", None) => Err(format!("{what} is missing")),
        (other, _) => Err(format!(
            "{what}_encoding is '{other}', not none, utf8 or base64"
        )),
    }
}

fn json_headers(headers: &[(String, Option<Vec<u8>>)]) -> Value {
    headers
        .iter()
        .map(|(k, v)| {
            let (value, encoding) = text_bytes(v);
            json!({"key": k, "value": value, "encoding": encoding})
        })
        .collect()
}

fn headers_of(v: &Value) -> std::result::Result<RecordHeaders, String> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(list) => list,
        _ => return Err("headers is not an array".into()),
    };
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            let key = h["key"]
                .as_str()
                .ok_or_else(|| format!("header {i} has no key"))?;
            let encoding = h["encoding"].as_str().unwrap_or("utf8");
            let value = bytes_of(h["value"].as_str(), encoding, &format!("header {i} value"))?;
            Ok((key.to_string(), value))
        })
        .collect()
}

fn timestamp_type(name: &str) -> std::result::Result<&'static str, String> {
    match name {
        "CreateTime" => Ok("CreateTime"),
        "LogAppendTime" => Ok("LogAppendTime"),
        other => Err(format!(
            "timestamp_type is '{other}', not CreateTime or LogAppendTime"
        )),
    }
}

/// A record from the fields the text formats share.
fn record_of(
    partition: i64,
    offset: i64,
    timestamp: Option<(i64, &str)>,
    key: (Option<&str>, &str),
    value: (Option<&str>, &str),
    headers: &Value,
) -> std::result::Result<BulkRecord, String> {
    let partition =
        i32::try_from(partition).map_err(|_| format!("partition {partition} is out of range"))?;
    let timestamp = match timestamp {
        Some((ms, kind)) => Some((timestamp_type(kind)?, ms)),
        None => None,
    };
    Ok(BulkRecord {
        partition,
        offset,
        timestamp,
        key: bytes_of(key.0, key.1, "key")?,
        value: bytes_of(value.0, value.1, "value")?,
        headers: headers_of(headers)?,
    })
}

struct JsonlRecords<'a> {
    input: Box<dyn BufRead + 'a>,
    line: u64,
    /// Reading failed: nothing more can be read.
    failed: bool,
}

impl Iterator for JsonlRecords<'_> {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        while !self.failed {
            let mut buf = Vec::new();
            self.line += 1;
            let place = Place::Line(self.line);
            match self.input.read_until(b'\n', &mut buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.failed = true;
                    return Some((place, Err(format!("cannot read: {e}"))));
                }
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some((place, jsonl_record(&buf)));
        }
        None
    }
}

fn jsonl_record(line: &[u8]) -> std::result::Result<BulkRecord, String> {
    let v: Value = serde_json::from_slice(line).map_err(|e| format!("not a JSON object: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    let number = |name: &str, default: Option<i64>| match &v[name] {
        Value::Null => default.ok_or_else(|| format!("{name} is missing")),
        n => n
            .as_i64()
            .ok_or_else(|| format!("{name} is not an integer")),
    };
    let encoding = |name: &str, field: &str| -> std::result::Result<String, String> {
        match &v[name] {
            Value::String(s) => Ok(s.clone()),
            Value::Null if v[field].is_null() => Ok("none".into()),
            Value::Null => Ok("utf8".into()),
            _ => Err(format!("{name} is not a string")),
        }
    };
    let text = |field: &str| -> std::result::Result<Option<String>, String> {
        match &v[field] {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(format!("{field} is not a string")),
        }
    };
    let timestamp = match &v["timestamp"] {
        Value::Null => None,
        t => {
            let ms = t.as_i64().ok_or("timestamp is not an integer")?;
            Some((ms, v["timestamp_type"].as_str().unwrap_or("CreateTime")))
        }
    };
    let (key, value) = (text("key")?, text("value")?);
    record_of(
        number("partition", Some(-1))?,
        number("offset", Some(-1))?,
        timestamp,
        (key.as_deref(), &encoding("key_encoding", "key")?),
        (value.as_deref(), &encoding("value_encoding", "value")?),
        &v["headers"],
    )
}

struct CsvRecords<'a> {
    reader: csv::Reader<Box<dyn BufRead + 'a>>,
    header_checked: bool,
    failed: bool,
}

impl<'a> CsvRecords<'a> {
    fn new(input: Box<dyn BufRead + 'a>) -> CsvRecords<'a> {
        CsvRecords {
            reader: csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(input),
            header_checked: false,
            failed: false,
        }
    }
}

impl Iterator for CsvRecords<'_> {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        if self.failed {
            return None;
        }
        let mut row = csv::StringRecord::new();
        let line = self.reader.position().line();
        match self.reader.read_record(&mut row) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                // csv goes on past a bad row, but not past failed I/O.
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    self.failed = true;
                }
                let line = e.position().map_or(line, |p| p.line());
                return Some((Place::Line(line), Err(format!("not a csv row: {e}"))));
            }
        }
        let place = Place::Line(row.position().map_or(line, |p| p.line()));
        if !self.header_checked {
            self.header_checked = true;
            if row.iter().ne(CSV_COLUMNS) {
                self.failed = true;
                return Some((
                    place,
                    Err(format!("the header row is not {}", CSV_COLUMNS.join(","))),
                ));
            }
            return self.next();
        }
        Some((place, csv_record(&row)))
    }
}

fn csv_record(row: &csv::StringRecord) -> std::result::Result<BulkRecord, String> {
    if row.len() != CSV_COLUMNS.len() {
        return Err(format!(
            "{} fields where there should be {}",
            row.len(),
            CSV_COLUMNS.len()
        ));
    }
    let integer = |i: usize| {
        row[i]
            .parse::<i64>()
            .map_err(|_| format!("{} '{}' is not an integer", CSV_COLUMNS[i], &row[i]))
    };
    let timestamp = if row[2].is_empty() {
        None
    } else {
        Some((integer(2)?, &row[3]))
    };
    let headers: Value = if row[8].is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&row[8]).map_err(|e| format!("headers is not JSON: {e}"))?
    };
    record_of(
        integer(0)?,
        integer(1)?,
        timestamp,
        (Some(&row[5]), &row[4]),
        (Some(&row[7]), &row[6]),
        &headers,
    )
}

struct RawRecords<'a> {
    input: Box<dyn BufRead + 'a>,
    index: u64,
    byte: u64,
    done: bool,
}

impl Iterator for RawRecords<'_> {
    type Item = ReadRecord;

    fn next(&mut self) -> Option<ReadRecord> {
        if self.done {
            return None;
        }
        if self.index == 0 && self.byte == 0 {
            let mut magic = [0u8; 8];
            if let Err(e) = self.input.read_exact(&mut magic) {
                self.done = true;
                let why = match e.kind() {
                    std::io::ErrorKind::UnexpectedEof => "too short for a raw export file".into(),
                    _ => format!("cannot read: {e}"),
                };
                return Some((Place::Record { number: 0, byte: 0 }, Err(why)));
            }
            if &magic != RAW_MAGIC {
                self.done = true;
                return Some((
                    Place::Record { number: 0, byte: 0 },
                    Err("not a raw export file (no GRGXRAW1 at its start)".into()),
                ));
            }
            self.byte = 8;
        }
        let place = Place::Record {
            number: self.index + 1,
            byte: self.byte,
        };
        let mut frame = [0u8; 8];
        match read_all_or_nothing(&mut self.input, &mut frame) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(why) => {
                self.done = true;
                return Some((place, Err(why)));
            }
        }
        let length = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        let crc = u32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
        let mut body = Vec::new();
        let input: &mut dyn BufRead = &mut *self.input;
        let read = input.take(u64::from(length)).read_to_end(&mut body);
        if let Err(e) = read {
            self.done = true;
            return Some((place, Err(format!("cannot read: {e}"))));
        }
        if body.len() != length as usize {
            self.done = true;
            return Some((
                place,
                Err(format!(
                    "truncated: {length} bytes announced, {} there",
                    body.len()
                )),
            ));
        }
        self.index += 1;
        self.byte += 8 + u64::from(length);
        if crc32c::crc32c(&body) != crc {
            return Some((place, Err("CRC mismatch".into())));
        }
        Some((place, raw_record(&body)))
    }
}

/// Fills `buf`; false at a clean end of input, an error at a partial one.
fn read_all_or_nothing(
    input: &mut dyn BufRead,
    buf: &mut [u8],
) -> std::result::Result<bool, String> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err("truncated record frame".into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read: {e}")),
        }
    }
    Ok(true)
}

fn raw_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        None => out.extend((-1i32).to_be_bytes()),
        Some(b) => {
            out.extend((b.len() as i32).to_be_bytes());
            out.extend_from_slice(b);
        }
    }
}

/// A raw record body being read, every length checked against what is left.
struct Body<'a>(&'a [u8]);

impl<'a> Body<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("record body ends early".to_string());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn i32(&mut self) -> std::result::Result<i32, String> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self) -> std::result::Result<i64, String> {
        let b = self.take(8)?;
        Ok(i64::from_be_bytes(b.try_into().unwrap_or_default()))
    }

    fn bytes(&mut self, what: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        match self.i32()? {
            -1 => Ok(None),
            n if n < 0 => Err(format!("{what} length {n} is negative")),
            n => Ok(Some(self.take(n as usize)?.to_vec())),
        }
    }
}

fn raw_record(body: &[u8]) -> std::result::Result<BulkRecord, String> {
    let mut body = Body(body);
    let partition = body.i32()?;
    let offset = body.i64()?;
    let kind = body.take(1)?[0];
    let ms = body.i64()?;
    let timestamp = match kind {
        0 => None,
        1 => Some(("CreateTime", ms)),
        2 => Some(("LogAppendTime", ms)),
        other => return Err(format!("timestamp type {other} is not 0, 1 or 2")),
    };
    let key = body.bytes("key")?;
    let value = body.bytes("value")?;
    let count = body.i32()?;
    if count < 0 {
        return Err(format!("header count {count} is negative"));
    }
    let mut headers = Vec::new();
    for i in 0..count {
        let name = body
            .bytes("header key")?
            .ok_or(format!("header {i} has a null key"))?;
        let name = String::from_utf8(name).map_err(|_| format!("header {i} key is not UTF-8"))?;
        headers.push((name, body.bytes("header value")?));
    }
    if !body.0.is_empty() {
        return Err(format!("{} bytes after the record", body.0.len()));
    }
    Ok(BulkRecord {
        partition,
        offset,
        timestamp,
        key,
        value,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records() -> Vec<BulkRecord> {
        vec![
            BulkRecord {
                partition: 2,
                offset: 7,
                timestamp: Some(("CreateTime", 1_700_000_000_000)),
                key: Some(b"k,\"1\"\n".to_vec()),
                value: Some(vec![0xff, 0x00, b'\n', b',']),
                headers: vec![
                    ("h".into(), Some(b"x".to_vec())),
                    ("bin".into(), Some(vec![0x80])),
                    ("null".into(), None),
                ],
            },
            BulkRecord {
                partition: 0,
                offset: 0,
                timestamp: Some(("LogAppendTime", 5)),
                key: None,
                value: Some(Vec::new()),
                headers: Vec::new(),
            },
            BulkRecord {
                partition: 1,
                offset: 3,
                timestamp: None,
                key: Some(Vec::new()),
                value: None,
                headers: Vec::new(),
            },
        ]
    }

    fn read(format: Format, bytes: &[u8]) -> Vec<ReadRecord> {
        format
            .records(Box::new(std::io::Cursor::new(bytes.to_vec())))
            .collect()
    }

    #[test]
    fn every_format_round_trips_every_field() {
        for format in [Format::Jsonl, Format::Csv, Format::Raw] {
            let streamed = format.streamed().unwrap();
            let mut file = streamed.preamble();
            for r in records() {
                streamed.encode(&r, &mut file);
            }
            let back: Vec<BulkRecord> = read(format, &file)
                .into_iter()
                .map(|(place, r)| r.unwrap_or_else(|e| panic!("{format:?} {place}: {e}")))
                .collect();
            assert_eq!(back, records(), "{format:?}");
        }
    }

    #[test]
    fn bad_lines_are_placed_and_reading_goes_on() {
        let mut file = Vec::new();
        Streamed::Jsonl.encode(&records()[0], &mut file);
        file.extend(b"{\"value\": 5}\nnot json\n");
        Streamed::Jsonl.encode(&records()[1], &mut file);
        let out = read(Format::Jsonl, &file);
        assert_eq!(out.len(), 4);
        assert_eq!(out[1].0, Place::Line(2));
        assert_eq!(out[1].1.as_ref().unwrap_err(), "value is not a string");
        assert_eq!(out[2].0, Place::Line(3));
        assert!(out[2]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("not a JSON object"));
        assert!(out[3].1.is_ok());

        let mut file = Streamed::Csv.preamble();
        Streamed::Csv.encode(&records()[0], &mut file);
        file.extend(b"x,1,,,none,,none,,\n");
        let out = read(Format::Csv, &file);
        assert_eq!(out[1].0, Place::Line(4), "the first record spans two lines");
        assert_eq!(
            out[1].1.as_ref().unwrap_err(),
            "partition 'x' is not an integer"
        );

        let mut file = Streamed::Raw.preamble();
        Streamed::Raw.encode(&records()[0], &mut file);
        let length = file.len();
        Streamed::Raw.encode(&records()[1], &mut file);
        let out = read(Format::Raw, &file[..file.len() - 1]);
        assert!(out[0].1.is_ok());
        assert_eq!(
            out[1].0,
            Place::Record {
                number: 2,
                byte: length as u64
            }
        );
        assert!(out[1].1.as_ref().unwrap_err().starts_with("truncated"));
        assert_eq!(
            read(Format::Raw, b"GRGXRAW0")[0].1.as_ref().unwrap_err(),
            "not a raw export file (no GRGXRAW1 at its start)"
        );
    }
}
