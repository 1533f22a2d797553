//! `bench/replication --quick` against the debug binaries, so that the
//! replication benchmark cannot rot: it must form its 3-node cluster, run
//! every workload and write every row with figures that make sense. Speed
//! is not asserted (a debug build on a shared machine says nothing about
//! it).

use std::path::Path;
use std::process::Command;

const BROKER: &str = env!("CARGO_BIN_EXE_broker-start");
// Named so that cargo builds them before this test runs; the bench finds
// them beside the broker.
const TOOLS: [&str; 2] = [
    env!("CARGO_BIN_EXE_topic-admin"),
    env!("CARGO_BIN_EXE_perf-test"),
];

/// A markdown table row's cells, trimmed.
fn cells(line: &str) -> impl Iterator<Item = &str> {
    line.trim().trim_matches('|').split('|').map(str::trim)
}

/// The cells of the table row whose first cells are `key`, as numbers
/// (thousands separators and units dropped); an empty cell is None.
fn row(text: &str, key: &[&str]) -> Vec<Option<f64>> {
    let line = text
        .lines()
        .find(|l| {
            let cells: Vec<&str> = cells(l).collect();
            cells.len() > key.len() && cells[..key.len()] == *key
        })
        .unwrap_or_else(|| panic!("no row {key:?} in:\n{text}"));
    cells(line)
        .skip(key.len())
        .map(|cell| {
            let first = cell.split([' ', '(']).next().unwrap_or("");
            let number = first.replace([',', '%'], "");
            (!number.is_empty()).then(|| {
                number
                    .parse::<f64>()
                    .unwrap_or_else(|_| panic!("{cell:?} in {line:?} is not a figure"))
            })
        })
        .collect()
}

#[test]
fn quick_run_writes_every_row() {
    for tool in TOOLS {
        assert!(Path::new(tool).exists(), "{tool} was not built");
    }
    let bin_dir = Path::new(BROKER)
        .parent()
        .expect("binaries live in a directory");
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("benchmarks.md");
    let run = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/replication"))
        .args(["--quick", "--bin-dir"])
        .arg(bin_dir)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("python3 runs bench/replication");
    assert!(
        run.status.success(),
        "bench/replication --quick failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        text.trim_end(),
        String::from_utf8_lossy(&run.stdout).trim_end(),
        "the section appended is the one printed"
    );
    for heading in [
        ": what replication costs, RF=3 beside RF=1 (issue 17)",
        "### Produce throughput and CPU per GiB",
        "### End-to-end latency at 200 records/s of 1 KiB",
    ] {
        assert!(text.contains(heading), "no {heading:?} in:\n{text}");
    }
    for size in ["1024 B", "100 B"] {
        for setting in ["RF=1 acks=1", "RF=3 acks=1", "RF=3 acks=all"] {
            // records/s, MB/s, % of RF=1, ack p50, caught up, leader CPU, follower CPU
            let cells = row(&text, &[size, setting]);
            assert_eq!(cells.len(), 7, "{size} {setting}: {cells:?}");
            for (i, name) in [
                (0, "records/s"),
                (1, "MB/s"),
                (2, "% of RF=1"),
                (3, "ack p50"),
            ] {
                assert!(
                    cells[i].is_some_and(|v| v > 0.0),
                    "{size} {setting}: {name} {:?}",
                    cells[i]
                );
            }
            assert!(
                cells[4].is_some_and(|v| v >= 0.0),
                "{size} {setting}: caught up"
            );
            assert!(
                cells[5].is_some_and(|v| v > 0.0),
                "{size} {setting}: the leader's CPU {:?}",
                cells[5]
            );
            // RF=1 has no followers; CPU counts in clock ticks, so a
            // follower's share of a small run may round to nothing.
            let replicated = setting.starts_with("RF=3");
            assert_eq!(
                cells[6].is_some(),
                replicated,
                "{size} {setting}: follower CPU {:?}",
                cells[6]
            );
            assert!(cells[6].is_none_or(|v| v >= 0.0));
        }
    }
    for setting in ["RF=1 acks=all", "RF=3 acks=all"] {
        // records, p50, p99, p99.9, max
        let cells = row(&text, &[setting]);
        assert_eq!(cells.len(), 5, "{setting}: {cells:?}");
        assert_eq!(cells[0], Some(400.0), "{setting}: 200/s for 2 s");
        for (i, latency) in cells.iter().enumerate().skip(1) {
            assert!(
                latency.is_some_and(|v| v > 0.0),
                "{setting}: latency {i} {latency:?}"
            );
        }
    }
}
