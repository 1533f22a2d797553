//! `perf-test`: Kafka's producer and consumer perf tests and end-to-end
//! latency, for any Kafka-compatible cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::bail;
use gregor::cli::perf_test::{PerfCommand, PerfTest};
use gregor::cli::{self};
use gregor::client::perf::{self, ProduceLoad, Progress, Report};
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
    match args.command {
        PerfCommand::Produce {
            topic,
            num_records,
            record_size,
            throughput,
            tuning,
            report,
        } => {
            let settings = settings.with_defaults(tuning.properties());
            let load = ProduceLoad {
                topic,
                records: num_records,
                record_size,
                rate: throughput,
            };
            let result = with_progress(Some(num_records), report.json, |progress| {
                perf::produce(&settings, &load, progress)
            })?;
            print(&result, report.json, "sent");
            if result.failed > 0 {
                bail!(
                    "{} of {num_records} records were not delivered",
                    result.failed
                );
            }
        }
        PerfCommand::Consume {
            topic,
            num_records,
            group,
            timeout_ms,
            report,
        } => {
            let result = with_progress(Some(num_records), report.json, |progress| {
                perf::consume(
                    &settings,
                    &topic,
                    num_records,
                    group.as_deref(),
                    Duration::from_millis(timeout_ms),
                    progress,
                )
            })?;
            print(&result, report.json, "read");
            if result.records < num_records {
                bail!(
                    "only {} of {num_records} records arrived before {timeout_ms} ms without any",
                    result.records
                );
            }
        }
        PerfCommand::EndToEnd {
            topic,
            rate,
            duration,
            record_size,
            tuning,
            report,
        } => {
            let settings = settings.with_defaults(tuning.properties());
            let total = (rate * duration).ceil() as u64;
            let result = with_progress(Some(total), report.json, |progress| {
                perf::end_to_end(
                    &settings,
                    &topic,
                    rate,
                    Duration::from_secs_f64(duration),
                    record_size,
                    progress,
                )
            })?;
            print(&result, report.json, "received");
            if result.failed > 0 {
                bail!("{} of {total} records did not arrive", result.failed);
            }
        }
    }
    Ok(())
}

/// Runs `work` with a progress line on a terminal (records, rate, ETA).
fn with_progress<T>(total: Option<u64>, quiet: bool, work: impl FnOnce(Arc<Progress>) -> T) -> T {
    let progress = Arc::new(Progress::default());
    if quiet || !std::io::stderr().is_terminal() {
        return work(progress);
    }
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::no_length(),
    };
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

fn print(report: &Report, json: bool, verb: &str) {
    let s = report.summary();
    if json {
        cli::outln(serde_json::json!(s));
        return;
    }
    let mut line = format!(
        "{} records {verb} in {:.2} s, {:.1} records/sec ({:.2} MB/sec)",
        s.records, s.elapsed_secs, s.records_per_sec, s.mb_per_sec
    );
    if let Some(l) = s.latency_ms {
        line.push_str(&format!(
            ", latency {:.2} ms avg, {:.2} ms p50, {:.2} ms p99, {:.2} ms p99.9, {:.2} ms max",
            l.avg, l.p50, l.p99, l.p999, l.max
        ));
    }
    cli::outln(line);
}
