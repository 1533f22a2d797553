//! `config-admin`: describe and alter the configs of topics and brokers and
//! the SCRAM credentials of users, as kafka-configs.sh does.
//!
//! This module holds the clap definitions and turns them into what to do;
//! `apply` does it and says what was done.

pub mod apply;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{ArgGroup, Parser};

use super::{ConnectionArgs, ControllerArgs, OutputFormat};
use crate::client::entity_config::{
    parse_add_config, read_add_config_file, Entity, EntityType, ScramChange, ScramUpsert,
};
use crate::client::quotas::{quota_ops, QuotaName, QuotaTarget};
use crate::client::ConfigOp;

/// Describe and alter configs of topics, brokers, users, clients and client metrics subscriptions, with kafka-configs.sh's flags.
///
/// Topic and broker configs go through DescribeConfigs and IncrementalAlterConfigs; --describe shows the configs set at the entity's own level (all of them, each with the levels that give it a value, with --all). Users' SCRAM credentials go through DescribeUserScramCredentials and AlterUserScramCredentials: --add-config 'SCRAM-SHA-256=[iterations=8192]' asks for the password on a terminal (or reads --password-file) so that it stays off the command line; password=SECRET inside the brackets works too, with a warning. Client quotas (producer_byte_rate, consumer_byte_rate, request_percentage, controller_mutation_rate) of users, client ids (--entity-type clients), a client id of a user (--user U --client C, or --entity-type users --entity-name U --client C) and their defaults (--entity-default, --user-defaults, --client-defaults) go through DescribeClientQuotas and AlterClientQuotas, as does the connection_creation_rate of client addresses (--entity-type ips or --ip, and --ip-defaults; KIP-612). Client metrics subscriptions (--entity-type client-metrics, KIP-714) take metrics (name prefixes, '*' for all), interval.ms and match (selector=regex, e.g. client_id=prod.*), as --add-config 'metrics=[org.apache.kafka.producer.,org.apache.kafka.client.],interval.ms=1000'; --describe without --entity-name describes every subscription.
#[derive(Parser, Debug)]
#[command(name = "config-admin", version)]
#[command(group(ArgGroup::new("action").required(true).args(["describe", "alter"])))]
#[command(group(ArgGroup::new("entity").required(true)
    .multiple(true)
    .args(["entity_type", "topic", "broker", "broker_defaults", "user", "client", "user_defaults", "client_defaults", "ip", "ip_defaults"])))]
pub struct ConfigAdmin {
    #[command(flatten)]
    pub connection: ConnectionArgs,

    #[command(flatten)]
    pub controllers: ControllerArgs,

    /// Show the configs of the entity, or of every entity of the type when none is named.
    #[arg(long)]
    pub describe: bool,
    /// Change the configs of one entity.
    #[arg(long)]
    pub alter: bool,

    /// The kind of entity.
    #[arg(long, value_enum, ignore_case = true)]
    pub entity_type: Option<EntityTypeArg>,
    /// The entity: a topic name, a broker id, a user name, a client id, an IP address or a client metrics subscription.
    #[arg(long, value_name = "NAME", requires = "entity_type")]
    pub entity_name: Option<String>,
    /// The cluster-wide default of brokers, users, client ids or IP addresses.
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
    /// Short for --entity-type clients --entity-name CLIENT_ID; with a user, that user's client id.
    #[arg(long, value_name = "CLIENT_ID")]
    pub client: Option<String>,
    /// Short for --entity-type users --entity-default (quotas).
    #[arg(long, conflicts_with = "user")]
    pub user_defaults: bool,
    /// Short for --entity-type clients --entity-default; with a user, that user's default client id.
    #[arg(long, conflicts_with = "client")]
    pub client_defaults: bool,
    /// Short for --entity-type ips --entity-name IP: a client address's connection_creation_rate.
    #[arg(long, value_name = "IP", conflicts_with_all = ["user", "client", "user_defaults", "client_defaults"])]
    pub ip: Option<String>,
    /// Short for --entity-type ips --entity-default.
    #[arg(long, conflicts_with_all = ["ip", "user", "client", "user_defaults", "client_defaults"])]
    pub ip_defaults: bool,

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
    /// Client ids (quotas).
    Clients,
    /// Client IP addresses (connection_creation_rate quotas).
    Ips,
    /// Client metrics subscriptions (KIP-714): metrics, interval.ms, match.
    ClientMetrics,
}

/// Configs to set, keys to delete, and whether any came on the command line.
type Changes = (Vec<(String, String)>, Vec<String>, bool);

/// What an --alter changes.
#[derive(Clone, Debug, PartialEq)]
pub enum Alteration {
    /// Topic or broker configs.
    Configs(Vec<ConfigOp>),
    /// SCRAM credentials, with whether a password came on the command line.
    Scram {
        upserts: Vec<ScramUpsert>,
        deletions: Vec<crate::client::entity_config::ScramMechanism>,
        password_on_command_line: bool,
    },
    /// Client quotas: keys set to a value, or (None) removed.
    Quotas(Vec<(String, Option<f64>)>),
}

impl ConfigAdmin {
    pub fn output(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.output
        }
    }

    /// The quota entity the flags name, when they name one that has only
    /// quotas: a client id (named, default or every one), the default
    /// user, or a user's client id. A named user alone is `None`: it has
    /// SCRAM credentials too (see [`ConfigAdmin::target`]).
    pub fn quota_target(&self) -> Result<Option<QuotaTarget>, String> {
        let from_entity_flags = || match (&self.entity_name, self.entity_default) {
            (Some(n), _) => QuotaName::Named(n.clone()),
            (None, true) => QuotaName::Default,
            (None, false) => QuotaName::Every,
        };
        let mut user = match self.entity_type {
            Some(EntityTypeArg::Users) => Some(from_entity_flags()),
            _ => None,
        };
        let mut client = match self.entity_type {
            Some(EntityTypeArg::Clients) => Some(from_entity_flags()),
            _ => None,
        };
        let mut ip = match self.entity_type {
            Some(EntityTypeArg::Ips) => Some(from_entity_flags()),
            _ => None,
        };
        let twice = |kind: &str| Err(format!("name the {kind} once"));
        if let Some(a) = &self.ip {
            if ip.replace(QuotaName::Named(a.clone())).is_some() {
                return twice("ip");
            }
        }
        if self.ip_defaults && ip.replace(QuotaName::Default).is_some() {
            return twice("ip");
        }
        if let Some(u) = &self.user {
            if user.replace(QuotaName::Named(u.clone())).is_some() {
                return twice("user");
            }
        }
        if self.user_defaults && user.replace(QuotaName::Default).is_some() {
            return twice("user");
        }
        if let Some(c) = &self.client {
            if client.replace(QuotaName::Named(c.clone())).is_some() {
                return twice("client id");
            }
        }
        if self.client_defaults && client.replace(QuotaName::Default).is_some() {
            return twice("client id");
        }
        let others = self.topic.is_some()
            || self.broker.is_some()
            || self.broker_defaults
            || matches!(
                self.entity_type,
                Some(EntityTypeArg::Topics | EntityTypeArg::Brokers)
            );
        if (user.is_some() || client.is_some() || ip.is_some()) && others {
            return Err(
                "name one entity: a topic, a broker, or a user and/or a client id".to_string(),
            );
        }
        if ip.is_some() && (user.is_some() || client.is_some()) {
            return Err("an ip takes quotas alone, without a user or client id".to_string());
        }
        if ip.is_none() && client.is_none() && user != Some(QuotaName::Default) {
            return Ok(None);
        }
        if self.all {
            return Err(
                "--all describes topic and broker configs; clients and ips have only quotas".into(),
            );
        }
        if self.password_file.is_some() {
            return Err("--password-file is for the SCRAM credentials of users".to_string());
        }
        Ok(Some(QuotaTarget { user, client, ip }))
    }

    /// The entity the flags name, or why they do not name one config-admin
    /// can serve.
    pub fn target(&self) -> Result<Entity, String> {
        let selected = [
            self.topic.is_some(),
            self.broker.is_some(),
            self.broker_defaults,
            self.user.is_some(),
            self.entity_type.is_some(),
        ];
        if selected.iter().filter(|s| **s).count() > 1 {
            return Err(
                "name one entity: a topic, a broker, or a user and/or a client id".to_string(),
            );
        }
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
                Some(EntityTypeArg::Clients | EntityTypeArg::Ips) | None => EntityType::Clients,
            };
            (kind, self.entity_name.clone(), self.entity_default)
        };
        match entity_type {
            EntityType::Clients => {
                return Err("client ids have only quotas: see quota_target".to_string())
            }
            EntityType::Topics if default => {
                return Err("topics have no --entity-default: name a topic".to_string())
            }
            EntityType::Users if default => {
                return Err(
                    "--entity-default of users sets quotas only: see quota_target".to_string(),
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

    /// What --add-config, --add-config-file and --delete-config say:
    /// configs to set, keys to delete, and whether any came on the
    /// command line.
    fn changes(&self) -> crate::client::Result<Changes> {
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
        Ok((added, deleted, from_command_line))
    }

    /// The quota changes of an --alter on a quota entity.
    pub fn quota_alteration(&self) -> crate::client::Result<Vec<(String, Option<f64>)>> {
        let (added, deleted, _) = self.changes()?;
        quota_ops(&added, &deleted)
    }

    /// What --alter changes on `target`.
    pub fn alteration(&self, target: &Entity) -> crate::client::Result<Alteration> {
        let (added, deleted, from_command_line) = self.changes()?;
        if target.entity_type == EntityType::Users {
            let scram =
                |k: &str| crate::client::entity_config::ScramMechanism::from_name(k).is_some();
            let keys = || {
                added
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .chain(deleted.iter().map(|k| k.as_str()))
            };
            if keys().all(|k| !scram(k)) {
                return Ok(Alteration::Quotas(quota_ops(&added, &deleted)?));
            }
            if !keys().all(scram) {
                return Err(crate::client::ClientError::Invalid(
                    "alter a user's SCRAM credentials and its quotas in separate commands"
                        .to_string(),
                ));
            }
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
        let two = parse(&["--describe", "--topic", "t", "--user", "u"]).unwrap();
        assert!(two.target().is_err() && two.quota_target().is_err());
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
    fn quota_entities_of_users_and_clients() {
        let target = |args: &[&str]| parse(args).unwrap().quota_target().unwrap();
        let named = |n: &str| Some(QuotaName::Named(n.into()));
        assert_eq!(
            target(&["--describe", "--user", "alice", "--client", "app"]),
            Some(QuotaTarget {
                user: named("alice"),
                client: named("app"),
                ip: None
            })
        );
        assert_eq!(
            target(&[
                "--alter",
                "--entity-type",
                "users",
                "--entity-name",
                "alice",
                "--client-defaults",
                "--add-config",
                "producer_byte_rate=1024"
            ]),
            Some(QuotaTarget {
                user: named("alice"),
                client: Some(QuotaName::Default),
                ip: None
            })
        );
        assert_eq!(
            target(&["--describe", "--entity-type", "clients"]),
            Some(QuotaTarget {
                user: None,
                client: Some(QuotaName::Every),
                ip: None
            })
        );
        assert_eq!(
            target(&["--describe", "--entity-type", "users", "--entity-default"]),
            Some(QuotaTarget {
                user: Some(QuotaName::Default),
                client: None,
                ip: None
            })
        );
        // A named user alone may be SCRAM credentials or quotas.
        assert_eq!(target(&["--describe", "--user", "alice"]), None);
        let quota = parse(&[
            "--alter",
            "--user",
            "alice",
            "--add-config",
            "producer_byte_rate=1048576",
            "--delete-config",
            "consumer_byte_rate",
        ])
        .unwrap();
        assert_eq!(
            quota.alteration(&quota.target().unwrap()).unwrap(),
            Alteration::Quotas(vec![
                ("producer_byte_rate".into(), Some(1048576.0)),
                ("consumer_byte_rate".into(), None)
            ])
        );
        let mixed = parse(&[
            "--alter",
            "--user",
            "alice",
            "--add-config",
            "producer_byte_rate=1,SCRAM-SHA-256=[password=x]",
        ])
        .unwrap();
        assert!(mixed.alteration(&mixed.target().unwrap()).is_err());
        let twice = parse(&["--describe", "--entity-type", "clients", "--client", "a"]).unwrap();
        assert!(twice.quota_target().is_err());
    }

    #[test]
    fn quota_entities_of_addresses() {
        let target = |args: &[&str]| parse(args).unwrap().quota_target();
        let address = |name: QuotaName| {
            Ok(Some(QuotaTarget {
                ip: Some(name),
                ..QuotaTarget::default()
            }))
        };
        assert_eq!(
            target(&["--describe", "--ip", "10.0.0.1"]),
            address(QuotaName::Named("10.0.0.1".into()))
        );
        assert_eq!(
            target(&["--describe", "--entity-type", "ips", "--entity-name", "::1"]),
            address(QuotaName::Named("::1".into()))
        );
        assert_eq!(
            target(&[
                "--alter",
                "--ip-defaults",
                "--add-config",
                "connection_creation_rate=5"
            ]),
            address(QuotaName::Default)
        );
        assert_eq!(
            target(&["--describe", "--entity-type", "ips"]),
            address(QuotaName::Every)
        );
        assert!(target(&["--describe", "--entity-type", "users", "--ip", "10.0.0.1"]).is_err());
        assert!(parse(&["--describe", "--ip", "10.0.0.1", "--client", "app"]).is_err());
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
