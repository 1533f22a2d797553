//! topic-export and topic-import as processes against a broker the test
//! starts: every format round-trips every field, a kill -9 in the middle
//! of either and a rerun give every record exactly once, bad input is
//! named by file and line, bad flags exit 2.

use crate::harness;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gregor::client::bulk::export::read_manifest;
use gregor::client::bulk::{BulkRecord, Format, Streamed};
use harness::{client_config, run_tool, spawn_tool, wait_until, BrokerProcess};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sha2::{Digest, Sha256};

const EXPORT: &str = env!("CARGO_BIN_EXE_topic-export");
const IMPORT: &str = env!("CARGO_BIN_EXE_topic-import");
const TOPICS: &str = env!("CARGO_BIN_EXE_topic-admin");
const FORMATS: [(&str, Format); 4] = [
    ("jsonl", Format::Jsonl),
    ("csv", Format::Csv),
    ("raw", Format::Raw),
    ("parquet", Format::Parquet),
];
/// Thirty seconds apart, so that a few hundred records span hours.
const FIRST_TIMESTAMP: i64 = 1_700_000_000_000;

fn create(bs: &str, topic: &str, partitions: &str) {
    run_tool(
        TOPICS,
        bs,
        &["create", "-t", topic, "--partitions", partitions],
        b"",
    )
    .ok();
}

/// Record `i` of the test data: keys, null keys, empty and binary values,
/// tombstones, headers with binary and null values, a timestamp of its own.
fn record(i: usize, partitions: i32) -> BulkRecord {
    let mut value: Vec<u8> = format!("value {i}, \"quoted\"\n").into_bytes();
    value.extend([0xff, 0x00, (i % 256) as u8]);
    BulkRecord {
        partition: (i % partitions as usize) as i32,
        offset: -1,
        timestamp: Some(("CreateTime", FIRST_TIMESTAMP + i as i64 * 30_000)),
        key: (i % 7 != 0).then(|| format!("key-{i}").into_bytes()),
        value: match i % 11 {
            0 => None,
            1 => Some(Vec::new()),
            _ => Some(value),
        },
        headers: if i % 3 == 0 {
            Vec::new()
        } else {
            vec![
                ("trace".into(), Some(format!("t{i}").into_bytes())),
                ("bin".into(), Some(vec![0x80, (i % 256) as u8])),
                ("none".into(), None),
            ]
        },
    }
}

fn produce(bs: &str, topic: &str, count: usize, partitions: i32) {
    let records: Vec<BulkRecord> = (0..count).map(|i| record(i, partitions)).collect();
    produce_records(bs, topic, &records);
}

fn produce_records(bs: &str, topic: &str, records: &[BulkRecord]) {
    let producer: BaseProducer = client_config(bs)
        .set("linger.ms", "20")
        .create()
        .expect("producer");
    for r in records {
        let headers = r.headers.iter().fold(OwnedHeaders::new(), |h, (k, v)| {
            h.insert(Header {
                key: k,
                value: v.as_deref(),
            })
        });
        let mut out: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic)
            .partition(r.partition)
            .headers(headers)
            .timestamp(r.timestamp.unwrap().1);
        if let Some(k) = &r.key {
            out = out.key(k);
        }
        if let Some(v) = &r.value {
            out = out.payload(v);
        }
        loop {
            match producer.send(out) {
                Ok(()) => break,
                Err((_, back)) => {
                    out = back;
                    producer.poll(Duration::from_millis(10));
                }
            }
        }
        producer.poll(Duration::ZERO);
    }
    producer
        .flush(Duration::from_secs(30))
        .expect("every record acknowledged");
}

/// What must survive a round trip: everything but the offset.
type Kept = (
    i32,
    Option<(&'static str, i64)>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn kept(records: &[BulkRecord]) -> Vec<Kept> {
    let mut out: Vec<Kept> = records
        .iter()
        .map(|r| {
            (
                r.partition,
                r.timestamp,
                r.key.clone(),
                r.value.clone(),
                r.headers.clone(),
            )
        })
        .collect();
    out.sort();
    out
}

fn sha256_of(records: &[Kept]) -> String {
    let mut hash = Sha256::new();
    for r in records {
        hash.update(format!("{r:?}\n"));
    }
    format!("{:x}", hash.finalize())
}

/// The data files of an export, in MANIFEST order, after checking that
/// each is there with the size and sha256 listed and that no other data
/// file is.
fn listed_files(dir: &Path) -> Vec<PathBuf> {
    let entries = read_manifest(dir).expect("MANIFEST");
    let mut on_disk = BTreeSet::new();
    for bucket in std::fs::read_dir(dir).unwrap() {
        let bucket = bucket.unwrap();
        if bucket.file_type().unwrap().is_dir() {
            for file in std::fs::read_dir(bucket.path()).unwrap() {
                on_disk.insert(file.unwrap().path());
            }
        }
    }
    let listed: BTreeSet<PathBuf> = entries.iter().map(|e| dir.join(&e.file)).collect();
    assert_eq!(on_disk, listed, "the files on disk are the ones listed");
    entries
        .iter()
        .map(|e| {
            let path = dir.join(&e.file);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, e.bytes, "{}", e.file);
            assert_eq!(
                format!("{:x}", Sha256::digest(&bytes)),
                e.sha256,
                "{}",
                e.file
            );
            path
        })
        .collect()
}

/// Every record an export wrote, checked against its MANIFEST entry.
fn exported(dir: &Path, format: Format) -> Vec<BulkRecord> {
    let mut out = Vec::new();
    let entries = read_manifest(dir).unwrap();
    for (entry, path) in entries.iter().zip(listed_files(dir)) {
        let file = std::io::BufReader::new(std::fs::File::open(&path).unwrap());
        let records: Vec<BulkRecord> = format
            .records(Box::new(file))
            .map(|(place, r)| r.unwrap_or_else(|e| panic!("{}:{place}: {e}", path.display())))
            .collect();
        assert_eq!(records.len() as u64, entry.records);
        assert_eq!(records.first().unwrap().offset, entry.first_offset);
        assert_eq!(records.last().unwrap().offset, entry.last_offset);
        assert!(records.iter().all(|r| r.partition == entry.partition));
        out.extend(records);
    }
    let places: BTreeSet<(i32, i64)> = out.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(places.len(), out.len(), "no record is exported twice");
    out
}

fn export(bs: &str, topic: &str, dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["-t", topic, "--to", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run_tool(EXPORT, bs, &all, b"");
    out.ok();
    out.stderr
}

fn import(bs: &str, topic: &str, files: &[PathBuf], args: &[&str]) -> harness::ToolOutput {
    let mut all: Vec<&str> = vec!["-t", topic];
    all.extend_from_slice(args);
    all.push("--from");
    all.extend(files.iter().map(|f| f.to_str().unwrap()));
    run_tool(IMPORT, bs, &all, b"")
}

#[test]
fn every_format_round_trips_every_field() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "source", "3");
    produce(&bs, "source", 300, 3);
    let expected = kept(&(0..300).map(|i| record(i, 3)).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    for (name, format) in FORMATS {
        let first = tmp.path().join(format!("{name}-first"));
        // A group of its own: the default one has the previous format's
        // export committed, and a new directory resumes from it.
        let group = format!("first-{name}");
        export(
            &bs,
            "source",
            &first,
            &["--format", name, "--roll-records", "40", "--group", &group],
        );
        let records = exported(&first, format);
        assert_eq!(kept(&records), expected, "{name}: as produced");

        let copy = format!("copy-{name}");
        create(&bs, &copy, "3");
        let files = listed_files(&first);
        assert!(files.len() >= 6, "{name}: rolled every 40 records");
        let dry = import(&bs, &copy, &files, &["--format", name, "--dry-run"]);
        dry.ok();
        assert!(dry.stderr.contains("300 records"), "{}", dry.stderr);
        import(&bs, &copy, &files, &["--format", name, "--keep-partitions"]).ok();

        let second = tmp.path().join(format!("{name}-second"));
        export(&bs, &copy, &second, &["--format", name]);
        assert_eq!(
            kept(&exported(&second, format)),
            expected,
            "{name}: exported, imported and exported again"
        );
    }

    let hourly = tmp.path().join("hourly");
    export(
        &bs,
        "source",
        &hourly,
        &["--format", "raw", "--partition-by", "hour", "-g", "hourly"],
    );
    let buckets: BTreeSet<String> = read_manifest(&hourly)
        .unwrap()
        .iter()
        .map(|e| e.file.split('/').next().unwrap().to_string())
        .collect();
    // 300 records 30 s apart from 22:13:20 UTC: 22h, 23h and 00h.
    assert_eq!(
        buckets.into_iter().collect::<Vec<_>>(),
        ["2023-11-14T22", "2023-11-14T23", "2023-11-15T00"]
    );
    assert_eq!(kept(&exported(&hourly, Format::Raw)), expected);
}

#[test]
fn a_killed_export_runs_again_to_every_record_exactly_once() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "big", "2");
    let count = 40_000;
    produce(&bs, "big", count, 2);
    let expected = kept(&(0..count).map(|i| record(i, 2)).collect::<Vec<_>>());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let mut child = spawn_tool(
        EXPORT,
        &bs,
        &[
            "-t",
            "big",
            "--to",
            dir.to_str().unwrap(),
            "--roll-records",
            "500",
        ],
    );
    let lines = |dir: &Path| {
        std::fs::read_to_string(dir.join("MANIFEST"))
            .map(|m| m.lines().count())
            .unwrap_or(0)
    };
    assert!(
        wait_until(Duration::from_secs(60), || lines(&dir) >= 4),
        "the export made progress"
    );
    assert!(child.try_wait().unwrap().is_none(), "killed in the middle");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lines(&dir) < count / 500, "killed before the end");

    let stderr = export(&bs, "big", &dir, &["--roll-records", "500"]);
    assert!(stderr.contains(", resuming "), "{stderr}");
    let records = exported(&dir, Format::Jsonl);
    assert_eq!(records.len(), count);
    assert_eq!(sha256_of(&kept(&records)), sha256_of(&expected));

    // Done: a third run finds nothing new.
    let stderr = export(&bs, "big", &dir, &[]);
    assert!(stderr.starts_with("Exported 0 records"), "{stderr}");
}

#[test]
fn an_unlisted_file_left_by_a_crash_is_removed_and_rewritten() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "small", "1");
    produce(&bs, "small", 100, 1);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    export(
        &bs,
        "small",
        &dir,
        &["--max-records", "50", "--roll-records", "50"],
    );
    // A crash after the rename and before the MANIFEST line: the file is
    // there, unlisted; and one before the rename.
    let orphan = dir.join("partition-0/small-0-00000000000000000050.jsonl");
    std::fs::write(&orphan, "{\"offset\":50}\n").unwrap();
    std::fs::write(
        dir.join("partition-0/small-0-00000000000000000099.jsonl.tmp"),
        "x",
    )
    .unwrap();
    let stderr = export(&bs, "small", &dir, &["--roll-records", "50"]);
    assert!(stderr.contains("removed"), "{stderr}");
    let records = exported(&dir, Format::Jsonl);
    assert_eq!(
        records.iter().map(|r| r.offset).collect::<Vec<_>>(),
        (0..100).collect::<Vec<i64>>()
    );
    // Files the export did not name are never touched.
    let notes = dir.join("partition-0/notes.jsonl");
    std::fs::write(&notes, "mine").unwrap();
    let other_format = run_tool(
        EXPORT,
        &bs,
        &[
            "-t",
            "small",
            "--to",
            dir.to_str().unwrap(),
            "--format",
            "csv",
        ],
        b"",
    );
    assert_eq!(other_format.code, Some(1));
    assert!(
        other_format
            .stderr
            .contains("holds files of another format"),
        "{}",
        other_format.stderr
    );
    export(&bs, "small", &dir, &[]);
    assert!(notes.exists());
}

/// The sum of the partitions' high watermarks.
fn high_watermarks(bs: &str, topic: &str, partitions: i32) -> i64 {
    let consumer: BaseConsumer = client_config(bs)
        .set("group.id", "watermarks")
        .create()
        .unwrap();
    (0..partitions)
        .map(|p| {
            consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .map_or(0, |(_, high)| high)
        })
        .sum()
}

#[test]
fn a_killed_import_runs_again_to_every_record_exactly_once() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "target", "2");
    let count = 30_000;
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for part in 0..2 {
        let path = tmp.path().join(format!("part-{part}.jsonl"));
        let mut bytes = Vec::new();
        for i in (part * count / 2)..((part + 1) * count / 2) {
            let r = record(i, 2);
            Streamed::Jsonl.encode(&r, &mut bytes);
            expected.push(r);
        }
        std::fs::write(&path, bytes).unwrap();
        files.push(path);
    }
    let mut args: Vec<&str> = vec![
        "-t",
        "target",
        "--keep-partitions",
        "--chunk-records",
        "500",
        "--from",
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let mut child = spawn_tool(IMPORT, &bs, &args);
    assert!(
        wait_until(Duration::from_secs(60), || high_watermarks(
            &bs, "target", 2
        ) >= 3_000),
        "the import made progress"
    );
    assert!(child.try_wait().unwrap().is_none(), "killed in the middle");
    child.kill().unwrap();
    child.wait().unwrap();

    let again = import(
        &bs,
        "target",
        &files,
        &["--keep-partitions", "--chunk-records", "500"],
    );
    again.ok();
    assert!(
        !again.stderr.contains("; 0 written by an earlier run"),
        "{}",
        again.stderr
    );

    let dir = tmp.path().join("check");
    export(&bs, "target", &dir, &[]);
    let records = exported(&dir, Format::Jsonl);
    assert_eq!(records.len(), count);
    assert_eq!(sha256_of(&kept(&records)), sha256_of(&kept(&expected)));

    // Everything is in: a third run writes nothing.
    let third = import(&bs, "target", &files, &["--keep-partitions"]);
    assert!(third.ok().is_empty());
    assert!(
        third.stderr.starts_with("Imported 0 records"),
        "{}",
        third.stderr
    );
}

#[test]
fn bad_input_is_named_by_file_and_line_and_nothing_is_written() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "strict", "1");
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.jsonl");
    let mut bytes = Vec::new();
    Streamed::Jsonl.encode(&record(1, 1), &mut bytes);
    std::fs::write(&good, &bytes).unwrap();
    let bad = tmp.path().join("bad.jsonl");
    bytes.extend(b"{\"value\": 5}\nnot json\n");
    Streamed::Jsonl.encode(&record(2, 1), &mut bytes);
    std::fs::write(&bad, &bytes).unwrap();
    let csv = tmp.path().join("bad.csv");
    let mut rows = Streamed::Csv.preamble();
    Streamed::Csv.encode(&record(3, 1), &mut rows);
    rows.extend(b"0,1,,,utf8,k,base64,***,\n");
    std::fs::write(&csv, &rows).unwrap();

    for dry_run in [true, false] {
        let flags: &[&str] = if dry_run { &["--dry-run"] } else { &[] };
        let out = import(&bs, "strict", &[good.clone(), bad.clone()], flags);
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 3, "{}", out.stderr);
        assert_eq!(
            lines[0],
            format!("{}:2: value is not a string", bad.display())
        );
        assert!(
            lines[1].starts_with(&format!("{}:3: not a JSON object", bad.display())),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines[2],
            "topic-import: 2 records cannot be read; nothing written"
        );
    }
    let out = import(
        &bs,
        "strict",
        std::slice::from_ref(&csv),
        &["--format", "csv", "--dry-run"],
    );
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .starts_with(&format!("{}:3: value is not valid base64", csv.display())),
        "{}",
        out.stderr
    );
    assert_eq!(high_watermarks(&bs, "strict", 1), 0, "nothing written");
}

#[test]
fn bad_flags_are_one_line_and_exit_2() {
    for (tool, args) in [
        (EXPORT, &["-t", "orders"][..]),
        (
            EXPORT,
            &["-t", "orders", "--to", "d", "--value-format", "yaml"][..],
        ),
        (
            EXPORT,
            &["-t", "orders", "--to", "d", "--until", "soon"][..],
        ),
        (
            EXPORT,
            &["-t", "orders", "--to", "d", "--roll-bytes", "0"][..],
        ),
        (IMPORT, &["-t", "orders"][..]),
        (
            IMPORT,
            &["-t", "orders", "--from", "f", "--chunk-records", "0"][..],
        ),
    ] {
        let out = run_tool(tool, "127.0.0.1:1", args, b"");
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.ends_with("(see --help)\n"), "{}", out.stderr);
    }
}

/// What pyarrow reads in an export directory (tests/compat/python/
/// parquet_check.py): each file's column types, and each row.
fn pyarrow_read(dir: &Path) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let compat = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/python");
    let python = compat.join(".venv/bin/python");
    assert!(
        python.exists(),
        "pyarrow is not installed: run scripts/install-compat ({} is missing)",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg(compat.join("parquet_check.py"))
        .arg(dir)
        .output()
        .expect("run parquet_check.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pyarrow cannot read {}: {}{stdout}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut schemas, mut rows) = (Vec::new(), Vec::new());
    for line in stdout.lines() {
        let (kind, json) = line.split_once(' ').expect("a tagged line");
        let value = serde_json::from_str(json).expect("JSON");
        match kind {
            "schema" => schemas.push(value),
            _ => rows.push(value),
        }
    }
    (schemas, rows)
}

fn unhex(v: &serde_json::Value) -> Option<Vec<u8>> {
    let hex = v.get("hex")?.as_str().expect("hex is a string");
    Some(
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect(),
    )
}

/// A row of values kept as bytes, as pyarrow read it, as the record it
/// must be.
fn from_pyarrow(row: &serde_json::Value) -> BulkRecord {
    let value = unhex(&row["value_raw"]).or_else(|| unhex(&row["value"]));
    let kind = match row["timestamp_type"].as_str() {
        Some("LogAppendTime") => "LogAppendTime",
        _ => "CreateTime",
    };
    BulkRecord {
        partition: row["partition"].as_i64().unwrap() as i32,
        offset: row["offset"].as_i64().unwrap(),
        timestamp: row["timestamp"].as_i64().map(|ms| (kind, ms)),
        key: unhex(&row["key"]),
        value,
        headers: row["headers"]
            .as_array()
            .expect("headers is a list")
            .iter()
            .map(|h| (h["key"].as_str().unwrap().to_string(), unhex(&h["value"])))
            .collect(),
    }
}

/// Value `i` of the JSON test data: objects of one shape, with tombstones,
/// bytes that are not JSON and objects that do not fit the schema.
fn json_value(i: usize) -> Option<Vec<u8>> {
    match i % 10 {
        0 => None,
        1 => Some(format!("not json {i} \u{ff}").into_bytes()),
        2 => Some(format!(r#"{{"id": "x{i}"}}"#).into_bytes()),
        3 => Some(format!(r#"{{"id": {i}, "extra": true}}"#).into_bytes()),
        _ => Some(
            format!(
                r#"{{"id": {i}, "name": "n{i}", "price": {}.5, "ok": {}, "tags": [{i}, {{"k": null}}]}}"#,
                i,
                i % 2 == 0
            )
            .into_bytes(),
        ),
    }
}

/// A value as JSON when it is JSON, so that formatting does not count.
fn comparable(records: &[BulkRecord]) -> Vec<Kept> {
    let normal: Vec<BulkRecord> = records
        .iter()
        .map(|r| {
            let value =
                r.value
                    .as_ref()
                    .map(|v| match serde_json::from_slice::<serde_json::Value>(v) {
                        Ok(json) if json.is_object() => {
                            let object = json.as_object().unwrap();
                            let mut fields: Vec<_> = object
                                .iter()
                                .map(|(k, v)| {
                                    (
                                        k.clone(),
                                        v.as_f64().map_or(v.to_string(), |f| f.to_string()),
                                    )
                                })
                                .collect();
                            fields.sort();
                            format!("{fields:?}").into_bytes()
                        }
                        _ => v.clone(),
                    });
            BulkRecord { value, ..r.clone() }
        })
        .collect();
    kept(&normal)
}

/// Parquet files as topic-export writes them are read by pyarrow, which
/// finds the documented column types and every field of every record, with
/// values as bytes and split into JSON columns; the JSON shape imports back
/// to the same records (values equal as JSON).
#[test]
fn parquet_files_are_standard_to_pyarrow() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create(&bs, "orders", "2");
    let records: Vec<BulkRecord> = (0..200)
        .map(|i| BulkRecord {
            value: json_value(i),
            ..record(i, 2)
        })
        .collect();
    produce_records(&bs, "orders", &records);
    let expected = kept(&records);
    let tmp = tempfile::tempdir().unwrap();

    let bytes = tmp.path().join("bytes");
    export(
        &bs,
        "orders",
        &bytes,
        &["--format", "parquet", "-g", "bytes", "--roll-records", "64"],
    );
    let (schemas, rows) = pyarrow_read(&bytes);
    assert!(schemas.len() >= 4, "rolled every 64 records");
    assert_eq!(
        schemas[0],
        serde_json::json!({
            "partition": "int32",
            "offset": "int64",
            "timestamp": "timestamp[ms, tz=UTC]",
            "timestamp_type": "string",
            "key": "binary",
            "value": "binary",
            "headers": "list<element: struct<key: string not null, value: binary> not null>",
        })
    );
    let read: Vec<BulkRecord> = rows.iter().map(from_pyarrow).collect();
    assert_eq!(kept(&read), expected, "every field as produced");

    let schema = tmp.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"fields": [{"name": "id", "type": "int64"}, {"name": "name", "type": "string"},
                      {"name": "price", "type": "double"}, {"name": "ok", "type": "boolean"},
                      {"name": "tags", "type": "json"}]}"#,
    )
    .unwrap();
    let json = tmp.path().join("json");
    export(
        &bs,
        "orders",
        &json,
        &[
            "--format",
            "parquet",
            "-g",
            "json",
            "--value-format",
            "json",
            "--value-schema",
            schema.to_str().unwrap(),
        ],
    );
    let (schemas, rows) = pyarrow_read(&json);
    assert_eq!(
        schemas[0]["value"],
        "struct<id: int64, name: string, price: double, ok: bool, tags: extension<arrow.json>>"
    );
    assert_eq!(schemas[0]["value_raw"], "binary");
    for row in &rows {
        let i = row["value"]["id"].as_i64().map(|id| id as usize);
        let raw = unhex(&row["value_raw"]);
        match (i, raw) {
            (Some(i), None) => {
                assert!(i % 10 >= 4, "{row}");
                assert_eq!(row["value"]["name"], format!("n{i}"));
                assert_eq!(row["value"]["price"], i as f64 + 0.5);
                assert_eq!(row["value"]["ok"], i % 2 == 0);
                let tags: serde_json::Value =
                    serde_json::from_str(row["value"]["tags"].as_str().unwrap()).unwrap();
                assert_eq!(tags, serde_json::json!([i, {"k": null}]));
            }
            (None, raw) => {
                assert!(row["value"].is_null(), "{row}");
                let produced = records
                    .iter()
                    .find(|r| {
                        r.partition == row["partition"].as_i64().unwrap() as i32
                            && unhex(&row["key"]) == r.key
                            && r.headers == from_pyarrow(row).headers
                            && r.timestamp.map(|t| t.1) == row["timestamp"].as_i64()
                    })
                    .expect("a produced record");
                assert_eq!(raw, produced.value, "kept as bytes: {row}");
            }
            (Some(_), Some(_)) => panic!("a value in both shapes: {row}"),
        }
    }
    assert_eq!(rows.len(), records.len());
    assert_eq!(
        comparable(&exported(&json, Format::Parquet)),
        comparable(&records)
    );

    create(&bs, "orders-copy", "2");
    import(
        &bs,
        "orders-copy",
        &listed_files(&json),
        &["--format", "parquet", "--keep-partitions"],
    )
    .ok();
    let again = tmp.path().join("again");
    export(&bs, "orders-copy", &again, &["--format", "parquet"]);
    assert_eq!(
        comparable(&exported(&again, Format::Parquet)),
        comparable(&records),
        "exported as JSON columns, imported and exported again"
    );

    let inferred = tmp.path().join("inferred");
    export(
        &bs,
        "orders",
        &inferred,
        &[
            "--format",
            "parquet",
            "-g",
            "inferred",
            "--value-format",
            "json",
        ],
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(inferred.join("value-schema.json")).unwrap())
            .unwrap();
    assert_eq!(
        saved,
        serde_json::json!({"fields": [
            {"name": "extra", "type": "boolean"}, {"name": "id", "type": "json"},
            {"name": "name", "type": "string"}, {"name": "ok", "type": "boolean"},
            {"name": "price", "type": "double"}, {"name": "tags", "type": "json"},
        ]})
    );
    let (schemas, rows) = pyarrow_read(&inferred);
    assert_eq!(
        schemas[0]["value"],
        "struct<extra: bool, id: extension<arrow.json>, name: string, ok: bool, price: double, tags: extension<arrow.json>>"
    );
    assert_eq!(rows.len(), records.len());
    assert_eq!(
        comparable(&exported(&inferred, Format::Parquet)),
        comparable(&records)
    );

    let out = run_tool(
        EXPORT,
        &bs,
        &[
            "-t",
            "orders",
            "--to",
            tmp.path().join("x").to_str().unwrap(),
            "--value-format",
            "json",
        ],
        b"",
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--value-format json needs --format parquet"),
        "{}",
        out.stderr
    );
}
