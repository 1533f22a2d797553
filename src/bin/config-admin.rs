//! `config-admin`: Kafka's kafka-configs.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;

use gregor::cli::config_admin::{apply, Alteration, ConfigAdmin};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;
use gregor::client::entity_config::{ConfigsAt, Entity, EntityType};
use gregor::client::quotas::{QuotaName, QuotaTarget};

const TOOL: &str = "config-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: ConfigAdmin = cli::parse();
    if let Err(e) = args.controllers.check(&args.connection) {
        cli::usage_error(TOOL, e);
    }
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
    let settings = args.controllers.settings(&args.connection)?;
    cli::out(match ops {
        Some(ops) => apply::alter_quotas(&settings, target, &ops).await?,
        None => apply::describe_quotas(&settings, target, args.output()).await?,
    });
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
                eprintln!("{}", apply::password_warning(TOOL));
            }
            let user = target.name.as_deref().unwrap_or_default();
            Some(
                args.scram_changes(user, upserts.clone(), deletions)
                    .map_err(anyhow::Error::msg)?,
            )
        }
        _ => None,
    };
    let settings = args.controllers.settings(&args.connection)?;
    if let Some(Alteration::Quotas(ops)) = &alteration {
        let quota = QuotaTarget {
            user: Some(QuotaName::Named(target.name.clone().unwrap_or_default())),
            ..QuotaTarget::default()
        };
        cli::out(apply::alter_quotas(&settings, &quota, ops).await?);
        return Ok(());
    }
    if settings.to_controllers && scram.is_some() {
        anyhow::bail!(apply::SCRAM_AT_BROKERS);
    }
    // librdkafka cannot talk to a CONTROLLER listener: there, everything
    // goes over the tools' own connection.
    let admin = if settings.to_controllers {
        None
    } else {
        Some(Admin::connect(&settings).await?)
    };
    let at = match &admin {
        Some(admin) => ConfigsAt::Brokers(admin),
        None => ConfigsAt::Controllers(&settings),
    };
    match (alteration, scram, &admin) {
        (_, Some(changes), Some(admin)) => {
            let user = target.name.as_deref().unwrap_or_default();
            cli::out(apply::alter_scram(admin, user, changes).await?);
        }
        (Some(Alteration::Configs(ops)), _, _) => {
            cli::out(apply::alter_configs(&at, target, ops).await?)
        }
        _ => {
            cli::out(apply::describe(&at, target, args.all, args.output()).await?);
            // A user's quotas follow its SCRAM credentials, as
            // kafka-configs.sh describes both.
            if target.entity_type == EntityType::Users && args.output() == OutputFormat::Table {
                let quotas = apply::user_quotas(target);
                cli::out(apply::describe_quotas(&settings, &quotas, OutputFormat::Table).await?);
            }
        }
    }
    Ok(())
}
