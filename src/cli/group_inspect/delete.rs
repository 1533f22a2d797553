//! `group-inspect delete`.

use crate::client::admin::Admin;
use crate::client::groups::GroupDeletion;
use crate::client::Result;

/// The question asked before deleting.
pub fn prompt(groups: &[String]) -> String {
    format!(
        "Delete group {} and its committed offsets?",
        groups.join(", ")
    )
}

pub async fn run(admin: &Admin, groups: &[String]) -> Result<Deleted> {
    Ok(Deleted(admin.delete_groups(groups).await?))
}

/// What became of each group.
pub struct Deleted(pub Vec<GroupDeletion>);

impl Deleted {
    /// A line for each group deleted.
    pub fn render(&self) -> String {
        self.0
            .iter()
            .filter(|d| d.error.is_none())
            .map(|d| format!("Deleted group {}.\n", d.group))
            .collect()
    }

    /// Why each group that is still there is, in one line.
    pub fn failure(&self) -> Option<String> {
        let failed: Vec<&str> = self.0.iter().filter_map(|d| d.error.as_deref()).collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }
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

    #[test]
    fn each_group_is_told_and_any_failure_fails_the_run() {
        let deleted = Deleted(vec![
            GroupDeletion {
                group: "a".into(),
                error: None,
            },
            GroupDeletion {
                group: "b".into(),
                error: Some("cannot delete group 'b': NonEmptyGroup".into()),
            },
            GroupDeletion {
                group: "c".into(),
                error: Some("cannot delete group 'c': GroupIdNotFound".into()),
            },
        ]);
        assert_eq!(deleted.render(), "Deleted group a.\n");
        assert_eq!(
            deleted.failure().as_deref(),
            Some(
                "cannot delete group 'b': NonEmptyGroup; cannot delete group 'c': GroupIdNotFound"
            )
        );
        assert_eq!(Deleted(Vec::new()).failure(), None);
    }
}
