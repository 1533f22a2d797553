//! The records inside a batch, read as a stream: each record's fields are
//! parsed as Kafka's `DefaultRecord.readFrom` lays them out, keys are kept
//! only when asked for, values and headers are skipped, and a compressed
//! payload is inflated through a small buffer that refuses to produce more
//! than a cap. A walk stops as soon as its caller has what it needs, so a
//! lookup never inflates more of a batch than lies before the record found.
//!
//! Produce validation ([`validate`]) walks every record, as Kafka's
//! `LogValidator` does: the header's count must match the records present
//! with no bytes after them, each record's fields must fit its length,
//! offset deltas must run 0, 1, 2... in order, and per topic config keys must
//! be present and timestamps within bounds.

use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;

use super::batch::{BatchHeader, HEADER_LEN};
use super::error::RecordError;
use super::LogError;

/// How many times `max.message.bytes` a batch's records may take once
/// decompressed. Kafka itself sets no bound: its validator streams the
/// records and keeps none of them. Gregor streams too, but keeps batches as
/// sent and reads them again for timestamp lookups and compaction, so a
/// small batch inflating to gigabytes would cost that CPU on every lookup.
/// 64 is far above what real producers reach (a Java producer fills
/// `batch.size` by estimated compressed size, librdkafka by uncompressed
/// size; text and JSON compress 5 to 20 times), and well below a bomb's
/// 1000 times. A batch over it is refused as MESSAGE_TOO_LARGE, on which a
/// Java producer splits the batch and sends the halves again.
pub const MAX_INFLATION: u64 = 64;

/// The decompressed size a topic with `max_message_bytes` accepts.
pub fn inflation_cap(max_message_bytes: i32) -> u64 {
    u64::try_from(max_message_bytes)
        .unwrap_or(0)
        .saturating_mul(MAX_INFLATION)
}

/// Kafka's NO_TIMESTAMP: a record without one is never out of bounds.
const NO_TIMESTAMP: i64 = -1;

/// Kafka returns every record error; past this many the rest add nothing a
/// producer can use and would only grow the response.
const MAX_RECORD_ERRORS: usize = 1000;

const COMPRESSION_MASK: i16 = 0x07;

/// A batch's compression codec (attributes bits 0-2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    /// Ids 5 to 7 name no codec; Kafka fails such a batch when it reads it,
    /// so it is refused as corrupt before it is stored.
    pub fn of(attributes: i16) -> Result<Codec, LogError> {
        match attributes & COMPRESSION_MASK {
            0 => Ok(Codec::None),
            1 => Ok(Codec::Gzip),
            2 => Ok(Codec::Snappy),
            3 => Ok(Codec::Lz4),
            4 => Ok(Codec::Zstd),
            id => Err(LogError::CorruptMessage(format!(
                "unknown compression type id {id}"
            ))),
        }
    }
}

/// What a walk tells about one record.
#[derive(Debug)]
pub struct RecordView<'a> {
    /// Position in the batch, from 0.
    pub index: i32,
    pub offset_delta: i32,
    /// The batch's base timestamp plus the record's delta, wrapping as the
    /// clients compute it.
    pub timestamp: i64,
    pub has_key: bool,
    /// The key's bytes, when the walk was asked for keys.
    pub key: Option<&'a [u8]>,
}

/// Walks the records of `b`, one whole batch whose header `check_batch`
/// accepted, calling `visit` on each until it breaks with a value, which is
/// returned. `None` when every record was visited and nothing follows them.
pub fn walk<T>(
    b: &[u8],
    header: &BatchHeader,
    cap: u64,
    want_keys: bool,
    visit: impl FnMut(&RecordView<'_>) -> ControlFlow<T>,
) -> Result<Option<T>, LogError> {
    let payload = b.get(HEADER_LEN..).unwrap_or_default();
    let walker = Walker {
        base_timestamp: header.base_timestamp,
        count: header.record_count,
        cap,
        want_keys,
    };
    match Codec::of(header.attributes)? {
        Codec::None => walker.run(payload, visit),
        codec => {
            let inflated = Capped {
                inner: decoder(codec, payload, cap)
                    .map_err(|e| LogError::CorruptMessage(format!("cannot decompress: {e}")))?,
                left: cap,
                cap,
            };
            walker.run(BufReader::with_capacity(32 << 10, inflated), visit)
        }
    }
}

/// What a topic asks of the records it takes.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The most a batch may decompress to ([`inflation_cap`]).
    pub cap: u64,
    /// `cleanup.policy=compact`: every record needs a key.
    pub require_keys: bool,
    /// For CreateTime topics: (now, `message.timestamp.before.max.ms`,
    /// `message.timestamp.after.max.ms`).
    pub timestamps: Option<(i64, i64, i64)>,
}

/// Checks the records of one batch from a producer as Kafka's LogValidator
/// does and returns their largest timestamp (NO_TIMESTAMP if none has one).
/// Broken structure fails at once (CORRUPT_MESSAGE or INVALID_RECORD);
/// records that are whole but not acceptable are all reported with their
/// index, as Kafka's RecordValidationException reports them
/// (INVALID_TIMESTAMP if a timestamp is among the reasons, else
/// INVALID_RECORD).
pub fn validate(b: &[u8], header: &BatchHeader, rules: &Rules) -> Result<i64, LogError> {
    let mut errors = Vec::new();
    let mut error_count = 0usize;
    let mut timestamp_error = false;
    let mut max_timestamp = NO_TIMESTAMP;
    let mut report = |index: i32, message: String| {
        error_count += 1;
        if errors.len() < MAX_RECORD_ERRORS {
            errors.push(RecordError {
                batch_index: index,
                message,
            });
        }
    };
    walk(b, header, rules.cap, false, |r| {
        // Kafka rewrites a compressed batch whose inner offsets are not
        // consecutive; batches are stored as sent here, and consumers
        // compute offsets from the deltas, so such a batch is refused.
        if r.offset_delta != r.index {
            report(
                r.index,
                format!(
                    "record {} has offset delta {}; deltas must run 0, 1, 2... in order",
                    r.index, r.offset_delta
                ),
            );
        }
        if rules.require_keys && !r.has_key {
            report(
                r.index,
                "compacted topic cannot accept a record without a key".into(),
            );
        }
        if let Some((now, before_max, after_max)) = rules.timestamps {
            let diff = i128::from(now) - i128::from(r.timestamp);
            if r.timestamp != NO_TIMESTAMP
                && (diff > i128::from(before_max) || -diff > i128::from(after_max))
            {
                timestamp_error = true;
                report(
                    r.index,
                    format!(
                        "timestamp {} of record {} is out of range [{}, {}]",
                        r.timestamp,
                        r.index,
                        now.saturating_sub(before_max),
                        now.saturating_add(after_max)
                    ),
                );
            }
        }
        max_timestamp = max_timestamp.max(r.timestamp);
        ControlFlow::<()>::Continue(())
    })?;
    if errors.is_empty() {
        return Ok(max_timestamp);
    }
    let shown: Vec<&str> = errors.iter().take(3).map(|e| e.message.as_str()).collect();
    Err(LogError::InvalidRecords {
        timestamp: timestamp_error,
        message: format!(
            "{error_count} record(s) rejected, the first: {}",
            shown.join("; ")
        ),
        record_errors: errors,
    })
}

/// Follows a stored batch's records and says whether each one's offset
/// delta rises within the batch: 0, 1, 2... as produced, or with the gaps
/// compaction leaves, since a compacted batch keeps its records at their
/// offsets (as Kafka's cleaner does). A record out of that order would be
/// decoded at another record's offset.
pub struct StoredOrder {
    last_offset_delta: i32,
    previous: i32,
}

impl StoredOrder {
    pub fn new(header: &BatchHeader) -> StoredOrder {
        StoredOrder {
            last_offset_delta: header.last_offset_delta,
            previous: -1,
        }
    }

    /// Whether a record at `offset_delta` may follow those seen so far.
    pub fn admits(&mut self, offset_delta: i32) -> bool {
        let rises = offset_delta > self.previous && offset_delta <= self.last_offset_delta;
        self.previous = offset_delta;
        rises
    }

    pub fn error(index: i32) -> LogError {
        LogError::InvalidRecord(format!(
            "record {index} is out of offset order in its batch"
        ))
    }
}

/// Only checks that `b`'s records are whole, as many as the header says,
/// in [`StoredOrder`]: what must hold before the cleaner decodes and
/// rewrites a stored batch.
pub fn check_stored(b: &[u8], header: &BatchHeader, cap: u64) -> Result<(), LogError> {
    let mut order = StoredOrder::new(header);
    let misplaced = walk(b, header, cap, false, |r| {
        if order.admits(r.offset_delta) {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(r.index)
        }
    })?;
    match misplaced {
        None => Ok(()),
        Some(index) => Err(StoredOrder::error(index)),
    }
}

/// Reads `payload` whole into memory once decompressed, refusing more than
/// `cap` bytes: for the codec to decode records from.
pub fn inflate(codec: Codec, payload: &[u8], cap: u64) -> Result<Vec<u8>, LogError> {
    let mut out = Vec::new();
    let mut reader = Capped {
        inner: decoder(codec, payload, cap).map_err(|e| broken(Broken::Io(e), 0, cap))?,
        left: cap,
        cap,
    };
    reader
        .read_to_end(&mut out)
        .map_err(|e| broken(Broken::Io(e), 0, cap))?;
    Ok(out)
}

/// A streaming decoder of `codec` over `payload`.
fn decoder<'a>(codec: Codec, payload: &'a [u8], cap: u64) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match codec {
        Codec::None => Box::new(payload),
        // Java's GZIPInputStream reads concatenated members too.
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(payload)),
        Codec::Snappy => Box::new(XerialSnappy::new(payload, cap)),
        Codec::Lz4 => Box::new(lz4::Decoder::new(payload)?),
        Codec::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(payload)?),
    })
}

/// Decompression went past the cap.
#[derive(Debug, thiserror::Error)]
#[error("decompresses to more than {0} bytes")]
struct PastCap(u64);

/// Reads through `inner` until `left` bytes have come, then fails with
/// [`PastCap`] rather than produce more.
struct Capped<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the cap tells a stream ending at the cap from one
        // going past it.
        let room = usize::try_from(self.left.saturating_add(1)).unwrap_or(usize::MAX);
        let want = buf.len().min(room);
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(io::Error::other(PastCap(self.cap)));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// snappy-java's stream format, which Kafka's snappy batches use: a magic
/// header, then blocks, each a big-endian length and a raw snappy block.
/// Without the header the whole payload is one raw block, as snappy-java
/// reads it. Each block's stated size is checked against what the cap
/// leaves before any memory is taken for it.
struct XerialSnappy<'a> {
    input: &'a [u8],
    raw: bool,
    block: Vec<u8>,
    at: usize,
    left: u64,
}

const XERIAL_MAGIC: &[u8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

impl<'a> XerialSnappy<'a> {
    fn new(input: &'a [u8], cap: u64) -> XerialSnappy<'a> {
        let xerial = input.starts_with(XERIAL_MAGIC) && input.len() >= XERIAL_HEADER_LEN;
        XerialSnappy {
            input: if xerial {
                &input[XERIAL_HEADER_LEN..]
            } else {
                input
            },
            raw: !xerial,
            block: Vec::new(),
            at: 0,
            left: cap,
        }
    }

    /// Decodes the next block into `self.block`; false at the end.
    fn next_block(&mut self) -> io::Result<bool> {
        if self.input.is_empty() {
            return Ok(false);
        }
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let compressed = if self.raw {
            std::mem::take(&mut self.input)
        } else {
            let (len, rest) = self
                .input
                .split_first_chunk::<4>()
                .ok_or_else(|| invalid("truncated snappy block length"))?;
            let len = u32::from_be_bytes(*len) as usize;
            let block = rest
                .get(..len)
                .ok_or_else(|| invalid("truncated snappy block"))?;
            self.input = &rest[len..];
            block
        };
        let size = snap::raw::decompress_len(compressed).map_err(io::Error::other)?;
        if size as u64 > self.left {
            return Err(io::Error::other(PastCap(self.left)));
        }
        self.left -= size as u64;
        self.block.clear();
        self.block.resize(size, 0);
        snap::raw::Decoder::new()
            .decompress(compressed, &mut self.block)
            .map_err(io::Error::other)?;
        self.at = 0;
        Ok(true)
    }
}

impl Read for XerialSnappy<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.block.len() {
            if !self.next_block()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Why a walk could not go on.
enum Broken {
    /// The records ended before the count did.
    Eof,
    /// A field went past its record's length.
    PastRecord,
    Malformed(String),
    Io(io::Error),
}

impl From<io::Error> for Broken {
    fn from(e: io::Error) -> Broken {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            Broken::Eof
        } else {
            Broken::Io(e)
        }
    }
}

/// Kafka's codes: records that are not what the header promises are
/// INVALID_RECORD (its InvalidRecordException), a payload that does not
/// decompress is CORRUPT_MESSAGE, and one that decompresses past the cap is
/// MESSAGE_TOO_LARGE.
fn broken(why: Broken, index: i32, cap: u64) -> LogError {
    match why {
        Broken::Eof => LogError::InvalidRecord(format!(
            "the records end at record {index}, before the count in the batch header"
        )),
        Broken::PastRecord => {
            LogError::InvalidRecord(format!("the fields of record {index} run past its length"))
        }
        Broken::Malformed(what) => LogError::InvalidRecord(format!("record {index}: {what}")),
        Broken::Io(e) if e.get_ref().is_some_and(|e| e.is::<PastCap>()) => {
            LogError::InflatesTooFar { cap }
        }
        Broken::Io(e) => LogError::CorruptMessage(format!("cannot decompress the records: {e}")),
    }
}

struct Walker {
    base_timestamp: i64,
    count: i32,
    cap: u64,
    want_keys: bool,
}

impl Walker {
    fn run<T, R: BufRead>(
        &self,
        mut src: R,
        mut visit: impl FnMut(&RecordView<'_>) -> ControlFlow<T>,
    ) -> Result<Option<T>, LogError> {
        let mut key = Vec::new();
        for index in 0..self.count {
            let fields = read_record(&mut src, self.want_keys, &mut key)
                .map_err(|e| broken(e, index, self.cap))?;
            let view = RecordView {
                index,
                offset_delta: fields.offset_delta,
                timestamp: self.base_timestamp.wrapping_add(fields.timestamp_delta),
                has_key: fields.has_key,
                key: (self.want_keys && fields.has_key).then_some(key.as_slice()),
            };
            if let ControlFlow::Break(found) = visit(&view) {
                return Ok(Some(found));
            }
        }
        let rest = src
            .fill_buf()
            .map_err(|e| broken(e.into(), self.count, self.cap))?;
        if !rest.is_empty() {
            return Err(LogError::InvalidRecord(format!(
                "bytes follow the {} records the batch header counts",
                self.count
            )));
        }
        Ok(None)
    }
}

struct Fields {
    timestamp_delta: i64,
    offset_delta: i32,
    has_key: bool,
}

/// One record's fields, read from `src` within the length it states.
fn read_record<R: BufRead>(
    src: &mut R,
    want_keys: bool,
    key: &mut Vec<u8>,
) -> Result<Fields, Broken> {
    let length = varint(&mut Unbounded(src))?;
    let length = u64::try_from(length)
        .map_err(|_| Broken::Malformed(format!("negative record length {length}")))?;
    let mut body = Within { src, left: length };
    body.byte()?; // attributes: unused in magic 2
    let timestamp_delta = varlong(&mut body)?;
    let offset_delta = varint(&mut body)?;
    let key_len = nullable_length(&mut body, "key")?;
    key.clear();
    if let Some(len) = key_len {
        if want_keys {
            body.read_into(key, len)?;
        } else {
            body.skip(len)?;
        }
    }
    if let Some(len) = nullable_length(&mut body, "value")? {
        body.skip(len)?;
    }
    let headers = varint(&mut body)?;
    if headers < 0 {
        return Err(Broken::Malformed(format!(
            "negative header count {headers}"
        )));
    }
    for _ in 0..headers {
        let key_len = varint(&mut body)?;
        let key_len = u64::try_from(key_len)
            .map_err(|_| Broken::Malformed(format!("negative header key length {key_len}")))?;
        body.skip(key_len)?;
        if let Some(len) = nullable_length(&mut body, "header value")? {
            body.skip(len)?;
        }
    }
    if body.left > 0 {
        return Err(Broken::Malformed(format!(
            "{} bytes follow the fields within the record's length",
            body.left
        )));
    }
    Ok(Fields {
        timestamp_delta,
        offset_delta,
        has_key: key_len.is_some(),
    })
}

/// A length where -1 means null. Kafka takes any negative length for null;
/// the codec the broker decodes stored batches with refuses anything under
/// -1, so such a record is refused here rather than stored unreadable.
fn nullable_length(body: &mut impl Bytes, what: &str) -> Result<Option<u64>, Broken> {
    match varint(body)? {
        -1 => Ok(None),
        len => u64::try_from(len)
            .map(Some)
            .map_err(|_| Broken::Malformed(format!("{what} length {len}"))),
    }
}

/// A source of record bytes.
trait Bytes {
    fn byte(&mut self) -> Result<u8, Broken>;
}

/// The source itself, for the length that starts each record.
struct Unbounded<'r, R>(&'r mut R);

fn next_byte<R: BufRead>(src: &mut R) -> Result<u8, Broken> {
    let b = *src.fill_buf()?.first().ok_or(Broken::Eof)?;
    src.consume(1);
    Ok(b)
}

impl<R: BufRead> Bytes for Unbounded<'_, R> {
    fn byte(&mut self) -> Result<u8, Broken> {
        next_byte(self.0)
    }
}

/// The source limited to what is left of one record.
struct Within<'r, R> {
    src: &'r mut R,
    left: u64,
}

impl<R: BufRead> Within<'_, R> {
    /// Counts `n` bytes against the record's length.
    fn charge(&mut self, n: u64) -> Result<(), Broken> {
        self.left = self.left.checked_sub(n).ok_or(Broken::PastRecord)?;
        Ok(())
    }

    fn skip(&mut self, mut n: u64) -> Result<(), Broken> {
        self.charge(n)?;
        while n > 0 {
            let available = self.src.fill_buf()?;
            if available.is_empty() {
                return Err(Broken::Eof);
            }
            let step = available
                .len()
                .min(usize::try_from(n).unwrap_or(usize::MAX));
            self.src.consume(step);
            n -= step as u64;
        }
        Ok(())
    }

    /// Reads `n` bytes into `out`, which grows only as bytes arrive.
    fn read_into(&mut self, out: &mut Vec<u8>, n: u64) -> Result<(), Broken> {
        self.charge(n)?;
        let read = Read::take(&mut *self.src, n).read_to_end(out)?;
        if (read as u64) < n {
            return Err(Broken::Eof);
        }
        Ok(())
    }
}

impl<R: BufRead> Bytes for Within<'_, R> {
    fn byte(&mut self) -> Result<u8, Broken> {
        self.charge(1)?;
        next_byte(self.src)
    }
}

/// A zigzag varint of at most `max_bytes` bytes, as Kafka's ByteUtils.
fn zigzag(src: &mut impl Bytes, max_bytes: u32) -> Result<i64, Broken> {
    let mut raw = 0u64;
    for i in 0..max_bytes {
        let b = src.byte()?;
        raw |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((raw >> 1) as i64 ^ -((raw & 1) as i64));
        }
    }
    Err(Broken::Malformed(format!(
        "varint longer than {max_bytes} bytes"
    )))
}

fn varint(src: &mut impl Bytes) -> Result<i32, Broken> {
    let v = zigzag(src, 5)?;
    i32::try_from(v).map_err(|_| Broken::Malformed(format!("varint {v} out of range")))
}

fn varlong(src: &mut impl Bytes) -> Result<i64, Broken> {
    zigzag(src, 10)
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
