//! `topic-admin`: Kafka's kafka-topics.sh, kafka-reassign-partitions.sh and
//! kafka-leader-election.sh, for any Kafka-compatible cluster.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use gregor::cli::topic_admin::{ElectionScope, ReassignArgs, TopicAdmin, TopicCommand};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::{Admin, NewTopicSpec, TopicDescription, INTERNAL_TOPICS};
use gregor::client::election::{self, ElectionOutcome, ElectionType};
use gregor::client::entity_config::{Entity, EntityType};
use gregor::client::reassign::{
    self, Assignment, Cancelled, PartitionProgress, Progress, ReassignmentPlan, Reassignments,
};
use gregor::client::{cluster, log_dirs, producers};
use gregor::client::{ClientSettings, ConfigOp};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

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
            let topic = cli::named(name, topic);
            let spec = NewTopicSpec {
                name: topic.clone(),
                partitions,
                replication_factor,
                configs: config,
            };
            if admin.create_topic(&spec, if_not_exists).await? {
                cli::outln(format_args!("Created topic {topic}."));
            } else {
                cli::outln(format_args!("Topic {topic} already exists."));
            }
        }
        TopicCommand::List {
            exclude_internal,
            output,
        } => {
            let names: Vec<String> = admin
                .describe_topics(None)
                .await?
                .into_iter()
                .filter(|t| !(exclude_internal && t.internal))
                .map(|t| t.name)
                .collect();
            match output {
                OutputFormat::Table => names.iter().for_each(cli::outln),
                OutputFormat::Json => cli::outln(json!(names)),
            }
        }
        TopicCommand::Describe {
            name,
            topic,
            exclude_internal,
            log_dirs: true,
            output,
            ..
        } => {
            let topic = name.or(topic);
            describe_log_dirs(
                &admin,
                &settings,
                topic.as_deref(),
                exclude_internal,
                output,
            )
            .await?
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
            let topic = name.or(topic);
            let topics = matching_topics(&admin, topic.as_deref(), exclude_internal).await?;
            let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
            let only_problems = under_replicated_partitions || unavailable_partitions;
            // As in Kafka's tool, the problem filters leave the configs out:
            // DescribeConfigs goes to the controller, which may be the very
            // broker that is down.
            let configs = if only_problems {
                vec![Vec::new(); names.len()]
            } else {
                admin.topic_configs(&names).await?
            };
            // Partitions being moved show where to and from, as in Kafka's
            // tool; left out with the problem filters for the same reason.
            let moving = if only_problems || topics.is_empty() {
                Vec::new()
            } else {
                let mut all = Reassignments::connect(&settings)
                    .await?
                    .ongoing(None)
                    .await?;
                all.retain(|o| names.contains(&o.topic));
                all
            };
            let move_of = |topic: &str, partition: i32| {
                moving
                    .iter()
                    .find(|o| o.topic == topic && o.partition == partition)
            };
            let shown = |p: &gregor::client::admin::PartitionDescription| {
                !only_problems
                    || (under_replicated_partitions && p.under_replicated())
                    || (unavailable_partitions && p.unavailable())
            };
            let value = |c: &gregor::client::admin::TopicConfigEntry| {
                if c.is_sensitive {
                    "(sensitive)".to_string()
                } else {
                    c.value.clone().unwrap_or_default()
                }
            };
            let overrides = |i: usize| -> Vec<(String, String)> {
                configs[i]
                    .iter()
                    .filter(|c| c.source == "DYNAMIC_TOPIC_CONFIG")
                    .map(|c| (c.name.clone(), value(c)))
                    .collect()
            };
            match output {
                OutputFormat::Json => {
                    let described: Vec<_> = topics
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| !only_problems || t.partitions.iter().any(shown))
                        .map(|(i, t)| {
                            let mut topic = json!({
                                "topic": t.name,
                                "internal": t.internal,
                                "partitions": t.partitions.iter().filter(|p| shown(p)).map(|p| {
                                    let moved = move_of(&t.name, p.id);
                                    json!({
                                        "partition": p.id,
                                        "leader": p.leader,
                                        "replicas": p.replicas,
                                        "isr": p.isr,
                                        "adding": moved.map_or(&[][..], |o| &o.adding[..]),
                                        "removing": moved.map_or(&[][..], |o| &o.removing[..]),
                                    })
                                }).collect::<Vec<_>>(),
                            });
                            if !only_problems {
                                topic["configs"] = json!(overrides(i)
                                    .into_iter()
                                    .collect::<std::collections::BTreeMap<_, _>>(
                                ));
                            }
                            if all_configs {
                                topic["all_configs"] = configs[i]
                                    .iter()
                                    .map(|c| json!({"name": c.name, "value": value(c), "source": c.source}))
                                    .collect();
                            }
                            topic
                        })
                        .collect();
                    cli::outln(json!(described));
                }
                OutputFormat::Table => {
                    let mut headers = vec!["TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR"];
                    if !moving.is_empty() {
                        headers.extend(["ADDING", "REMOVING"]);
                    }
                    let mut table = cli::table(&headers);
                    for t in &topics {
                        for p in t.partitions.iter().filter(|p| shown(p)) {
                            let mut row = vec![
                                t.name.clone(),
                                p.id.to_string(),
                                if p.leader < 0 {
                                    "none".to_string()
                                } else {
                                    p.leader.to_string()
                                },
                                join(&p.replicas),
                                join(&p.isr),
                            ];
                            if !moving.is_empty() {
                                let moved = move_of(&t.name, p.id);
                                row.push(moved.map_or_else(String::new, |o| join(&o.adding)));
                                row.push(moved.map_or_else(String::new, |o| join(&o.removing)));
                            }
                            table.add_row(row);
                        }
                    }
                    // As kafka-configs.sh --describe --all prints each one.
                    let configs_of = |i: usize| -> Vec<String> {
                        configs[i]
                            .iter()
                            .map(|c| format!("\t{}={} ({})", c.name, value(c), c.source))
                            .collect()
                    };
                    if !only_problems {
                        for (i, t) in topics.iter().enumerate() {
                            let replication = t.partitions.first().map_or(0, |p| p.replicas.len());
                            let configs: Vec<String> = overrides(i)
                                .into_iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect();
                            cli::outln(format_args!(
                                "Topic: {}\tPartitionCount: {}\tReplicationFactor: {}\tConfigs: {}",
                                t.name,
                                t.partitions.len(),
                                replication,
                                configs.join(",")
                            ));
                            if all_configs {
                                for c in &configs_of(i) {
                                    cli::outln(c);
                                }
                            }
                        }
                        cli::outln("");
                    }
                    if table.row_count() > 0 {
                        cli::print_table(&table);
                    }
                }
            }
        }
        TopicCommand::Cluster { configs, output } => {
            let cluster = cluster::describe(&settings).await?;
            let mut broker_configs = Vec::new();
            if configs {
                for b in &cluster.brokers {
                    let entity = Entity {
                        entity_type: EntityType::Brokers,
                        name: Some(b.id.to_string()),
                        default: false,
                    };
                    broker_configs.extend(admin.describe_entity_configs(&entity, true).await?);
                }
            }
            match output {
                OutputFormat::Json => {
                    let mut described = json!(cluster);
                    if configs {
                        described["configs"] = json!(broker_configs);
                    }
                    cli::outln(described);
                }
                OutputFormat::Table => {
                    let mut text = format!(
                        "Cluster: {}\tController: {}\n\n",
                        cluster.cluster_id.as_deref().unwrap_or("none"),
                        cluster.controller_id
                    );
                    let mut table = cli::table(&["ID", "HOST:PORT", "RACK", "CONTROLLER"]);
                    for b in &cluster.brokers {
                        table.add_row(vec![
                            b.id.to_string(),
                            format!("{}:{}", b.host, b.port),
                            b.rack.clone().unwrap_or_else(|| "-".into()),
                            if b.id == cluster.controller_id {
                                "yes"
                            } else {
                                ""
                            }
                            .to_string(),
                        ]);
                    }
                    text.push_str(&cli::table_text(&table));
                    for described in &broker_configs {
                        text.push_str(&format!("\n{}\n", described.heading(true)));
                        for c in &described.configs {
                            text.push_str(&format!("  {}\n", c.kafka_line()));
                        }
                    }
                    cli::out(text);
                }
            }
        }
        TopicCommand::DeleteRecords {
            topic,
            partition,
            offset,
            offset_json_file,
            yes,
        } => {
            let offsets = match (offset_json_file, topic, partition, offset) {
                (Some(path), ..) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    gregor::client::admin::parse_delete_records_json(&text)?
                }
                (None, Some(t), Some(p), Some(o)) => vec![((t, p), o)],
                _ => unreachable!(
                    "clap requires --offset-json-file or --topic, --partition and --offset"
                ),
            };
            let listed: Vec<String> = offsets
                .iter()
                .map(|((t, p), o)| match o {
                    -1 => format!("{t}-{p} (all records)"),
                    o => format!("{t}-{p} (before offset {o})"),
                })
                .collect();
            let prompt = format!("Delete the records of {}?", listed.join(", "));
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            let outcomes = admin.delete_records(&offsets).await?;
            let mut failed = 0;
            let mut text = String::from("Records delete operation completed:\n");
            for o in &outcomes {
                let (t, p) = &o.partition;
                match o.outcome {
                    Ok(low) => {
                        text.push_str(&format!("partition: {t}-{p}\tlow_watermark: {low}\n"))
                    }
                    Err(code) => {
                        failed += 1;
                        text.push_str(&format!("partition: {t}-{p}\terror: {code:?}\n"));
                    }
                }
            }
            cli::out(text);
            if failed > 0 {
                bail!(
                    "{failed} of {} partitions kept their records",
                    outcomes.len()
                );
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
            let topics =
                matching_topics(&admin, name.or(topic).as_deref(), exclude_internal).await?;
            let wanted: Vec<(String, i32)> = topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .filter(|p| partitions.is_empty() || partitions.contains(&p.id))
                        .map(|p| (t.name.clone(), p.id))
                })
                .collect();
            if let Some(p) = partitions
                .iter()
                .find(|p| !wanted.iter().any(|(_, q)| q == *p))
            {
                bail!("no such partition: {p}");
            }
            let offsets = admin.list_offsets(wanted, time).await?;
            match output {
                OutputFormat::Json => cli::outln(serde_json::Value::Array(
                    offsets
                        .iter()
                        .map(|((t, p), o)| json!({"topic": t, "partition": p, "offset": o}))
                        .collect(),
                )),
                OutputFormat::Table => cli::out(
                    offsets
                        .iter()
                        .map(|((t, p), o)| format!("{t}:{p}:{o}\n"))
                        .collect::<String>(),
                ),
            }
        }
        TopicCommand::Alter {
            name,
            topic,
            partitions,
            config,
            delete_config,
        } => {
            let topic = cli::named(name, topic);
            if partitions.is_none() && config.is_empty() && delete_config.is_empty() {
                bail!("nothing to alter: give --partitions, --config or --delete-config");
            }
            if let Some(count) = partitions {
                admin.create_partitions(&topic, count as usize).await?;
                cli::outln(format_args!("Topic {topic} now has {count} partitions."));
            }
            if !config.is_empty() || !delete_config.is_empty() {
                let ops: Vec<ConfigOp> = config
                    .into_iter()
                    .map(|(k, v)| ConfigOp::Set(k, v))
                    .chain(delete_config.into_iter().map(ConfigOp::Delete))
                    .collect();
                admin.alter_topic_config(&topic, ops).await?;
                cli::outln(format_args!("Updated the configs of topic {topic}."));
            }
        }
        TopicCommand::Delete {
            names,
            topic,
            yes,
            if_exists,
        } => {
            let topic = cli::names(names, topic);
            let existing: Vec<String> = admin
                .describe_topics(None)
                .await?
                .into_iter()
                .map(|t| t.name)
                .collect();
            // A name that is no topic's is a regular expression matching
            // whole names, as describe takes it; internal topics go only by
            // their exact name.
            let mut present = Vec::new();
            let mut missing = Vec::new();
            for pattern in topic {
                if existing.contains(&pattern) {
                    present.push(pattern);
                    continue;
                }
                let regex = gregor::client::whole_name_regex(&pattern)
                    .map_err(|e| anyhow::anyhow!("--topic {e}"))?;
                let matched: Vec<String> = existing
                    .iter()
                    .filter(|t| regex.is_match(t) && !INTERNAL_TOPICS.contains(&t.as_str()))
                    .cloned()
                    .collect();
                if matched.is_empty() {
                    missing.push(pattern);
                }
                present.extend(matched);
            }
            present.sort();
            present.dedup();
            if !missing.is_empty() && !if_exists {
                bail!("no such topic: {}", missing.join(", "));
            }
            if present.is_empty() {
                return Ok(());
            }
            let prompt = format!(
                "Delete topic {} and every record in it?",
                present.join(", ")
            );
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            admin.delete_topics(&present).await?;
            for t in &present {
                cli::outln(format_args!("Deleted topic {t}."));
            }
        }
        TopicCommand::Reassign(args) => reassign(&admin, &settings, args).await?,
        TopicCommand::ElectLeaders {
            election_type,
            scope,
            partition,
            output,
        } => elect_leaders(&admin, election_type.into(), scope, partition, output).await?,
        TopicCommand::DescribeProducers {
            name,
            topic,
            partition,
            output,
        } => {
            let topic = cli::named(name, topic);
            let found = producers::describe(&settings, &topic, partition).await?;
            match output {
                OutputFormat::Json => cli::outln(json!(found)),
                OutputFormat::Table => {
                    let mut table = cli::table(&[
                        "ProducerId",
                        "ProducerEpoch",
                        "LatestCoordinatorEpoch",
                        "LastSequence",
                        "LastTimestamp",
                        "CurrentTransactionStartOffset",
                    ]);
                    for p in &found {
                        table.add_row(vec![
                            p.producer_id.to_string(),
                            p.producer_epoch.to_string(),
                            p.latest_coordinator_epoch.to_string(),
                            p.last_sequence.to_string(),
                            p.last_timestamp.to_string(),
                            if p.current_transaction_start_offset < 0 {
                                "None".to_string()
                            } else {
                                p.current_transaction_start_offset.to_string()
                            },
                        ]);
                    }
                    cli::print_table(&table);
                }
            }
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
            let (producer_id, producer_epoch, coordinator_epoch) = match start_offset {
                Some(offset) => {
                    let p = producers::open_transaction_at(&settings, &topic, partition, offset)
                        .await?;
                    // As Kafka's tool: an epoch the partition does not know counts as 0.
                    (
                        p.producer_id,
                        p.producer_epoch as i16,
                        p.latest_coordinator_epoch.max(0),
                    )
                }
                // clap requires all three with --producer-id.
                None => (
                    producer_id.unwrap_or_default(),
                    producer_epoch.unwrap_or_default(),
                    coordinator_epoch.unwrap_or_default(),
                ),
            };
            producers::abort_transaction(
                &settings,
                &topic,
                partition,
                producer_id,
                producer_epoch,
                coordinator_epoch,
            )
            .await?;
            cli::outln(format_args!(
                "Aborted the transaction of producer {producer_id} (epoch {producer_epoch}) in {topic}-{partition}."
            ));
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
        return generate(admin, &args).await;
    }
    if args.list {
        let ongoing = Reassignments::connect(settings)
            .await?
            .ongoing(None)
            .await?;
        match args.output {
            OutputFormat::Json => cli::outln(json!(ongoing)),
            OutputFormat::Table if ongoing.is_empty() => {
                cli::outln("No partition reassignments found.")
            }
            OutputFormat::Table => {
                let mut table =
                    cli::table(&["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"]);
                for o in &ongoing {
                    table.add_row(vec![
                        o.topic.clone(),
                        o.partition.to_string(),
                        join(&o.replicas),
                        join(&o.adding),
                        join(&o.removing),
                    ]);
                }
                cli::print_table(&table);
            }
        }
        return Ok(());
    }
    let path = args
        .reassignment_json_file
        .as_deref()
        .context("--reassignment-json-file is required")?;
    let plan = ReassignmentPlan::parse(&read(path)?, &path.display().to_string())?;
    let partitions: Vec<(String, i32)> = plan
        .partitions
        .iter()
        .map(|p| (p.topic.clone(), p.partition))
        .collect();
    if args.cancel {
        let outcomes = Reassignments::connect(settings)
            .await?
            .cancel(&partitions)
            .await?;
        match args.output {
            OutputFormat::Json => cli::outln(json!(outcomes
                .iter()
                .map(|((topic, partition), outcome)| json!({
                    "topic": topic, "partition": partition, "result": outcome,
                }))
                .collect::<Vec<_>>())),
            OutputFormat::Table => {
                let mut table = cli::table(&["TOPIC", "PARTITION", "RESULT"]);
                for ((topic, partition), outcome) in &outcomes {
                    table.add_row(vec![
                        topic.clone(),
                        partition.to_string(),
                        match outcome {
                            Cancelled::Cancelled => "cancelled",
                            Cancelled::NotMoving => "was not moving",
                        }
                        .to_string(),
                    ]);
                }
                cli::print_table(&table);
            }
        }
        return Ok(());
    }
    let now = reassign::assignment(&admin.describe_topics(None).await?);
    let mut moves = Reassignments::connect(settings).await?;
    if args.verify {
        let ongoing = moves.ongoing(Some(&partitions)).await?;
        let progress = reassign::progress(&plan, &now, &ongoing);
        print_progress(&progress, args.output, None);
        let (done, moving) = tally(&progress);
        if done < progress.len() {
            bail!(
                "{} of {} partitions are not in place: {moving} still moving, {} elsewhere",
                progress.len() - done,
                progress.len(),
                progress.len() - done - moving
            );
        }
        return Ok(());
    }

    // --execute
    let rollback = plan.rollback(&now)?;
    if !args.additional {
        let ongoing = moves.ongoing(None).await?;
        if !ongoing.is_empty() {
            bail!(
                "{} partitions are moving already ({}): add --additional to start these moves as well",
                ongoing.len(),
                ongoing
                    .iter()
                    .map(|o| format!("{}-{}", o.topic, o.partition))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    if args.output == OutputFormat::Table {
        cli::outln(format_args!(
            "Current partition replica assignment\n\n{}\n\nSave this to use as the \
             --reassignment-json-file option during rollback",
            rollback.to_json()
        ));
    }
    let started = Instant::now();
    moves.start(&plan).await?;
    let names: Vec<String> = plan.partitions.iter().map(|p| p.name()).collect();
    if args.no_wait {
        match args.output {
            OutputFormat::Json => cli::outln(json!({
                "rollback": rollback,
                "started": names,
            })),
            OutputFormat::Table => cli::outln(format_args!(
                "Successfully started partition reassignments for {}",
                names.join(",")
            )),
        }
        return Ok(());
    }
    follow(settings, moves, &partitions).await?;
    let (progress, led_elsewhere) = settled_progress(admin, &plan).await?;
    let executed = Executed {
        rollback: &rollback,
        elapsed: started.elapsed(),
        led_elsewhere: &led_elsewhere,
        plan_file: path,
    };
    print_progress(&progress, args.output, Some(executed));
    let (done, _) = tally(&progress);
    if done < progress.len() {
        bail!(
            "{} of {} partitions did not end where the plan puts them",
            progress.len() - done,
            progress.len()
        );
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
    partitions: &[(String, i32)],
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
        let shown: Vec<String> = ongoing
            .iter()
            .take(3)
            .map(|o| {
                format!(
                    "{}-{} +{} -{}",
                    o.topic,
                    o.partition,
                    join(&o.adding),
                    join(&o.removing)
                )
            })
            .collect();
        let more = ongoing.len().saturating_sub(shown.len());
        bar.set_message(if more > 0 {
            format!("moving {} and {more} more", shown.join(", "))
        } else {
            format!("moving {}", shown.join(", "))
        });
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut ctrl_c => {
                bar.abandon();
                bail!("stopped following the moves, which go on: check them with --verify");
            }
        }
    }
}

/// Each partition's progress once the moves are over, and the partitions
/// in place but not led by their preferred replica (a move keeps a leader
/// that stays a replica). The broker that answers Metadata may apply the
/// last change a moment after the controller, so a partition found
/// elsewhere is looked at again for a while before it counts.
async fn settled_progress(
    admin: &Admin,
    plan: &ReassignmentPlan,
) -> anyhow::Result<(Vec<PartitionProgress>, Vec<String>)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let topics = admin.describe_topics(None).await?;
        let progress = reassign::progress(plan, &reassign::assignment(&topics), &[]);
        if tally(&progress).0 == progress.len() || Instant::now() >= deadline {
            let led_elsewhere = progress
                .iter()
                .filter(|p| matches!(p.progress, Progress::Complete))
                .filter(|p| {
                    topics
                        .iter()
                        .filter(|t| t.name == p.topic)
                        .flat_map(|t| &t.partitions)
                        .any(|d| d.id == p.partition && Some(&d.leader) != p.target.first())
                })
                .map(|p| format!("{}-{}", p.topic, p.partition))
                .collect();
            return Ok((progress, led_elsewhere));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// (partitions in place, partitions moving).
fn tally(progress: &[PartitionProgress]) -> (usize, usize) {
    let count = |f: fn(&Progress) -> bool| progress.iter().filter(|p| f(&p.progress)).count();
    (
        count(|p| matches!(p, Progress::Complete)),
        count(|p| matches!(p, Progress::InProgress { .. })),
    )
}

/// What --execute reports besides each partition's progress.
struct Executed<'a> {
    rollback: &'a ReassignmentPlan,
    elapsed: Duration,
    led_elsewhere: &'a [String],
    plan_file: &'a Path,
}

/// Prints where each partition of a plan stands; after --execute also
/// where it came from, how long the moves took and which partitions wait
/// for a preferred leader election.
fn print_progress(
    progress: &[PartitionProgress],
    output: OutputFormat,
    executed: Option<Executed>,
) {
    match output {
        OutputFormat::Json => match executed {
            None => cli::outln(json!(progress)),
            Some(e) => cli::outln(json!({
                "rollback": e.rollback,
                "partitions": progress,
                "elapsed_secs": e.elapsed.as_secs_f64(),
                "not_led_by_preferred_replica": e.led_elsewhere,
            })),
        },
        OutputFormat::Table => {
            let mut header = vec!["TOPIC", "PARTITION"];
            if executed.is_some() {
                header.push("FROM");
            }
            header.extend(["TARGET", "STATE"]);
            let mut table = cli::table(&header);
            for (i, p) in progress.iter().enumerate() {
                let mut row = vec![p.topic.clone(), p.partition.to_string()];
                if let Some(e) = &executed {
                    row.push(join(&e.rollback.partitions[i].replicas));
                }
                row.push(join(&p.target));
                row.push(match &p.progress {
                    Progress::Complete => "complete".to_string(),
                    Progress::InProgress { adding, removing } => format!(
                        "in progress (adding {}, removing {})",
                        or_none(adding),
                        or_none(removing)
                    ),
                    Progress::Differs { replicas } => {
                        format!("differs: the replicas are {}", join(replicas))
                    }
                    Progress::Missing => "no such partition".to_string(),
                });
                table.add_row(row);
            }
            if let Some(e) = executed {
                cli::outln("");
                cli::print_table(&table);
                cli::outln(format_args!(
                    "\nReassigned {} partitions in {:.1} s.",
                    progress.len(),
                    e.elapsed.as_secs_f64()
                ));
                if !e.led_elsewhere.is_empty() {
                    cli::outln(format_args!(
                        "Not led by their preferred replica yet: {}; \
                         `topic-admin elect-leaders --election-type preferred \
                         --path-to-json-file {}` moves their leadership.",
                        e.led_elsewhere.join(", "),
                        e.plan_file.display()
                    ));
                }
            } else {
                cli::print_table(&table);
            }
        }
    }
}

async fn generate(admin: &Admin, args: &ReassignArgs) -> anyhow::Result<()> {
    let wanted: BTreeSet<String> = match &args.topics_to_move_json_file {
        Some(path) => reassign::parse_topics_to_move(&read(path)?, &path.display().to_string())?
            .into_iter()
            .collect(),
        None => args
            .topics
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
    };
    if wanted.is_empty() {
        bail!("no topics to place");
    }
    let topics = admin.describe_topics(None).await?;
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !topics.iter().any(|t| t.name == **w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!("no such topic: {}", missing.join(", "));
    }
    let cluster = admin.broker_ids().await?;
    if let Some(unknown) = args.broker_list.iter().find(|b| !cluster.contains(b)) {
        bail!(
            "--broker-list: no broker {unknown} in the cluster (it has {})",
            join(&cluster)
        );
    }
    let current: Assignment = reassign::assignment(&topics)
        .into_iter()
        .filter(|((topic, _), _)| wanted.contains(topic))
        .collect();
    let proposal = reassign::propose(&current, &args.broker_list)?;
    let nothing_to_do = proposal.proposed.partitions.is_empty();
    if let Some(path) = &args.output_file {
        if !nothing_to_do {
            std::fs::write(path, format!("{}\n", proposal.proposed.to_json()))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let brokers: Vec<serde_json::Value> = proposal
        .load
        .iter()
        .map(|(b, (replicas, leaders))| json!({"broker": b, "replicas": replicas, "leaders": leaders}))
        .collect();
    match args.output {
        OutputFormat::Json => cli::outln(json!({
            "current": proposal.current,
            "proposed": proposal.proposed,
            "moved_replicas": proposal.moved_replicas,
            "total_replicas": proposal.total_replicas,
            "brokers": brokers,
        })),
        OutputFormat::Table if nothing_to_do => cli::outln(format_args!(
            "The replicas and leaders of {} are spread evenly over brokers {} already: nothing to move.",
            wanted.iter().cloned().collect::<Vec<_>>().join(", "),
            join(&proposal.load.keys().copied().collect::<Vec<_>>())
        )),
        OutputFormat::Table => {
            cli::outln(format_args!(
                "Current partition replica assignment\n{}\n\nProposed partition reassignment configuration\n{}\n",
                proposal.current.to_json(),
                proposal.proposed.to_json()
            ));
            let load: Vec<String> = proposal
                .load
                .iter()
                .map(|(b, (replicas, leaders))| format!("{b}: {replicas} replicas, {leaders} leaders"))
                .collect();
            cli::outln(format_args!(
                "Moves {} of {} replicas and changes {} partitions; afterwards {}.",
                proposal.moved_replicas,
                proposal.total_replicas,
                proposal.proposed.partitions.len(),
                load.join("; ")
            ));
        }
    }
    Ok(())
}

async fn elect_leaders(
    admin: &Admin,
    election: ElectionType,
    scope: ElectionScope,
    partition: Option<i32>,
    output: OutputFormat,
) -> anyhow::Result<()> {
    let partitions = if let Some(path) = &scope.path_to_json_file {
        Some(election::parse_partitions(
            &read(path)?,
            &path.display().to_string(),
        )?)
    } else if let Some(topic) = &scope.topic {
        let topics = admin.describe_topics(None).await?;
        let Some(found) = topics.iter().find(|t| t.name == *topic) else {
            bail!("no such topic: {topic}");
        };
        let ids: Vec<i32> = found.partitions.iter().map(|p| p.id).collect();
        Some(match partition {
            Some(p) if !ids.contains(&p) => bail!("topic '{topic}' has no partition {p}"),
            Some(p) => vec![(topic.clone(), p)],
            None => ids.into_iter().map(|p| (topic.clone(), p)).collect(),
        })
    } else {
        None
    };
    let elections = admin.elect_leaders(election, partitions).await?;
    match output {
        OutputFormat::Json => cli::outln(json!(elections)),
        OutputFormat::Table if elections.is_empty() => {
            cli::outln("No partition needed a new leader.")
        }
        OutputFormat::Table => {
            let mut table = cli::table(&["TOPIC", "PARTITION", "RESULT"]);
            for e in &elections {
                table.add_row(vec![
                    e.topic.clone(),
                    e.partition.to_string(),
                    match (&e.outcome, election) {
                        (ElectionOutcome::Elected, _) => "elected".to_string(),
                        (ElectionOutcome::NotNeeded, ElectionType::Preferred) => {
                            "already led by its preferred replica".to_string()
                        }
                        (ElectionOutcome::NotNeeded, ElectionType::Unclean) => {
                            "has a leader already".to_string()
                        }
                        (ElectionOutcome::Failed { error }, _) => format!("error: {error}"),
                    },
                ]);
            }
            cli::print_table(&table);
        }
    }
    let failed: Vec<String> = elections
        .iter()
        .filter_map(|e| match &e.outcome {
            ElectionOutcome::Failed { error } => {
                Some(format!("{}-{}: {error}", e.topic, e.partition))
            }
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} partitions got no new leader: {}",
            failed.len(),
            elections.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn or_none(ids: &[i32]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        join(ids)
    }
}

/// The topics a `--topic` argument names: a name or a whole-name regex.
/// kafka-log-dirs.sh's answer: its JSON, or a row per replica.
async fn describe_log_dirs(
    admin: &Admin,
    settings: &ClientSettings,
    pattern: Option<&str>,
    exclude_internal: bool,
    output: OutputFormat,
) -> anyhow::Result<()> {
    // Without a filter every replica is asked for, as Kafka's tool does.
    let wanted: Option<Vec<(String, Vec<i32>)>> = if pattern.is_some() || exclude_internal {
        let topics = matching_topics(admin, pattern, exclude_internal).await?;
        Some(
            topics
                .into_iter()
                .map(|t| (t.name, t.partitions.iter().map(|p| p.id).collect()))
                .collect(),
        )
    } else {
        None
    };
    let brokers = log_dirs::describe(settings, wanted.as_deref()).await?;
    match output {
        OutputFormat::Json => cli::outln(json!({"version": 1, "brokers": brokers})),
        OutputFormat::Table => {
            let mut table = cli::table(&[
                "BROKER",
                "LOG-DIR",
                "PARTITION",
                "SIZE",
                "OFFSET-LAG",
                "IS-FUTURE",
            ]);
            for b in &brokers {
                for dir in &b.log_dirs {
                    if let Some(error) = &dir.error {
                        table.add_row(vec![
                            b.broker.to_string(),
                            dir.log_dir.clone(),
                            format!("({error})"),
                            String::new(),
                            String::new(),
                            String::new(),
                        ]);
                    }
                    for p in &dir.partitions {
                        table.add_row(vec![
                            b.broker.to_string(),
                            dir.log_dir.clone(),
                            p.partition.clone(),
                            p.size.to_string(),
                            p.offset_lag.to_string(),
                            p.is_future.to_string(),
                        ]);
                    }
                }
            }
            cli::print_table(&table);
        }
    }
    Ok(())
}

async fn matching_topics(
    admin: &Admin,
    pattern: Option<&str>,
    exclude_internal: bool,
) -> anyhow::Result<Vec<TopicDescription>> {
    let all = admin.describe_topics(None).await?;
    let Some(pattern) = pattern else {
        return Ok(all
            .into_iter()
            .filter(|t| !(exclude_internal && t.internal))
            .collect());
    };
    let regex =
        gregor::client::whole_name_regex(pattern).map_err(|e| anyhow::anyhow!("--topic {e}"))?;
    let matched: Vec<TopicDescription> = all
        .into_iter()
        .filter(|t| regex.is_match(&t.name) && !(exclude_internal && t.internal))
        .collect();
    if matched.is_empty() {
        bail!("no topic matches '{pattern}'");
    }
    Ok(matched)
}

fn join(ids: &[i32]) -> String {
    ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
}
