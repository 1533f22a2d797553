//! `console-consumer`: Kafka's kafka-console-consumer.sh, for any
//! Kafka-compatible cluster.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use gregor::cli::console_consumer::read::{self, Output};
use gregor::cli::console_consumer::ConsoleConsumer;
use gregor::cli::{self};
use gregor::client::consumer::Consumer;
use gregor::client::format::TextFormatter;
use gregor::client::share_consumer::ShareConsumer;
use gregor::client::transform::Transforms;

const TOOL: &str = "console-consumer";

fn main() -> ExitCode {
    let args: ConsoleConsumer = cli::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::fail(TOOL, format!("{e:#}")),
    }
}

fn run(args: ConsoleConsumer) -> anyhow::Result<()> {
    let formatter = TextFormatter::from_properties(&args.property)?;
    let transforms = args.transforms.load()?;
    let json = args.format == "json";
    let source = args.source()?;
    let settings = args
        .connection
        .settings()?
        .with_defaults([("isolation.level", args.isolation_level.as_str())]);
    let mut transforms = transforms.with_dead_letters(&settings)?;

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }

    if let Some(group) = &args.share_group {
        let topic = args.topic().context("--share-group needs --topic")?;
        let consumer = ShareConsumer::join(&settings, group, &[topic.to_string()])?;
        let mut records = read::ShareRecords {
            consumer,
            release: args.release,
            reject_on_error: args.reject_on_error,
        };
        let (processed, outcome) = print(
            &args,
            &mut records,
            &mut transforms,
            &formatter,
            json,
            &stop,
        );
        let closed = records.consumer.close();
        summarise(processed, &transforms);
        outcome?;
        closed?;
        return Ok(());
    }

    let mut consumer = match &args.group {
        Some(group) => Consumer::subscribe(&settings, group, &source, args.from_beginning)?,
        // Without a group, read the partitions directly: no join, no
        // rebalance delay, nothing committed.
        None => Consumer::assign(&settings, &source, args.partition, args.start())?,
    };
    let (processed, outcome) = print(
        &args,
        &mut consumer,
        &mut transforms,
        &formatter,
        json,
        &stop,
    );
    let committed = consumer.commit();
    summarise(processed, &transforms);
    outcome?;
    committed?;
    Ok(())
}

fn summarise(processed: u64, transforms: &Transforms) {
    let tally = transforms.tally.summary();
    if tally.is_empty() {
        eprintln!("Processed a total of {processed} messages");
    } else {
        eprintln!("Processed a total of {processed} messages ({tally})");
    }
}

/// Prints what `records` delivers on standard output.
fn print(
    args: &ConsoleConsumer,
    records: &mut dyn read::Records,
    transforms: &mut Transforms,
    formatter: &TextFormatter,
    json: bool,
    stop: &AtomicBool,
) -> (u64, gregor::client::Result<()>) {
    let colour = std::io::stdout().is_terminal() && !json;
    let paint = |s: String| {
        if colour {
            console::style(s).cyan().to_string()
        } else {
            s
        }
    };
    let output = if json {
        Output::Json
    } else {
        Output::Text {
            formatter,
            paint: &paint,
        }
    };
    read::print(
        args,
        records,
        transforms,
        output,
        stop,
        &mut std::io::stdout().lock(),
    )
}
