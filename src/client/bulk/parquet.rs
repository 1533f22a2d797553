//! The Parquet format of topic-export and topic-import (schema in
//! docs/export-format.md), through the parquet crate's column writer and
//! record reader. Not through Arrow: its arrow-* crates would add to every
//! build for record batches this one-pass conversion does not need.
//!
//! A file's records are held until a row group's worth is there, then
//! written column by column. A value is either kept as bytes (one `value`
//! column) or, with a [`ValueSchema`], split into one column per field of
//! a flat JSON object (a `value` group), with `value_raw` keeping, as
//! bytes, every value that does not fit the schema; nothing is dropped.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::{Field, Row};
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::{ColumnPath, Type, TypePtr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{BulkRecord, Place, ReadRecord, RecordHeaders};

/// Records written as one row group, unless [`ROW_GROUP_BYTES`] comes first.
pub const ROW_GROUP_RECORDS: usize = 65_536;
/// Bytes of keys, values and headers held before a row group is written.
pub const ROW_GROUP_BYTES: usize = 64 << 20;

/// Every column but the value's, in file order; the value's go between
/// `key` and `headers`. Headers are a standard three-level LIST.
const FIXED_SCHEMA: &str = "
message record {
  required int32 partition;
  required int64 offset;
  optional int64 timestamp (TIMESTAMP(MILLIS,true));
  optional binary timestamp_type (STRING);
  optional binary key;
  required group headers (LIST) {
    repeated group list {
      required group element {
        required binary key (STRING);
        optional binary value;
      }
    }
  }
}";

/// How a value is kept.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ValueFormat {
    /// The bytes as they are, in one `value` column.
    #[default]
    Bytes,
    /// A flat JSON object, one column per field.
    Json,
}

/// The type of one value column.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    String,
    Int64,
    Double,
    Boolean,
    /// Any JSON value, kept as its JSON text.
    Json,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ValueField {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// The columns a JSON value is split into (docs/export-format.md gives
/// the file that holds one).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ValueSchema {
    pub fields: Vec<ValueField>,
}

impl ValueSchema {
    /// Reads a schema file, refusing one no file could be written with.
    pub fn parse(text: &[u8]) -> Result<ValueSchema, String> {
        let schema: ValueSchema =
            serde_json::from_slice(text).map_err(|e| format!("not a value schema: {e}"))?;
        let mut seen = HashSet::new();
        for f in &schema.fields {
            if f.name.is_empty() {
                return Err("a field has an empty name".into());
            }
            if !seen.insert(f.name.as_str()) {
                return Err(format!("field '{}' is named twice", f.name));
            }
        }
        Ok(schema)
    }

    /// The schema of the JSON objects among `values`: a field's type is
    /// the one every sample agrees on, DOUBLE where integers and floats
    /// mix, JSON text for nested values or any other disagreement, and
    /// STRING where only null was seen. Fields come in name order.
    pub fn infer<'a>(values: impl Iterator<Item = &'a [u8]>) -> ValueSchema {
        let mut kinds: BTreeMap<String, Option<ColumnType>> = BTreeMap::new();
        for value in values {
            let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(value) else {
                continue;
            };
            for (name, v) in object {
                let seen = match v {
                    Value::Null => None,
                    Value::Bool(_) => Some(ColumnType::Boolean),
                    Value::Number(n) if n.is_i64() => Some(ColumnType::Int64),
                    Value::Number(n) if n.is_f64() => Some(ColumnType::Double),
                    Value::String(_) => Some(ColumnType::String),
                    _ => Some(ColumnType::Json),
                };
                let kind = kinds.entry(name).or_insert(None);
                *kind = match (*kind, seen) {
                    (k, None) => k,
                    (None, s) => s,
                    (Some(a), Some(b)) if a == b => Some(a),
                    (Some(ColumnType::Int64 | ColumnType::Double), Some(ColumnType::Int64))
                    | (Some(ColumnType::Int64), Some(ColumnType::Double)) => {
                        Some(ColumnType::Double)
                    }
                    _ => Some(ColumnType::Json),
                };
            }
        }
        ValueSchema {
            fields: kinds
                .into_iter()
                .map(|(name, kind)| ValueField {
                    name,
                    kind: kind.unwrap_or(ColumnType::String),
                })
                .collect(),
        }
    }

    fn parquet_fields(&self) -> Result<Vec<TypePtr>, String> {
        let columns = self
            .fields
            .iter()
            .map(|f| {
                let (physical, logical) = match f.kind {
                    ColumnType::String => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
                    ColumnType::Json => (PhysicalType::BYTE_ARRAY, Some(LogicalType::Json)),
                    ColumnType::Int64 => (PhysicalType::INT64, None),
                    ColumnType::Double => (PhysicalType::DOUBLE, None),
                    ColumnType::Boolean => (PhysicalType::BOOLEAN, None),
                };
                Type::primitive_type_builder(&f.name, physical)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
                    .map_err(|e| format!("value field '{}': {e}", f.name))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let group = Type::group_type_builder("value")
            .with_repetition(Repetition::OPTIONAL)
            .with_fields(columns)
            .build()
            .map_err(|e| format!("value schema: {e}"))?;
        let raw = Type::primitive_type_builder("value_raw", PhysicalType::BYTE_ARRAY)
            .with_repetition(Repetition::OPTIONAL)
            .build()
            .map_err(|e| format!("value_raw: {e}"))?;
        Ok(vec![Arc::new(group), Arc::new(raw)])
    }

    /// The value's field values in schema order, or None when it is not
    /// an object every field of which has a column of its type.
    fn split(&self, value: &[u8]) -> Option<Vec<Option<Value>>> {
        let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(value) else {
            return None;
        };
        let mut out = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let v = match object.remove(&f.name) {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let fits = match f.kind {
                        ColumnType::String => v.is_string(),
                        ColumnType::Int64 => v.is_i64(),
                        ColumnType::Double => v.is_number(),
                        ColumnType::Boolean => v.is_boolean(),
                        ColumnType::Json => true,
                    };
                    if !fits {
                        return None;
                    }
                    Some(v)
                }
            };
            out.push(v);
        }
        object.is_empty().then_some(out)
    }
}

/// The file schema for values kept as bytes, or split by `value`.
fn file_schema(value: Option<&ValueSchema>) -> Result<TypePtr, String> {
    let fixed = parse_message_type(FIXED_SCHEMA).map_err(|e| format!("record schema: {e}"))?;
    let mut fields: Vec<TypePtr> = fixed.get_fields().to_vec();
    let headers = fields.pop().ok_or("record schema has no headers")?;
    match value {
        None => fields.push(Arc::new(
            Type::primitive_type_builder("value", PhysicalType::BYTE_ARRAY)
                .with_repetition(Repetition::OPTIONAL)
                .build()
                .map_err(|e| format!("value column: {e}"))?,
        )),
        Some(schema) => fields.extend(schema.parquet_fields()?),
    }
    fields.push(headers);
    Type::group_type_builder("record")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(|e| format!("record schema: {e}"))
}

/// One leaf column's values and levels for a row group.
struct Leaf<T> {
    values: Vec<T>,
    def: Vec<i16>,
}

impl<T> Default for Leaf<T> {
    fn default() -> Self {
        Leaf {
            values: Vec::new(),
            def: Vec::new(),
        }
    }
}

impl<T> Leaf<T> {
    /// Appends a value of an optional column whose value is defined at
    /// level `defined`, or a null defined up to `defined - 1`.
    fn push(&mut self, value: Option<T>, defined: i16) {
        match value {
            Some(v) => {
                self.values.push(v);
                self.def.push(defined);
            }
            None => self.def.push(defined - 1),
        }
    }
}

/// A split value column.
enum ValueLeaf {
    Utf8(Leaf<ByteArray>),
    Int64(Leaf<i64>),
    Double(Leaf<f64>),
    Boolean(Leaf<bool>),
}

/// A Parquet file being written: records are held until a row group's
/// worth is there.
pub struct ParquetWriter<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    value: Option<ValueSchema>,
    held: Vec<BulkRecord>,
    held_bytes: usize,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// Starts a file whose values are bytes (`value` None) or split.
    pub fn new(out: W, value: Option<ValueSchema>) -> Result<ParquetWriter<W>, String> {
        let schema = file_schema(value.as_ref())?;
        let bytes_columns = [ColumnPath::from("value"), ColumnPath::from("value_raw")];
        // Values are mostly distinct: a dictionary only costs time there.
        let properties = bytes_columns
            .into_iter()
            .fold(
                WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_size(ROW_GROUP_RECORDS)
                    .set_created_by(format!("gregor topic-export {}", env!("CARGO_PKG_VERSION"))),
                |b, path| b.set_column_dictionary_enabled(path, false),
            )
            .build();
        let writer = SerializedFileWriter::new(out, schema, Arc::new(properties))
            .map_err(|e| format!("cannot start a Parquet file: {e}"))?;
        Ok(ParquetWriter {
            writer,
            value,
            held: Vec::new(),
            held_bytes: 0,
        })
    }

    /// Holds the record, writing a row group when enough are held.
    pub fn write(&mut self, record: BulkRecord) -> Result<(), String> {
        self.held_bytes += 32
            + record.key.as_ref().map_or(0, Vec::len)
            + record.value.as_ref().map_or(0, Vec::len)
            + record
                .headers
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum::<usize>();
        self.held.push(record);
        if self.held.len() >= ROW_GROUP_RECORDS || self.held_bytes >= ROW_GROUP_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Bytes written to the file so far plus those of the records held,
    /// which is what a file is rolled on.
    pub fn size(&self) -> u64 {
        self.writer.bytes_written() as u64 + self.held_bytes as u64
    }

    /// Bytes written to the file so far.
    pub fn written(&self) -> u64 {
        self.writer.bytes_written() as u64
    }

    /// Writes the records held and the footer, and gives the output back.
    pub fn finish(mut self) -> Result<W, String> {
        self.flush()?;
        self.writer
            .into_inner()
            .map_err(|e| format!("cannot finish a Parquet file: {e}"))
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.held.is_empty() {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        self.write_row_group(held)
            .map_err(|e| format!("cannot write a Parquet row group: {e}"))
    }

    fn write_row_group(&mut self, records: Vec<BulkRecord>) -> parquet::errors::Result<()> {
        let n = records.len();
        let partitions: Vec<i32> = records.iter().map(|r| r.partition).collect();
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        let (mut timestamps, mut kinds, mut keys) =
            (Leaf::default(), Leaf::default(), Leaf::default());
        let (mut values, mut raw) = (Leaf::default(), Leaf::default());
        let mut split: Vec<ValueLeaf> = self
            .value
            .iter()
            .flat_map(|s| &s.fields)
            .map(|f| match f.kind {
                ColumnType::String | ColumnType::Json => ValueLeaf::Utf8(Leaf::default()),
                ColumnType::Int64 => ValueLeaf::Int64(Leaf::default()),
                ColumnType::Double => ValueLeaf::Double(Leaf::default()),
                ColumnType::Boolean => ValueLeaf::Boolean(Leaf::default()),
            })
            .collect();
        let (mut header_keys, mut header_values) = (Leaf::default(), Leaf::default());
        let mut header_rep = Vec::with_capacity(n);
        for r in records {
            timestamps.push(r.timestamp.map(|t| t.1), 1);
            kinds.push(r.timestamp.map(|t| ByteArray::from(t.0)), 1);
            keys.push(r.key.map(ByteArray::from), 1);
            match &self.value {
                None => values.push(r.value.map(ByteArray::from), 1),
                Some(schema) => {
                    let fields = r.value.as_deref().map(|v| (v, schema.split(v)));
                    match fields {
                        Some((_, Some(fields))) => {
                            raw.push(None, 1);
                            let kinds = schema.fields.iter().map(|f| f.kind);
                            for ((leaf, kind), v) in split.iter_mut().zip(kinds).zip(fields) {
                                push_split(leaf, kind, v);
                            }
                        }
                        other => {
                            raw.push(other.map(|(v, _)| ByteArray::from(v.to_vec())), 1);
                            // The group is null: each leaf is undefined at level 0.
                            for leaf in &mut split {
                                match leaf {
                                    ValueLeaf::Utf8(l) => l.def.push(0),
                                    ValueLeaf::Int64(l) => l.def.push(0),
                                    ValueLeaf::Double(l) => l.def.push(0),
                                    ValueLeaf::Boolean(l) => l.def.push(0),
                                }
                            }
                        }
                    }
                }
            }
            if r.headers.is_empty() {
                header_keys.def.push(0);
                header_values.def.push(0);
                header_rep.push(0);
            }
            for (i, (k, v)) in r.headers.into_iter().enumerate() {
                header_keys.push(Some(ByteArray::from(k.into_bytes())), 1);
                header_values.push(v.map(ByteArray::from), 2);
                header_rep.push(i16::from(i > 0));
            }
        }

        let mut group = self.writer.next_row_group()?;
        let mut column = |write: &mut dyn FnMut(
            &mut parquet::file::writer::SerializedColumnWriter<'_>,
        ) -> parquet::errors::Result<usize>|
         -> parquet::errors::Result<()> {
            let mut c = group.next_column()?.ok_or_else(|| {
                parquet::errors::ParquetError::General("fewer columns than the schema".into())
            })?;
            write(&mut c)?;
            c.close()
        };
        column(&mut |c| c.typed::<Int32Type>().write_batch(&partitions, None, None))?;
        column(&mut |c| c.typed::<Int64Type>().write_batch(&offsets, None, None))?;
        column(&mut |c| {
            c.typed::<Int64Type>()
                .write_batch(&timestamps.values, Some(&timestamps.def), None)
        })?;
        column(&mut |c| {
            c.typed::<ByteArrayType>()
                .write_batch(&kinds.values, Some(&kinds.def), None)
        })?;
        column(&mut |c| {
            c.typed::<ByteArrayType>()
                .write_batch(&keys.values, Some(&keys.def), None)
        })?;
        if self.value.is_none() {
            column(&mut |c| {
                c.typed::<ByteArrayType>()
                    .write_batch(&values.values, Some(&values.def), None)
            })?;
        } else {
            for leaf in &split {
                column(&mut |c| match leaf {
                    ValueLeaf::Utf8(l) => {
                        c.typed::<ByteArrayType>()
                            .write_batch(&l.values, Some(&l.def), None)
                    }
                    ValueLeaf::Int64(l) => {
                        c.typed::<Int64Type>()
                            .write_batch(&l.values, Some(&l.def), None)
                    }
                    ValueLeaf::Double(l) => {
                        c.typed::<DoubleType>()
                            .write_batch(&l.values, Some(&l.def), None)
                    }
                    ValueLeaf::Boolean(l) => {
                        c.typed::<BoolType>()
                            .write_batch(&l.values, Some(&l.def), None)
                    }
                })?;
            }
            column(&mut |c| {
                c.typed::<ByteArrayType>()
                    .write_batch(&raw.values, Some(&raw.def), None)
            })?;
        }
        column(&mut |c| {
            c.typed::<ByteArrayType>().write_batch(
                &header_keys.values,
                Some(&header_keys.def),
                Some(&header_rep),
            )
        })?;
        column(&mut |c| {
            c.typed::<ByteArrayType>().write_batch(
                &header_values.values,
                Some(&header_values.def),
                Some(&header_rep),
            )
        })?;
        group.close()?;
        Ok(())
    }
}

/// Appends a field of a value that fits: defined at level 2 (group, field).
fn push_split(leaf: &mut ValueLeaf, kind: ColumnType, v: Option<Value>) {
    match leaf {
        ValueLeaf::Utf8(l) => l.push(
            v.map(|v| match (kind, v) {
                (ColumnType::String, Value::String(s)) => ByteArray::from(s.into_bytes()),
                (_, v) => ByteArray::from(v.to_string().into_bytes()),
            }),
            2,
        ),
        ValueLeaf::Int64(l) => l.push(v.and_then(|v| v.as_i64()), 2),
        ValueLeaf::Double(l) => l.push(v.and_then(|v| v.as_f64()), 2),
        ValueLeaf::Boolean(l) => l.push(v.and_then(|v| v.as_bool()), 2),
    }
}

/// The records of a Parquet file in memory, each placed by its row
/// (from 1). Both value shapes are read; a file that cannot be read, or a
/// row whose columns are not a record's, is an error.
pub fn records(file: bytes::Bytes) -> Box<dyn Iterator<Item = ReadRecord>> {
    let reader = match SerializedFileReader::new(file) {
        Ok(r) => r,
        Err(e) => {
            let why = format!("not a Parquet file: {e}");
            return Box::new(std::iter::once((Place::Row(0), Err(why))));
        }
    };
    // A split value's JSON columns read back as JSON, not as strings.
    let json_fields: HashSet<String> = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .filter(|c| {
            c.path().parts().len() == 2
                && c.path().parts()[0] == "value"
                && c.logical_type_ref() == Some(&LogicalType::Json)
        })
        .map(|c| c.path().parts()[1].clone())
        .collect();
    let reader: Box<dyn FileReader> = Box::new(reader);
    let rows = parquet::record::reader::RowIter::from_file_into(reader);
    let mut failed = false;
    Box::new(rows.enumerate().map_while(move |(i, row)| {
        if failed {
            return None;
        }
        let place = Place::Row(i as u64 + 1);
        let record = row
            .map_err(|e| {
                failed = true;
                format!("cannot read: {e}")
            })
            .and_then(|row| record_of_row(&row, &json_fields));
        Some((place, record))
    }))
}

fn record_of_row(row: &Row, json_fields: &HashSet<String>) -> Result<BulkRecord, String> {
    let mut r = BulkRecord {
        partition: -1,
        offset: -1,
        timestamp: None,
        key: None,
        value: None,
        headers: Vec::new(),
    };
    let mut timestamp_type = None;
    let mut raw = None;
    for (name, field) in row.get_column_iter() {
        match (name.as_str(), field) {
            (_, Field::Null) => {}
            ("partition", Field::Int(p)) => r.partition = *p,
            ("offset", Field::Long(o)) => r.offset = *o,
            ("timestamp", Field::TimestampMillis(ms) | Field::Long(ms)) => {
                r.timestamp = Some(("CreateTime", *ms));
            }
            ("timestamp_type", Field::Str(s)) => {
                timestamp_type = Some(super::timestamp_type(s)?);
            }
            ("key", f) => r.key = Some(bytes_of(f, "key")?),
            ("value", Field::Group(fields)) => r.value = Some(json_of(fields, json_fields)?),
            ("value", f) => r.value = Some(bytes_of(f, "value")?),
            ("value_raw", f) => raw = Some(bytes_of(f, "value_raw")?),
            ("headers", Field::ListInternal(list)) => r.headers = headers_of(list.elements())?,
            (name, other) => return Err(format!("column '{name}' holds an unexpected {other}")),
        }
    }
    if let (Some(kind), Some((_, ms))) = (timestamp_type, r.timestamp) {
        r.timestamp = Some((kind, ms));
    }
    if raw.is_some() {
        r.value = raw;
    }
    Ok(r)
}

fn bytes_of(field: &Field, what: &str) -> Result<Vec<u8>, String> {
    match field {
        Field::Bytes(b) => Ok(b.data().to_vec()),
        Field::Str(s) => Ok(s.as_bytes().to_vec()),
        other => Err(format!("{what} is {other}, not bytes")),
    }
}

/// A split value as compact JSON: its non-null fields in column order.
fn json_of(fields: &Row, json_fields: &HashSet<String>) -> Result<Vec<u8>, String> {
    let mut object = Map::new();
    for (name, field) in fields.get_column_iter() {
        let v = match field {
            Field::Null => continue,
            Field::Str(s) if json_fields.contains(name) => serde_json::from_str(s)
                .map_err(|e| format!("value field '{name}' is not JSON: {e}"))?,
            Field::Str(s) => Value::String(s.clone()),
            Field::Long(n) => Value::from(*n),
            Field::Double(x) => Value::from(*x),
            Field::Bool(b) => Value::Bool(*b),
            other => return Err(format!("value field '{name}' holds an unexpected {other}")),
        };
        object.insert(name.clone(), v);
    }
    serde_json::to_vec(&Value::Object(object)).map_err(|e| format!("value as JSON: {e}"))
}

fn headers_of(list: &[Field]) -> Result<RecordHeaders, String> {
    list.iter()
        .enumerate()
        .map(|(i, h)| {
            let Field::Group(h) = h else {
                return Err(format!("header {i} is {h}, not a (key, value) group"));
            };
            let (mut key, mut value) = (None, None);
            for (name, field) in h.get_column_iter() {
                match (name.as_str(), field) {
                    (_, Field::Null) => {}
                    ("key", Field::Str(s)) => key = Some(s.clone()),
                    ("value", f) => value = Some(bytes_of(f, &format!("header {i} value"))?),
                    (name, other) => {
                        return Err(format!(
                            "header {i} field '{name}' holds an unexpected {other}"
                        ))
                    }
                }
            }
            Ok((key.ok_or(format!("header {i} has no key"))?, value))
        })
        .collect()
}

/// Reads a --value-schema file.
pub fn read_schema_file(path: &Path) -> Result<ValueSchema, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    ValueSchema::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(offset: i64, value: Option<&[u8]>) -> BulkRecord {
        BulkRecord {
            partition: 1,
            offset,
            timestamp: Some(("LogAppendTime", 1_700_000_000_000 + offset)),
            key: Some(vec![0xff, offset as u8]),
            value: value.map(<[u8]>::to_vec),
            headers: vec![("h".into(), Some(b"x".to_vec())), ("null".into(), None)],
        }
    }

    fn round_trip(records: &[BulkRecord], schema: Option<ValueSchema>) -> Vec<BulkRecord> {
        let mut writer = ParquetWriter::new(Vec::new(), schema).unwrap();
        for r in records {
            writer.write(r.clone()).unwrap();
        }
        let file = writer.finish().unwrap();
        records_of(file)
    }

    fn records_of(file: Vec<u8>) -> Vec<BulkRecord> {
        super::records(bytes::Bytes::from(file))
            .map(|(place, r)| r.unwrap_or_else(|e| panic!("{place}: {e}")))
            .collect()
    }

    #[test]
    fn bytes_values_keep_every_field() {
        let mut records = vec![
            record(0, Some(&[0x00, 0xfe])),
            record(1, None),
            record(2, Some(b"")),
        ];
        records[1].headers.clear();
        records[1].key = None;
        records[2].timestamp = Some(("CreateTime", 5));
        records[2].headers = vec![("only".into(), Some(Vec::new()))];
        assert_eq!(round_trip(&records, None), records);
    }

    #[test]
    fn json_values_split_and_what_does_not_fit_stays_bytes() {
        let values: [&[u8]; 7] = [
            br#"{"id": 1, "name": "a", "price": 2.5, "ok": true, "tags": [1, {"x": null}]}"#,
            br#"{"id":2,"price":3,"name":null,"tags":"t"}"#,
            b"not json \xff",
            br#"{"id": "three"}"#,
            br#"{"id": 4, "unknown": 1}"#,
            br#"[1, 2]"#,
            br#"{}"#,
        ];
        let schema = ValueSchema::infer(values[..2].iter().copied());
        let kinds: Vec<(&str, ColumnType)> = schema
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("id", ColumnType::Int64),
                ("name", ColumnType::String),
                ("ok", ColumnType::Boolean),
                ("price", ColumnType::Double),
                ("tags", ColumnType::Json),
            ]
        );
        let mut records: Vec<BulkRecord> = values
            .iter()
            .enumerate()
            .map(|(i, v)| record(i as i64, Some(v)))
            .collect();
        records.push(record(7, None));
        let back = round_trip(&records, Some(schema));
        let json = |r: &BulkRecord| -> Value {
            serde_json::from_slice(r.value.as_deref().unwrap()).unwrap()
        };
        assert_eq!(
            json(&back[0]),
            serde_json::json!({"id": 1, "name": "a", "price": 2.5, "ok": true, "tags": [1, {"x": null}]})
        );
        assert_eq!(
            json(&back[1]),
            serde_json::json!({"id": 2, "price": 3.0, "tags": "t"})
        );
        for i in 2..6 {
            assert_eq!(back[i], records[i], "record {i} kept as it was");
        }
        assert_eq!(back[6].value.as_deref(), Some(&b"{}"[..]));
        assert_eq!(back[7], records[7]);
        for (a, b) in back.iter().zip(&records) {
            assert_eq!(
                (a.offset, &a.key, &a.headers, a.timestamp),
                (b.offset, &b.key, &b.headers, b.timestamp)
            );
        }
    }

    #[test]
    fn schema_files_are_checked() {
        let schema =
            ValueSchema::parse(br#"{"fields": [{"name": "a", "type": "int64"}]}"#).unwrap();
        assert_eq!(schema.fields[0].kind, ColumnType::Int64);
        for (text, error) in [
            (
                &br#"{"fields": [{"name": "a", "type": "int"}]}"#[..],
                "unknown variant",
            ),
            (
                br#"{"fields": [{"name": "", "type": "json"}]}"#,
                "empty name",
            ),
            (
                br#"{"fields": [{"name": "a", "type": "json"}, {"name": "a", "type": "string"}]}"#,
                "named twice",
            ),
        ] {
            let e = ValueSchema::parse(text).unwrap_err();
            assert!(e.contains(error), "{e}");
        }
    }

    #[test]
    fn a_file_that_is_not_parquet_is_one_error() {
        let out: Vec<ReadRecord> =
            super::records(bytes::Bytes::from_static(b"PAR1 or not")).collect();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, Place::Row(0));
        assert!(out[0]
            .1
            .as_ref()
            .unwrap_err()
            .starts_with("not a Parquet file"));
    }
}
