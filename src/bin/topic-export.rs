//! `topic-export`: a topic's records into files, resumable and exactly once.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use gregor::cli::topic_export::TopicExport;
use gregor::cli::{self};
use gregor::client::bulk::export::{self, Progress};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

const TOOL: &str = "topic-export";

fn main() -> ExitCode {
    let args: TopicExport = cli::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

fn run(args: TopicExport) -> anyhow::Result<()> {
    let settings = args.connection.settings()?;
    let options = args.options();
    let mut transforms = args.transforms.load()?.with_dead_letters(&settings)?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}")?);
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut show = |p: &Progress| {
        let seconds = started.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{} records ({}), {:.0} records/s, {}/s, {} left",
            p.records,
            HumanBytes(p.bytes),
            p.records as f64 / seconds,
            HumanBytes((p.bytes as f64 / seconds) as u64),
            p.lag
        ));
    };
    let outcome = export::export(&settings, &options, &mut transforms, &stop, &mut show);
    bar.finish_and_clear();
    let summary = outcome?;
    for path in &summary.removed {
        eprintln!(
            "{TOOL}: removed {}, left by an interrupted run and not in the MANIFEST",
            path.display()
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut resumed = String::new();
    if summary.resumed > 0 {
        resumed += &format!(
            ", resuming {} partitions from the MANIFEST",
            summary.resumed
        );
    }
    if summary.from_group > 0 {
        resumed += &format!(
            ", {} partitions from the offsets of group '{}'",
            summary.from_group, options.group
        );
    }
    let tally = transforms.tally.summary();
    if !tally.is_empty() {
        resumed += &format!("; {tally}");
    }
    eprintln!(
        "Exported {} records ({}) in {} files to {} in {seconds:.1} s ({:.0} records/s){resumed}",
        summary.records,
        HumanBytes(summary.bytes),
        summary.files,
        options.dir.display(),
        summary.records as f64 / seconds.max(0.001),
    );
    Ok(())
}
