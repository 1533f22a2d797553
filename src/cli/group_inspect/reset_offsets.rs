//! `group-inspect reset-offsets`.

use serde_json::json;

use super::{or_dash, ResetTarget, ScopeArgs};
use crate::cli::OutputFormat;
use crate::client::admin::Admin;
use crate::client::groups::{self, OffsetReset};
use crate::client::{ClientError, Result};

/// Said on stderr after a run without --execute.
pub const DRY_RUN: &str = "Dry run: nothing was committed. Add --execute to commit these offsets.";

/// Plans the reset (the group must have no members) and, with `execute`,
/// commits it.
pub async fn run(
    admin: &Admin,
    group: &str,
    scope: &ScopeArgs,
    target: &ResetTarget,
    execute: bool,
) -> Result<Vec<OffsetReset>> {
    let from_file = match &target.from_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|cause| ClientError::Io {
                path: path.display().to_string(),
                cause,
            })?;
            Some(groups::from_csv(&text, group)?)
        }
        None => None,
    };
    let plan = admin
        .plan_offset_reset(group, &scope.scope(), &target.reset_to(from_file))
        .await?;
    if execute {
        admin.execute_offset_reset(group, &plan).await?;
    }
    Ok(plan)
}

/// The plan as kafka-consumer-groups.sh's CSV (`export`), JSON, or a table.
pub fn render(
    group: &str,
    plan: &[OffsetReset],
    executed: bool,
    export: bool,
    output: OutputFormat,
) -> String {
    match output {
        _ if export => groups::offsets_csv(plan),
        OutputFormat::Json => format!(
            "{}\n",
            json!({"group": group, "executed": executed, "offsets": plan})
        ),
        OutputFormat::Table => {
            let mut table = crate::cli::table(&[
                "GROUP",
                "TOPIC",
                "PARTITION",
                "CURRENT-OFFSET",
                "NEW-OFFSET",
            ]);
            for r in plan {
                table.add_row(vec![
                    group.to_string(),
                    r.topic.clone(),
                    r.partition.to_string(),
                    or_dash(r.current_offset),
                    r.new_offset.to_string(),
                ]);
            }
            crate::cli::table_text(&table)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Vec<OffsetReset> {
        vec![
            OffsetReset {
                topic: "orders".into(),
                partition: 0,
                current_offset: Some(5),
                new_offset: 0,
            },
            OffsetReset {
                topic: "orders".into(),
                partition: 1,
                current_offset: None,
                new_offset: 3,
            },
        ]
    }

    #[test]
    fn a_partition_without_a_committed_offset_shows_a_dash() {
        let text = render("billing", &plan(), false, false, OutputFormat::Table);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        assert_eq!(rows[0], ["billing", "orders", "0", "5", "0"]);
        assert_eq!(rows[1], ["billing", "orders", "1", "-", "3"]);
    }

    #[test]
    fn export_wins_over_the_output_format() {
        let csv = render("billing", &plan(), true, true, OutputFormat::Table);
        assert_eq!(csv, groups::offsets_csv(&plan()));
        let json: serde_json::Value =
            serde_json::from_str(&render("billing", &plan(), true, false, OutputFormat::Json))
                .unwrap();
        assert_eq!(json["executed"], true);
        assert_eq!(json["offsets"][1]["new_offset"], 3);
    }
}
