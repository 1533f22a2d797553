//! Console input lines into records, with the properties of Kafka's
//! LineMessageReader (parse.key, key.separator, parse.headers,
//! headers.delimiter, headers.separator, headers.key.separator,
//! null.marker, ignore.error) and their defaults.

use super::error::{ClientError, Result};

#[derive(Clone, Debug)]
pub struct LineReader {
    pub parse_key: bool,
    pub key_separator: String,
    pub parse_headers: bool,
    pub headers_delimiter: String,
    pub headers_separator: String,
    pub headers_key_separator: String,
    /// A key, value or header value equal to this is null.
    pub null_marker: Option<String>,
    /// A line without the expected separator is taken whole rather than refused.
    pub ignore_error: bool,
}

impl Default for LineReader {
    fn default() -> LineReader {
        LineReader {
            parse_key: false,
            key_separator: "\t".into(),
            parse_headers: false,
            headers_delimiter: "\t".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
            null_marker: None,
            ignore_error: false,
        }
    }
}

/// One line, split into its parts: bytes as read, so that a line that is
/// not UTF-8 still reaches a serializer that takes bytes as they are.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LineRecord {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl LineReader {
    /// Reads the `--property` settings Kafka's console producer knows;
    /// anything else is an error rather than silently ignored.
    pub fn from_properties(properties: &[(String, String)]) -> Result<LineReader> {
        let mut reader = LineReader::default();
        let flag = |k: &str, v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ClientError::Invalid(format!(
                "property {k} must be true or false, got '{v}'"
            ))),
        };
        for (k, v) in properties {
            match k.as_str() {
                "parse.key" => reader.parse_key = flag(k, v)?,
                "key.separator" => reader.key_separator = unescape(v),
                "parse.headers" => reader.parse_headers = flag(k, v)?,
                "headers.delimiter" => reader.headers_delimiter = unescape(v),
                "headers.separator" => reader.headers_separator = unescape(v),
                "headers.key.separator" => reader.headers_key_separator = unescape(v),
                "null.marker" => reader.null_marker = Some(v.clone()),
                "ignore.error" => reader.ignore_error = flag(k, v)?,
                other => {
                    return Err(ClientError::Invalid(format!(
                        "unknown property '{other}' (known: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error)"
                    )))
                }
            }
        }
        for (name, sep) in [
            ("key.separator", &reader.key_separator),
            ("headers.delimiter", &reader.headers_delimiter),
            ("headers.separator", &reader.headers_separator),
            ("headers.key.separator", &reader.headers_key_separator),
        ] {
            if sep.is_empty() {
                return Err(ClientError::Invalid(format!("{name} must not be empty")));
            }
        }
        Ok(reader)
    }

    fn nullable(&self, b: &[u8]) -> Option<Vec<u8>> {
        (self.null_marker.as_deref().map(str::as_bytes) != Some(b)).then(|| b.to_vec())
    }

    /// Splits line `number` (1-based, for messages), without its line
    /// ending, into headers, key and value.
    pub fn parse(&self, line: &[u8], number: u64) -> Result<LineRecord> {
        let mut rest = line;
        let mut record = LineRecord::default();
        if self.parse_headers {
            match split_once(rest, self.headers_delimiter.as_bytes()) {
                Some((headers, after)) => {
                    rest = after;
                    for h in
                        split(headers, self.headers_separator.as_bytes()).filter(|h| !h.is_empty())
                    {
                        let (k, v) = match split_once(h, self.headers_key_separator.as_bytes()) {
                            Some((k, v)) => (k, self.nullable(v)),
                            None => (h, None),
                        };
                        // Kafka's header keys are strings; values are bytes.
                        let k = std::str::from_utf8(k).map_err(|_| {
                            ClientError::Invalid(format!(
                                "a header key on line {number} is not UTF-8 text"
                            ))
                        })?;
                        record.headers.push((k.to_string(), v));
                    }
                }
                None if self.ignore_error => {}
                None => {
                    return Err(ClientError::Invalid(format!(
                        "no headers delimiter {:?} on line {number}",
                        self.headers_delimiter
                    )))
                }
            }
        }
        if self.parse_key {
            match split_once(rest, self.key_separator.as_bytes()) {
                Some((k, v)) => {
                    record.key = self.nullable(k);
                    rest = v;
                }
                None if self.ignore_error => {}
                None => {
                    return Err(ClientError::Invalid(format!(
                        "no key separator {:?} on line {number}",
                        self.key_separator
                    )))
                }
            }
        }
        record.value = self.nullable(rest);
        Ok(record)
    }
}

/// The parts before and after the first `sep` in `hay`.
fn split_once<'a>(hay: &'a [u8], sep: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let at = hay.windows(sep.len()).position(|w| w == sep)?;
    Some((&hay[..at], &hay[at + sep.len()..]))
}

/// The parts of `hay` between occurrences of `sep`.
fn split<'a>(hay: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
    let mut rest = Some(hay);
    std::iter::from_fn(move || {
        let current = rest?;
        match split_once(current, sep) {
            Some((part, after)) => {
                rest = Some(after);
                Some(part)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Shells make a literal tab hard to type: `\t` and `\n` are read as escapes.
fn unescape(s: &str) -> String {
    s.replace("\\t", "\t").replace("\\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(p: &[(&str, &str)]) -> LineReader {
        LineReader::from_properties(
            &p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn a_plain_line_is_the_value() {
        let r = LineReader::default().parse(b"a\tb", 1).unwrap();
        assert_eq!(r.value.as_deref(), Some(&b"a\tb"[..]));
        assert_eq!(r.key, None);
    }

    #[test]
    fn keys_and_headers_split_as_kafkas_reader() {
        let reader = props(&[
            ("parse.key", "true"),
            ("key.separator", ":"),
            ("parse.headers", "true"),
            ("headers.delimiter", "|"),
            ("null.marker", "NULL"),
        ]);
        let r = reader.parse(b"h1:v1,h2:NULL,h3|k:v:w", 1).unwrap();
        assert_eq!(
            r.headers,
            vec![
                ("h1".to_string(), Some(b"v1".to_vec())),
                ("h2".to_string(), None),
                ("h3".to_string(), None)
            ]
        );
        assert_eq!(
            (r.key.as_deref(), r.value.as_deref()),
            (Some(&b"k"[..]), Some(&b"v:w"[..]))
        );
        assert_eq!(reader.parse(b"|NULL:NULL", 2).unwrap().value, None);
        let err = reader.parse(b"|no-key", 7).unwrap_err().to_string();
        assert!(err.contains("line 7"), "{err}");
        assert!(reader.parse(b"no headers", 1).is_err());
    }

    #[test]
    fn escapes_and_bad_properties() {
        let reader = props(&[("parse.key", "true"), ("key.separator", "\\t")]);
        assert_eq!(
            reader.parse(b"k\tv", 1).unwrap().key.as_deref(),
            Some(&b"k"[..])
        );
        assert!(LineReader::from_properties(&[("parse.kye".into(), "true".into())]).is_err());
        assert!(LineReader::from_properties(&[("parse.key".into(), "yes".into())]).is_err());
        let lenient = props(&[("parse.key", "true"), ("ignore.error", "true")]);
        assert_eq!(
            lenient.parse(b"whole", 1).unwrap().value.as_deref(),
            Some(&b"whole"[..])
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_split_and_kept() {
        let reader = props(&[("parse.key", "true"), ("parse.headers", "true")]);
        let r = reader.parse(b"h:\xff\x00\t\xfek\t\xff\x00\xfe", 1).unwrap();
        assert_eq!(r.headers, vec![("h".to_string(), Some(vec![0xff, 0]))]);
        assert_eq!(r.key, Some(vec![0xfe, b'k']));
        assert_eq!(r.value, Some(vec![0xff, 0, 0xfe]));
        let err = reader.parse(b"\xff:v\tk\tv", 2).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
