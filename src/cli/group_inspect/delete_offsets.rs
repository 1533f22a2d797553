//! `group-inspect delete-offsets`.

use crate::client::admin::Admin;
use crate::client::groups::OffsetDeletion;
use crate::client::Result;

/// A topic, with the partitions meant (all when `None`).
pub type TopicScope = (String, Option<Vec<i32>>);

/// The question asked before deleting: `topic` or `topic:0,1` each.
pub fn prompt(group: &str, topics: &[TopicScope]) -> String {
    let names: Vec<String> = topics
        .iter()
        .map(|(t, p)| match p {
            None => t.clone(),
            Some(p) => format!(
                "{t}:{}",
                p.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
            ),
        })
        .collect();
    format!(
        "Delete the committed offsets of group {group} for {}?",
        names.join(", ")
    )
}

pub async fn run(admin: &Admin, group: &str, topics: &[TopicScope]) -> Result<Deleted> {
    Ok(Deleted(admin.delete_offsets(group, topics).await?))
}

/// What became of each partition's committed offset.
pub struct Deleted(pub Vec<OffsetDeletion>);

impl Deleted {
    pub fn render(&self) -> String {
        let mut table = crate::cli::table(&["TOPIC", "PARTITION", "STATUS"]);
        for o in &self.0 {
            table.add_row(vec![
                o.partition.topic.clone(),
                o.partition.partition.to_string(),
                match &o.error {
                    None => "Deleted".to_string(),
                    Some(why) => format!("Error: {why}"),
                },
            ]);
        }
        crate::cli::table_text(&table)
    }

    /// What went wrong, when a partition kept its offset.
    pub fn failure(&self) -> Option<String> {
        let failed = self.0.iter().filter(|o| o.error.is_some()).count();
        (failed > 0).then(|| format!("{failed} of {} offsets were not deleted", self.0.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topic_partition::TopicPartition;

    #[test]
    fn the_question_names_topics_and_partitions() {
        assert_eq!(
            prompt(
                "billing",
                &[("a".into(), None), ("b".into(), Some(vec![0, 2]))]
            ),
            "Delete the committed offsets of group billing for a, b:0,2?"
        );
    }

    #[test]
    fn an_offset_kept_fails_the_run() {
        let deleted = Deleted(vec![
            OffsetDeletion {
                partition: TopicPartition::new("a", 0),
                error: None,
            },
            OffsetDeletion {
                partition: TopicPartition::new("b", 0),
                error: Some("GroupSubscribedToTopic".into()),
            },
        ]);
        let rows: Vec<String> = deleted.render().lines().map(str::to_string).collect();
        assert!(rows[1].ends_with("Deleted"));
        assert!(
            rows[2].ends_with("Error: GroupSubscribedToTopic"),
            "{}",
            rows[2]
        );
        assert_eq!(
            deleted.failure().as_deref(),
            Some("1 of 2 offsets were not deleted")
        );
        assert_eq!(Deleted(Vec::new()).failure(), None);
    }
}
