//! `topic-admin list`.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::client::admin::{Admin, TopicDescription};
use crate::client::Result;

pub async fn run(admin: &Admin, exclude_internal: bool, output: OutputFormat) -> Result<String> {
    Ok(render(
        &admin.describe_topics(None).await?,
        exclude_internal,
        output,
    ))
}

/// One name a line, or a JSON array of names.
pub fn render(topics: &[TopicDescription], exclude_internal: bool, output: OutputFormat) -> String {
    let names: Vec<&str> = topics
        .iter()
        .filter(|t| !(exclude_internal && t.internal))
        .map(|t| t.name.as_str())
        .collect();
    match output {
        OutputFormat::Table => names.iter().map(|n| format!("{n}\n")).collect(),
        OutputFormat::Json => format!("{}\n", json!(names)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::topic_admin::fixtures::topic;

    #[test]
    fn internal_topics_go_only_when_asked() {
        let topics = [topic("__consumer_offsets", &[]), topic("orders", &[])];
        assert_eq!(
            render(&topics, false, OutputFormat::Table),
            "__consumer_offsets\norders\n"
        );
        assert_eq!(render(&topics, true, OutputFormat::Json), "[\"orders\"]\n");
        assert_eq!(render(&[], false, OutputFormat::Table), "");
    }
}
