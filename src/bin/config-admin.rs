//! `config-admin`: Kafka's kafka-configs.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use anyhow::bail;
use gregor::cli::config_admin::{Alteration, ConfigAdmin, Target};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;
use gregor::client::entity_config::{dynamic_only, ConfigEntry, ConfigResourceType, EntityType};
use gregor::client::ConfigOp;
use serde_json::json;

const TOOL: &str = "config-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: ConfigAdmin = cli::parse();
    let target = match args.target() {
        Ok(target) => target,
        Err(e) => cli::usage_error(TOOL, e),
    };
    let alteration = if args.alter {
        match args.alteration(&target) {
            Ok(a) => Some(a),
            Err(e) => cli::usage_error(TOOL, e),
        }
    } else {
        None
    };
    match run(&args, &target, alteration).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(
    args: &ConfigAdmin,
    target: &Target,
    alteration: Option<Alteration>,
) -> anyhow::Result<()> {
    // Passwords are settled (asked for, read) before connecting, so that a
    // missing one fails at once.
    let scram = match &alteration {
        Some(Alteration::Scram {
            upserts,
            deletions,
            password_on_command_line,
        }) => {
            if *password_on_command_line {
                eprintln!(
                    "{TOOL}: warning: a password in --add-config is visible to other users of \
                     this host while {TOOL} runs and stays in the shell's history; leave \
                     password= out to be asked for it, or use --password-file"
                );
            }
            let user = target.name.as_deref().unwrap_or_default();
            Some(
                args.scram_changes(user, upserts.clone(), deletions)
                    .map_err(anyhow::Error::msg)?,
            )
        }
        _ => None,
    };
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match (alteration, scram) {
        (_, Some(changes)) => {
            let user = target.name.as_deref().unwrap_or_default();
            admin.alter_scram_credentials(user, changes).await?;
            cli::outln(format_args!("Completed updating config for user {user}."));
            Ok(())
        }
        (Some(Alteration::Configs(ops)), None) => alter_configs(&admin, target, ops).await,
        _ => describe(&admin, target, args.all, args.output()).await,
    }
}

/// One broker (by id) or the cluster-wide default (None).
type BrokerName = Option<String>;

async fn broker_configs(admin: &Admin, broker: &BrokerName) -> anyhow::Result<Vec<ConfigEntry>> {
    Ok(match broker {
        Some(id) => {
            admin
                .describe_configs(ConfigResourceType::Broker, id)
                .await?
        }
        None => admin.describe_broker_defaults().await?,
    })
}

async fn describe(
    admin: &Admin,
    target: &Target,
    all: bool,
    output: OutputFormat,
) -> anyhow::Result<()> {
    if target.entity_type == EntityType::Users {
        let users = admin
            .describe_scram_credentials(target.name.iter().cloned().collect())
            .await?;
        match output {
            OutputFormat::Json => cli::outln(json!(users)),
            OutputFormat::Table => {
                for u in &users {
                    cli::outln(u.kafka_line());
                }
            }
        }
        return Ok(());
    }
    // (title, entity name for JSON, entries shown)
    let mut described: Vec<(String, Option<String>, Vec<ConfigEntry>)> = Vec::new();
    let level = if all { "All" } else { "Dynamic" };
    match target.entity_type {
        EntityType::Topics => {
            let names = match &target.name {
                Some(name) => vec![name.clone()],
                None => admin
                    .describe_topics(None)
                    .await?
                    .into_iter()
                    .filter(|t| !t.internal)
                    .map(|t| t.name)
                    .collect(),
            };
            for name in names {
                let mut entries = admin
                    .describe_configs(ConfigResourceType::Topic, &name)
                    .await?;
                if !all {
                    let own = dynamic_only(ConfigResourceType::Topic, false);
                    entries.retain(|e| e.source == own);
                }
                described.push((
                    format!("{level} configs for topic {name} are:"),
                    Some(name),
                    entries,
                ));
            }
        }
        EntityType::Brokers => {
            let brokers: Vec<BrokerName> = if target.default {
                vec![None]
            } else if let Some(id) = &target.name {
                vec![Some(id.clone())]
            } else {
                let mut ids: Vec<BrokerName> = admin
                    .broker_ids()
                    .await?
                    .into_iter()
                    .map(|id| Some(id.to_string()))
                    .collect();
                ids.push(None);
                ids
            };
            for broker in brokers {
                let mut entries = broker_configs(admin, &broker).await?;
                if !all {
                    let own = dynamic_only(ConfigResourceType::Broker, broker.is_none());
                    entries.retain(|e| e.source == own);
                }
                let title = match &broker {
                    Some(id) => format!("{level} configs for broker {id} are:"),
                    None => "Default configs for brokers in the cluster are:".to_string(),
                };
                described.push((title, broker, entries));
            }
        }
        EntityType::Users | EntityType::Clients => {
            bail!("users and clients have no configs to describe here")
        }
    }
    match output {
        OutputFormat::Json => {
            let entities: Vec<_> = described
                .iter()
                .map(|(_, name, entries)| {
                    json!({
                        "entity_type": format!("{}s", target.entity_type.singular()),
                        "entity_name": name,
                        "configs": entries,
                    })
                })
                .collect();
            cli::outln(json!(entities));
        }
        OutputFormat::Table => {
            for (title, _, entries) in &described {
                cli::outln(title);
                for e in entries {
                    cli::outln(format_args!("  {}", e.kafka_line()));
                }
            }
        }
    }
    Ok(())
}

async fn alter_configs(admin: &Admin, target: &Target, ops: Vec<ConfigOp>) -> anyhow::Result<()> {
    let (resource, described) = match target.entity_type {
        EntityType::Topics => (ConfigResourceType::Topic, "topic"),
        EntityType::Brokers => (ConfigResourceType::Broker, "broker"),
        EntityType::Users | EntityType::Clients => {
            bail!("users and clients have no configs to alter here")
        }
    };
    let broker: BrokerName = if target.default {
        None
    } else {
        target.name.clone()
    };
    // As kafka-configs.sh: deleting a config not set at this level is a
    // mistake, not a silent no-op.
    let current = match resource {
        ConfigResourceType::Topic => {
            admin
                .describe_configs(resource, target.name.as_deref().unwrap_or_default())
                .await?
        }
        ConfigResourceType::Broker => broker_configs(admin, &broker).await?,
    };
    let own = dynamic_only(resource, target.default);
    let missing: Vec<&str> = ops
        .iter()
        .filter_map(|op| match op {
            ConfigOp::Delete(k) => Some(k.as_str()),
            ConfigOp::Set(..) => None,
        })
        .filter(|k| !current.iter().any(|e| e.name == *k && e.source == own))
        .collect();
    if !missing.is_empty() {
        bail!(
            "Invalid config(s): {} (not set on this {described}, so nothing to delete)",
            missing.join(",")
        );
    }
    match &broker {
        None if target.default => {
            admin.alter_broker_defaults(ops).await?;
            cli::outln("Completed updating default config for brokers in the cluster.");
        }
        _ => {
            let name = target.name.as_deref().unwrap_or_default();
            admin.alter_configs(resource, name, ops).await?;
            cli::outln(format_args!(
                "Completed updating config for {described} {name}."
            ));
        }
    }
    Ok(())
}
