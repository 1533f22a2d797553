//! Man pages and shell completions, generated from the clap definitions so
//! that they never drift from `--help`. `GREGOR_BLESS=1 cargo test --test
//! it generated_docs` rewrites completions/ and man/; without it the same
//! test fails when they are stale.

use std::collections::BTreeMap;
use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

/// Every tool's command definition.
pub fn commands() -> Vec<clap::Command> {
    vec![
        super::acl_admin::AclAdmin::command(),
        super::broker_start::BrokerStart::command(),
        super::config_admin::ConfigAdmin::command(),
        super::console_consumer::ConsoleConsumer::command(),
        super::console_producer::ConsoleProducer::command(),
        super::group_inspect::GroupInspect::command(),
        super::log_dump::LogDump::command(),
        super::metadata_quorum::MetadataQuorum::command(),
        super::perf_test::PerfTest::command(),
        super::topic_admin::TopicAdmin::command(),
        super::topic_export::TopicExport::command(),
        super::topic_import::TopicImport::command(),
    ]
}

/// The generated files: (path relative to the repository, contents).
pub fn render() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for mut command in commands() {
        command.build();
        let name = command.get_name().to_string();
        for (shell, path) in [
            (Shell::Bash, format!("completions/{name}.bash")),
            (Shell::Zsh, format!("completions/_{name}")),
            (Shell::Fish, format!("completions/{name}.fish")),
        ] {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command.clone(), &name, &mut out);
            let script = String::from_utf8_lossy(&out);
            out = match shell {
                Shell::Bash => bash_fixes(&command, &name, &script),
                Shell::Zsh => zsh_names(&command, &name, &script),
                Shell::Fish => fish_names(&command, &name, &script),
                _ => script.into_owned(),
            }
            .into_bytes();
            files.push((path, out));
        }
        // The `help` subcommand gets no page of its own (--help is the
        // same), so the tool's page must not point to one.
        let mut paged = command.clone();
        if paged.find_subcommand("help").is_some() {
            paged = paged.mut_subcommand("help", |help| help.hide(true));
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(paged).render(&mut page)?;
        page.extend(extra_sections(&name, None).to_roff().into_bytes());
        files.push((format!("man/{name}.1"), page));
        for sub in command.get_subcommands() {
            if sub.get_name() == "help" {
                continue;
            }
            let sub_name = format!("{name}-{}", sub.get_name());
            let mut page = Vec::new();
            clap_mangen::Man::new(sub.clone().name(sub_name.clone())).render(&mut page)?;
            page.extend(
                extra_sections(&name, Some(sub.get_name()))
                    .to_roff()
                    .into_bytes(),
            );
            files.push((format!("man/{sub_name}.1"), page));
        }
    }
    Ok(files)
}

/// Command lines worth copying, per tool: (what it does, the command).
pub fn examples(tool: &str) -> &'static [(&'static str, &'static str)] {
    match tool {
        "acl-admin" => &[
            ("Let alice produce to topics starting with orders:", "acl-admin --add --allow-principal User:alice --producer --topic orders --resource-pattern-type prefixed"),
            ("List the ACLs that apply to a topic:", "acl-admin --list --topic orders --resource-pattern-type match"),
        ],
        "broker-start" => &[
            ("A broker on 127.0.0.1:9092 with its data in ./gregor-data:", "broker-start"),
            ("From a Kafka server.properties, with one setting changed:", "broker-start server.properties --override log.dirs=/var/lib/gregor"),
        ],
        "config-admin" => &[
            ("Show every config of a topic and where its value comes from:", "config-admin --describe --topic orders --all"),
            ("Keep a topic's records for a day:", "config-admin --alter --topic orders --add-config retention.ms=86400000"),
        ],
        "console-consumer" => &[
            ("Print a topic from the beginning with keys:", "console-consumer -t orders --from-beginning --property print.key=true"),
            ("Read values written by console-producer --value-serializer long:", "console-consumer -t counts --from-beginning --value-deserializer long"),
        ],
        "console-producer" => &[
            ("Send lines as records, key and value split at ':':", "console-producer -t orders --property parse.key=true --property key.separator=:"),
            ("Send a file's lines and wait for each acknowledgement:", "console-producer -t orders --file orders.txt --sync"),
        ],
        "group-inspect" => &[
            ("List consumer groups:", "group-inspect list"),
            ("Show a group's members and lag:", "group-inspect describe --group billing"),
            ("Plan, then run, a reset of a group's offsets to the start:", "group-inspect reset-offsets --group billing --topic orders --to-earliest --execute"),
            ("Save a group's offsets as CSV, and later put them back:", "group-inspect reset-offsets billing --all-topics --to-current --export"),
            ("Put back offsets saved with --export:", "group-inspect reset-offsets billing --from-file billing.csv --execute"),
        ],
        "log-dump" => &[
            ("Print a segment's batches and records, checking CRCs:", "log-dump --files gregor-data/orders-0/00000000000000000000.log --print-data-log"),
        ],
        "metadata-quorum" => &[
            ("Show the quorum's leader, epoch and voters:", "metadata-quorum describe --status"),
            ("Show how far each voter and observer has the metadata log:", "metadata-quorum describe --replication"),
            ("Ask the controllers at their CONTROLLER listener, with no broker involved:", "metadata-quorum --bootstrap-controller localhost:9093 describe --status"),
        ],
        "perf-test" => &[
            ("Produce a million 100-byte records as fast as the cluster takes them:", "perf-test produce --topic perf --num-records 1000000 --record-size 100"),
        ],
        "topic-admin" => &[
            ("Create a topic with three partitions:", "topic-admin create --topic orders --partitions 3"),
            ("Describe every topic whose name starts with orders:", "topic-admin describe --topic 'orders.*'"),
            ("Add partitions to a topic:", "topic-admin alter --topic orders --partitions 6"),
            ("Delete a topic:", "topic-admin delete --topic orders"),
            ("Show each partition's first offset, as kafka-get-offsets.sh:", "topic-admin offsets orders --time earliest"),
            ("Delete the records before offset 42 of partition 0:", "topic-admin delete-records --topic orders --partition 0 --offset 42"),
            ("Show the brokers, their racks, the controller and every broker config:", "topic-admin cluster --configs"),
        ],
        "topic-export" => &[
            ("Export a topic as JSON lines, a directory per partition; run again to resume:", "topic-export -t orders --to orders-export"),
            ("Export the last day as csv, a directory per hour:", "topic-export -t orders --to orders-csv --format csv --from @-1d --partition-by hour"),
        ],
        "topic-import" => &[
            ("Check files before importing them:", "topic-import -t orders-copy --from orders-export/partition-0/*.jsonl --dry-run"),
            ("Import an export, each record to its partition:", "topic-import -t orders-copy --from orders-export/*/*.jsonl --keep-partitions"),
        ],
        _ => &[],
    }
}

/// The Kafka scripts a tool stands for, for SEE ALSO.
fn kafka_counterparts(tool: &str) -> &'static str {
    match tool {
        "acl-admin" => "kafka-acls.sh",
        "broker-start" => "kafka-server-start.sh",
        "config-admin" => "kafka-configs.sh",
        "console-consumer" => "kafka-console-consumer.sh",
        "console-producer" => "kafka-console-producer.sh",
        "group-inspect" => "kafka-consumer-groups.sh",
        "log-dump" => "kafka-dump-log.sh",
        "metadata-quorum" => "kafka-metadata-quorum.sh",
        "perf-test" => "kafka-producer-perf-test.sh, kafka-consumer-perf-test.sh, kafka-e2e-latency.sh",
        "topic-admin" => {
            "kafka-topics.sh, kafka-reassign-partitions.sh, kafka-leader-election.sh, kafka-log-dirs.sh, kafka-transactions.sh"
        }
        "topic-export" => "kafka-console-consumer.sh and Kafka Connect's file sink connector",
        "topic-import" => "kafka-console-producer.sh and Kafka Connect's file source connector",
        _ => "",
    }
}

/// EXAMPLES (those of `sub` alone on a subcommand's page), EXIT STATUS,
/// ENVIRONMENT and SEE ALSO, which clap has no place for.
fn extra_sections(tool: &str, sub: Option<&str>) -> roff::Roff {
    use roff::{bold, roman, Roff};
    let mut page = Roff::new();
    let examples: Vec<_> = examples(tool)
        .iter()
        .filter(|(_, line)| {
            sub.is_none_or(|sub| {
                line.starts_with(&format!("{tool} {sub} ")) || *line == format!("{tool} {sub}")
            })
        })
        .collect();
    if !examples.is_empty() {
        page.control("SH", ["EXAMPLES"]);
        for (what, line) in examples {
            page.control("TP", []);
            page.text([roman(*what)]);
            page.text([bold(*line)]);
        }
    }
    page.control("SH", ["EXIT STATUS"]);
    let statuses: &[(&str, &str)] = match tool {
        "broker-start" => &[
            ("0", "The broker stopped on SIGTERM or SIGINT after a clean shutdown."),
            ("1", "The broker could not start (its data directory, a port) or failed."),
            ("2", "The command line or the configuration is wrong; one line on standard error says what."),
        ],
        "log-dump" => &[
            ("0", "The files were read and no damage was found."),
            ("1", "A file could not be read, or damage was found (reported with the file and byte)."),
            ("2", "The command line is wrong; one line on standard error says what."),
        ],
        _ => &[
            ("0", "Success."),
            ("1", "The cluster could not be reached, refused the request, or a record could not be handled; one line on standard error says why."),
            ("2", "The command line is wrong; one line on standard error says what."),
        ],
    };
    for (status, meaning) in statuses {
        page.control("TP", []);
        page.text([bold(*status)]);
        page.text([roman(*meaning)]);
    }
    page.control("SH", ["ENVIRONMENT"]);
    let variables: &[(&str, &str)] = match tool {
        "broker-start" => &[
            ("RUST_LOG", "What the broker logs, as a tracing filter (info,openraft=error when unset): warn, or debug,gregor::api=trace."),
            ("NO_COLOR", "When set and not empty, logs carry no colour codes even on a terminal (they never do elsewhere)."),
        ],
        "log-dump" => &[],
        _ => &[
            ("GREGOR_BOOTSTRAP", "The cluster to connect to when --bootstrap-server is not given (localhost:9092 when neither is)."),
            ("GREGOR_COMPLETE", "Set by the completion scripts (bash, zsh, fish): the tool prints the cluster's topic (topics) or group (groups) names instead of running."),
        ],
    };
    if variables.is_empty() {
        page.text([roman("No environment variable changes what it does.")]);
    }
    for (name, meaning) in variables {
        page.control("TP", []);
        page.text([bold(*name)]);
        page.text([roman(*meaning)]);
    }
    page.control("SH", ["SEE ALSO"]);
    let mut others: Vec<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .filter(|name| name != tool)
        .map(|name| format!("{name}(1)"))
        .collect();
    if sub.is_some() {
        others.insert(0, format!("{tool}(1)"));
    }
    page.text([roman(format!(
        "{}. Apache Kafka's {}.",
        others.join(", "),
        kafka_counterparts(tool)
    ))]);
    page
}

/// What the bash script clap_complete writes lacks for a tool named with a
/// '-': its subcommands' cases are labelled with the name's '-' made
/// `__subcmd__` but looked up with it made `__`, so nothing after a
/// subcommand completed (`topic-admin create --par<TAB>`). And the values of
/// flags naming a topic or a group complete from the cluster rather than
/// from file names (see `complete`).
fn bash_fixes(command: &clap::Command, name: &str, script: &str) -> String {
    let mut script = script.replace(
        &format!("{}__subcmd__", name.replace('-', "__subcmd__")),
        &format!("{}__subcmd__", name.replace('-', "__")),
    );
    let flags = name_flags(command);
    let files = r#"COMPREPLY=($(compgen -f "${cur}"))"#;
    for (flag, kind) in &flags {
        script = script.replace(
            &format!("{flag})\n                    {files}"),
            &format!(
                r#"{flag})
                    COMPREPLY=($(compgen -W "$(_gregor_names "$1" {kind})" -- "${{cur}}"))"#
            ),
        );
    }
    if !flags.is_empty() {
        script.push_str(&format!(
            r#"
# Names from the cluster the command line names (or GREGOR_BOOTSTRAP), from
# the tool itself; nothing when it cannot be reached.
_gregor_names() {{
    local i bootstrap=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${{COMP_WORDS[i]}} == --bootstrap-server ]]; then
            bootstrap=(--bootstrap-server "${{COMP_WORDS[i+1]}}")
        fi
    done
    {env}="$2" "$1" "${{bootstrap[@]}}" 2>/dev/null
}}
"#,
            env = super::complete::ENV
        ));
    }
    script
}

/// What the zsh script clap_complete writes gets wrong: a value name
/// with a ':' (`HOST:PORT`) is left unescaped, which `_arguments` reads as
/// two values, so `--bootstrap-server` swallowed the next word and nothing
/// after it completed. And every value without a hint completes with
/// `_default` (file names); a topic or group flag's value completes from
/// the cluster instead, as in bash.
fn zsh_names(command: &clap::Command, name: &str, script: &str) -> String {
    let flags: BTreeMap<String, &'static str> = name_flags(command).into_iter().collect();
    let mut fixed: String = script
        .lines()
        .map(|line| {
            let line = zsh_escape_value_name(line);
            // An option's spec: '[(exclusions)][*]--flag=[help]:VALUE:_default' \
            let mut spec = line.strip_prefix('\'').unwrap_or_default();
            if spec.starts_with('(') {
                spec = spec.split_once(')').map_or("", |(_, rest)| rest);
            }
            let spec = spec.trim_start_matches('*');
            let flag = spec
                .find(['=', '+', '['])
                .map(|end| &spec[..end])
                .unwrap_or_default();
            match flags.get(flag) {
                Some(kind) if line.starts_with('\'') && line.ends_with(":_default' \\") => {
                    let head = &line[..line.len() - ":_default' \\".len()];
                    format!("{head}:_gregor_names {name} {kind}' \\\n")
                }
                _ => format!("{line}\n"),
            }
        })
        .collect();
    if !flags.is_empty() {
        // The function is defined before compdef's last line calls the
        // completion, so that it exists when the script is autoloaded.
        let call = format!("\nif [ \"$funcstack[1]\" = \"_{name}\" ]; then");
        let function = format!(
            r#"
# Names from the cluster the command line names (or GREGOR_BOOTSTRAP), from
# the tool itself; nothing when it cannot be reached. _arguments passes
# compadd's options first, then the tool and the kind of name.
(( $+functions[_gregor_names] )) ||
_gregor_names() {{
    local -a line_words bootstrap names
    local i
    line_words=(${{(z)BUFFER}})
    for ((i = 1; i < ${{#line_words}}; i++)); do
        if [[ ${{line_words[i]}} == --bootstrap-server ]]; then
            bootstrap=(--bootstrap-server "${{(Q)line_words[i+1]}}")
        fi
    done
    names=(${{(f)"$({env}="${{@[-1]}}" "${{@[-2]}}" "${{bootstrap[@]}}" 2>/dev/null)"}})
    compadd "${{@[1,-3]}}" -a names
}}
"#,
            env = super::complete::ENV
        );
        match fixed.rfind(&call) {
            Some(at) => fixed.insert_str(at, &function),
            None => fixed.push_str(&function),
        }
    }
    fixed
}

/// An option spec `'--flag=[help]:VALUE:action' \` with the ':' inside
/// VALUE escaped; other lines as they are.
fn zsh_escape_value_name(line: &str) -> String {
    let Some(help_end) = line.starts_with('\'').then(|| line.find("]:")).flatten() else {
        return line.to_string();
    };
    let (head, rest) = line.split_at(help_end + 2);
    let Some(action) = rest.rfind(':') else {
        return line.to_string();
    };
    let (value, action) = rest.split_at(action);
    let mut escaped = String::with_capacity(value.len());
    let mut previous = None;
    for c in value.chars() {
        if c == ':' && previous != Some('\\') {
            escaped.push('\\');
        }
        escaped.push(c);
        previous = Some(c);
    }
    format!("{head}{escaped}{action}")
}

/// The fish script clap_complete writes offers file names for every value;
/// a topic or group flag's value completes from the cluster instead.
fn fish_names(command: &clap::Command, name: &str, script: &str) -> String {
    let flags: BTreeMap<String, &'static str> = name_flags(command).into_iter().collect();
    let mut fixed = String::new();
    for line in script.lines() {
        // The options part of `complete ... -s t -l topic -d 'help' -r`.
        let options = line.split(" -d '").next().unwrap_or_default();
        let words: Vec<&str> = options.split_whitespace().collect();
        let kind = words.windows(2).find_map(|pair| match pair {
            ["-l", long] => flags.get(&format!("--{long}")),
            _ => None,
        });
        fixed.push_str(line);
        if let (Some(kind), true) = (kind, line.ends_with(" -r")) {
            fixed.push_str(&format!(" -f -a '(__gregor_names {name} {kind})'"));
        }
        fixed.push('\n');
    }
    if !flags.is_empty() {
        fixed.push_str(&format!(
            r#"
# Names from the cluster the command line names (or GREGOR_BOOTSTRAP), from
# the tool itself; nothing when it cannot be reached.
function __gregor_names
    set -l words (commandline -opc)
    set -l bootstrap
    for i in (seq (count $words))
        if test "$words[$i]" = --bootstrap-server; and test $i -lt (count $words)
            set bootstrap --bootstrap-server $words[(math $i + 1)]
        end
    end
    env {env}=$argv[2] $argv[1] $bootstrap 2>/dev/null
end
"#,
            env = super::complete::ENV
        ));
    }
    fixed
}

/// The flags whose value is a topic or a group name: (flag, "topics" or
/// "groups"). The script's cases are per flag across subcommands, so a flag
/// that names something else anywhere in the tool is left out.
fn name_flags(command: &clap::Command) -> Vec<(String, &'static str)> {
    fn collect(command: &clap::Command, flags: &mut BTreeMap<String, Option<&'static str>>) {
        for arg in command.get_arguments() {
            let kind = match arg.get_value_names().and_then(|names| names.first()) {
                Some(v) if v.as_str() == "TOPIC" || v.as_str() == "TOPIC|REGEX" => Some("topics"),
                Some(v) if v.as_str() == "GROUP" => Some("groups"),
                _ => None,
            };
            let long = arg.get_long().map(|l| format!("--{l}"));
            let short = arg.get_short().map(|s| format!("-{s}"));
            for flag in long.into_iter().chain(short) {
                let entry = flags.entry(flag).or_insert(kind);
                if *entry != kind {
                    *entry = None;
                }
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, flags);
        }
    }
    let mut flags = BTreeMap::new();
    collect(command, &mut flags);
    flags
        .into_iter()
        .filter_map(|(flag, kind)| Some((flag, kind?)))
        .collect()
}

/// Writes the generated files under `root`.
pub fn write(root: &Path) -> std::io::Result<()> {
    for (path, contents) in render()? {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    Ok(())
}
