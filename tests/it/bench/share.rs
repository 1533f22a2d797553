//! `bench/share --quick` against the debug binaries, so that the share
//! consumption benchmark cannot rot: the classic row, a row per share
//! consumer count and perf-test's share consumer, each with every record
//! received (exactly once where the bench can tell). Speed is not asserted
//! (a debug build on a shared machine says nothing about it).

use std::path::Path;
use std::process::Command;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-start");
// Named so that cargo builds them before this test runs; the bench finds
// them beside the broker.
const TOOLS: [&str; 2] = [
    env!("CARGO_BIN_EXE_topic-admin"),
    env!("CARGO_BIN_EXE_perf-test"),
];

#[test]
fn quick_run_delivers_every_record_once_in_every_row() {
    for tool in TOOLS {
        assert!(Path::new(tool).exists(), "{tool} was not built");
    }
    let bin_dir = Path::new(BROKER)
        .parent()
        .expect("binaries live in a directory");
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("benchmarks.md");
    let run = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/share"))
        .args([
            "--quick",
            "--records",
            "600",
            "--consumers",
            "1,3",
            "--bin-dir",
        ])
        .arg(bin_dir)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("python3 runs bench/share");
    assert!(
        run.status.success(),
        "bench/share --quick failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        text.contains(": share-group consumption beside a classic group (issue 18)"),
        "{text}"
    );
    // Group, consumers, records received, every offset once, ...
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| {
            ["| classic |", "| share |", "| share, perf-test |"]
                .iter()
                .any(|kind| l.starts_with(kind))
        })
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
        .collect();
    let kinds: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        kinds,
        [
            ("classic", "1"),
            ("share", "1"),
            ("share", "3"),
            ("share, perf-test", "1")
        ],
        "{text}"
    );
    for row in &rows {
        assert_eq!(row[2], "600", "records received in {row:?}");
        // perf-test counts records without summing their offsets.
        let checked = if row[0] == "share, perf-test" {
            "n/a"
        } else {
            "yes"
        };
        assert_eq!(row[3], checked, "every offset once in {row:?}");
        // Per consumer: the counts add up to every record.
        let per: u32 = row[6]
            .split(", ")
            .map(|n| n.replace(',', "").parse::<u32>().unwrap())
            .sum();
        assert_eq!(per, 600, "{row:?}");
    }
}
