//! `topic-admin delete`.

use crate::client::admin::{Admin, INTERNAL_TOPICS};
use crate::client::{ClientError, Result};

/// The topics `patterns` name among the cluster's.
pub async fn targets(admin: &Admin, patterns: Vec<String>, if_exists: bool) -> Result<Vec<String>> {
    let existing: Vec<String> = admin
        .describe_topics(None)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    resolve(&existing, patterns, if_exists)
}

/// The topics to delete, sorted and once each. A name that is no topic's
/// is a regular expression matching whole names, as describe takes it;
/// internal topics go only by their exact name. A pattern matching nothing
/// is an error unless `if_exists`.
pub fn resolve(existing: &[String], patterns: Vec<String>, if_exists: bool) -> Result<Vec<String>> {
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for pattern in patterns {
        if existing.contains(&pattern) {
            present.push(pattern);
            continue;
        }
        let regex = crate::client::whole_name_regex(&pattern)
            .map_err(|e| ClientError::Invalid(format!("--topic {e}")))?;
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
        return Err(ClientError::Invalid(format!(
            "no such topic: {}",
            missing.join(", ")
        )));
    }
    Ok(present)
}

/// The question asked before deleting.
pub fn prompt(topics: &[String]) -> String {
    format!("Delete topic {} and every record in it?", topics.join(", "))
}

/// Deletes the topics and says so, a line each.
pub async fn run(admin: &Admin, topics: &[String]) -> Result<String> {
    admin.delete_topics(topics).await?;
    Ok(topics
        .iter()
        .map(|t| format!("Deleted topic {t}.\n"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_and_patterns_resolve_to_sorted_topics_once_each() {
        let existing = names(&["orders", "orders-eu", "payments", "__consumer_offsets"]);
        let found = resolve(&existing, names(&["payments", "orders.*", "orders"]), false).unwrap();
        assert_eq!(found, names(&["orders", "orders-eu", "payments"]));
    }

    #[test]
    fn internal_topics_go_only_by_their_exact_name() {
        let existing = names(&["orders", "__consumer_offsets"]);
        assert_eq!(
            resolve(&existing, names(&[".*"]), false).unwrap(),
            names(&["orders"])
        );
        assert_eq!(
            resolve(&existing, names(&["__consumer_offsets"]), false).unwrap(),
            names(&["__consumer_offsets"])
        );
    }

    #[test]
    fn a_missing_topic_is_an_error_unless_if_exists() {
        let existing = names(&["orders"]);
        let error = resolve(&existing, names(&["orders", "nope", "gone.*"]), false).unwrap_err();
        assert_eq!(error.to_string(), "no such topic: nope, gone.*");
        assert_eq!(
            resolve(&existing, names(&["orders", "nope"]), true).unwrap(),
            names(&["orders"])
        );
    }

    #[test]
    fn a_bad_pattern_names_the_flag() {
        let error = resolve(&names(&["orders"]), names(&["(orders"]), true).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("--topic '(orders' is not a valid regular expression"));
    }

    #[test]
    fn the_question_names_every_topic() {
        assert_eq!(
            prompt(&names(&["a", "b"])),
            "Delete topic a, b and every record in it?"
        );
    }
}
