//! `group-inspect delete`.

use crate::client::admin::Admin;
use crate::client::Result;

/// The question asked before deleting.
pub fn prompt(groups: &[String]) -> String {
    format!(
        "Delete group {} and its committed offsets?",
        groups.join(", ")
    )
}

/// Deletes the groups and says so, a line each.
pub async fn run(admin: &Admin, groups: &[String]) -> Result<String> {
    admin.delete_groups(groups).await?;
    Ok(groups
        .iter()
        .map(|g| format!("Deleted group {g}.\n"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_names_every_group() {
        assert_eq!(
            prompt(&["a".into(), "b".into()]),
            "Delete group a, b and its committed offsets?"
        );
    }
}
