//! The built command-line tools (`env!("CARGO_BIN_EXE_<name>")`) run
//! against a broker.

use std::io::Write;
use std::process::{Child, Command, Stdio};

/// What a command-line tool printed and how it exited.
pub struct ToolOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl ToolOutput {
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code,
            Some(0),
            "tool failed: stdout {:?} stderr {:?}",
            self.stdout,
            self.stderr
        );
        &self.stdout
    }
}

/// Runs one of the built tools (`env!("CARGO_BIN_EXE_<name>")`) against a
/// broker, with `stdin` fed to it and closed.
pub fn run_tool(bin: &str, bootstrap: &str, args: &[&str], stdin: &[u8]) -> ToolOutput {
    let mut child = Command::new(bin)
        .args(args)
        .env("GREGOR_BOOTSTRAP", bootstrap)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"));
    let mut input = child.stdin.take().expect("stdin piped");
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("wait for tool");
    writer.join().expect("stdin writer");
    ToolOutput {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Starts one of the built tools with its output piped, for tests that
/// read it while it runs.
pub fn spawn_tool(bin: &str, bootstrap: &str, args: &[&str]) -> Child {
    Command::new(bin)
        .args(args)
        .env("GREGOR_BOOTSTRAP", bootstrap)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {bin}: {e}"))
}

/// (partition, start offset, log end offset, lag) of each row of
/// `group-inspect describe --output json` for share group `group`.
pub fn share_lag(bootstrap: &str, group: &str) -> Vec<(i64, Option<i64>, i64, Option<i64>)> {
    let out = run_tool(
        env!("CARGO_BIN_EXE_group-inspect"),
        bootstrap,
        &["describe", "-g", group, "--output", "json"],
        b"",
    );
    let all: Vec<serde_json::Value> = serde_json::from_str(out.ok()).expect("describe prints JSON");
    assert_eq!(all[0]["group_type"], "Share", "{all:?}");
    all[0]["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap(),
                p["current_offset"].as_i64(),
                p["log_end_offset"].as_i64().unwrap(),
                p["lag"].as_i64(),
            )
        })
        .collect()
}
