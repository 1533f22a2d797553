//! `topic-admin reassign`: kafka-reassign-partitions.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{join, ReassignArgs};
use crate::cli::OutputFormat;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::log_dirs;
use crate::client::reassign::throttle::{self, Cleared, Throttles};
use crate::client::reassign::{
    self, Assignment, Cancelled, LogDirState, Ongoing, PartitionProgress, PartitionReplicas,
    Progress, Proposal, ReassignmentPlan, Reassignments, ReplicaLogDir,
};
use crate::client::{ClientError, ClientSettings, Result};
use crate::topic_partition::TopicPartition;

/// The plan in a --reassignment-json-file.
pub fn read_plan(path: &Path) -> Result<ReassignmentPlan> {
    ReassignmentPlan::parse(&super::read(path)?, &path.display().to_string())
}

/// The partitions a plan names.
pub fn partitions(plan: &ReassignmentPlan) -> Vec<TopicPartition> {
    plan.partitions
        .iter()
        .map(|p| TopicPartition::new(p.topic.clone(), p.partition))
        .collect()
}

/// --list: the partitions moving now.
pub fn render_ongoing(ongoing: &[Ongoing], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(ongoing)),
        OutputFormat::Table if ongoing.is_empty() => {
            "No partition reassignments found.\n".to_string()
        }
        OutputFormat::Table => {
            let mut table =
                crate::cli::table(&["TOPIC", "PARTITION", "REPLICAS", "ADDING", "REMOVING"]);
            for o in ongoing {
                table.add_row(vec![
                    o.topic.clone(),
                    o.partition.to_string(),
                    join(&o.replicas),
                    join(&o.adding),
                    join(&o.removing),
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

/// --cancel: what became of each partition's move.
pub fn render_cancelled(outcomes: &[(TopicPartition, Cancelled)], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!(
            "{}\n",
            json!(outcomes
                .iter()
                .map(|(tp, outcome)| json!({
                    "topic": tp.topic, "partition": tp.partition, "result": outcome,
                }))
                .collect::<Vec<_>>())
        ),
        OutputFormat::Table => {
            let mut table = crate::cli::table(&["TOPIC", "PARTITION", "RESULT"]);
            for (tp, outcome) in outcomes {
                table.add_row(vec![
                    tp.topic.clone(),
                    tp.partition.to_string(),
                    match outcome {
                        Cancelled::Cancelled => "cancelled",
                        Cancelled::NotMoving => "was not moving",
                    }
                    .to_string(),
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

/// --verify: where each partition of the plan stands.
pub async fn verify(
    admin: &Admin,
    settings: &ClientSettings,
    plan: &ReassignmentPlan,
) -> Result<Vec<PartitionProgress>> {
    let now = reassign::assignment(&admin.describe_topics(None).await?);
    let ongoing = Reassignments::connect(settings)
        .await?
        .ongoing(Some(&partitions(plan)))
        .await?;
    let mut progress = reassign::progress(plan, &now, &ongoing);
    let named: Vec<&PartitionReplicas> = plan
        .partitions
        .iter()
        .filter(|p| !p.replica_log_dirs().is_empty())
        .collect();
    if !named.is_empty() {
        let mut topics: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for p in &named {
            topics.entry(p.topic.clone()).or_default().push(p.partition);
        }
        let topics: Vec<(String, Vec<i32>)> = topics.into_iter().collect();
        let described = log_dirs::describe(settings, Some(&topics)).await?;
        for (progress, planned) in progress.iter_mut().zip(&plan.partitions) {
            progress.log_dirs = reassign::log_dir_states(planned, &described);
        }
    }
    Ok(progress)
}

/// What went wrong, for --verify, when a partition is not in place.
pub fn not_in_place(progress: &[PartitionProgress]) -> Option<String> {
    let (done, moving) = tally(progress);
    (done < progress.len()).then(|| {
        format!(
            "{} of {} partitions are not in place: {moving} still moving, {} elsewhere",
            progress.len() - done,
            progress.len(),
            progress.len() - done - moving
        )
    })
}

/// What went wrong, for --verify, when a replica is not in the log
/// directory the plan names for it.
pub fn log_dirs_not_in_place(progress: &[PartitionProgress]) -> Option<String> {
    let replicas: Vec<&ReplicaLogDir> = progress.iter().flat_map(|p| &p.log_dirs).collect();
    let astray = replicas
        .iter()
        .filter(|r| r.state != LogDirState::Complete)
        .count();
    (astray > 0).then(|| {
        format!(
            "{astray} of {} replicas are not in the log directory the plan names",
            replicas.len()
        )
    })
}

/// What went wrong, after --execute, when a partition did not end where
/// the plan puts it.
pub fn not_placed(progress: &[PartitionProgress]) -> Option<String> {
    let (done, _) = tally(progress);
    (done < progress.len()).then(|| {
        format!(
            "{} of {} partitions did not end where the plan puts them",
            progress.len() - done,
            progress.len()
        )
    })
}

/// (partitions in place, partitions moving).
pub fn tally(progress: &[PartitionProgress]) -> (usize, usize) {
    let count = |f: fn(&Progress) -> bool| progress.iter().filter(|p| f(&p.progress)).count();
    (
        count(|p| matches!(p, Progress::Complete)),
        count(|p| matches!(p, Progress::InProgress { .. })),
    )
}

/// A plan about to be carried out: the controller connection to start it
/// on, the assignment to roll back to and the throttles its moves take.
pub struct Execution {
    pub moves: Reassignments,
    pub rollback: ReassignmentPlan,
    pub throttles: Throttles,
}

/// Everything --execute checks before it starts the moves.
pub async fn prepare(
    admin: &Admin,
    settings: &ClientSettings,
    plan: &ReassignmentPlan,
    additional: bool,
) -> Result<Execution> {
    let now = reassign::assignment(&admin.describe_topics(None).await?);
    let mut moves = Reassignments::connect(settings).await?;
    let rollback = plan.rollback(&now)?;
    let ongoing = moves.ongoing(None).await?;
    if !additional {
        refuse_concurrent(&ongoing)?;
    }
    let throttles = throttle::throttles(plan, &now, &ongoing);
    Ok(Execution {
        moves,
        rollback,
        throttles,
    })
}

/// What --execute --throttle says once the throttles are set, as Kafka's
/// tool does.
pub fn throttle_notice(rate: i64) -> String {
    format!(
        "Warning: You must run --verify periodically, until the reassignment completes, \
         to ensure the throttle is removed.\nThe inter-broker throttle limit was set to {rate} B/s\n"
    )
}

/// What --verify says once it has cleared the throttles.
pub fn cleared_notice(cleared: &Cleared) -> String {
    format!(
        "Clearing broker-level throttles on brokers {}\nClearing topic-level throttles on topic(s) {}\n",
        join(&cleared.brokers),
        cleared.topics.join(",")
    )
}

/// Without --additional, moves already going on stop --execute.
pub fn refuse_concurrent(ongoing: &[Ongoing]) -> Result<()> {
    if ongoing.is_empty() {
        return Ok(());
    }
    Err(ClientError::Invalid(format!(
        "{} partitions are moving already ({}): add --additional to start these moves as well",
        ongoing.len(),
        ongoing
            .iter()
            .map(|o| format!("{}-{}", o.topic, o.partition))
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Printed before the moves start, as Kafka's tool does, so that the way
/// back is on the screen whatever happens next.
pub fn rollback_notice(rollback: &ReassignmentPlan) -> String {
    format!(
        "Current partition replica assignment\n\n{}\n\nSave this to use as the \
         --reassignment-json-file option during rollback\n",
        rollback.to_json()
    )
}

/// What --execute --no-wait says once the moves have started.
pub fn render_started(
    plan: &ReassignmentPlan,
    rollback: &ReassignmentPlan,
    output: OutputFormat,
) -> String {
    let names: Vec<String> = plan.partitions.iter().map(|p| p.name()).collect();
    match output {
        OutputFormat::Json => format!("{}\n", json!({"rollback": rollback, "started": names})),
        OutputFormat::Table => format!(
            "Successfully started partition reassignments for {}\n",
            names.join(",")
        ),
    }
}

/// The progress bar's message while partitions move: the first three.
pub fn moving_message(ongoing: &[Ongoing]) -> String {
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
    if more > 0 {
        format!("moving {} and {more} more", shown.join(", "))
    } else {
        format!("moving {}", shown.join(", "))
    }
}

/// Each partition's progress once the moves are over, and the partitions
/// in place but not led by their preferred replica (a move keeps a leader
/// that stays a replica). The broker that answers Metadata may apply the
/// last change a moment after the controller, so a partition found
/// elsewhere is looked at again for a while before it counts.
pub async fn settled_progress(
    admin: &Admin,
    plan: &ReassignmentPlan,
) -> Result<(Vec<PartitionProgress>, Vec<String>)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let topics = admin.describe_topics(None).await?;
        let progress = reassign::progress(plan, &reassign::assignment(&topics), &[]);
        if tally(&progress).0 == progress.len() || Instant::now() >= deadline {
            let led_elsewhere = led_elsewhere(&progress, &topics);
            return Ok((progress, led_elsewhere));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The partitions in place whose leader is not the plan's first replica.
pub fn led_elsewhere(progress: &[PartitionProgress], topics: &[TopicDescription]) -> Vec<String> {
    progress
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
        .collect()
}

/// What --execute reports besides each partition's progress.
pub struct Executed<'a> {
    pub rollback: &'a ReassignmentPlan,
    pub elapsed: Duration,
    pub led_elsewhere: &'a [String],
    pub plan_file: &'a Path,
}

/// Where each partition of a plan stands; after --execute also where it
/// came from, how long the moves took and which partitions wait for a
/// preferred leader election.
pub fn render_progress(
    progress: &[PartitionProgress],
    output: OutputFormat,
    executed: Option<Executed>,
) -> String {
    match output {
        OutputFormat::Json => match executed {
            None => format!("{}\n", json!(progress)),
            Some(e) => format!(
                "{}\n",
                json!({
                    "rollback": e.rollback,
                    "partitions": progress,
                    "elapsed_secs": e.elapsed.as_secs_f64(),
                    "not_led_by_preferred_replica": e.led_elsewhere,
                })
            ),
        },
        OutputFormat::Table => {
            let mut header = vec!["TOPIC", "PARTITION"];
            if executed.is_some() {
                header.push("FROM");
            }
            header.extend(["TARGET", "STATE"]);
            let mut table = crate::cli::table(&header);
            for (i, p) in progress.iter().enumerate() {
                let mut row = vec![p.topic.clone(), p.partition.to_string()];
                if let Some(e) = &executed {
                    row.push(join(&e.rollback.partitions[i].replicas));
                }
                row.push(join(&p.target));
                row.push(state(&p.progress));
                table.add_row(row);
            }
            let Some(e) = executed else {
                return crate::cli::table_text(&table) + &log_dirs_table(progress);
            };
            let mut text = format!("\n{}", crate::cli::table_text(&table));
            text.push_str(&format!(
                "\nReassigned {} partitions in {:.1} s.\n",
                progress.len(),
                e.elapsed.as_secs_f64()
            ));
            if !e.led_elsewhere.is_empty() {
                text.push_str(&format!(
                    "Not led by their preferred replica yet: {}; \
                     `topic-admin elect-leaders --election-type preferred \
                     --path-to-json-file {}` moves their leadership.\n",
                    e.led_elsewhere.join(", "),
                    e.plan_file.display()
                ));
            }
            text
        }
    }
}

fn state(progress: &Progress) -> String {
    match progress {
        Progress::Complete => "complete".to_string(),
        Progress::InProgress { adding, removing } => format!(
            "in progress (adding {}, removing {})",
            or_none(adding),
            or_none(removing)
        ),
        Progress::Differs { replicas } => format!("differs: the replicas are {}", join(replicas)),
        Progress::Missing => "no such partition".to_string(),
    }
}

/// --verify's replicas the plan names a log directory for, in Kafka's
/// order (broker, then partition); empty when it names none.
fn log_dirs_table(progress: &[PartitionProgress]) -> String {
    let mut replicas: Vec<(&PartitionProgress, &ReplicaLogDir)> = progress
        .iter()
        .flat_map(|p| p.log_dirs.iter().map(move |r| (p, r)))
        .collect();
    if replicas.is_empty() {
        return String::new();
    }
    replicas.sort_by(|(a, x), (b, y)| {
        (x.broker, &a.topic, a.partition).cmp(&(y.broker, &b.topic, b.partition))
    });
    let mut table = crate::cli::table(&["BROKER", "TOPIC", "PARTITION", "LOG DIR", "STATE"]);
    for (p, r) in replicas {
        let state = match &r.state {
            LogDirState::Complete => "complete".to_string(),
            LogDirState::InProgress { current, future } if *future == r.log_dir => {
                format!("moving from {current}")
            }
            LogDirState::InProgress { current, future } => {
                format!("moving from {current} to {future} instead")
            }
            LogDirState::Elsewhere { current } => format!("in {current}, not moving"),
            LogDirState::NotFound => {
                "in no live log dir of the broker (one may be offline)".to_string()
            }
            LogDirState::NoBroker => "broker not in the cluster".to_string(),
        };
        table.add_row(vec![
            r.broker.to_string(),
            p.topic.clone(),
            p.partition.to_string(),
            r.log_dir.clone(),
            state,
        ]);
    }
    format!("\n{}", crate::cli::table_text(&table))
}

fn or_none(ids: &[i32]) -> String {
    if ids.is_empty() {
        "none".to_string()
    } else {
        join(ids)
    }
}

/// --generate's proposal for the topics it was given.
pub struct Generated {
    /// The topics placed, in name order.
    pub topics: BTreeSet<String>,
    pub proposal: Proposal,
}

/// Plans the topics of --topics or --topics-to-move-json-file over
/// --broker-list.
pub async fn generate(admin: &Admin, args: &ReassignArgs) -> Result<Generated> {
    let wanted: BTreeSet<String> = match &args.topics_to_move_json_file {
        Some(path) => {
            reassign::parse_topics_to_move(&super::read(path)?, &path.display().to_string())?
                .into_iter()
                .collect()
        }
        None => args
            .topics
            .iter()
            .filter(|t| !t.is_empty())
            .cloned()
            .collect(),
    };
    if wanted.is_empty() {
        return Err(ClientError::Invalid("no topics to place".into()));
    }
    let topics = admin.describe_topics(None).await?;
    let cluster = admin.broker_ids().await?;
    propose(&topics, &cluster, wanted, &args.broker_list)
}

/// `generate` once the cluster's topics and brokers are known.
pub fn propose(
    topics: &[TopicDescription],
    cluster: &[i32],
    wanted: BTreeSet<String>,
    brokers: &[i32],
) -> Result<Generated> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|w| !topics.iter().any(|t| t.name == **w))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(ClientError::Invalid(format!(
            "no such topic: {}",
            missing.join(", ")
        )));
    }
    if let Some(unknown) = brokers.iter().find(|b| !cluster.contains(b)) {
        return Err(ClientError::Invalid(format!(
            "--broker-list: no broker {unknown} in the cluster (it has {})",
            join(cluster)
        )));
    }
    let current: Assignment = reassign::assignment(topics)
        .into_iter()
        .filter(|(tp, _)| wanted.contains(&tp.topic))
        .collect();
    let proposal = reassign::propose(&current, brokers)?;
    Ok(Generated {
        topics: wanted,
        proposal,
    })
}

impl Generated {
    /// The proposed plan as --output-file holds it; `None` when nothing
    /// moves, and no file is written.
    pub fn plan_file(&self) -> Option<String> {
        let proposed = &self.proposal.proposed;
        (!proposed.partitions.is_empty()).then(|| format!("{}\n", proposed.to_json()))
    }

    pub fn render(&self, output: OutputFormat) -> String {
        let proposal = &self.proposal;
        let nothing_to_do = proposal.proposed.partitions.is_empty();
        match output {
            OutputFormat::Json => {
                let brokers: Vec<serde_json::Value> = proposal
                    .load
                    .iter()
                    .map(|(b, (replicas, leaders))| {
                        json!({"broker": b, "replicas": replicas, "leaders": leaders})
                    })
                    .collect();
                format!(
                    "{}\n",
                    json!({
                        "current": proposal.current,
                        "proposed": proposal.proposed,
                        "moved_replicas": proposal.moved_replicas,
                        "total_replicas": proposal.total_replicas,
                        "brokers": brokers,
                    })
                )
            }
            OutputFormat::Table if nothing_to_do => format!(
                "The replicas and leaders of {} are spread evenly over brokers {} already: nothing to move.\n",
                self.topics.iter().cloned().collect::<Vec<_>>().join(", "),
                join(&proposal.load.keys().copied().collect::<Vec<_>>())
            ),
            OutputFormat::Table => {
                let load: Vec<String> = proposal
                    .load
                    .iter()
                    .map(|(b, (replicas, leaders))| {
                        format!("{b}: {replicas} replicas, {leaders} leaders")
                    })
                    .collect();
                format!(
                    "Current partition replica assignment\n{}\n\n\
                     Proposed partition reassignment configuration\n{}\n\n\
                     Moves {} of {} replicas and changes {} partitions; afterwards {}.\n",
                    proposal.current.to_json(),
                    proposal.proposed.to_json(),
                    proposal.moved_replicas,
                    proposal.total_replicas,
                    proposal.proposed.partitions.len(),
                    load.join("; ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::topic_admin::fixtures::topic;
    use crate::client::reassign::PartitionReplicas;

    fn ongoing(partition: i32, adding: &[i32], removing: &[i32]) -> Ongoing {
        Ongoing {
            topic: "orders".into(),
            partition,
            replicas: vec![1, 2, 3],
            adding: adding.to_vec(),
            removing: removing.to_vec(),
        }
    }

    fn progress(partition: i32, progress: Progress) -> PartitionProgress {
        PartitionProgress {
            topic: "orders".into(),
            partition,
            target: vec![2, 3],
            progress,
            log_dirs: Vec::new(),
        }
    }

    #[test]
    fn verify_counts_moving_and_misplaced_partitions() {
        let all = [
            progress(0, Progress::Complete),
            progress(
                1,
                Progress::InProgress {
                    adding: vec![3],
                    removing: vec![],
                },
            ),
            progress(2, Progress::Differs { replicas: vec![1] }),
            progress(3, Progress::Missing),
        ];
        assert_eq!(tally(&all), (1, 1));
        assert_eq!(
            not_in_place(&all).as_deref(),
            Some("3 of 4 partitions are not in place: 1 still moving, 2 elsewhere")
        );
        assert_eq!(
            not_placed(&all).as_deref(),
            Some("3 of 4 partitions did not end where the plan puts them")
        );
        assert_eq!(not_in_place(&all[..1]), None);
        let text = render_progress(&all, OutputFormat::Table, None);
        for state in [
            "complete",
            "in progress (adding 3, removing none)",
            "differs: the replicas are 1",
            "no such partition",
        ] {
            assert!(text.contains(state), "{state} in {text}");
        }
    }

    #[test]
    fn an_execution_report_shows_where_partitions_came_from() {
        let rollback = ReassignmentPlan::new(vec![PartitionReplicas::new("orders", 0, vec![1, 2])]);
        let led = vec!["orders-0".to_string()];
        let text = render_progress(
            &[progress(0, Progress::Complete)],
            OutputFormat::Table,
            Some(Executed {
                rollback: &rollback,
                elapsed: Duration::from_millis(1500),
                led_elsewhere: &led,
                plan_file: Path::new("plan.json"),
            }),
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            ["orders", "0", "1,2", "2,3", "complete"]
        );
        assert_eq!(lines[4], "Reassigned 1 partitions in 1.5 s.");
        assert!(lines[5].contains("--path-to-json-file plan.json"));
    }

    #[test]
    fn moves_already_going_on_need_additional() {
        assert!(refuse_concurrent(&[]).is_ok());
        assert_eq!(
            refuse_concurrent(&[ongoing(0, &[3], &[1]), ongoing(4, &[], &[2])])
                .unwrap_err()
                .to_string(),
            "2 partitions are moving already (orders-0, orders-4): \
             add --additional to start these moves as well"
        );
    }

    #[test]
    fn the_progress_message_names_three_moves() {
        let moves: Vec<Ongoing> = (0..5).map(|p| ongoing(p, &[3], &[1])).collect();
        assert_eq!(moving_message(&moves[..1]), "moving orders-0 +3 -1");
        assert_eq!(
            moving_message(&moves),
            "moving orders-0 +3 -1, orders-1 +3 -1, orders-2 +3 -1 and 2 more"
        );
    }

    #[test]
    fn a_partition_in_place_may_wait_for_its_preferred_leader() {
        let topics = [topic(
            "orders",
            &[(3, &[2, 3], &[2, 3]), (2, &[2, 3], &[2, 3])],
        )];
        let all = [
            progress(0, Progress::Complete),
            progress(1, Progress::Complete),
        ];
        assert_eq!(led_elsewhere(&all, &topics), ["orders-0"]);
    }

    #[test]
    fn generate_refuses_unknown_topics_and_brokers() {
        let topics = [topic("orders", &[(1, &[1], &[1])])];
        let wanted = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        let error = propose(&topics, &[1, 2], wanted(&["orders", "nope"]), &[1, 2])
            .err()
            .unwrap();
        assert_eq!(error.to_string(), "no such topic: nope");
        let error = propose(&topics, &[1, 2], wanted(&["orders"]), &[1, 5])
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "--broker-list: no broker 5 in the cluster (it has 1,2)"
        );
    }

    #[test]
    fn a_balanced_topic_needs_no_plan_file() {
        let topics = [topic(
            "orders",
            &[(1, &[1, 2], &[1, 2]), (2, &[2, 1], &[2, 1])],
        )];
        let generated = propose(
            &topics,
            &[1, 2],
            ["orders".to_string()].into_iter().collect(),
            &[1, 2],
        )
        .unwrap();
        assert_eq!(generated.plan_file(), None);
        assert_eq!(
            generated.render(OutputFormat::Table),
            "The replicas and leaders of orders are spread evenly over brokers 1,2 already: \
             nothing to move.\n"
        );
    }
}
