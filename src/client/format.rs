//! How consumed records are printed: Kafka's DefaultMessageFormatter
//! properties (print.key, print.timestamp, ...) or one JSON object per
//! record, binary-safe.

use base64::Engine;
use serde_json::{json, Value};

use super::error::{ClientError, Result};

/// A consumed record, owned, as the formatters need it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumedRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// (type, milliseconds): type is CreateTime or LogAppendTime.
    pub timestamp: Option<(&'static str, i64)>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

#[derive(Clone, Debug)]
pub struct TextFormatter {
    pub print_timestamp: bool,
    pub print_partition: bool,
    pub print_offset: bool,
    pub print_headers: bool,
    pub print_key: bool,
    pub print_value: bool,
    pub key_separator: String,
    pub line_separator: String,
    pub headers_separator: String,
    pub headers_key_separator: String,
    pub null_literal: String,
}

impl Default for TextFormatter {
    fn default() -> TextFormatter {
        TextFormatter {
            print_timestamp: false,
            print_partition: false,
            print_offset: false,
            print_headers: false,
            print_key: false,
            print_value: true,
            key_separator: "\t".into(),
            line_separator: "\n".into(),
            headers_separator: ",".into(),
            headers_key_separator: ":".into(),
            null_literal: "null".into(),
        }
    }
}

impl TextFormatter {
    /// Reads kafka-console-consumer's `--property` settings.
    pub fn from_properties(properties: &[(String, String)]) -> Result<TextFormatter> {
        let mut f = TextFormatter::default();
        for (k, v) in properties {
            let flag = || match v.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ClientError::Invalid(format!(
                    "property {k} must be true or false, got '{v}'"
                ))),
            };
            let text = || v.replace("\\t", "\t").replace("\\n", "\n");
            match k.as_str() {
                "print.timestamp" => f.print_timestamp = flag()?,
                "print.partition" => f.print_partition = flag()?,
                "print.offset" => f.print_offset = flag()?,
                "print.headers" => f.print_headers = flag()?,
                "print.key" => f.print_key = flag()?,
                "print.value" => f.print_value = flag()?,
                "key.separator" => f.key_separator = text(),
                "line.separator" => f.line_separator = text(),
                "headers.separator" => f.headers_separator = text(),
                "headers.key.separator" => f.headers_key_separator = text(),
                "null.literal" => f.null_literal = text(),
                other => {
                    return Err(ClientError::Invalid(format!(
                        "unknown property '{other}' (known: print.timestamp, print.partition, print.offset, print.headers, print.key, print.value, key.separator, line.separator, headers.separator, headers.key.separator, null.literal)"
                    )))
                }
            }
        }
        Ok(f)
    }

    /// The record as Kafka's DefaultMessageFormatter writes it, in its field
    /// order, ending with the line separator. Keys, values and header values
    /// are written as their bytes, UTF-8 or not, as Kafka's tool and kcat
    /// write them. `paint` may colour a metadata field (it gets the field's
    /// text; a key that is not UTF-8 is left as it is).
    pub fn format(&self, r: &ConsumedRecord, paint: &dyn Fn(String) -> String) -> Vec<u8> {
        let bytes = |b: &Option<Vec<u8>>| match b {
            Some(b) => b.clone(),
            None => self.null_literal.clone().into_bytes(),
        };
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let text = |s: String| paint(s).into_bytes();
        if self.print_timestamp {
            fields.push(text(match r.timestamp {
                Some((kind, ms)) => format!("{kind}:{ms}"),
                None => "NO_TIMESTAMP".to_string(),
            }));
        }
        if self.print_partition {
            fields.push(text(format!("Partition:{}", r.partition)));
        }
        if self.print_offset {
            fields.push(text(format!("Offset:{}", r.offset)));
        }
        if self.print_headers {
            let headers = if r.headers.is_empty() {
                b"NO_HEADERS".to_vec()
            } else {
                r.headers
                    .iter()
                    .map(|(k, v)| {
                        let mut h = format!("{k}{}", self.headers_key_separator).into_bytes();
                        h.extend(bytes(v));
                        h
                    })
                    .collect::<Vec<_>>()
                    .join(self.headers_separator.as_bytes())
            };
            fields.push(match String::from_utf8(headers) {
                Ok(s) => text(s),
                Err(e) => e.into_bytes(),
            });
        }
        if self.print_key {
            fields.push(match String::from_utf8(bytes(&r.key)) {
                Ok(s) => text(s),
                Err(e) => e.into_bytes(),
            });
        }
        if self.print_value {
            fields.push(bytes(&r.value));
        }
        let mut line = fields.join(self.key_separator.as_bytes());
        line.extend_from_slice(self.line_separator.as_bytes());
        line
    }
}

/// Bytes as JSON: a string when they are UTF-8, base64 otherwise, with the encoding named.
fn json_bytes(b: &Option<Vec<u8>>) -> (Value, &'static str) {
    match b {
        None => (Value::Null, "none"),
        Some(b) => match std::str::from_utf8(b) {
            Ok(s) => (json!(s), "utf8"),
            Err(_) => (
                json!(base64::engine::general_purpose::STANDARD.encode(b)),
                "base64",
            ),
        },
    }
}

/// One JSON object per record, binary-safe.
pub fn json_record(r: &ConsumedRecord) -> Value {
    let (key, key_encoding) = json_bytes(&r.key);
    let (value, value_encoding) = json_bytes(&r.value);
    json!({
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp.map(|t| t.1),
        "timestamp_type": r.timestamp.map(|t| t.0),
        "key": key,
        "key_encoding": key_encoding,
        "value": value,
        "value_encoding": value_encoding,
        "headers": r.headers.iter().map(|(k, v)| {
            let (value, encoding) = json_bytes(v);
            json!({"key": k, "value": value, "encoding": encoding})
        }).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ConsumedRecord {
        ConsumedRecord {
            topic: "t".into(),
            partition: 2,
            offset: 7,
            timestamp: Some(("CreateTime", 1000)),
            key: Some(b"k".to_vec()),
            value: Some(b"v".to_vec()),
            headers: vec![("h".into(), Some(b"x".to_vec()))],
        }
    }

    #[test]
    fn text_follows_kafkas_field_order() {
        let plain = |s: String| s;
        assert_eq!(TextFormatter::default().format(&record(), &plain), b"v\n");
        let all: Vec<(String, String)> = [
            "print.timestamp",
            "print.partition",
            "print.offset",
            "print.headers",
            "print.key",
        ]
        .iter()
        .map(|k| (k.to_string(), "true".to_string()))
        .chain([("key.separator".to_string(), " | ".to_string())])
        .collect();
        let f = TextFormatter::from_properties(&all).unwrap();
        assert_eq!(
            f.format(&record(), &plain),
            b"CreateTime:1000 | Partition:2 | Offset:7 | h:x | k | v\n"
        );
        let nulls = ConsumedRecord {
            key: None,
            value: None,
            headers: vec![],
            ..record()
        };
        assert_eq!(
            f.format(&nulls, &plain),
            b"CreateTime:1000 | Partition:2 | Offset:7 | NO_HEADERS | null | null\n"
        );
        assert!(TextFormatter::from_properties(&[("print.kye".into(), "true".into())]).is_err());
    }

    #[test]
    fn text_writes_bytes_as_they_are() {
        let f = TextFormatter::from_properties(&[
            ("print.key".into(), "true".into()),
            ("print.headers".into(), "true".into()),
        ])
        .unwrap();
        let r = ConsumedRecord {
            key: Some(vec![0xfe]),
            value: Some(vec![0xff, 0x00, 0xfe]),
            headers: vec![("h".into(), Some(vec![0x80]))],
            ..record()
        };
        let marked = |s: String| format!("<{s}>");
        assert_eq!(f.format(&r, &marked), b"h:\x80\t\xfe\t\xff\x00\xfe\n");
        assert_eq!(f.format(&record(), &marked), b"<h:x>\t<k>\tv\n");
    }

    #[test]
    fn json_is_binary_safe() {
        let r = ConsumedRecord {
            value: Some(vec![0xff, 0x00]),
            ..record()
        };
        let j = json_record(&r);
        assert_eq!(j["value"], "/wA=");
        assert_eq!(j["value_encoding"], "base64");
        assert_eq!(j["key"], "k");
        assert_eq!(j["key_encoding"], "utf8");
        assert_eq!(j["headers"][0]["value"], "x");
        assert_eq!(j["timestamp"], 1000);
    }
}
