//! `topic-admin`: Kafka's kafka-topics.sh, kafka-reassign-partitions.sh and
//! kafka-leader-election.sh, for any Kafka-compatible cluster.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gregor::cli::topic_admin::{
    abort_transaction, alter, cluster, create, delete, delete_records, describe,
    describe_producers, elect_leaders, list, log_dirs, offsets, reassign, ReassignArgs, TopicAdmin,
    TopicCommand,
};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::{Admin, NewTopicSpec};
use gregor::client::log_dirs::ReplicaMove;
use gregor::client::reassign::{throttle, Reassignments};
use gregor::client::{producers, ClientSettings};
use gregor::topic_partition::TopicPartition;
use indicatif::{ProgressBar, ProgressStyle};

const TOOL: &str = "topic-admin";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: TopicAdmin = cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

async fn run(args: TopicAdmin) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match args.command {
        TopicCommand::Create {
            name,
            topic,
            partitions,
            replication_factor,
            config,
            if_not_exists,
        } => {
            let spec = NewTopicSpec {
                name: cli::named(name, topic),
                partitions,
                replication_factor,
                configs: config,
            };
            cli::out(create::run(&admin, &spec, if_not_exists).await?);
        }
        TopicCommand::List {
            exclude_internal,
            output,
        } => cli::out(list::run(&admin, exclude_internal, output).await?),
        TopicCommand::Describe {
            name,
            topic,
            exclude_internal,
            log_dirs: true,
            output,
            ..
        } => {
            let pattern = name.or(topic);
            let brokers =
                log_dirs::run(&admin, &settings, pattern.as_deref(), exclude_internal).await?;
            cli::out(log_dirs::render(&brokers, output));
        }
        TopicCommand::Describe {
            name,
            topic,
            under_replicated_partitions,
            unavailable_partitions,
            exclude_internal,
            output,
            log_dirs: false,
            all_configs,
        } => {
            let query = describe::Query {
                pattern: name.or(topic),
                under_replicated_partitions,
                unavailable_partitions,
                exclude_internal,
                all_configs,
            };
            cli::out(
                describe::run(&admin, &settings, query)
                    .await?
                    .render(output),
            );
        }
        TopicCommand::Cluster { configs, output } => {
            cli::out(
                cluster::run(&admin, &settings, configs)
                    .await?
                    .render(output),
            );
        }
        TopicCommand::DeleteRecords {
            topic,
            partition,
            offset,
            offset_json_file,
            yes,
        } => {
            let deletions =
                delete_records::deletions(offset_json_file.as_deref(), topic, partition, offset)?;
            if !cli::confirm(&delete_records::prompt(&deletions), yes)
                .map_err(anyhow::Error::msg)?
            {
                bail!("not deleted");
            }
            let deleted = delete_records::run(&admin, &deletions).await?;
            cli::out(deleted.render());
            if let Some(failure) = deleted.failure() {
                bail!(failure);
            }
        }
        TopicCommand::Offsets {
            name,
            topic,
            partitions,
            time,
            exclude_internal,
            output,
        } => {
            let pattern = name.or(topic);
            let found = offsets::run(
                &admin,
                pattern.as_deref(),
                &partitions,
                time,
                exclude_internal,
            )
            .await?;
            cli::out(offsets::render(&found, output));
        }
        TopicCommand::Alter {
            name,
            topic,
            partitions,
            config,
            delete_config,
        } => {
            let topic = cli::named(name, topic);
            let alteration = alter::Alteration {
                partitions,
                config,
                delete_config,
            };
            alteration.check()?;
            if let Some(count) = alteration.partitions {
                cli::out(alter::add_partitions(&admin, &topic, count).await?);
            }
            if let Some(said) = alter::change_configs(&admin, &topic, &alteration).await? {
                cli::out(said);
            }
        }
        TopicCommand::Delete {
            names,
            topic,
            yes,
            if_exists,
        } => {
            let targets = delete::targets(&admin, cli::names(names, topic), if_exists).await?;
            if targets.is_empty() {
                return Ok(());
            }
            if !cli::confirm(&delete::prompt(&targets), yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            cli::out(delete::run(&admin, &targets).await?);
        }
        TopicCommand::Reassign(args) => reassign(&admin, &settings, args).await?,
        TopicCommand::ElectLeaders {
            election_type,
            scope,
            partition,
            output,
        } => {
            let election = election_type.into();
            let elections = elect_leaders::run(&admin, election, &scope, partition).await?;
            cli::out(elect_leaders::render(&elections, election, output));
            if let Some(failure) = elect_leaders::failure(&elections) {
                bail!(failure);
            }
        }
        TopicCommand::DescribeProducers {
            name,
            topic,
            partition,
            output,
        } => {
            let topic = cli::named(name, topic);
            let found = producers::describe(&settings, &topic, partition).await?;
            cli::out(describe_producers::render(&found, output));
        }
        TopicCommand::AbortTransaction {
            name,
            topic,
            partition,
            start_offset,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => {
            let topic = cli::named(name, topic);
            let transaction = match start_offset {
                Some(offset) => abort_transaction::Transaction::StartingAt(offset),
                // clap requires all three with --producer-id.
                None => abort_transaction::Transaction::Producer {
                    id: producer_id.unwrap_or_default(),
                    epoch: producer_epoch.unwrap_or_default(),
                    coordinator_epoch: coordinator_epoch.unwrap_or_default(),
                },
            };
            cli::out(abort_transaction::run(&settings, &topic, partition, transaction).await?);
        }
    }
    Ok(())
}

async fn reassign(
    admin: &Admin,
    settings: &ClientSettings,
    args: ReassignArgs,
) -> anyhow::Result<()> {
    if args.generate {
        let generated = reassign::generate(admin, &args).await?;
        if let (Some(path), Some(plan)) = (&args.output_file, generated.plan_file()) {
            std::fs::write(path, plan)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        cli::out(generated.render(args.output));
        return Ok(());
    }
    if args.list {
        let ongoing = Reassignments::connect(settings)
            .await?
            .ongoing(None)
            .await?;
        cli::out(reassign::render_ongoing(&ongoing, args.output));
        return Ok(());
    }
    let path = args
        .reassignment_json_file
        .as_deref()
        .context("--reassignment-json-file is required")?;
    let plan = reassign::read_plan(path)?;
    if args.cancel {
        let outcomes = Reassignments::connect(settings)
            .await?
            .cancel(&reassign::partitions(&plan))
            .await?;
        cli::out(reassign::render_cancelled(&outcomes, args.output));
        return Ok(());
    }
    if args.verify {
        let progress = reassign::verify(admin, settings, &plan).await?;
        cli::out(reassign::render_progress(&progress, args.output, None));
        if let Some(failure) = reassign::not_in_place(&progress) {
            bail!(failure);
        }
        if let Some(failure) = reassign::log_dirs_not_in_place(&progress) {
            bail!(failure);
        }
        // As Kafka's tool: once every partition is in place, the throttles
        // a throttled --execute set have done their work.
        if !args.preserve_throttles {
            let cleared = throttle::clear(admin, &plan).await?;
            if args.output == OutputFormat::Table {
                cli::out(reassign::cleared_notice(&cleared));
            }
        }
        return Ok(());
    }

    // --execute
    let reassign::Execution {
        mut moves,
        rollback,
        throttles,
    } = reassign::prepare(admin, settings, &plan, args.additional).await?;
    if args.output == OutputFormat::Table {
        cli::out(reassign::rollback_notice(&rollback));
    }
    // Set before the moves start, so that they are throttled from their
    // first fetch.
    if let Some(rate) = args.throttle {
        throttles.apply(admin, rate).await?;
        if args.output == OutputFormat::Table {
            cli::out(reassign::throttle_notice(rate));
        }
    }
    let started = Instant::now();
    moves.start(&plan).await?;
    // As Kafka's tool, after the reassignment: a replica not on its broker
    // yet is created in the directory asked for when it arrives.
    let dir_moves: Vec<ReplicaMove> = plan
        .partitions
        .iter()
        .flat_map(|p| {
            p.replica_log_dirs()
                .into_iter()
                .map(|(broker, dir)| ReplicaMove {
                    broker,
                    dir: dir.to_string(),
                    topic: p.topic.clone(),
                    partition: p.partition,
                })
        })
        .collect();
    if !dir_moves.is_empty() {
        gregor::client::log_dirs::alter(settings, &dir_moves).await?;
    }
    if args.no_wait {
        cli::out(reassign::render_started(&plan, &rollback, args.output));
        return Ok(());
    }
    follow(settings, moves, &reassign::partitions(&plan)).await?;
    let (progress, led_elsewhere) = reassign::settled_progress(admin, &plan).await?;
    let executed = reassign::Executed {
        rollback: &rollback,
        elapsed: started.elapsed(),
        led_elsewhere: &led_elsewhere,
        plan_file: path,
    };
    cli::out(reassign::render_progress(
        &progress,
        args.output,
        Some(executed),
    ));
    if let Some(failure) = reassign::not_placed(&progress) {
        bail!(failure);
    }
    Ok(())
}

/// Polls ListPartitionReassignments, with a progress bar on a terminal,
/// until none of `partitions` is moving. Ctrl-C stops following, not the
/// moves. Moves may outlast the active controller, so a failed poll asks
/// the cluster for the controller again before giving up.
async fn follow(
    settings: &ClientSettings,
    mut moves: Reassignments,
    partitions: &[TopicPartition],
) -> anyhow::Result<()> {
    let bar = ProgressBar::new(partitions.len() as u64).with_style(
        ProgressStyle::with_template(
            "{spinner} {bar:30} {pos}/{len} partitions in place  {elapsed}  {msg}",
        )
        .expect("valid progress template"),
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let ongoing = match moves.ongoing(Some(partitions)).await {
            Ok(ongoing) => ongoing,
            Err(first) => {
                moves = Reassignments::connect(settings)
                    .await
                    .with_context(|| format!("{first}; then"))?;
                moves.ongoing(Some(partitions)).await?
            }
        };
        bar.set_position(partitions.len().saturating_sub(ongoing.len()) as u64);
        if ongoing.is_empty() {
            bar.finish_and_clear();
            return Ok(());
        }
        bar.set_message(reassign::moving_message(&ongoing));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut ctrl_c => {
                bar.abandon();
                bail!("stopped following the moves, which go on: check them with --verify");
            }
        }
    }
}
