//! Encoded response bodies as a list of chunks, so that large byte fields
//! (a Fetch's records) go to the socket from the buffer they were read
//! into rather than being copied into one contiguous body first.
//!
//! The codec writes every field through `BufMut::put_slice`; the body
//! recognises a slice that is exactly one of the `Bytes` it was given (same
//! address and length) and keeps a reference to it in place of a copy. The
//! vectored write then sends the chunks as they are.

use std::collections::HashMap;
use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::Encodable;

/// Byte fields shorter than this are copied: an extra iovec and chunk
/// cost more than copying a few KiB.
const MIN_SPLICED: usize = 4096;

/// `message` encoded at `version`, with the fields that are exactly one of
/// `shared` referenced rather than copied.
pub fn encode<M: Encodable>(
    message: &M,
    version: i16,
    shared: Vec<Bytes>,
) -> anyhow::Result<Vec<Bytes>> {
    let shared: HashMap<(usize, usize), Bytes> = shared
        .into_iter()
        .filter(|b| b.len() >= MIN_SPLICED)
        .map(|b| ((b.as_ptr() as usize, b.len()), b))
        .collect();
    let spliced: usize = shared.values().map(Bytes::len).sum();
    let size = message.compute_size(version)?;
    let mut body = SplicedBody {
        chunks: Vec::with_capacity(2 * shared.len() + 1),
        before: 0,
        current: BytesMut::with_capacity(size.saturating_sub(spliced)),
        shared,
    };
    message.encode(&mut body, version)?;
    Ok(body.finish())
}

struct SplicedBody {
    /// What was written before `current`: copied runs and spliced fields.
    chunks: Vec<Bytes>,
    /// Bytes in `chunks`.
    before: usize,
    current: BytesMut,
    /// Fields to splice, by address and length.
    shared: HashMap<(usize, usize), Bytes>,
}

impl SplicedBody {
    fn finish(mut self) -> Vec<Bytes> {
        if !self.current.is_empty() {
            self.chunks.push(self.current.freeze());
        }
        self.chunks
    }

    /// Makes the body one contiguous buffer again, splicing nothing more:
    /// for writers that go back over what they wrote (the codec's gaps,
    /// which only record batch encoding uses, not message fields).
    fn flatten(&mut self) {
        if self.chunks.is_empty() {
            return;
        }
        let mut whole = BytesMut::with_capacity(self.before + self.current.len());
        for chunk in self.chunks.drain(..) {
            whole.extend_from_slice(&chunk);
        }
        whole.extend_from_slice(&self.current);
        self.current = whole;
        self.before = 0;
        self.shared.clear();
    }
}

/// The codec writes every integer through BufMut's `put_*`, whose default
/// implementations call `put_slice`: a fixed-size write cannot be one of
/// the shared fields, so it goes to `current` directly, a store of known
/// size rather than a call and a memcpy of a few bytes (Fetch writes a
/// dozen per partition).
macro_rules! fixed_size_puts {
    ($($put:ident: $t:ty),*) => {
        $(
            fn $put(&mut self, n: $t) {
                self.current.$put(n)
            }
        )*
    };
}

// The codec's ByteBufMut needs BufMut, whose trait and advance_mut are
// unsafe to implement. Every method hands over to `current`, a BytesMut,
// so its implementation's guarantees are these ones.
#[allow(unsafe_code)]
// SAFETY: chunk_mut and advance_mut are BytesMut's own, on the same buffer.
unsafe impl BufMut for SplicedBody {
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }

    #[allow(unsafe_code)]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller's promise (the first `cnt` bytes of
        // chunk_mut are initialised) is about `current`'s chunk.
        unsafe { self.current.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.current.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= MIN_SPLICED {
            if let Some(shared) = self.shared.remove(&(src.as_ptr() as usize, src.len())) {
                if !self.current.is_empty() {
                    let copied = self.current.split().freeze();
                    self.before += copied.len();
                    self.chunks.push(copied);
                }
                self.before += shared.len();
                self.chunks.push(shared);
                return;
            }
        }
        self.current.put_slice(src);
    }

    fixed_size_puts!(
        put_u8: u8,
        put_i8: i8,
        put_u16: u16,
        put_i16: i16,
        put_u32: u32,
        put_i32: i32,
        put_i64: i64,
        put_f64: f64
    );
}

impl ByteBufMut for SplicedBody {
    fn offset(&self) -> usize {
        self.before + self.current.len()
    }

    fn seek(&mut self, offset: usize) {
        if offset < self.before {
            self.flatten();
        }
        self.current.resize(offset - self.before, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        if r.start < self.before {
            self.flatten();
        }
        &mut self.current[r.start - self.before..r.end - self.before]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
    use kafka_protocol::messages::{FetchResponse, TopicName};
    use kafka_protocol::protocol::StrBytes;

    fn response(records: &[Bytes]) -> FetchResponse {
        let partitions = records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                PartitionData::default()
                    .with_partition_index(i as i32)
                    .with_records(Some(r.clone()))
            })
            .collect();
        FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(partitions)])
    }

    fn contiguous(message: &FetchResponse, version: i16) -> Vec<u8> {
        let mut out = BytesMut::new();
        message.encode(&mut out, version).unwrap();
        out.to_vec()
    }

    #[test]
    fn spliced_fields_are_referenced_and_the_body_is_unchanged() {
        let big = Bytes::from(vec![7u8; 100_000]);
        let records = [
            big.slice(..50_000),
            Bytes::from_static(b"small"),
            big.slice(50_000..),
        ];
        let message = response(&records);
        for version in [4, 11, 12, 16] {
            let chunks = encode(&message, version, records.to_vec()).unwrap();
            assert_eq!(chunks.concat(), contiguous(&message, version), "v{version}");
            let referenced: Vec<_> = chunks
                .iter()
                .filter(|c| c.as_ptr() == records[0].as_ptr() || c.as_ptr() == records[2].as_ptr())
                .collect();
            assert_eq!(referenced.len(), 2, "v{version}: both large fields spliced");
        }
    }

    #[test]
    fn equal_bytes_elsewhere_are_copied() {
        let records = Bytes::from(vec![1u8; 10_000]);
        let copy = Bytes::from(records.to_vec());
        let message = response(std::slice::from_ref(&records));
        let chunks = encode(&message, 12, vec![copy.clone()]).unwrap();
        assert_eq!(chunks.concat(), contiguous(&message, 12));
        assert!(chunks.iter().all(|c| c.as_ptr() != copy.as_ptr()));
    }

    #[test]
    fn going_back_over_spliced_bytes_flattens_the_body() {
        let shared = Bytes::from(vec![3u8; 8192]);
        let mut body = SplicedBody {
            chunks: Vec::new(),
            before: 0,
            current: BytesMut::new(),
            shared: HashMap::from([((shared.as_ptr() as usize, shared.len()), shared.clone())]),
        };
        body.put_slice(b"head");
        body.put_slice(&shared);
        body.put_slice(b"tail");
        assert_eq!(body.chunks.len(), 2);
        assert_eq!(body.offset(), 8200);
        body.range(2..6).copy_from_slice(b"XXXX");
        body.seek(8198);
        body.put_u8(b'!');
        let mut expected = b"heXXXX".to_vec();
        expected.extend_from_slice(&[3u8; 8190]);
        expected.extend_from_slice(b"ta!");
        assert_eq!(body.finish().concat(), expected);
    }

    mod fetch_bytes {
        //! The vendored codec's Fetch response encoder is patched for speed
        //! (vendor/README.md); these are its bytes at every version the
        //! broker serves, as kafka-protocol 0.18.0 unpatched wrote them.

        use super::*;
        use kafka_protocol::messages::fetch_response::{
            AbortedTransaction, EpochEndOffset, LeaderIdAndEpoch, NodeEndpoint, SnapshotId,
        };
        use kafka_protocol::messages::{BrokerId, ProducerId};
        use kafka_protocol::protocol::{Decodable, Message};
        use std::collections::BTreeMap;

        const EXPECTED: &str = include_str!("testdata/fetch_response_bytes.txt");

        fn tags(entries: &[(i32, &'static [u8])]) -> BTreeMap<i32, Bytes> {
            entries
                .iter()
                .map(|&(k, v)| (k, Bytes::from_static(v)))
                .collect()
        }

        fn partition(index: i32) -> PartitionData {
            PartitionData::default()
                .with_partition_index(index)
                .with_high_watermark(10)
                .with_last_stable_offset(10)
                .with_log_start_offset(0)
                .with_records(Some(Bytes::from_static(b"records")))
        }

        fn one_topic(partitions: Vec<PartitionData>) -> FetchResponse {
            FetchResponse::default().with_responses(vec![FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_topic_id(uuid::Uuid::from_u128(
                    0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10,
                ))
                .with_partitions(partitions)])
        }

        /// Each of a tagged struct's fields set on its own, its unknown
        /// tags alone, and all of them: a struct differing from its
        /// default in any one field is written.
        fn each_field<T>(
            variants: Vec<T>,
            set: impl Fn(PartitionData, T) -> PartitionData,
        ) -> FetchResponse {
            one_topic(
                variants
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| set(partition(i as i32), v))
                    .collect(),
            )
        }

        fn cases() -> Vec<(&'static str, FetchResponse)> {
            let unknown = || tags(&[(5, b"u")]);
            let endpoint = NodeEndpoint::default()
                .with_node_id(BrokerId(2))
                .with_host(StrBytes::from_static_str("h"))
                .with_port(9092);
            let aborted = vec![
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(7))
                    .with_first_offset(3),
                AbortedTransaction::default()
                    .with_producer_id(ProducerId(8))
                    .with_first_offset(9)
                    .with_unknown_tagged_fields(tags(&[(0, b"a")])),
            ];
            let everything = partition(0)
                .with_error_code(6)
                .with_diverging_epoch(EpochEndOffset::default().with_epoch(4).with_end_offset(40))
                .with_current_leader(
                    LeaderIdAndEpoch::default()
                        .with_leader_id(BrokerId(2))
                        .with_leader_epoch(5),
                )
                .with_snapshot_id(SnapshotId::default().with_end_offset(30).with_epoch(3))
                .with_aborted_transactions(Some(aborted.clone()))
                .with_preferred_read_replica(BrokerId(1))
                .with_unknown_tagged_fields(tags(&[(3, b"x"), (200, b"yz")]));
            vec![
                ("plain", one_topic(vec![partition(0), partition(1)])),
                (
                    "no_records",
                    one_topic(vec![partition(0)
                        .with_error_code(1)
                        .with_records(None)
                        .with_aborted_transactions(None)]),
                ),
                (
                    "diverging_epoch",
                    each_field(
                        vec![
                            EpochEndOffset::default().with_epoch(4),
                            EpochEndOffset::default().with_end_offset(40),
                            EpochEndOffset::default().with_unknown_tagged_fields(unknown()),
                            EpochEndOffset::default().with_epoch(4).with_end_offset(40),
                        ],
                        PartitionData::with_diverging_epoch,
                    ),
                ),
                (
                    "current_leader",
                    each_field(
                        vec![
                            LeaderIdAndEpoch::default().with_leader_id(BrokerId(2)),
                            LeaderIdAndEpoch::default().with_leader_epoch(5),
                            LeaderIdAndEpoch::default().with_unknown_tagged_fields(unknown()),
                            LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(2))
                                .with_leader_epoch(5),
                        ],
                        PartitionData::with_current_leader,
                    ),
                ),
                (
                    "snapshot_id",
                    each_field(
                        vec![
                            SnapshotId::default().with_end_offset(30),
                            SnapshotId::default().with_epoch(3),
                            SnapshotId::default().with_unknown_tagged_fields(unknown()),
                            SnapshotId::default().with_end_offset(30).with_epoch(3),
                        ],
                        PartitionData::with_snapshot_id,
                    ),
                ),
                (
                    "aborted_transactions",
                    one_topic(vec![partition(0).with_aborted_transactions(Some(aborted))]),
                ),
                (
                    "preferred_read_replica",
                    one_topic(vec![partition(0).with_preferred_read_replica(BrokerId(1))]),
                ),
                (
                    "unknown_tags",
                    FetchResponse::default()
                        .with_responses(vec![FetchableTopicResponse::default()
                            .with_topic(TopicName(StrBytes::from_static_str("t")))
                            .with_partitions(vec![partition(0)
                                .with_unknown_tagged_fields(tags(&[(3, b"x"), (200, b"yz")]))])
                            .with_unknown_tagged_fields(tags(&[(0, b"t")]))])
                        .with_unknown_tagged_fields(tags(&[(1, b"r")])),
                ),
                (
                    "everything",
                    one_topic(vec![everything, partition(1)])
                        .with_throttle_time_ms(100)
                        .with_error_code(0)
                        .with_session_id(12)
                        .with_node_endpoints(vec![
                            endpoint.clone(),
                            endpoint
                                .with_node_id(BrokerId(3))
                                .with_rack(Some(StrBytes::from_static_str("r"))),
                        ]),
                ),
            ]
        }

        #[test]
        fn every_version_is_encoded_as_unpatched() {
            let versions = FetchResponse::VERSIONS;
            let mut lines = Vec::new();
            for (name, message) in cases() {
                for version in versions.min..=versions.max {
                    let mut out = BytesMut::new();
                    let bytes = match message.encode(&mut out, version) {
                        Ok(()) => out.freeze(),
                        Err(_) => {
                            lines.push(format!("{name} v{version} refused"));
                            continue;
                        }
                    };
                    assert_eq!(
                        message.compute_size(version).unwrap(),
                        bytes.len(),
                        "{name} v{version}"
                    );
                    let records = message
                        .responses
                        .iter()
                        .flat_map(|t| &t.partitions)
                        .filter_map(|p| p.records.clone());
                    let chunks = encode(&message, version, records.collect()).unwrap();
                    assert_eq!(
                        chunks.concat(),
                        bytes,
                        "{name} v{version}: the broker's body"
                    );
                    let decoded = FetchResponse::decode(&mut bytes.clone(), version).unwrap();
                    assert_eq!(
                        contiguous(&decoded, version),
                        bytes,
                        "{name} v{version}: decoded and encoded again"
                    );
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    lines.push(format!("{name} v{version} {hex}"));
                }
            }
            let expected: Vec<&str> = EXPECTED.lines().collect();
            for (got, want) in lines.iter().zip(&expected) {
                assert_eq!(got, want);
            }
            assert_eq!(lines.len(), expected.len());
        }
    }
}
