//! `group-inspect list`.

use serde_json::json;

use super::GroupTypeArg;
use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::groups::{GroupListing, GroupListings, GroupType};
use crate::client::Result;

/// The groups of every broker that answered, selected; `failure()` says
/// which brokers did not.
pub async fn run(
    admin: &Admin,
    states: &[String],
    group_type: Option<GroupTypeArg>,
) -> Result<GroupListings> {
    let types: Vec<_> = group_type
        .map(GroupTypeArg::group_type)
        .into_iter()
        .collect();
    let mut listed = admin.list_groups(states, &types).await?;
    // Brokers before ListGroups v4 and v5 do not filter.
    listed.groups = select(listed.groups, states, group_type);
    Ok(listed)
}

/// The groups in one of `states` (any when empty, in any case) and of
/// `group_type` (any when `None`).
pub fn select(
    groups: Vec<GroupListing>,
    states: &[String],
    group_type: Option<GroupTypeArg>,
) -> Vec<GroupListing> {
    groups
        .into_iter()
        .filter(|g| states.is_empty() || states.iter().any(|s| s.eq_ignore_ascii_case(&g.state)))
        .filter(|g| group_type.is_none_or(|t| t.matches(g.group_type)))
        .collect()
}

pub fn render(groups: &[GroupListing], output: OutputFormat) -> String {
    match output {
        OutputFormat::Json => format!("{}\n", json!(groups)),
        OutputFormat::Table => {
            let mut table = crate::cli::table(&["GROUP", "TYPE", "PROTOCOL-TYPE", "STATE"]);
            for g in groups {
                table.add_row(vec![
                    g.group_id.clone(),
                    g.group_type.to_string(),
                    match (g.group_type, g.simple) {
                        (GroupType::Share, _) => "share",
                        (_, true) => "(simple)",
                        _ => "consumer",
                    }
                    .to_string(),
                    g.state.clone(),
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::groups::GroupType;

    fn listing(id: &str, group_type: GroupType, simple: bool, state: &str) -> GroupListing {
        GroupListing {
            group_id: id.into(),
            group_type,
            simple,
            state: state.into(),
        }
    }

    fn all() -> Vec<GroupListing> {
        vec![
            listing("billing", GroupType::Classic, false, "Stable"),
            listing("audit", GroupType::Consumer, false, "Empty"),
            listing("offsets-only", GroupType::Classic, true, "Empty"),
        ]
    }

    fn ids(groups: &[GroupListing]) -> Vec<&str> {
        groups.iter().map(|g| g.group_id.as_str()).collect()
    }

    #[test]
    fn states_match_in_any_case_and_types_filter() {
        assert_eq!(ids(&select(all(), &[], None)).len(), 3);
        assert_eq!(
            ids(&select(all(), &["empty".into()], None)),
            ["audit", "offsets-only"]
        );
        assert_eq!(
            ids(&select(
                all(),
                &["EMPTY".into()],
                Some(GroupTypeArg::Classic)
            )),
            ["offsets-only"]
        );
        assert_eq!(
            ids(&select(all(), &[], Some(GroupTypeArg::Consumer))),
            ["audit"]
        );
    }

    #[test]
    fn simple_groups_say_so() {
        let text = render(&all(), OutputFormat::Table);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["billing", "Classic", "consumer", "Stable"]);
        assert_eq!(rows[2], ["offsets-only", "Classic", "(simple)", "Empty"]);
    }
}
