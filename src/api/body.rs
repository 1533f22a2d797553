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
}
