//! Typed config definitions shared by broker and topic configs: one table row
//! per Kafka property, so validation, defaults and DescribeConfigs all read
//! the same source.

use std::fmt;

/// Kafka's `ConfigType` as reported by DescribeConfigs v3+.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Boolean,
    String,
    Int,
    Long,
    Double,
    List,
    /// A secret (Kafka's PASSWORD): validated as a string, never described.
    Password,
}

impl ConfigKind {
    pub fn wire_code(self) -> i8 {
        match self {
            ConfigKind::Boolean => 1,
            ConfigKind::String => 2,
            ConfigKind::Int => 3,
            ConfigKind::Long => 5,
            ConfigKind::Double => 6,
            ConfigKind::List => 7,
            ConfigKind::Password => 9,
        }
    }
}

/// One property: its name, type, default (as Kafka prints it) and the values it accepts.
#[derive(Debug)]
pub struct ConfigDef {
    pub name: &'static str,
    pub kind: ConfigKind,
    /// `None` is Kafka's `null` default.
    pub default: Option<&'static str>,
    /// Inclusive lower bound for numbers.
    pub min: Option<i64>,
    /// Accepted values for enumerated strings (and for each element of a list).
    pub one_of: &'static [&'static str],
    pub doc: &'static str,
}

/// Why a value was refused; rendered as Kafka's INVALID_CONFIG message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown config '{0}'")]
    Unknown(String),
    #[error("invalid value '{value}' for config '{name}': {reason}")]
    Invalid {
        name: String,
        value: String,
        reason: String,
    },
}

impl ConfigDef {
    /// Checks `value` against the type, bound and allowed values.
    pub fn validate(&self, value: &str) -> Result<(), ConfigError> {
        let invalid = |reason: &dyn fmt::Display| ConfigError::Invalid {
            name: self.name.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let v = value.trim();
        match self.kind {
            ConfigKind::Boolean => {
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                    return Err(invalid(&"expected true or false"));
                }
            }
            ConfigKind::Int | ConfigKind::Long => {
                let n: i64 = v.parse().map_err(|_| invalid(&"expected an integer"))?;
                if self.kind == ConfigKind::Int && i32::try_from(n).is_err() {
                    return Err(invalid(&"out of range for a 32-bit integer"));
                }
                if let Some(min) = self.min {
                    if n < min {
                        return Err(invalid(&format!("must be at least {min}")));
                    }
                }
            }
            ConfigKind::Double => {
                let d: f64 = v.parse().map_err(|_| invalid(&"expected a number"))?;
                if !d.is_finite() {
                    return Err(invalid(&"expected a finite number"));
                }
            }
            ConfigKind::String | ConfigKind::Password => {
                if !self.one_of.is_empty() && !self.one_of.contains(&v) {
                    return Err(invalid(&format!(
                        "must be one of {}",
                        self.one_of.join(", ")
                    )));
                }
            }
            ConfigKind::List => {
                if !self.one_of.is_empty() {
                    for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !self.one_of.contains(&item) {
                            return Err(invalid(&format!(
                                "each item must be one of {}",
                                self.one_of.join(", ")
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Parses a value already validated against its definition.
pub(crate) fn parse_i64(def: &ConfigDef, value: &str) -> i64 {
    value
        .trim()
        .parse()
        .unwrap_or_else(|_| def.default.and_then(|d| d.parse().ok()).unwrap_or_default())
}
