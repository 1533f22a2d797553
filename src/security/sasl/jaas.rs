//! Kafka's `sasl.jaas.config` syntax: one login module, its control flag
//! and its options, ended by a semicolon:
//!
//! ```text
//! org.apache.kafka.common.security.plain.PlainLoginModule required
//!     user_alice="alice-secret" user_admin="admin-secret";
//! ```
//!
//! Option values may be quoted (`"..."`, with `\"` and `\\` escapes) or bare.

use std::collections::BTreeMap;
use std::fmt;

/// One parsed JAAS entry. Its options hold passwords: `Debug` prints only
/// their names.
#[derive(Clone, PartialEq, Eq)]
pub struct JaasConfig {
    pub login_module: String,
    pub flag: String,
    pub options: BTreeMap<String, String>,
}

impl fmt::Debug for JaasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JaasConfig")
            .field("login_module", &self.login_module)
            .field("flag", &self.flag)
            .field("options", &self.options.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JAAS configuration: {0}")]
pub struct JaasError(pub String);

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Equals,
    Semicolon,
}

fn tokenize(s: &str) -> Result<Vec<Token>, JaasError> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '=' => {
                chars.next();
                out.push(Token::Equals);
            }
            ';' => {
                chars.next();
                out.push(Token::Semicolon);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(escaped) => value.push(escaped),
                            None => return Err(JaasError("unterminated quoted value".into())),
                        },
                        Some(other) => value.push(other),
                        None => return Err(JaasError("unterminated quoted value".into())),
                    }
                }
                out.push(Token::Quoted(value));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '=' || c == ';' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// Parses one JAAS entry, as Kafka's `JaasConfig` does for `sasl.jaas.config`.
pub fn parse(s: &str) -> Result<JaasConfig, JaasError> {
    let mut tokens = tokenize(s)?.into_iter();
    let Some(Token::Word(login_module)) = tokens.next() else {
        return Err(JaasError("expected a login module class name".into()));
    };
    let flag = match tokens.next() {
        Some(Token::Word(f))
            if ["required", "requisite", "sufficient", "optional"]
                .contains(&f.to_ascii_lowercase().as_str()) =>
        {
            f.to_ascii_lowercase()
        }
        other => {
            return Err(JaasError(format!(
                "expected a control flag (required, requisite, sufficient or optional) after {login_module}, found {}",
                describe(other.as_ref())
            )))
        }
    };
    let mut options = BTreeMap::new();
    loop {
        match tokens.next() {
            Some(Token::Semicolon) => break,
            Some(Token::Word(key)) => {
                if tokens.next() != Some(Token::Equals) {
                    return Err(JaasError(format!("expected '=' after option {key}")));
                }
                let value = match tokens.next() {
                    Some(Token::Word(v)) | Some(Token::Quoted(v)) => v,
                    _ => return Err(JaasError(format!("option {key} has no value"))),
                };
                options.insert(key, value);
            }
            None => return Err(JaasError("the entry must end with ';'".into())),
            other => {
                return Err(JaasError(format!(
                    "expected an option name, found {}",
                    describe(other.as_ref())
                )))
            }
        }
    }
    if let Some(extra) = tokens.next() {
        return Err(JaasError(format!(
            "only one login module may be configured; found {} after ';'",
            describe(Some(&extra))
        )));
    }
    Ok(JaasConfig {
        login_module,
        flag,
        options,
    })
}

/// A token as an error message names it; quoted values (passwords) are not repeated.
fn describe(token: Option<&Token>) -> String {
    match token {
        None => "the end".into(),
        Some(Token::Word(w)) => format!("'{w}'"),
        Some(Token::Quoted(_)) => "a quoted value".into(),
        Some(Token::Equals) => "'='".into(),
        Some(Token::Semicolon) => "';'".into(),
    }
}

impl JaasConfig {
    /// PlainLoginModule's `user_<name>="<password>"` options.
    pub fn plain_users(&self) -> BTreeMap<String, String> {
        self.options
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("user_")?.to_string(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kafkas_plain_user_list() {
        let jaas = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
               username="admin" password="admin-secret"
               user_admin="admin-secret" user_alice="a;l=i\"ce";"#,
        )
        .unwrap();
        assert_eq!(
            jaas.login_module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(jaas.flag, "required");
        assert_eq!(jaas.options["username"], "admin");
        let users = jaas.plain_users();
        assert_eq!(users.len(), 2);
        assert_eq!(users["alice"], "a;l=i\"ce");
        assert!(!format!("{jaas:?}").contains("admin-secret"));
    }

    #[test]
    fn bare_values_and_no_options_are_accepted() {
        let jaas = parse("a.B REQUIRED k=v;").unwrap();
        assert_eq!(jaas.flag, "required");
        assert_eq!(jaas.options["k"], "v");
        assert!(parse("a.B optional ;").unwrap().options.is_empty());
    }

    #[test]
    fn malformed_entries_are_refused_without_echoing_values() {
        for bad in [
            "",
            "a.B",
            "a.B required",
            "a.B mandatory k=v;",
            "a.B required k=\"v\"",
            "a.B required k;",
            "a.B required k=;",
            "a.B required k=\"unterminated;",
            "a.B required; c.D required;",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
        let err = parse(r#"a.B required k="s3cret" ="x";"#).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }
}
