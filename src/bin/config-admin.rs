//! `config-admin`: Kafka's kafka-configs.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli::config_admin::{Alteration, ConfigAdmin};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;
use gregor::client::entity_config::{Entity, EntityType};
use gregor::client::quotas::{self, QuotaName, QuotaTarget};
use gregor::client::ConfigOp;
use serde_json::json;

const TOOL: &str = "config-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: ConfigAdmin = cli::parse();
    match args.quota_target() {
        Err(e) => cli::usage_error(TOOL, e),
        Ok(Some(quota)) => {
            let ops = if args.alter {
                match args.quota_alteration() {
                    Ok(ops) => Some(ops),
                    Err(e) => cli::usage_error(TOOL, e),
                }
            } else {
                None
            };
            return match run_quotas(&args, &quota, ops).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => cli::fail(TOOL, format!("{e:#}")),
            };
        }
        Ok(None) => {}
    }
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

/// Client quotas: described or altered over the tools' own connection.
async fn run_quotas(
    args: &ConfigAdmin,
    target: &QuotaTarget,
    ops: Option<Vec<(String, Option<f64>)>>,
) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    match ops {
        Some(ops) => {
            quotas::alter(&settings, target, &ops).await?;
            cli::outln(format_args!(
                "Completed updating config for {}.",
                target.describe()
            ));
        }
        None => {
            let entries = quotas::describe(&settings, target).await?;
            match args.output() {
                OutputFormat::Json => cli::outln(json!(entries)),
                OutputFormat::Table => entries.iter().for_each(|e| cli::outln(e.kafka_line())),
            }
        }
    }
    Ok(())
}

async fn run(
    args: &ConfigAdmin,
    target: &Entity,
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
    if let Some(Alteration::Quotas(ops)) = &alteration {
        let user = target.name.clone().unwrap_or_default();
        let quota = QuotaTarget {
            user: Some(QuotaName::Named(user)),
            client: None,
        };
        quotas::alter(&settings, &quota, ops).await?;
        cli::outln(format_args!(
            "Completed updating config for {}.",
            quota.describe()
        ));
        return Ok(());
    }
    let admin = Admin::connect(&settings).await?;
    match (alteration, scram) {
        (_, Some(changes)) => {
            let user = target.name.as_deref().unwrap_or_default();
            admin.alter_scram_credentials(user, changes).await?;
            cli::outln(format_args!("Completed updating config for user {user}."));
            Ok(())
        }
        (Some(Alteration::Configs(ops)), None) => alter_configs(&admin, target, ops).await,
        _ => {
            describe(&admin, target, args.all, args.output()).await?;
            // A user's quotas follow its SCRAM credentials, as
            // kafka-configs.sh describes both.
            if target.entity_type == EntityType::Users && args.output() == OutputFormat::Table {
                let quota = QuotaTarget {
                    user: Some(match &target.name {
                        Some(name) => QuotaName::Named(name.clone()),
                        None => QuotaName::Every,
                    }),
                    client: None,
                };
                for entry in quotas::describe(&settings, &quota).await? {
                    cli::outln(entry.kafka_line());
                }
            }
            Ok(())
        }
    }
}

async fn describe(
    admin: &Admin,
    entity: &Entity,
    all: bool,
    output: OutputFormat,
) -> anyhow::Result<()> {
    if entity.entity_type == EntityType::Users {
        let users = admin
            .describe_scram_credentials(entity.name.iter().cloned().collect())
            .await?;
        match output {
            OutputFormat::Json => cli::outln(json!(users)),
            OutputFormat::Table => users.iter().for_each(|u| cli::outln(u.kafka_line())),
        }
        return Ok(());
    }
    let described = admin.describe_entity_configs(entity, all).await?;
    match output {
        OutputFormat::Json => cli::outln(json!(described)),
        OutputFormat::Table => {
            for d in &described {
                cli::outln(d.heading(all));
                for e in &d.configs {
                    cli::outln(format_args!("  {}", e.kafka_line()));
                }
            }
        }
    }
    Ok(())
}

async fn alter_configs(admin: &Admin, entity: &Entity, ops: Vec<ConfigOp>) -> anyhow::Result<()> {
    admin.alter_entity_configs(entity, ops).await?;
    match &entity.name {
        Some(name) => cli::outln(format_args!(
            "Completed updating config for {} {name}.",
            entity.entity_type.singular()
        )),
        None => cli::outln("Completed updating default config for brokers in the cluster."),
    }
    Ok(())
}
