//! The bash completion scripts in completions/, sourced in bash and driven
//! as bash drives them (COMP_WORDS, COMP_CWORD, the completion function):
//! every subcommand's own flags complete, and topic and group names come
//! from the cluster the command line names.

mod common;

use std::path::Path;
use std::process::Command;

use common::{client_config, create_topic, BrokerProcess};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// What bash offers for the last of `words` (the word being completed),
/// with the built tools first on PATH.
fn complete(tool: &str, words: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join(format!("completions/{tool}.bash"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_topic-admin"))
        .parent()
        .expect("bin dir");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let function = format!("_{}", tool.replace('-', "__"));
    let program = format!(
        "source '{script}'\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n\
         {function} '{tool}' '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = quoted.join(" "),
        cur = words[cword],
    );
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&program)
        .env("PATH", path)
        .env_remove("GREGOR_BOOTSTRAP")
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_subcommand_completes_its_own_flags() {
    for mut command in gregor::cli::docs::commands() {
        command.build();
        let tool = command.get_name().to_string();
        let global: Vec<String> = command
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        let subcommands: Vec<&clap::Command> = command
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        if subcommands.is_empty() {
            let flag = global
                .iter()
                .find(|f| *f != "help" && *f != "version")
                .expect("a flag");
            let offered = complete(&tool, &[&tool, &format!("--{}", &flag[..3])]);
            assert!(
                offered.contains(&format!("--{flag}")),
                "{tool} --{flag}: {offered:?}"
            );
        }
        for sub in subcommands {
            let Some(flag) = sub
                .get_arguments()
                .filter_map(|a| a.get_long())
                .find(|l| !global.iter().any(|g| g == l) && *l != "help" && *l != "version")
            else {
                continue;
            };
            let typed = format!("--{}", &flag[..flag.len().min(4)]);
            let offered = complete(&tool, &[&tool, sub.get_name(), &typed]);
            assert!(
                offered.contains(&format!("--{flag}")),
                "{tool} {} {typed}<TAB> offers {offered:?}",
                sub.get_name()
            );
        }
    }
    assert_eq!(
        complete("topic-admin", &["topic-admin", "create", "--par"]),
        ["--partitions"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn topic_and_group_names_complete_from_the_cluster() {
    let broker = BrokerProcess::start(&[]);
    let bs = broker.bootstrap();
    create_topic(&bs, "orders", 1, &[]).await;
    create_topic(&bs, "payments", 1, &[]).await;
    let member: BaseConsumer = client_config(&bs)
        .set("group.id", "billing")
        .create()
        .expect("consumer");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("orders", 0, Offset::Offset(0))
        .expect("offset");
    member.commit(&offsets, CommitMode::Sync).expect("commit");

    let topics = complete(
        "topic-admin",
        &[
            "topic-admin",
            "describe",
            "--bootstrap-server",
            &bs,
            "--topic",
            "",
        ],
    );
    assert!(
        topics.contains(&"orders".to_string()) && topics.contains(&"payments".to_string()),
        "{topics:?}"
    );
    assert_eq!(
        complete(
            "console-consumer",
            &["console-consumer", "--bootstrap-server", &bs, "-t", "pay"]
        ),
        ["payments"]
    );
    assert_eq!(
        complete(
            "group-inspect",
            &[
                "group-inspect",
                "describe",
                "--bootstrap-server",
                &bs,
                "--group",
                "bi"
            ]
        ),
        ["billing"]
    );
    // No cluster there: no names and no error, rather than file names.
    let port = common::free_port();
    assert!(complete(
        "topic-admin",
        &[
            "topic-admin",
            "describe",
            "--bootstrap-server",
            &format!("127.0.0.1:{port}"),
            "--topic",
            ""
        ]
    )
    .is_empty());
}
