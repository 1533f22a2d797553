//! `config-admin`: Kafka's kafka-configs.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli::config_admin::{Alteration, ConfigAdmin};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;
use gregor::client::entity_config::{Entity, EntityType};
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
