//! `topic-import`: files of records into a topic, exactly once.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gregor::cli::topic_import::TopicImport;
use gregor::cli::{self};
use gregor::client::bulk::import;
use indicatif::{ProgressBar, ProgressStyle};

const TOOL: &str = "topic-import";
/// How long the exit waits for the runtime's blocking threads (see
/// console-producer: they must be gone before OpenSSL's exit cleanup).
const BLOCKING_THREADS_GRACE: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    let args: TopicImport = cli::parse();
    match run(args) {
        Ok(code) => code,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

fn run(args: TopicImport) -> anyhow::Result<ExitCode> {
    let options = args.options();
    let mut transforms = args.transforms.load()?;
    let validation = import::validate(&options.files, options.format)?;
    let records: u64 = validation.records.iter().sum();
    for problem in &validation.problems {
        eprintln!("{problem}");
    }
    if !validation.problems.is_empty() {
        eprintln!(
            "{TOOL}: {} records cannot be read; nothing written",
            validation.problems.len()
        );
        return Ok(ExitCode::FAILURE);
    }
    if args.dry_run {
        eprintln!(
            "{records} records in {} files can be imported",
            options.files.len()
        );
        return Ok(ExitCode::SUCCESS);
    }

    let settings = args.connection.settings()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let created = runtime.block_on(import::ensure_state_topic(&settings, &options.state_topic));
    runtime.shutdown_timeout(BLOCKING_THREADS_GRACE);
    created?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(records);
        bar.set_style(ProgressStyle::with_template(
            "{bar:30} {pos}/{len} records, {per_sec}, {eta} left",
        )?);
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let outcome = import::import(
        &settings,
        &options,
        &validation,
        &mut transforms,
        &stop,
        &mut |written| bar.set_position(written),
    );
    bar.finish_and_clear();
    let summary = outcome?;
    let seconds = started.elapsed().as_secs_f64();
    let tally = match transforms.tally.summary() {
        t if t.is_empty() => t,
        t => format!("; {t}"),
    };
    eprintln!(
        "Imported {} records to {} in {} transactions in {seconds:.1} s ({:.0} records/s); {} written by an earlier run skipped{tally}",
        summary.records,
        options.topic,
        summary.transactions,
        summary.records as f64 / seconds.max(0.001),
        summary.skipped
    );
    Ok(ExitCode::SUCCESS)
}
