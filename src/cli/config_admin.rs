//! `config-admin`: describe and alter the configs of topics and brokers and
//! the SCRAM credentials of users, as kafka-configs.sh does.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::{ConnectionArgs, OutputFormat};
use crate::client::entity_config::{
    parse_add_config, read_add_config_file, Entity, EntityType, ScramChange, ScramUpsert,
};
use crate::client::ConfigOp;

/// Describe and alter configs of topics, brokers, users and client metrics subscriptions, with kafka-configs.sh's flags.
///
/// Topic and broker configs go through DescribeConfigs and IncrementalAlterConfigs; --describe shows the configs set at the entity's own level (all of them, each with the levels that give it a value, with --all). Users' SCRAM credentials go through DescribeUserScramCredentials and AlterUserScramCredentials: --add-config 'SCRAM-SHA-256=[iterations=8192]' asks for the password on a terminal (or reads --password-file) so that it stays off the command line; password=SECRET inside the brackets works too, with a warning. Client metrics subscriptions (--entity-type client-metrics, KIP-714) take metrics (name prefixes, '*' for all), interval.ms and match (selector=regex, e.g. client_id=prod.*), as --add-config 'metrics=[org.apache.kafka.producer.,org.apache.kafka.client.],interval.ms=1000'. Client quotas (--entity-type clients) are not supported yet.
#[derive(Parser, Debug)]
#[command(name = "config-admin", version)]
#[command(group(ArgGroup::new("action").required(true).args(["describe", "alter"])))]
#[command(group(ArgGroup::new("entity").required(true)
    .args(["entity_type", "topic", "broker", "broker_defaults", "user", "client"])))]
pub struct ConfigAdmin {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    /// Show the configs of the entity, or of every entity of the type when none is named.
    #[arg(long)]
    pub describe: bool,
    /// Change the configs of one entity.
    #[arg(long)]
    pub alter: bool,

    /// The kind of entity.
    #[arg(long, value_enum, ignore_case = true)]
    pub entity_type: Option<EntityTypeArg>,
    /// The entity: a topic name, a broker id, a user name or a client metrics subscription.
    #[arg(long, value_name = "NAME", requires = "entity_type")]
    pub entity_name: Option<String>,
    /// The cluster-wide default of brokers.
    #[arg(long, requires = "entity_type", conflicts_with = "entity_name")]
    pub entity_default: bool,
    /// Short for --entity-type topics --entity-name TOPIC.
    #[arg(long, value_name = "TOPIC")]
    pub topic: Option<String>,
    /// Short for --entity-type brokers --entity-name ID.
    #[arg(long, value_name = "ID")]
    pub broker: Option<String>,
    /// Short for --entity-type brokers --entity-default.
    #[arg(long)]
    pub broker_defaults: bool,
    /// Short for --entity-type users --entity-name USER.
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Short for --entity-type clients --entity-name CLIENT_ID.
    #[arg(long, value_name = "CLIENT_ID")]
    pub client: Option<String>,

    /// Configs to set, as k1=v1,k2=[v1,v2] (square brackets around a value with commas); for users SCRAM-SHA-256=[iterations=8192,password=SECRET] and SCRAM-SHA-512=[...].
    #[arg(long, value_name = "CONFIGS", conflicts_with = "describe")]
    pub add_config: Vec<String>,
    /// A properties file of configs to set.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["describe", "add_config"]
    )]
    pub add_config_file: Option<PathBuf>,
    /// Configs to remove, comma-separated (for users: SCRAM-SHA-256, SCRAM-SHA-512).
    #[arg(
        long,
        value_name = "KEYS",
        value_delimiter = ',',
        conflicts_with = "describe"
    )]
    pub delete_config: Vec<String>,
    /// With --describe, every config (defaults too), each with the levels that give it a value.
    #[arg(long, conflicts_with = "alter")]
    pub all: bool,
    /// For SCRAM credentials, read the password from FILE (its first line) rather than asking.
    #[arg(long, value_name = "FILE", conflicts_with = "describe")]
    pub password_file: Option<PathBuf>,

    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
    /// Short for --output json.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityTypeArg {
    Topics,
    Brokers,
    Users,
    /// Client quotas: not supported yet.
    Clients,
    /// Client metrics subscriptions (KIP-714): metrics, interval.ms, match.
    ClientMetrics,
}

/// What an --alter changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Alteration {
    /// Topic or broker configs.
    Configs(Vec<ConfigOp>),
    /// SCRAM credentials, with whether a password came on the command line.
    Scram {
        upserts: Vec<ScramUpsert>,
        deletions: Vec<crate::client::entity_config::ScramMechanism>,
        password_on_command_line: bool,
    },
}

impl ConfigAdmin {
    pub fn output(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }

    /// The entity the flags name, or why they do not name one config-admin
    /// can serve.
    pub fn target(&self) -> Result<Entity, String> {
        let (entity_type, name, default) = if let Some(t) = &self.topic {
            (EntityType::Topics, Some(t.clone()), false)
        } else if let Some(b) = &self.broker {
            (EntityType::Brokers, Some(b.clone()), false)
        } else if self.broker_defaults {
            (EntityType::Brokers, None, true)
        } else if let Some(u) = &self.user {
            (EntityType::Users, Some(u.clone()), false)
        } else if let Some(c) = &self.client {
            (EntityType::Clients, Some(c.clone()), false)
        } else {
            let kind = match self.entity_type {
                Some(EntityTypeArg::Topics) => EntityType::Topics,
                Some(EntityTypeArg::Brokers) => EntityType::Brokers,
                Some(EntityTypeArg::Users) => EntityType::Users,
                Some(EntityTypeArg::ClientMetrics) => EntityType::ClientMetrics,
                Some(EntityTypeArg::Clients) | None => EntityType::Clients,
            };
            (kind, self.entity_name.clone(), self.entity_default)
        };
        match entity_type {
            EntityType::Clients => {
                return Err(
                    "client quotas (--entity-type clients) are not supported yet".to_string(),
                )
            }
            EntityType::Topics if default => {
                return Err("topics have no --entity-default: name a topic".to_string())
            }
            EntityType::Users if default => {
                return Err(
                    "--entity-default is not supported for users: SCRAM credentials belong to \
                     a named user, and user quotas are not supported yet"
                        .to_string(),
                )
            }
            EntityType::Brokers => {
                if let Some(id) = &name {
                    if id.parse::<u32>().is_err() {
                        return Err(format!("'{id}' is not a broker id"));
                    }
                }
            }
            _ => {}
        }
        if self.alter && name.is_none() && !default {
            return Err(format!(
                "--alter needs the {} to change: --entity-name{}",
                entity_type.singular(),
                if entity_type == EntityType::Brokers {
                    " or --entity-default"
                } else {
                    ""
                }
            ));
        }
        if self.all && entity_type == EntityType::Users {
            return Err(
                "--all describes topic and broker configs; users have only SCRAM credentials"
                    .to_string(),
            );
        }
        if self.password_file.is_some() && entity_type != EntityType::Users {
            return Err("--password-file is for the SCRAM credentials of users".to_string());
        }
        Ok(Entity {
            entity_type,
            name,
            default,
        })
    }

    /// What --alter changes on `target`.
    pub fn alteration(&self, target: &Entity) -> crate::client::Result<Alteration> {
        let mut added = Vec::new();
        for text in &self.add_config {
            added.extend(parse_add_config(text)?);
        }
        let from_command_line = !added.is_empty();
        if let Some(path) = &self.add_config_file {
            added.extend(read_add_config_file(path)?);
        }
        let deleted: Vec<String> = self
            .delete_config
            .iter()
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .collect();
        if added.is_empty() && deleted.is_empty() {
            return Err(crate::client::ClientError::Invalid(
                "--alter needs --add-config, --add-config-file or --delete-config".to_string(),
            ));
        }
        if target.entity_type == EntityType::Users {
            let (upserts, deletions) =
                crate::client::entity_config::scram_changes(&added, &deleted)?;
            let password_on_command_line =
                from_command_line && upserts.iter().any(|u| u.password.is_some());
            return Ok(Alteration::Scram {
                upserts,
                deletions,
                password_on_command_line,
            });
        }
        Ok(Alteration::Configs(
            added
                .into_iter()
                .map(|(k, v)| ConfigOp::Set(k, v))
                .chain(deleted.into_iter().map(ConfigOp::Delete))
                .collect(),
        ))
    }

    /// The SCRAM changes with every password filled in: from the
    /// command line, else --password-file, else asked for twice on the
    /// terminal without echo.
    pub fn scram_changes(
        &self,
        user: &str,
        upserts: Vec<ScramUpsert>,
        deletions: &[crate::client::entity_config::ScramMechanism],
    ) -> Result<Vec<ScramChange>, String> {
        let mut asked: Option<String> = None;
        let mut changes = Vec::new();
        for u in upserts {
            let password = match u.password {
                Some(p) => p,
                None => match &asked {
                    Some(p) => p.clone(),
                    None => {
                        let p = match &self.password_file {
                            Some(path) => password_from_file(path)?,
                            None => ask_password(user)?,
                        };
                        asked = Some(p.clone());
                        p
                    }
                },
            };
            if password.is_empty() {
                return Err(format!("{}: the password is empty", u.mechanism.name()));
            }
            changes.push(ScramChange::Upsert {
                mechanism: u.mechanism,
                iterations: u.iterations,
                password,
            });
        }
        changes.extend(deletions.iter().map(|m| ScramChange::Delete(*m)));
        Ok(changes)
    }
}

/// The first line of `path`, without its line end.
fn password_from_file(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text.lines().next().unwrap_or_default().to_string())
}

fn ask_password(user: &str) -> Result<String, String> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "no password for user '{user}': give --password-file FILE, or run on a terminal to be asked"
        ));
    }
    let term = console::Term::stderr();
    let read = |prompt: &str| -> Result<String, String> {
        term.write_str(prompt)
            .and_then(|()| term.read_secure_line())
            .map_err(|e| format!("cannot read the password: {e}"))
    };
    let first = read(&format!("Password for user '{user}': "))?;
    let second = read("The same password again: ")?;
    if first != second {
        return Err("the two passwords differ".to_string());
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::entity_config::ScramMechanism;

    fn parse(args: &[&str]) -> Result<ConfigAdmin, clap::Error> {
        ConfigAdmin::try_parse_from(std::iter::once("config-admin").chain(args.iter().copied()))
    }

    #[test]
    fn shorthands_and_entity_flags_name_the_same_targets() {
        let long = parse(&[
            "--describe",
            "--entity-type",
            "topics",
            "--entity-name",
            "t",
        ])
        .unwrap();
        let short = parse(&["--describe", "--topic", "t"]).unwrap();
        assert_eq!(long.target(), short.target());
        assert_eq!(
            parse(&["--alter", "--broker-defaults", "--add-config", "a=b"])
                .unwrap()
                .target(),
            Ok(Entity {
                entity_type: EntityType::Brokers,
                name: None,
                default: true
            })
        );
        let all_brokers = parse(&["--describe", "--entity-type", "brokers", "--all"]).unwrap();
        assert_eq!(all_brokers.target().unwrap().name, None);
        assert!(parse(&["--describe", "--topic", "t", "--user", "u"]).is_err());
        assert!(parse(&["--describe"]).is_err(), "an entity is required");
        assert!(parse(&["--topic", "t"]).is_err(), "an action is required");
        assert!(parse(&["--describe", "--topic", "t", "--add-config", "a=b"]).is_err());
    }

    #[test]
    fn what_config_admin_cannot_serve_is_refused_in_a_line() {
        let refused = |args: &[&str], why: &str| {
            let e = parse(args).unwrap().target().unwrap_err();
            assert!(e.contains(why), "{e}");
        };
        refused(&["--describe", "--client", "app"], "not supported yet");
        refused(
            &[
                "--alter",
                "--entity-type",
                "clients",
                "--entity-default",
                "--add-config",
                "a=b",
            ],
            "not supported yet",
        );
        refused(
            &["--describe", "--entity-type", "users", "--entity-default"],
            "not supported",
        );
        refused(&["--describe", "--broker", "one"], "not a broker id");
        refused(
            &["--alter", "--entity-type", "topics", "--add-config", "a=b"],
            "--entity-name",
        );
        refused(&["--describe", "--user", "alice", "--all"], "only SCRAM");
        refused(
            &[
                "--alter",
                "--topic",
                "t",
                "--add-config",
                "a=b",
                "--password-file",
                "f",
            ],
            "--password-file is for",
        );
    }

    #[test]
    fn alterations_of_topics_and_users() {
        let topic = parse(&[
            "--alter",
            "--topic",
            "t",
            "--add-config",
            "retention.ms=1000,cleanup.policy=[compact,delete]",
            "--delete-config",
            "segment.ms,flush.ms",
        ])
        .unwrap();
        let target = topic.target().unwrap();
        assert_eq!(
            topic.alteration(&target).unwrap(),
            Alteration::Configs(vec![
                ConfigOp::Set("retention.ms".into(), "1000".into()),
                ConfigOp::Set("cleanup.policy".into(), "compact,delete".into()),
                ConfigOp::Delete("segment.ms".into()),
                ConfigOp::Delete("flush.ms".into()),
            ])
        );
        let nothing = parse(&["--alter", "--topic", "t"]).unwrap();
        assert!(nothing.alteration(&nothing.target().unwrap()).is_err());

        let user = parse(&[
            "--alter",
            "--user",
            "alice",
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192,password=alice-secret]",
            "--delete-config",
            "SCRAM-SHA-512",
        ])
        .unwrap();
        let Alteration::Scram {
            upserts,
            deletions,
            password_on_command_line,
        } = user.alteration(&user.target().unwrap()).unwrap()
        else {
            panic!("users alter SCRAM credentials");
        };
        assert!(password_on_command_line);
        assert_eq!(deletions, [ScramMechanism::Sha512]);
        let changes = user.scram_changes("alice", upserts, &deletions).unwrap();
        assert_eq!(
            format!("{changes:?}"),
            "[Upsert(SCRAM-SHA-256, iterations=8192), Delete(SCRAM-SHA-512)]"
        );
    }

    #[test]
    fn a_password_left_out_comes_from_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let file = file.to_str().unwrap();
        let user = parse(&[
            "--alter",
            "--user",
            "bob",
            "--add-config",
            "SCRAM-SHA-256=[iterations=8192],SCRAM-SHA-512=[]",
            "--password-file",
            file,
        ])
        .unwrap();
        let Alteration::Scram {
            upserts,
            deletions,
            password_on_command_line,
        } = user.alteration(&user.target().unwrap()).unwrap()
        else {
            panic!("users alter SCRAM credentials");
        };
        assert!(!password_on_command_line);
        let changes = user.scram_changes("bob", upserts, &deletions).unwrap();
        assert_eq!(changes.len(), 2);
        for change in changes {
            let ScramChange::Upsert { password, .. } = change else {
                panic!("two upserts");
            };
            assert_eq!(password, "s3cret", "the line end is not part of it");
        }
    }
}
