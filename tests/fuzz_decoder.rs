//! Fuzzing the request decoder on the stable toolchain: real frames of
//! every API and version the broker serves (tests/it/harness/requests.rs: the
//! default and populated requests, record batches in every compression)
//! are mutated at random (bit flips, byte overwrites, inserted and deleted
//! bytes, lengths and counts overwritten with huge or negative values,
//! splices, truncation) and decoded as the broker decodes them: the request
//! header, then the body as the API's request type, then each
//! record batch a Produce request carries. A second target mutates record
//! batches themselves and fixes up their CRC, so that the decompressors
//! see the mutations too. Mutants that decode join the corpus.
//!
//! Every decode must return (no panic) and allocate nothing large: a
//! counting global allocator records the largest single allocation, which
//! must stay within a bound proportional to the input.
//!
//! `GREGOR_FUZZ_SECONDS` (default 20) is how long it runs and
//! `GREGOR_FUZZ_SEED` replays a run; `scripts/fuzz` runs it for an hour in
//! release mode. Inputs that fail are written to the target's tmp dir
//! (`target/tmp/fuzz-findings/`) and printed as hex.
//!
//! A test binary of its own rather than a module of tests/it: its
//! counting allocator and panic hook are process-wide, and scripts/fuzz
//! builds it alone in release mode. It shares the request bodies with
//! tests/it's hostile input tests.

#[path = "it/harness/requests.rs"]
mod requests;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use requests::{default_bodies, populated_bodies, sample_batch, Body, COMPRESSIONS};

struct Counting;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| {
        if size > l.get() {
            l.set(size)
        }
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// only addition is a thread-local that does not allocate.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// What a request may allocate at once: its own size many times over (a
/// decoded element is larger than its encoding), never what a count or
/// length field merely claims.
fn request_bound(input: usize) -> usize {
    (1 << 20) + 256 * input
}

/// Decompressing may legitimately produce far more than its input (zstd
/// run-length blocks, lz4's block buffers), so batches get more room; a
/// length claimed by a header and allocated before the data backs it
/// still shows.
fn batch_bound(input: usize) -> usize {
    (64 << 20) + 256 * input
}

/// Where mutants come from and how they are decoded.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Target {
    /// A request frame (header and body) of a served API and version.
    Request(i16, i16),
    /// One record batch, CRC recomputed after mutation.
    Batch,
}

#[derive(Default)]
struct Stats {
    executions: u64,
    decoded: u64,
    batches_decoded: u64,
    largest: usize,
    largest_ratio: f64,
    covered: BTreeSet<Target>,
}

struct Finding {
    target: Target,
    what: String,
    input: Vec<u8>,
}

/// A request frame without its size: header v0..2 as `key` at `version`
/// takes it, then `body`.
fn frame(key: ApiKey, version: i16, body: &[u8]) -> Vec<u8> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("fuzz-client")));
    let mut out = bytes::BytesMut::new();
    header
        .encode(&mut out, key.request_header_version(version))
        .expect("encode a request header");
    out.extend_from_slice(body);
    out.to_vec()
}

/// Decodes `input` as the broker does; `Err` describes a violation.
fn run(target: Target, input: &[u8], stats: &mut Stats) -> Result<bool, String> {
    let bound = match target {
        Target::Request(..) => request_bound(input.len()),
        Target::Batch => batch_bound(input.len()),
    };
    LARGEST.set(0);
    let outcome = catch_unwind(AssertUnwindSafe(|| decode(target, input)));
    let largest = LARGEST.get();
    stats.executions += 1;
    if largest > stats.largest {
        stats.largest = largest;
    }
    let ratio = largest as f64 / input.len().max(1) as f64;
    if ratio > stats.largest_ratio && largest > 4096 {
        stats.largest_ratio = ratio;
    }
    let (decoded, batches) = match outcome {
        Ok(result) => result,
        Err(_) => {
            let message = PANIC.take().unwrap_or_default();
            return Err(format!("panic: {message}"));
        }
    };
    stats.batches_decoded += batches;
    if largest > bound {
        return Err(format!(
            "allocated {largest} bytes at once for {} bytes of input",
            input.len()
        ));
    }
    if decoded {
        stats.decoded += 1;
    }
    Ok(decoded)
}

/// (whether it decoded, record batches decoded).
fn decode(target: Target, input: &[u8]) -> (bool, u64) {
    match target {
        Target::Request(raw_key, version) => {
            let key = ApiKey::try_from(raw_key).expect("a served key");
            let mut bytes = Bytes::copy_from_slice(input);
            if RequestHeader::decode(&mut bytes, key.request_header_version(version)).is_err() {
                return (false, 0);
            }
            let Ok(produce) = decode_body(key, &mut bytes, version) else {
                return (false, 0);
            };
            let mut batches = 0;
            if let Some(produce) = produce {
                for topic in &produce.topic_data {
                    for partition in &topic.partition_data {
                        if let Some(records) = &partition.records {
                            if RecordBatchDecoder::decode_all(&mut records.clone()).is_ok() {
                                batches += 1;
                            }
                        }
                    }
                }
            }
            (true, batches)
        }
        Target::Batch => {
            let ok = RecordBatchDecoder::decode(&mut Bytes::copy_from_slice(input)).is_ok();
            (ok, u64::from(ok))
        }
    }
}

/// Decodes a request body as the broker's registry does, by its API's
/// type; a Produce request is returned for its record batches.
fn decode_body(
    key: ApiKey,
    bytes: &mut Bytes,
    version: i16,
) -> anyhow::Result<Option<ProduceRequest>> {
    macro_rules! as_type {
        ($($api:ident => $ty:ty),* $(,)?) => {
            match key {
                ApiKey::Produce => return Ok(Some(ProduceRequest::decode(bytes, version)?)),
                $(ApiKey::$api => { <$ty>::decode(bytes, version)?; })*
                other => panic!("API {other:?} is served but not fuzzed"),
            }
        };
    }
    as_type!(
        AddOffsetsToTxn => AddOffsetsToTxnRequest,
        AddPartitionsToTxn => AddPartitionsToTxnRequest,
        AddRaftVoter => AddRaftVoterRequest,
        AlterClientQuotas => AlterClientQuotasRequest,
        AlterConfigs => AlterConfigsRequest,
        AlterPartitionReassignments => AlterPartitionReassignmentsRequest,
        AlterReplicaLogDirs => AlterReplicaLogDirsRequest,
        AlterUserScramCredentials => AlterUserScramCredentialsRequest,
        ApiVersions => ApiVersionsRequest,
        ConsumerGroupDescribe => ConsumerGroupDescribeRequest,
        ConsumerGroupHeartbeat => ConsumerGroupHeartbeatRequest,
        ShareAcknowledge => ShareAcknowledgeRequest,
        DescribeShareGroupOffsets => DescribeShareGroupOffsetsRequest,
        AlterShareGroupOffsets => AlterShareGroupOffsetsRequest,
        DeleteShareGroupOffsets => DeleteShareGroupOffsetsRequest,
        ShareFetch => ShareFetchRequest,
        ShareGroupDescribe => ShareGroupDescribeRequest,
        ShareGroupHeartbeat => ShareGroupHeartbeatRequest,
        InitializeShareGroupState => InitializeShareGroupStateRequest,
        ReadShareGroupState => ReadShareGroupStateRequest,
        WriteShareGroupState => WriteShareGroupStateRequest,
        DeleteShareGroupState => DeleteShareGroupStateRequest,
        ReadShareGroupStateSummary => ReadShareGroupStateSummaryRequest,
        CreateAcls => CreateAclsRequest,
        CreatePartitions => CreatePartitionsRequest,
        CreateTopics => CreateTopicsRequest,
        DeleteAcls => DeleteAclsRequest,
        DeleteGroups => DeleteGroupsRequest,
        DeleteRecords => DeleteRecordsRequest,
        DeleteTopics => DeleteTopicsRequest,
        DescribeAcls => DescribeAclsRequest,
        DescribeClientQuotas => DescribeClientQuotasRequest,
        DescribeCluster => DescribeClusterRequest,
        DescribeConfigs => DescribeConfigsRequest,
        DescribeGroups => DescribeGroupsRequest,
        DescribeLogDirs => DescribeLogDirsRequest,
        DescribeProducers => DescribeProducersRequest,
        DescribeQuorum => DescribeQuorumRequest,
        DescribeTopicPartitions => DescribeTopicPartitionsRequest,
        DescribeTransactions => DescribeTransactionsRequest,
        DescribeUserScramCredentials => DescribeUserScramCredentialsRequest,
        ElectLeaders => ElectLeadersRequest,
        EndTxn => EndTxnRequest,
        Fetch => FetchRequest,
        FindCoordinator => FindCoordinatorRequest,
        GetTelemetrySubscriptions => GetTelemetrySubscriptionsRequest,
        Heartbeat => HeartbeatRequest,
        IncrementalAlterConfigs => IncrementalAlterConfigsRequest,
        InitProducerId => InitProducerIdRequest,
        JoinGroup => JoinGroupRequest,
        LeaveGroup => LeaveGroupRequest,
        ListConfigResources => ListConfigResourcesRequest,
        ListGroups => ListGroupsRequest,
        ListOffsets => ListOffsetsRequest,
        ListPartitionReassignments => ListPartitionReassignmentsRequest,
        ListTransactions => ListTransactionsRequest,
        Metadata => MetadataRequest,
        OffsetCommit => OffsetCommitRequest,
        OffsetDelete => OffsetDeleteRequest,
        OffsetFetch => OffsetFetchRequest,
        OffsetForLeaderEpoch => OffsetForLeaderEpochRequest,
        PushTelemetry => PushTelemetryRequest,
        RemoveRaftVoter => RemoveRaftVoterRequest,
        SaslAuthenticate => SaslAuthenticateRequest,
        SaslHandshake => SaslHandshakeRequest,
        SyncGroup => SyncGroupRequest,
        TxnOffsetCommit => TxnOffsetCommitRequest,
        UpdateFeatures => UpdateFeaturesRequest,
        WriteTxnMarkers => WriteTxnMarkersRequest,
    );
    Ok(None)
}

/// Values that make length and count fields lie.
const WIDE: [i32; 9] = [
    -1,
    -2,
    0,
    1,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    i32::MIN,
    0x0100_0000,
];

/// Unsigned varints that claim billions (compact lengths and counts).
const VARINTS: [&[u8]; 4] = [
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0xff, 0xff, 0xff, 0xff, 0x07],
    &[0x80, 0x80, 0x80, 0x80, 0x08],
    &[0xff, 0xff, 0x03],
];

/// One random change to `data` at or after `from`, sometimes taking bytes
/// from `other`.
fn mutate_once(rng: &mut fastrand::Rng, data: &mut Vec<u8>, from: usize, other: &[u8]) {
    let len = data.len();
    let at = |rng: &mut fastrand::Rng| {
        if len > from {
            rng.usize(from..len)
        } else {
            len
        }
    };
    match rng.u8(0..10) {
        0 if len > from => {
            let i = at(rng);
            data[i] ^= 1 << rng.u8(0..8);
        }
        1 if len > from => {
            let i = at(rng);
            data[i] = *rng.choice(&[0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]).unwrap();
        }
        2 => {
            let i = at(rng);
            let n = rng.usize(1..=8);
            let inserted: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            data.splice(i..i, inserted);
        }
        3 if len > from => {
            let i = at(rng);
            let end = (i + rng.usize(1..=16)).min(len);
            data.drain(i..end);
        }
        4 if len > from => {
            let i = at(rng);
            let value = *rng.choice(&WIDE).unwrap();
            let wide = rng.bool();
            let bytes: Vec<u8> = if wide {
                value.to_be_bytes().to_vec()
            } else {
                (value as i16).to_be_bytes().to_vec()
            };
            let end = (i + bytes.len()).min(len);
            data.splice(i..end, bytes);
        }
        5 if len > from => {
            let i = at(rng);
            let end = (i + 5).min(len);
            data.splice(i..end, rng.choice(&VARINTS).unwrap().iter().copied());
        }
        6 if len > from => {
            data.truncate(at(rng));
        }
        7 if !other.is_empty() => {
            let start = rng.usize(..other.len());
            let end = (start + rng.usize(1..=64)).min(other.len());
            let i = at(rng);
            data.splice(i..i, other[start..end].iter().copied());
        }
        8 if len > from + 1 => {
            let i = at(rng);
            let end = (i + rng.usize(1..=32)).min(len);
            let chunk = data[i..end].to_vec();
            for _ in 0..rng.usize(1..=4) {
                data.splice(end..end, chunk.iter().copied());
            }
        }
        _ if len > from => {
            let i = at(rng);
            data[i] = rng.u8(..);
        }
        _ => data.push(rng.u8(..)),
    }
}

/// Batch layout: length at 8, CRC at 17, CRC32C over everything from 21.
fn fix_batch(rng: &mut fastrand::Rng, batch: &mut [u8]) {
    if batch.len() < 21 {
        return;
    }
    if rng.u8(0..4) != 0 {
        let length = (batch.len() - 12) as i32;
        batch[8..12].copy_from_slice(&length.to_be_bytes());
    }
    if rng.u8(0..10) != 0 {
        let crc = crc32c::crc32c(&batch[21..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
    }
}

fn seeds() -> BTreeMap<Target, Vec<Vec<u8>>> {
    let served: BTreeMap<i16, (i16, i16)> = gregor::api::endpoints()
        .iter()
        .map(|e| (e.key as i16, (e.versions.min, e.versions.max)))
        .collect();
    let mut corpus: BTreeMap<Target, Vec<Vec<u8>>> = BTreeMap::new();
    let bodies: Vec<Body> = default_bodies()
        .into_iter()
        .chain(populated_bodies())
        .collect();
    for (key, version, body) in bodies {
        let Some(&(min, max)) = served.get(&(key as i16)) else {
            continue;
        };
        if (min..=max).contains(&version) {
            corpus
                .entry(Target::Request(key as i16, version))
                .or_default()
                .push(frame(key, version, &body));
        }
    }
    for (&raw_key, &(min, max)) in &served {
        for version in min..=max {
            assert!(
                corpus.contains_key(&Target::Request(raw_key, version)),
                "no seed for API {raw_key} v{version}"
            );
        }
    }
    corpus.insert(
        Target::Batch,
        COMPRESSIONS
            .iter()
            .map(|c| sample_batch(*c).to_vec())
            .collect(),
    );
    corpus
}

/// A corpus this large per target stops taking new mutants.
const CORPUS_LIMIT: usize = 64;

#[test]
fn the_request_decoder_survives_mutated_frames_of_every_api_and_version() {
    let seconds: u64 = std::env::var("GREGOR_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("GREGOR_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("fuzzing the request decoder for {seconds} s, GREGOR_FUZZ_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut corpus = seeds();
    let targets: Vec<Target> = corpus.keys().copied().collect();
    let seeded: usize = corpus.values().map(Vec::len).sum();

    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let _ = PANIC.try_with(|p| *p.borrow_mut() = Some(info.to_string()));
    }));

    let mut stats = Stats::default();
    let mut findings: Vec<Finding> = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    while Instant::now() < deadline && findings.len() < 20 {
        for _ in 0..256 {
            let target = *rng.choice(&targets).unwrap();
            let entries = &corpus[&target];
            let mut input = rng.choice(entries).unwrap().clone();
            let other = rng.choice(entries).unwrap().clone();
            // A request's key and version are checked before it is decoded.
            let from = if target == Target::Batch { 0 } else { 4 };
            for _ in 0..rng.usize(1..=4) {
                mutate_once(&mut rng, &mut input, from, &other);
            }
            if target == Target::Batch {
                fix_batch(&mut rng, &mut input);
            }
            stats.covered.insert(target);
            match run(target, &input, &mut stats) {
                Ok(true) => {
                    let entries = corpus.get_mut(&target).unwrap();
                    if entries.len() < CORPUS_LIMIT {
                        entries.push(input);
                    } else if rng.u8(0..16) == 0 {
                        let i = rng.usize(..entries.len());
                        entries[i] = input;
                    }
                }
                Ok(false) => {}
                Err(what) => {
                    if !findings
                        .iter()
                        .any(|f| f.target == target && f.what == what)
                    {
                        findings.push(Finding {
                            target,
                            what,
                            input,
                        });
                    }
                }
            }
        }
    }
    std::panic::set_hook(previous_hook);

    let elapsed = started.elapsed().as_secs_f64();
    let requests = targets
        .iter()
        .filter(|t| matches!(t, Target::Request(..)))
        .count();
    println!(
        "{} executions in {elapsed:.0} s ({:.0}/s); {} decoded ({} record batches); \
         {} of {} targets ({requests} API versions and record batches) covered; \
         {seeded} seeds, corpus now {}; largest single allocation {} bytes, \
         at most {:.1}x the input (over 4 KiB)",
        stats.executions,
        stats.executions as f64 / elapsed,
        stats.decoded,
        stats.batches_decoded,
        stats.covered.len(),
        targets.len(),
        corpus.values().map(Vec::len).sum::<usize>(),
        stats.largest,
        stats.largest_ratio,
    );
    if findings.is_empty() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings");
    std::fs::create_dir_all(&dir).expect("create the findings dir");
    let mut report = String::new();
    for (i, f) in findings.iter().enumerate() {
        let name = match f.target {
            Target::Request(key, version) => format!("{seed}-{i}-api{key}-v{version}.bin"),
            Target::Batch => format!("{seed}-{i}-batch.bin"),
        };
        std::fs::write(dir.join(&name), &f.input).expect("write a finding");
        let hex: String = f.input.iter().map(|b| format!("{b:02x}")).collect();
        report.push_str(&format!("\n{:?}: {} ({name})\n  {hex}", f.target, f.what));
    }
    panic!(
        "{} findings, inputs in {}:{report}",
        findings.len(),
        dir.display()
    );
}

/// A batch whose base offset is i64::MIN and whose record's offset delta is
/// -1: the codec added them unchecked (a panic in debug builds). Found by
/// the run above; the record must come back with an error or an offset,
/// never a panic.
#[test]
fn a_record_offset_below_i64_min_is_no_panic() {
    let mut batch = sample_batch(kafka_protocol::records::Compression::None).to_vec();
    batch[..8].copy_from_slice(&i64::MIN.to_be_bytes());
    // After the 61-byte header: the record's length (a varint), then its
    // attributes and timestamp delta (a byte each here); then the offset
    // delta, 0, becomes -1 (zigzag 1, the same length).
    let length_bytes = 1 + batch[61..].iter().take_while(|b| *b & 0x80 != 0).count();
    let at = 61 + length_bytes + 2;
    assert_eq!(batch[at], 0, "the first record's offset delta");
    batch[at] = 1;
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    let decoded = catch_unwind(|| RecordBatchDecoder::decode(&mut Bytes::from(batch)).is_ok());
    assert!(decoded.is_ok(), "decoding panicked");
}
