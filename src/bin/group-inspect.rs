//! `group-inspect`: Kafka's kafka-consumer-groups.sh, for any
//! Kafka-compatible cluster, with the age of each partition's lag.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use gregor::cli::group_inspect::{GroupCommand, GroupInspect};
use gregor::cli::{self, OutputFormat};
use gregor::client::admin::Admin;
use gregor::client::error::ClientError;
use gregor::client::groups::{self, GroupDescription, GroupLag, GroupMember};
use serde_json::json;

const TOOL: &str = "group-inspect";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: GroupInspect = cli::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

/// What `describe` shows of each group.
#[derive(Clone, Copy)]
enum View {
    Lag,
    Members,
    State,
}

async fn run(args: GroupInspect) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let admin = Admin::connect(&settings).await?;
    match args.command {
        GroupCommand::List {
            state,
            group_type,
            output,
        } => {
            let groups: Vec<_> = admin
                .list_groups()
                .await?
                .into_iter()
                .filter(|g| {
                    state.is_empty() || state.iter().any(|s| s.eq_ignore_ascii_case(&g.state))
                })
                .filter(|g| group_type.is_none_or(|t| t.matches(g.group_type)))
                .collect();
            match output {
                OutputFormat::Json => cli::outln(json!(groups)),
                OutputFormat::Table => {
                    let mut table = cli::table(&["GROUP", "TYPE", "PROTOCOL-TYPE", "STATE"]);
                    for g in &groups {
                        table.add_row(vec![
                            g.group_id.clone(),
                            g.group_type.to_string(),
                            if g.simple { "(simple)" } else { "consumer" }.to_string(),
                            g.state.clone(),
                        ]);
                    }
                    cli::print_table(&table);
                }
            }
        }
        GroupCommand::Describe {
            names,
            group,
            all_groups,
            members,
            state,
            watch,
            output,
        } => {
            let groups = if all_groups {
                admin
                    .list_groups()
                    .await?
                    .into_iter()
                    .map(|g| g.group_id)
                    .collect()
            } else {
                cli::names(names, group)
            };
            let view = match (members, state) {
                (true, _) => View::Members,
                (_, true) => View::State,
                _ => View::Lag,
            };
            match watch {
                None => cli::out(describe(&admin, &groups, view, output).await?),
                Some(seconds) => watch_describe(&admin, &groups, view, output, seconds).await?,
            }
        }
        GroupCommand::ResetOffsets {
            name,
            group,
            scope,
            target,
            dry_run: _,
            execute,
            export,
            output,
        } => {
            let group = cli::named(name, group);
            let from_file = match &target.from_file {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Some(groups::from_csv(&text, &group)?)
                }
                None => None,
            };
            let plan = admin
                .plan_offset_reset(&group, &scope.scope(), &target.reset_to(from_file))
                .await?;
            if execute {
                admin.execute_offset_reset(&group, &plan).await?;
            }
            match output {
                _ if export => cli::out(groups::offsets_csv(&plan)),
                OutputFormat::Json => {
                    cli::outln(json!({"group": group, "executed": execute, "offsets": plan}))
                }
                OutputFormat::Table => {
                    let mut table = cli::table(&[
                        "GROUP",
                        "TOPIC",
                        "PARTITION",
                        "CURRENT-OFFSET",
                        "NEW-OFFSET",
                    ]);
                    for r in &plan {
                        table.add_row(vec![
                            group.clone(),
                            r.topic.clone(),
                            r.partition.to_string(),
                            or_dash(r.current_offset),
                            r.new_offset.to_string(),
                        ]);
                    }
                    cli::print_table(&table);
                }
            }
            if !execute {
                eprintln!("Dry run: nothing was committed. Add --execute to commit these offsets.");
            }
        }
        GroupCommand::Delete { names, group, yes } => {
            let group = cli::names(names, group);
            let prompt = format!(
                "Delete group {} and its committed offsets?",
                group.join(", ")
            );
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            admin.delete_groups(&group).await?;
            for g in &group {
                cli::outln(format_args!("Deleted group {g}."));
            }
        }
        GroupCommand::DeleteOffsets {
            name,
            group,
            topic,
            yes,
        } => {
            let group = cli::named(name, group);
            let names: Vec<String> = topic
                .iter()
                .map(|(t, p)| match p {
                    None => t.clone(),
                    Some(p) => format!(
                        "{t}:{}",
                        p.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
                    ),
                })
                .collect();
            let prompt = format!(
                "Delete the committed offsets of group {group} for {}?",
                names.join(", ")
            );
            if !cli::confirm(&prompt, yes).map_err(anyhow::Error::msg)? {
                bail!("not deleted");
            }
            let outcomes = admin.delete_offsets(&group, &topic).await?;
            let mut table = cli::table(&["TOPIC", "PARTITION", "STATUS"]);
            for o in &outcomes {
                table.add_row(vec![
                    o.partition.0.clone(),
                    o.partition.1.to_string(),
                    match o.error {
                        None => "Deleted".to_string(),
                        Some(code) => format!("Error: {code}"),
                    },
                ]);
            }
            cli::print_table(&table);
            let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
            if failed > 0 {
                bail!("{failed} of {} offsets were not deleted", outcomes.len());
            }
        }
    }
    Ok(())
}

/// Redraws the description every `seconds` until Ctrl-C: in place on a
/// terminal, one block after another otherwise. A cluster that is down
/// or restarting is said once and waited out, with the last description
/// left on screen.
async fn watch_describe(
    admin: &Admin,
    groups: &[String],
    view: View,
    output: OutputFormat,
    seconds: u64,
) -> anyhow::Result<()> {
    let term = console::Term::stdout();
    let on_terminal = std::io::stdout().is_terminal() && output == OutputFormat::Table;
    let mut outage = cli::Outage::new(TOOL);
    loop {
        match describe(admin, groups, view, output).await {
            Ok(text) => {
                if on_terminal {
                    term.clear_screen()?;
                    cli::outln(format_args!(
                        "Every {seconds}s: group-inspect describe {}    {}\n",
                        groups.join(" "),
                        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    ));
                }
                cli::out(&text);
                if !on_terminal && output == OutputFormat::Table {
                    cli::outln("");
                }
                // After the redraw, which would clear it from a terminal.
                outage.end();
            }
            Err(e) => match e.downcast_ref::<ClientError>() {
                Some(transient) if transient.is_transient() => outage.begin(transient),
                _ => return Err(e),
            },
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// The description of every group, rendered for printing.
async fn describe(
    admin: &Admin,
    groups: &[String],
    view: View,
    output: OutputFormat,
) -> anyhow::Result<String> {
    let mut text = String::new();
    let mut described = Vec::new();
    let mut states = Vec::new();
    for group in groups {
        let lag = match view {
            View::Lag => Some(admin.group_lag(group).await?),
            View::Members | View::State => None,
        };
        let description = match &lag {
            Some(lag) => lag.description.clone(),
            None => admin.describe_group(group).await?,
        };
        if !description.exists() && lag.as_ref().is_none_or(|l| l.partitions.is_empty()) {
            bail!("consumer group '{group}' does not exist");
        }
        match output {
            OutputFormat::Json => described.push(match &lag {
                Some(lag) => {
                    let mut value = json!(lag);
                    value["total_lag"] = json!(lag.by_topic());
                    value
                }
                None => json!(description),
            }),
            OutputFormat::Table if matches!(view, View::State) => states.push(description),
            OutputFormat::Table => {
                text.push('\n');
                if description.members.is_empty() {
                    writeln!(text, "Consumer group '{group}' has no active members.\n")?;
                }
                match &lag {
                    Some(lag) => lag_tables(&mut text, lag),
                    None => members_table(&mut text, &description),
                }
            }
        }
    }
    match output {
        OutputFormat::Json => writeln!(text, "{}", json!(described))?,
        OutputFormat::Table if matches!(view, View::State) => state_table(&mut text, &states),
        OutputFormat::Table => {}
    }
    Ok(text)
}

fn lag_tables(text: &mut String, lag: &GroupLag) {
    let group = &lag.description.group_id;
    let mut table = cli::table(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "LAG-TIME",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    for p in &lag.partitions {
        table.add_row(vec![
            group.clone(),
            p.topic.clone(),
            p.partition.to_string(),
            or_dash(p.current_offset),
            p.log_end_offset.to_string(),
            or_dash(p.lag),
            p.lag_time_ms.map_or("-".to_string(), age),
            or_dash(p.consumer_id.clone()),
            or_dash(p.host.clone()),
            or_dash(p.client_id.clone()),
        ]);
    }
    for m in lag.idle_members() {
        let dash = || "-".to_string();
        table.add_row(vec![
            group.clone(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            dash(),
            m.member_id.clone(),
            m.host.clone(),
            m.client_id.clone(),
        ]);
    }
    text.push_str(&cli::table_text(&table));
    let totals = lag.by_topic();
    if !totals.is_empty() {
        let mut summary = cli::table(&["TOPIC", "TOTAL-LAG", "MAX-LAG-TIME"]);
        for (topic, t) in &totals {
            summary.add_row(vec![
                topic.clone(),
                t.lag.to_string(),
                t.lag_time_ms.map_or("-".to_string(), age),
            ]);
        }
        text.push('\n');
        text.push_str(&cli::table_text(&summary));
    }
}

fn members_table(text: &mut String, d: &GroupDescription) {
    let mut table = cli::table(&[
        "GROUP",
        "CONSUMER-ID",
        "GROUP-INSTANCE-ID",
        "HOST",
        "CLIENT-ID",
        "#PARTITIONS",
        "ASSIGNMENT",
    ]);
    for m in &d.members {
        table.add_row(vec![
            d.group_id.clone(),
            m.member_id.clone(),
            or_dash(m.instance_id.clone()),
            m.host.clone(),
            m.client_id.clone(),
            m.assignment.len().to_string(),
            assignment(m),
        ]);
    }
    if !d.members.is_empty() {
        text.push_str(&cli::table_text(&table));
    }
}

fn state_table(text: &mut String, groups: &[GroupDescription]) {
    let mut table = cli::table(&[
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "TYPE",
        "#MEMBERS",
    ]);
    for d in groups {
        table.add_row(vec![
            d.group_id.clone(),
            d.coordinator.as_ref().map_or("-".to_string(), |c| {
                format!("{}:{} ({})", c.host, c.port, c.id)
            }),
            or_dash(Some(d.assignor.clone()).filter(|a| !a.is_empty())),
            d.state.clone(),
            d.group_type.to_string(),
            d.members.len().to_string(),
        ]);
    }
    text.push_str(&cli::table_text(&table));
}

/// A member's partitions as Kafka's --verbose shows them: topic(0,1,2).
fn assignment(m: &GroupMember) -> String {
    let mut by_topic: Vec<(String, Vec<String>)> = Vec::new();
    for (topic, partition) in &m.assignment {
        match by_topic.last_mut() {
            Some((t, ps)) if t == topic => ps.push(partition.to_string()),
            _ => by_topic.push((topic.clone(), vec![partition.to_string()])),
        }
    }
    if by_topic.is_empty() {
        return "-".to_string();
    }
    by_topic
        .iter()
        .map(|(t, ps)| format!("{t}({})", ps.join(",")))
        .collect::<Vec<_>>()
        .join(",")
}

/// An age in the largest units that matter: 2h 5m 3s, 41s, 120ms.
fn age(ms: i64) -> String {
    let ms = ms.max(0) as u64;
    let rounded = if ms >= 1000 {
        Duration::from_secs(ms / 1000)
    } else {
        Duration::from_millis(ms)
    };
    humantime::format_duration(rounded).to_string()
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or("-".to_string(), |v| v.to_string())
}
