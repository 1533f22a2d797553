//! The completion scripts in completions/, loaded in the shell they are
//! for and driven as it drives them: bash through COMP_WORDS, COMP_CWORD
//! and the completion function, fish through `complete -C`, zsh through
//! compinit and a TAB typed into an interactive zsh on a pseudo-terminal.
//! Every subcommand's own flags complete, and topic and group names come
//! from the cluster the command line names.

use crate::harness;

use std::path::Path;
use std::process::Command;

use harness::{client_config, create_topic, BrokerProcess};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};

#[derive(Clone, Copy, Debug)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// What `shell` offers for the last of `words` (the word being completed),
/// with the built tools first on PATH.
fn complete_in(shell: Shell, tool: &str, words: &[&str]) -> Vec<String> {
    let (program, args) = match shell {
        Shell::Bash => ("bash", bash_program(tool, words)),
        Shell::Fish => ("fish", fish_program(tool, words)),
        Shell::Zsh => ("zsh", ZSH_PROGRAM.to_string()),
    };
    let completions = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_topic-admin"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let captured = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new(program)
        .args(matches!(shell, Shell::Zsh).then_some("-f"))
        .arg("-c")
        .arg(&args)
        .env("PATH", path)
        .env("COMPLETIONS", &completions)
        .env("LINE", words.join(" "))
        .env("OUT", captured.path())
        .env_remove("GREGOR_BOOTSTRAP")
        .output()
        .unwrap_or_else(|e| panic!("run {program} (scripts/install-deps installs it): {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = match shell {
        Shell::Zsh => {
            let captured = std::fs::read_to_string(captured.path()).expect("zsh's matches");
            assert!(
                captured.ends_with("<done>\n"),
                "zsh's completion did not finish: {captured:?}"
            );
            captured
        }
        _ => String::from_utf8_lossy(&out.stdout).into_owned(),
    };
    offered
        .lines()
        .filter(|l| !l.is_empty() && *l != "<done>")
        // fish prints a match's description after a tab.
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

/// Types `$LINE` and TAB into an interactive zsh with the completions on
/// its fpath; every match the completion adds goes to `$OUT`, then a
/// `<done>` line once the completion is over.
const ZSH_PROGRAM: &str = r#"
zmodload zsh/zpty
zpty -b comp zsh -f -i
zpty -w comp "PS1=''; fpath=('$COMPLETIONS' \$fpath); autoload -U compinit && compinit -u"
zpty -w comp "compadd() { if [[ \${(j: :)@} == *-(O|A|D)\\ * ]]; then builtin compadd \"\$@\"; return; fi; local -a hits; builtin compadd -A hits \"\$@\"; print -rl -- \$hits >> '$OUT'; builtin compadd \"\$@\"; }"
zpty -w comp "_completion_over() { print -r -- '<done>' >> '$OUT' }; comppostfuncs=(_completion_over)"
zpty -w comp "bindkey '^I' complete-word"
zpty -w -n comp "$LINE"$'\t'
integer i
for ((i = 0; i < 200; i++)); do
  [[ $(<$OUT) == *'<done>' ]] && break
  sleep 0.05
done
zpty -d comp
"#;

fn fish_program(tool: &str, words: &[&str]) -> String {
    format!(
        "source $COMPLETIONS/{tool}.fish; complete -C '{}'",
        words.join(" ")
    )
}

fn bash_program(tool: &str, words: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join(format!("completions/{tool}.bash"));
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let function = format!("_{}", tool.replace('-', "__"));
    format!(
        "source '{script}'\nCOMP_WORDS=({words})\nCOMP_CWORD={cword}\n\
         {function} '{tool}' '{cur}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script = script.display(),
        words = quoted.join(" "),
        cur = words[cword],
    )
}

#[test]
fn every_subcommand_completes_its_own_flags() {
    for shell in SHELLS {
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
                let offered = complete_in(shell, &tool, &[&tool, &format!("--{}", &flag[..3])]);
                assert!(
                    offered.contains(&format!("--{flag}")),
                    "{shell:?}: {tool} --{flag}: {offered:?}"
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
                let offered = complete_in(shell, &tool, &[&tool, sub.get_name(), &typed]);
                assert!(
                    offered.contains(&format!("--{flag}")),
                    "{shell:?}: {tool} {} {typed}<TAB> offers {offered:?}",
                    sub.get_name()
                );
            }
        }
        assert_eq!(
            complete_in(shell, "topic-admin", &["topic-admin", "create", "--par"]),
            ["--partitions"],
            "{shell:?}"
        );
    }
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

    for shell in SHELLS {
        let topics = complete_in(
            shell,
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
            "{shell:?}: {topics:?}"
        );
        assert_eq!(
            complete_in(
                shell,
                "console-consumer",
                &["console-consumer", "--bootstrap-server", &bs, "-t", "pay"]
            ),
            ["payments"],
            "{shell:?}"
        );
        assert_eq!(
            complete_in(
                shell,
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
            ["billing"],
            "{shell:?}"
        );
        // No cluster there: no names and no error, rather than file names.
        let port = harness::free_port();
        let offered = complete_in(
            shell,
            "topic-admin",
            &[
                "topic-admin",
                "describe",
                "--bootstrap-server",
                &format!("127.0.0.1:{port}"),
                "--topic",
                "",
            ],
        );
        assert!(offered.is_empty(), "{shell:?}: {offered:?}");
    }
}
