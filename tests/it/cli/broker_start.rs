//! broker-start's own command line: logs without colour codes when they do
//! not go to a terminal, ZooKeeper-era settings ignored with one warning,
//! and one clear line for a config it cannot take.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

const BROKER: &str = env!("CARGO_BIN_EXE_broker-start");

fn broker(dir: &std::path::Path, overrides: &[&str]) -> Command {
    let mut cmd = Command::new(BROKER);
    cmd.arg("--override")
        .arg("listeners=PLAINTEXT://127.0.0.1:0")
        .arg("--override")
        .arg(format!("log.dirs={}", dir.display()));
    for o in overrides {
        cmd.arg("--override").arg(o);
    }
    cmd.env("RUST_LOG", "warn,openraft=off")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn zookeeper_settings_are_ignored_with_one_plain_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = broker(
        dir.path(),
        &[
            "zookeeper.connect=zk1:2181,zk2:2181/kafka",
            "zookeeper.session.timeout.ms=18000",
            "broker.id.generation.enable=true",
        ],
    )
    .spawn()
    .expect("spawn broker-start");
    let mut banner = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut banner)
        .expect("banner");
    assert!(banner.contains("listening on"), "{banner:?}");
    // The warning comes while the config loads, before the banner: the
    // broker can go now, and its stderr ends with it.
    child.kill().expect("kill");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    child.wait().expect("wait");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr:?}"
    );
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("ZooKeeper")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(
            "ignoring zookeeper.connect, zookeeper.session.timeout.ms, broker.id.generation.enable: ZooKeeper mode does not exist in Gregor (KRaft only)"
        ),
        "{}",
        warnings[0]
    );
}

#[test]
fn a_config_it_cannot_take_is_one_line_and_status_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (overrides, expected) in [
        (
            &["num.partiton=3"][..],
            "broker-start: unknown config 'num.partiton' (did you mean 'num.partitions'?)",
        ),
        (
            &["log.dirs=/tmp/a,/tmp/b,/tmp/a"][..],
            "broker-start: invalid value '/tmp/a,/tmp/b,/tmp/a' for config 'log.dirs': duplicate log directory found: /tmp/a",
        ),
    ] {
        let out = broker(dir.path(), overrides).output().expect("run broker-start");
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end(), expected);
    }
}
