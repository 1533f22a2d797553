//! The record encoding of transform ABI version 1 (docs/plugins.md): the
//! bytes the host writes into guest memory for a record in, and reads back
//! from each `gregor.emit` for a record out. Little-endian throughout.

use super::Record;

/// The version a transform's `gregor_abi_version` export must return.
pub const VERSION: i32 = 1;

/// A length that stands for a null key, value or header value.
const NULL: i32 = -1;

fn put_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(b) => {
            out.extend_from_slice(&(b.len() as i32).to_le_bytes());
            out.extend_from_slice(b);
        }
        None => out.extend_from_slice(&NULL.to_le_bytes()),
    }
}

/// The record as a transform reads it.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&record.partition.to_le_bytes());
    out.extend_from_slice(&record.offset.to_le_bytes());
    out.extend_from_slice(&record.timestamp.unwrap_or(-1).to_le_bytes());
    put_bytes(out, Some(record.topic.as_bytes()));
    put_bytes(out, record.key.as_deref());
    put_bytes(out, record.value.as_deref());
    out.extend_from_slice(&(record.headers.len() as i32).to_le_bytes());
    for (k, v) in &record.headers {
        put_bytes(out, Some(k.as_bytes()));
        put_bytes(out, v.as_deref());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "the record ends at byte {} inside its {what}",
                    self.bytes.len()
                )
            })?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn i32(&mut self, what: &str) -> Result<i32, String> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &str) -> Result<i64, String> {
        let b = self.take(8, what)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(i64::from_le_bytes(a))
    }

    fn bytes(&mut self, what: &str) -> Result<Option<Vec<u8>>, String> {
        match self.i32(what)? {
            NULL => Ok(None),
            n if n < 0 => Err(format!("the {what} has length {n}")),
            n => Ok(Some(self.take(n as usize, what)?.to_vec())),
        }
    }

    fn text(&mut self, what: &str) -> Result<String, String> {
        let bytes = self
            .bytes(what)?
            .ok_or_else(|| format!("the {what} is null"))?;
        String::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))
    }
}

/// A record a transform emitted. An empty topic is the input's: the
/// record is not routed.
pub fn decode(bytes: &[u8]) -> Result<Record, String> {
    let mut r = Reader { bytes, at: 0 };
    let partition = r.i32("partition")?;
    let offset = r.i64("offset")?;
    let timestamp = r.i64("timestamp")?;
    let topic = r.text("topic")?;
    let key = r.bytes("key")?;
    let value = r.bytes("value")?;
    let count = r.i32("header count")?;
    if count < 0 {
        return Err(format!("the header count is {count}"));
    }
    let mut headers = Vec::new();
    for _ in 0..count {
        let k = r.text("header key")?;
        headers.push((k, r.bytes("header value")?));
    }
    if r.at != bytes.len() {
        return Err(format!(
            "{} bytes follow the record's last header",
            bytes.len() - r.at
        ));
    }
    Ok(Record {
        topic,
        partition,
        offset,
        timestamp: (timestamp >= 0).then_some(timestamp),
        key,
        value,
        headers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_comes_back_as_it_went() {
        let record = Record {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: Some(1_700_000_000_000),
            key: None,
            value: Some(b"v\0\xff".to_vec()),
            headers: vec![("a".into(), None), ("b".into(), Some(Vec::new()))],
        };
        let mut bytes = Vec::new();
        encode(&record, &mut bytes);
        assert_eq!(decode(&bytes).unwrap(), record);
    }

    #[test]
    fn a_cut_or_padded_record_is_refused_with_the_field() {
        let mut bytes = Vec::new();
        encode(&Record::default(), &mut bytes);
        let cut = decode(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(cut.contains("inside its header count"), "{cut}");
        bytes.push(0);
        let padded = decode(&bytes).unwrap_err();
        assert_eq!(padded, "1 bytes follow the record's last header");
    }
}
