//! Serializers: how keys and values become bytes, with the Java client's
//! encodings (big-endian integers, IEEE 754 doubles), so that a Java
//! consumer's IntegerDeserializer reads what we wrote.

use super::error::{ClientError, Result};

pub trait Serializer<T: ?Sized>: Send + Sync {
    fn serialize(&self, value: &T) -> Result<Vec<u8>>;
}

pub struct StringSerializer;
pub struct IntSerializer;
pub struct LongSerializer;
pub struct DoubleSerializer;
pub struct BytesSerializer;
pub struct JsonSerializer;

impl Serializer<str> for StringSerializer {
    fn serialize(&self, value: &str) -> Result<Vec<u8>> {
        Ok(value.as_bytes().to_vec())
    }
}

impl Serializer<i32> for IntSerializer {
    fn serialize(&self, value: &i32) -> Result<Vec<u8>> {
        Ok(value.to_be_bytes().to_vec())
    }
}

impl Serializer<i64> for LongSerializer {
    fn serialize(&self, value: &i64) -> Result<Vec<u8>> {
        Ok(value.to_be_bytes().to_vec())
    }
}

impl Serializer<f64> for DoubleSerializer {
    fn serialize(&self, value: &f64) -> Result<Vec<u8>> {
        Ok(value.to_bits().to_be_bytes().to_vec())
    }
}

impl Serializer<[u8]> for BytesSerializer {
    fn serialize(&self, value: &[u8]) -> Result<Vec<u8>> {
        Ok(value.to_vec())
    }
}

impl<T: serde::Serialize + ?Sized> Serializer<T> for JsonSerializer {
    fn serialize(&self, value: &T) -> Result<Vec<u8>> {
        serde_json::to_vec(value)
            .map_err(|e| ClientError::Invalid(format!("cannot encode JSON: {e}")))
    }
}

/// Text typed at a console, read as one of these types and serialized with
/// the matching serializer.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TextFormat {
    /// The line's bytes as they are (UTF-8 text or not).
    #[default]
    String,
    /// A 32-bit integer, 4 bytes big-endian (Java's IntegerSerializer).
    Int,
    /// A 64-bit integer, 8 bytes big-endian (Java's LongSerializer).
    Long,
    /// A 64-bit float, 8 bytes IEEE 754 big-endian (Java's DoubleSerializer).
    Double,
    /// Bytes written as hexadecimal digits.
    Hex,
    /// Bytes written in standard base64.
    Base64,
    /// A JSON document, checked and sent as written.
    Json,
}

impl TextFormat {
    /// Bytes read from a console line: `string` sends them as they are,
    /// UTF-8 or not, as Kafka's console producer does; the other formats
    /// parse text and refuse bytes that are not UTF-8. Takes the bytes
    /// whole so that `string`, the default, sends them without a copy.
    pub fn encode(&self, bytes: Vec<u8>) -> Result<Vec<u8>> {
        match self {
            TextFormat::String => Ok(bytes),
            _ => {
                let text = std::str::from_utf8(&bytes).map_err(|e| {
                    ClientError::Invalid(format!(
                        "not UTF-8 text ({e}); only the string serializer takes any bytes"
                    ))
                })?;
                self.serialize(text)
            }
        }
    }
}

impl TextFormat {
    /// A record's key or value as text, read as this format wrote it: what
    /// console-consumer's --key-deserializer and --value-deserializer do
    /// with the Java client's deserializers. `string` gives the bytes as
    /// they are; bytes a number cannot be (a wrong length) are an error, as
    /// in Java's IntegerDeserializer.
    pub fn decode(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        use base64::Engine;
        let number = |name: &str, size: usize| {
            ClientError::Invalid(format!(
                "{} bytes are not {name}, which takes {size}",
                bytes.len()
            ))
        };
        Ok(match self {
            TextFormat::String => bytes.to_vec(),
            TextFormat::Int => {
                i32::from_be_bytes(bytes.try_into().map_err(|_| number("an int", 4))?)
                    .to_string()
                    .into_bytes()
            }
            TextFormat::Long => {
                i64::from_be_bytes(bytes.try_into().map_err(|_| number("a long", 8))?)
                    .to_string()
                    .into_bytes()
            }
            TextFormat::Double => f64::from_bits(u64::from_be_bytes(
                bytes.try_into().map_err(|_| number("a double", 8))?,
            ))
            .to_string()
            .into_bytes(),
            TextFormat::Hex => bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes(),
            TextFormat::Base64 => base64::engine::general_purpose::STANDARD
                .encode(bytes)
                .into_bytes(),
            TextFormat::Json => {
                serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
                    .map_err(|e| ClientError::Invalid(format!("not JSON: {e}")))?;
                bytes.to_vec()
            }
        })
    }
}

impl Serializer<str> for TextFormat {
    fn serialize(&self, text: &str) -> Result<Vec<u8>> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            ClientError::Invalid(format!("'{text}' is not {what}: {e}"))
        };
        match self {
            TextFormat::String => StringSerializer.serialize(text),
            TextFormat::Int => {
                let v: i32 = text.trim().parse().map_err(|e| invalid("an int", &e))?;
                IntSerializer.serialize(&v)
            }
            TextFormat::Long => {
                let v: i64 = text.trim().parse().map_err(|e| invalid("a long", &e))?;
                LongSerializer.serialize(&v)
            }
            TextFormat::Double => {
                let v: f64 = text.trim().parse().map_err(|e| invalid("a double", &e))?;
                DoubleSerializer.serialize(&v)
            }
            TextFormat::Hex => {
                let digits = text.trim();
                if digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("hexadecimal", &"expected pairs of hex digits"));
                }
                Ok((0..digits.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("checked hex digits"))
                    .collect())
            }
            TextFormat::Base64 => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(text.trim())
                    .map_err(|e| invalid("base64", &e))
            }
            TextFormat::Json => {
                serde_json::from_str::<serde::de::IgnoredAny>(text)
                    .map_err(|e| invalid("JSON", &e))?;
                Ok(text.as_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_reverses_encoding() {
        for (format, text) in [
            (TextFormat::Int, "-258"),
            (TextFormat::Long, "9007199254740993"),
            (TextFormat::Double, "2.5"),
            (TextFormat::Hex, "00ff10"),
            (TextFormat::Base64, "/wAQ"),
            (TextFormat::Json, r#"{"a": [1, 2]}"#),
            (TextFormat::String, "plain"),
        ] {
            let bytes = format.serialize(text).unwrap();
            assert_eq!(
                format.decode(&bytes).unwrap(),
                text.as_bytes(),
                "{format:?}"
            );
        }
        assert!(TextFormat::Int.decode(&[0, 1]).is_err());
        assert!(TextFormat::Json.decode(b"{").is_err());
    }

    #[test]
    fn numbers_use_the_java_clients_encodings() {
        assert_eq!(TextFormat::Int.serialize("258").unwrap(), vec![0, 0, 1, 2]);
        assert_eq!(TextFormat::Int.serialize("-1").unwrap(), vec![0xff; 4]);
        assert_eq!(
            TextFormat::Long.serialize("1").unwrap(),
            vec![0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            TextFormat::Double.serialize("1.5").unwrap(),
            vec![0x3f, 0xf8, 0, 0, 0, 0, 0, 0]
        );
        assert!(TextFormat::Int.serialize("3000000000").is_err());
        assert!(TextFormat::Long.serialize("x").is_err());
    }

    #[test]
    fn only_string_takes_bytes_that_are_not_utf8() {
        assert_eq!(
            TextFormat::String.encode(vec![0xff, 0, 0xfe]).unwrap(),
            vec![0xff, 0, 0xfe]
        );
        assert_eq!(
            TextFormat::Int.encode(b"7".to_vec()).unwrap(),
            vec![0, 0, 0, 7]
        );
        let err = TextFormat::Json.encode(vec![0xff]).unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn bytes_come_from_hex_or_base64() {
        assert_eq!(
            TextFormat::Hex.serialize("00ff10").unwrap(),
            vec![0, 255, 16]
        );
        assert!(TextFormat::Hex.serialize("0f1").is_err());
        assert!(TextFormat::Hex.serialize("zz").is_err());
        assert_eq!(
            TextFormat::Base64.serialize("AP8Q").unwrap(),
            vec![0, 255, 16]
        );
        assert!(TextFormat::Base64.serialize("!!").is_err());
    }

    #[test]
    fn json_is_validated_and_kept_as_written() {
        assert_eq!(
            TextFormat::Json.serialize(r#"{"a": 1}"#).unwrap(),
            br#"{"a": 1}"#.to_vec()
        );
        assert!(TextFormat::Json.serialize("{a: 1}").is_err());
        assert_eq!(
            JsonSerializer
                .serialize(&serde_json::json!({"b": [1, 2]}))
                .unwrap(),
            br#"{"b":[1,2]}"#.to_vec()
        );
    }
}
