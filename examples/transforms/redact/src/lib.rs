//! An example Gregor transform: masks every ASCII digit of a record's
//! value with `*` (card and phone numbers), the rest of the record as it
//! came. The ABI (version 1) is in docs/plugins.md; `abi` below is a
//! complete guest side of it to copy into a transform of your own.
//!
//! The same transform as examples/transforms/wat/redact.wat, which Gregor's
//! tests check it against.

mod abi {
    //! The guest side of Gregor's transform ABI, version 1.

    /// A record as the ABI carries it (all integers little-endian).
    pub struct Record {
        /// Informational on the way in; ignored on the way out.
        pub partition: i32,
        /// Informational on the way in; ignored on the way out.
        pub offset: i64,
        /// Milliseconds since the epoch; -1 for none.
        pub timestamp: i64,
        /// The record's topic; set it to route the record elsewhere, or
        /// leave it empty to keep the input's.
        pub topic: String,
        pub key: Option<Vec<u8>>,
        pub value: Option<Vec<u8>>,
        pub headers: Vec<(String, Option<Vec<u8>>)>,
    }

    #[link(wasm_import_module = "gregor")]
    extern "C" {
        /// Hands the host one output record: `len` encoded bytes at `ptr`.
        fn emit(ptr: *const u8, len: usize);
    }

    /// Gives the host one output record.
    pub fn emit_record(record: &Record) {
        let bytes = record.encode();
        // SAFETY: the host copies the bytes before returning.
        unsafe { emit(bytes.as_ptr(), bytes.len()) }
    }

    struct Reader<'a>(&'a [u8]);

    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if n > self.0.len() {
                return None;
            }
            let (taken, rest) = self.0.split_at(n);
            self.0 = rest;
            Some(taken)
        }
        fn i32(&mut self) -> Option<i32> {
            Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
        }
        fn i64(&mut self) -> Option<i64> {
            Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
        }
        fn bytes(&mut self) -> Option<Option<Vec<u8>>> {
            match self.i32()? {
                -1 => Some(None),
                n if n < 0 => None,
                n => Some(Some(self.take(n as usize)?.to_vec())),
            }
        }
        fn text(&mut self) -> Option<String> {
            String::from_utf8(self.bytes()??).ok()
        }
    }

    fn put(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_le_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(&(-1i32).to_le_bytes()),
        }
    }

    impl Record {
        pub fn decode(bytes: &[u8]) -> Option<Record> {
            let mut r = Reader(bytes);
            let partition = r.i32()?;
            let offset = r.i64()?;
            let timestamp = r.i64()?;
            let topic = r.text()?;
            let key = r.bytes()?;
            let value = r.bytes()?;
            let count = r.i32()?;
            let mut headers = Vec::new();
            for _ in 0..count {
                let k = r.text()?;
                headers.push((k, r.bytes()?));
            }
            Some(Record {
                partition,
                offset,
                timestamp,
                topic,
                key,
                value,
                headers,
            })
        }

        pub fn encode(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend_from_slice(&self.partition.to_le_bytes());
            out.extend_from_slice(&self.offset.to_le_bytes());
            out.extend_from_slice(&self.timestamp.to_le_bytes());
            put(&mut out, Some(self.topic.as_bytes()));
            put(&mut out, self.key.as_deref());
            put(&mut out, self.value.as_deref());
            out.extend_from_slice(&(self.headers.len() as i32).to_le_bytes());
            for (k, v) in &self.headers {
                put(&mut out, Some(k.as_bytes()));
                put(&mut out, v.as_deref());
            }
            out
        }
    }

    #[no_mangle]
    pub extern "C" fn gregor_abi_version() -> i32 {
        1
    }

    /// Room for the host to write a record of `len` bytes into; the
    /// transform takes it back (see `input`).
    #[no_mangle]
    pub extern "C" fn gregor_alloc(len: usize) -> *mut u8 {
        let mut buffer = Vec::<u8>::with_capacity(len);
        let ptr = buffer.as_mut_ptr();
        std::mem::forget(buffer);
        ptr
    }

    /// The record the host wrote at `ptr`, its buffer freed after.
    ///
    /// # Safety
    /// `ptr` and `len` are those of a gregor_alloc the host filled.
    pub unsafe fn input(ptr: *mut u8, len: usize) -> Option<Record> {
        let bytes = Vec::from_raw_parts(ptr, len, len);
        Record::decode(&bytes)
    }
}

/// Error codes a transform returns: 0 is success, anything else fails the
/// record (and --on-error decides).
const MALFORMED_INPUT: i32 = 1;

#[no_mangle]
pub extern "C" fn gregor_transform(ptr: *mut u8, len: usize) -> i32 {
    // SAFETY: the host passes back what gregor_alloc gave it.
    let Some(mut record) = (unsafe { abi::input(ptr, len) }) else {
        return MALFORMED_INPUT;
    };
    if let Some(value) = &mut record.value {
        for b in value.iter_mut().filter(|b| b.is_ascii_digit()) {
            *b = b'*';
        }
    }
    abi::emit_record(&record);
    0
}
