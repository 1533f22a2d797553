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

/// One line, split into its parts.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LineRecord {
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<(String, Option<String>)>,
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

    fn nullable(&self, s: &str) -> Option<String> {
        (self.null_marker.as_deref() != Some(s)).then(|| s.to_string())
    }

    /// Splits line `number` (1-based, for messages) into headers, key and value.
    pub fn parse(&self, line: &str, number: u64) -> Result<LineRecord> {
        let mut rest = line;
        let mut record = LineRecord::default();
        if self.parse_headers {
            match rest.split_once(self.headers_delimiter.as_str()) {
                Some((headers, after)) => {
                    rest = after;
                    for h in headers
                        .split(self.headers_separator.as_str())
                        .filter(|h| !h.is_empty())
                    {
                        let (k, v) = match h.split_once(self.headers_key_separator.as_str()) {
                            Some((k, v)) => (k, self.nullable(v)),
                            None => (h, None),
                        };
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
            match rest.split_once(self.key_separator.as_str()) {
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
        let r = LineReader::default().parse("a\tb", 1).unwrap();
        assert_eq!(r.value.as_deref(), Some("a\tb"));
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
        let r = reader.parse("h1:v1,h2:NULL,h3|k:v:w", 1).unwrap();
        assert_eq!(
            r.headers,
            vec![
                ("h1".to_string(), Some("v1".to_string())),
                ("h2".to_string(), None),
                ("h3".to_string(), None)
            ]
        );
        assert_eq!(
            (r.key.as_deref(), r.value.as_deref()),
            (Some("k"), Some("v:w"))
        );
        assert_eq!(reader.parse("|NULL:NULL", 2).unwrap().value, None);
        let err = reader.parse("|no-key", 7).unwrap_err().to_string();
        assert!(err.contains("line 7"), "{err}");
        assert!(reader.parse("no headers", 1).is_err());
    }

    #[test]
    fn escapes_and_bad_properties() {
        let reader = props(&[("parse.key", "true"), ("key.separator", "\\t")]);
        assert_eq!(reader.parse("k\tv", 1).unwrap().key.as_deref(), Some("k"));
        assert!(LineReader::from_properties(&[("parse.kye".into(), "true".into())]).is_err());
        assert!(LineReader::from_properties(&[("parse.key".into(), "yes".into())]).is_err());
        let lenient = props(&[("parse.key", "true"), ("ignore.error", "true")]);
        assert_eq!(
            lenient.parse("whole", 1).unwrap().value.as_deref(),
            Some("whole")
        );
    }
}
