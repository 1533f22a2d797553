//! `group-inspect describe`: a group's lag with its age, its members, or
//! its state.

use std::time::{Duration, SystemTime};

use serde_json::json;

use super::or_dash;
use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::groups::{GroupDescription, GroupLag, GroupMember, GroupType};
use crate::client::{ClientError, Result};

/// What `describe` shows of each group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Lag,
    Members,
    State,
}

impl View {
    /// The view --members or --state asks for, the lag without either.
    pub fn of(members: bool, state: bool) -> View {
        match (members, state) {
            (true, _) => View::Members,
            (_, true) => View::State,
            _ => View::Lag,
        }
    }
}

/// The groups to describe: those named, or with --all-groups every one.
pub async fn groups(admin: &Admin, names: Vec<String>, all_groups: bool) -> Result<Vec<String>> {
    if !all_groups {
        return Ok(names);
    }
    Ok(admin
        .list_groups(&[], &[])
        .await?
        .complete()?
        .into_iter()
        .map(|g| g.group_id)
        .collect())
}

/// One group as described: with its lag in the lag view.
pub struct Group {
    pub name: String,
    pub description: GroupDescription,
    pub lag: Option<GroupLag>,
}

/// Describes every group, rendered for printing.
pub async fn run(
    admin: &Admin,
    groups: &[String],
    view: View,
    output: OutputFormat,
) -> Result<String> {
    Ok(render(&fetch(admin, groups, view).await?, view, output))
}

/// Asks for each group in turn; one the cluster does not know (and that
/// has no committed offsets) ends the run.
pub async fn fetch(admin: &Admin, groups: &[String], view: View) -> Result<Vec<Group>> {
    let mut described = Vec::with_capacity(groups.len());
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
            return Err(ClientError::Invalid(format!(
                "consumer group '{group}' does not exist"
            )));
        }
        described.push(Group {
            name: group.clone(),
            description,
            lag,
        });
    }
    Ok(described)
}

/// Kafka's tables, a block per group (one table of all groups for the
/// state), or a JSON array.
pub fn render(groups: &[Group], view: View, output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => {
            let described: Vec<serde_json::Value> = groups
                .iter()
                .map(|g| match &g.lag {
                    Some(lag) => {
                        let mut value = json!(lag);
                        value["total_lag"] = json!(lag.by_topic());
                        value
                    }
                    None => json!(g.description),
                })
                .collect();
            format!("{}\n", json!(described))
        }
        OutputFormat::Table if view == View::State => {
            let descriptions: Vec<&GroupDescription> =
                groups.iter().map(|g| &g.description).collect();
            state_table(&descriptions)
        }
        OutputFormat::Table => {
            let mut text = String::new();
            for g in groups {
                text.push('\n');
                if g.description.members.is_empty() {
                    let kind = match g.description.group_type {
                        GroupType::Share => "Share",
                        _ => "Consumer",
                    };
                    text.push_str(&format!(
                        "{kind} group '{}' has no active members.\n\n",
                        g.name
                    ));
                }
                match &g.lag {
                    Some(lag) => text.push_str(&lag_tables(lag)),
                    None => text.push_str(&members_table(&g.description)),
                }
            }
            text
        }
    }
}

/// What --watch shows over each redraw on a terminal.
pub fn watch_heading(seconds: u64, groups: &[String], now: SystemTime) -> String {
    format!(
        "Every {seconds}s: group-inspect describe {}    {}\n\n",
        groups.join(" "),
        humantime::format_rfc3339_seconds(now)
    )
}

fn lag_tables(lag: &GroupLag) -> String {
    let group = &lag.description.group_id;
    // A share group's offset is its share-partition's start offset (as
    // kafka-share-groups.sh heads it); every member may read a partition,
    // so none is named as its consumer.
    let share = lag.description.group_type == GroupType::Share;
    let mut table = crate::cli::table(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        if share {
            "START-OFFSET"
        } else {
            "CURRENT-OFFSET"
        },
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
    let mut text = crate::cli::table_text(&table);
    let totals = lag.by_topic();
    if !totals.is_empty() {
        let mut summary = crate::cli::table(&["TOPIC", "TOTAL-LAG", "MAX-LAG-TIME"]);
        for (topic, t) in &totals {
            summary.add_row(vec![
                topic.clone(),
                t.lag.to_string(),
                t.lag_time_ms.map_or("-".to_string(), age),
            ]);
        }
        text.push('\n');
        text.push_str(&crate::cli::table_text(&summary));
    }
    text
}

fn members_table(d: &GroupDescription) -> String {
    if d.members.is_empty() {
        return String::new();
    }
    let mut table = crate::cli::table(&[
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
    crate::cli::table_text(&table)
}

fn state_table(groups: &[&GroupDescription]) -> String {
    let mut table = crate::cli::table(&[
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
    crate::cli::table_text(&table)
}

/// A member's partitions as Kafka's --verbose shows them: topic(0,1,2).
fn assignment(m: &GroupMember) -> String {
    let mut by_topic: Vec<(String, Vec<String>)> = Vec::new();
    for tp in &m.assignment {
        match by_topic.last_mut() {
            Some((t, ps)) if *t == tp.topic => ps.push(tp.partition.to_string()),
            _ => by_topic.push((tp.topic.clone(), vec![tp.partition.to_string()])),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::groups::{Coordinator, GroupType, PartitionLag};
    use crate::topic_partition::TopicPartition;

    fn member(id: &str, assignment: &[(&str, i32)]) -> GroupMember {
        GroupMember {
            member_id: id.into(),
            instance_id: None,
            client_id: "rdkafka".into(),
            host: "/127.0.0.1".into(),
            assignment: assignment
                .iter()
                .map(|(t, p)| TopicPartition::new(*t, *p))
                .collect(),
        }
    }

    fn description(members: Vec<GroupMember>) -> GroupDescription {
        GroupDescription {
            group_id: "billing".into(),
            group_type: GroupType::Classic,
            simple: false,
            state: if members.is_empty() {
                "Empty"
            } else {
                "Stable"
            }
            .into(),
            assignor: "range".into(),
            coordinator: Some(Coordinator {
                id: 1,
                host: "localhost".into(),
                port: 9092,
            }),
            members,
        }
    }

    fn rows(text: &str) -> Vec<Vec<&str>> {
        text.lines()
            .map(|l| l.split_whitespace().collect())
            .collect()
    }

    #[test]
    fn the_view_follows_the_flags() {
        assert_eq!(View::of(false, false), View::Lag);
        assert_eq!(View::of(true, false), View::Members);
        assert_eq!(View::of(false, true), View::State);
    }

    #[test]
    fn ages_keep_the_units_that_matter() {
        assert_eq!(age(120), "120ms");
        assert_eq!(age(41_900), "41s");
        assert_eq!(age(7_503_000), "2h 5m 3s");
        assert_eq!(age(-5), "0s");
    }

    #[test]
    fn assignments_group_partitions_by_topic() {
        let m = member("m-1", &[("a", 0), ("a", 2), ("b", 1)]);
        assert_eq!(assignment(&m), "a(0,2),b(1)");
        assert_eq!(assignment(&member("m-2", &[])), "-");
    }

    #[test]
    fn lag_rows_total_by_topic_and_list_idle_members() {
        let lag = GroupLag {
            description: description(vec![member("m-1", &[("orders", 0)]), member("m-idle", &[])]),
            partitions: vec![
                PartitionLag {
                    topic: "orders".into(),
                    partition: 0,
                    current_offset: Some(5),
                    log_end_offset: 9,
                    lag: Some(4),
                    lag_time_ms: Some(2_000),
                    consumer_id: Some("m-1".into()),
                    host: Some("/127.0.0.1".into()),
                    client_id: Some("rdkafka".into()),
                },
                PartitionLag {
                    topic: "orders".into(),
                    partition: 1,
                    current_offset: None,
                    log_end_offset: 3,
                    lag: None,
                    lag_time_ms: None,
                    consumer_id: None,
                    host: None,
                    client_id: None,
                },
            ],
        };
        let group = Group {
            name: "billing".into(),
            description: lag.description.clone(),
            lag: Some(lag),
        };
        let text = render(&[group], View::Lag, OutputFormat::Table);
        let rows = rows(&text);
        assert_eq!(rows[0], Vec::<&str>::new());
        assert_eq!(
            rows[2],
            [
                "billing",
                "orders",
                "0",
                "5",
                "9",
                "4",
                "2s",
                "m-1",
                "/127.0.0.1",
                "rdkafka"
            ]
        );
        assert_eq!(
            rows[3],
            ["billing", "orders", "1", "-", "3", "-", "-", "-", "-", "-"]
        );
        assert!(rows.iter().any(|r| r.contains(&"m-idle")));
        assert_eq!(rows.last().unwrap(), &["orders", "4", "2s"]);
    }

    #[test]
    fn an_empty_group_says_it_has_no_members() {
        let group = Group {
            name: "billing".into(),
            description: description(Vec::new()),
            lag: None,
        };
        assert_eq!(
            render(&[group], View::Members, OutputFormat::Table),
            "\nConsumer group 'billing' has no active members.\n\n"
        );
    }

    #[test]
    fn the_state_is_one_table_of_all_groups() {
        let groups: Vec<Group> = (0..2)
            .map(|_| Group {
                name: "billing".into(),
                description: description(vec![member("m-1", &[("orders", 0)])]),
                lag: None,
            })
            .collect();
        let text = render(&groups, View::State, OutputFormat::Table);
        let rows = rows(&text);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[1],
            [
                "billing",
                "localhost:9092",
                "(1)",
                "range",
                "Stable",
                "Classic",
                "1"
            ]
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&groups, View::State, OutputFormat::Json)).unwrap();
        assert_eq!(json.as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_watch_heading_names_the_groups_and_the_time() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
        assert_eq!(
            watch_heading(5, &["a".into(), "b".into()], at),
            "Every 5s: group-inspect describe a b    1970-01-02T00:00:00Z\n\n"
        );
    }
}
