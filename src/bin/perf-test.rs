//! `perf-test`: Kafka's producer and consumer perf tests and end-to-end
//! latency, for any Kafka-compatible cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gregor::cli::perf_test::{self, PerfTest};
use gregor::cli::{self};
use gregor::client::perf::Progress;
use indicatif::{ProgressBar, ProgressStyle};

const TOOL: &str = "perf-test";

fn main() -> ExitCode {
    let args: PerfTest = cli::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

fn run(args: PerfTest) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let (expected, json) = (args.command.expected_records(), args.command.json());
    let outcome = with_progress(expected, json, |progress| {
        perf_test::run(args.command, settings, progress)
    })?;
    cli::out(outcome.text);
    if let Some(failure) = outcome.failure {
        anyhow::bail!(failure);
    }
    Ok(())
}

/// Runs `work` with a progress line on a terminal (records, rate, ETA).
fn with_progress<T>(total: u64, quiet: bool, work: impl FnOnce(Arc<Progress>) -> T) -> T {
    let progress = Arc::new(Progress::default());
    if quiet || !std::io::stderr().is_terminal() {
        return work(progress);
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} records  {per_sec}  {msg}  eta {eta}")
            .expect("valid progress template"),
    );
    let done = Arc::new(AtomicBool::new(false));
    let drawer = {
        let (bar, progress, done) = (bar.clone(), progress.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                bar.set_position(progress.records.load(Ordering::Relaxed));
                let mib = progress.bytes.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0);
                bar.set_message(format!("{mib:.1} MiB"));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let out = work(progress);
    done.store(true, Ordering::Relaxed);
    let _ = drawer.join();
    bar.finish_and_clear();
    out
}
