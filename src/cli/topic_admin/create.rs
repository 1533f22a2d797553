//! `topic-admin create`.

use crate::client::admin::{Admin, NewTopicSpec};
use crate::client::Result;

/// Creates the topic and says what became of it; with `if_not_exists` an
/// existing topic is no error.
pub async fn run(admin: &Admin, spec: &NewTopicSpec, if_not_exists: bool) -> Result<String> {
    let created = admin.create_topic(spec, if_not_exists).await?;
    Ok(outcome(&spec.name, created))
}

fn outcome(topic: &str, created: bool) -> String {
    if created {
        format!("Created topic {topic}.\n")
    } else {
        format!("Topic {topic} already exists.\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_topic_is_said_to_exist() {
        assert_eq!(outcome("orders", true), "Created topic orders.\n");
        assert_eq!(outcome("orders", false), "Topic orders already exists.\n");
    }
}
