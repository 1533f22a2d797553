//! The tools' side of the crate (`client`, `cli`) stands apart from the
//! broker's: a tool is a Kafka client, and reaches a broker only over the
//! wire. This test reads their sources and fails on any path into the
//! broker's modules, so the rule holds without anyone remembering it.

use std::path::Path;

/// What `client` and `cli` may use besides each other: Kafka's framing,
/// PEM keys, the principal type of ACLs, and the names and parsing of the
/// replication throttle configs, none of which pulls in broker state.
const TOOLS_MAY_USE: &[&str] = &[
    "cli",
    "client",
    "wire_format",
    "pem_key",
    "security",
    "quota",
    "topic_partition",
];

/// broker-start is the broker's own command line: it loads the broker's
/// config and starts it, and nothing else in the tools may.
const BROKER_START: (&str, &[&str]) = ("broker_start.rs", &["broker", "config"]);

/// Every `crate::<module>` a source file names, with its line number.
fn crate_paths(source: &str) -> Vec<(usize, String)> {
    source
        .lines()
        .enumerate()
        .flat_map(|(n, line)| {
            line.match_indices("crate::").map(move |(at, _)| {
                let module: String = line[at + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (n + 1, module)
            })
        })
        .collect()
}

fn upward_imports(dir: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("read a source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            upward_imports(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let source = std::fs::read_to_string(&path).expect("read a source file");
            let (file, also) = BROKER_START;
            let starts_the_broker = path.file_name().is_some_and(|n| n == file);
            for (line, module) in crate_paths(&source) {
                let allowed = TOOLS_MAY_USE.contains(&module.as_str())
                    || (starts_the_broker && also.contains(&module.as_str()));
                if !allowed {
                    found.push(format!("{}:{line}: crate::{module}", path.display()));
                }
            }
        }
    }
}

#[test]
fn the_tools_do_not_import_the_broker() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for tools in ["client", "cli"] {
        upward_imports(&src.join(tools), &mut found);
    }
    assert!(
        found.is_empty(),
        "the tools import broker modules:\n{}",
        found.join("\n")
    );
}

#[test]
fn crate_paths_are_found_wherever_they_are_written() {
    let paths = crate_paths("use crate::log::Log;\nlet x = crate::api::x(crate::cli::y);");
    assert_eq!(
        paths,
        [
            (1, "log".to_string()),
            (2, "api".to_string()),
            (2, "cli".to_string())
        ]
    );
}
