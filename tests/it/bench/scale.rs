//! `bench/scale --quick` against the debug binaries, so that the cost-curve
//! benchmark cannot rot: it must complete and write every section. Its
//! figures are not asserted (a debug build on a shared machine says nothing
//! about speed).

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
fn quick_run_writes_every_section() {
    for tool in TOOLS {
        assert!(Path::new(tool).exists(), "{tool} was not built");
    }
    let bin_dir = Path::new(BROKER)
        .parent()
        .expect("binaries live in a directory");
    let out = tempfile::tempdir().unwrap();
    let report = out.path().join("benchmarks.md");
    let run = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/scale"))
        .args(["--quick", "--no-peer", "--bin-dir"])
        .arg(bin_dir)
        .arg("--out")
        .arg(&report)
        .output()
        .expect("python3 runs bench/scale");
    assert!(
        run.status.success(),
        "bench/scale --quick failed:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&report).unwrap();
    for heading in [
        ": cost curves (issue 17)",
        "### Partitions",
        "### Start-up",
        "### Recovery after kill -9",
        "### Idle connections",
        "### Active producers",
        "### Consumer groups",
    ] {
        assert!(text.contains(heading), "no {heading:?} in:\n{text}");
    }
    assert!(!text.contains("failed"), "a figure failed:\n{text}");
    assert!(
        !text.contains("Not measured"),
        "a figure is missing:\n{text}"
    );
}
