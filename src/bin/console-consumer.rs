//! `console-consumer`: Kafka's kafka-console-consumer.sh, for any
//! Kafka-compatible cluster.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use gregor::cli::console_consumer::ConsoleConsumer;
use gregor::cli::{self};
use gregor::client::consumer::Consumer;
use gregor::client::format::{json_record, TextFormatter};

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
    let json = args.format == "json";
    let source = args.source()?;
    let settings = args
        .connection
        .settings()?
        .with_defaults([("isolation.level", args.isolation_level.as_str())]);

    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("cannot watch signals")?;
    }

    let mut consumer = match &args.group {
        Some(group) => Consumer::subscribe(&settings, group, &source, args.from_beginning)?,
        // Without a group, read the partitions directly: no join, no
        // rebalance delay, nothing committed.
        None => Consumer::assign(&settings, &source, args.partition, args.start())?,
    };

    let colour = std::io::stdout().is_terminal() && !json;
    let paint = |s: String| {
        if colour {
            console::style(s).cyan().to_string()
        } else {
            s
        }
    };
    let mut out = std::io::stdout().lock();
    let mut processed: u64 = 0;
    let mut last_record = Instant::now();
    let idle_limit = args.timeout_ms.map(Duration::from_millis);
    let mut outage = cli::Outage::new(TOOL);
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        if args.max_messages.is_some_and(|max| processed >= max) {
            break Ok(());
        }
        if idle_limit.is_some_and(|limit| last_record.elapsed() >= limit) {
            break Ok(());
        }
        if let Some(ms) = args.until {
            match consumer.reached(ms) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(e) if e.is_transient() => outage.begin(&e),
                Err(e) => break Err(e.into()),
            }
        }
        let Some(result) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let mut record = match result {
            Ok(r) => r,
            // A rolling restart must not end a tail: librdkafka reconnects
            // and resumes from where it was.
            Err(e) if e.is_transient() => {
                outage.begin(&e);
                continue;
            }
            Err(e) => break Err(anyhow::Error::from(e)),
        };
        outage.end();
        last_record = Instant::now();
        if consumer.past_stop(&record) {
            continue;
        }
        if let Err(e) = args.deserialize(&mut record) {
            break Err(e.into());
        }
        let line = if json {
            format!("{}\n", json_record(&record)).into_bytes()
        } else {
            formatter.format(&record, &paint)
        };
        if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
            // A closed pipe (`| head`) is a normal way to stop reading.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break Ok(());
            }
            break Err(anyhow!("cannot write to standard output: {e}"));
        }
        processed += 1;
        if let Err(e) = consumer.printed(&record) {
            break Err(e.into());
        }
    };
    let committed = consumer.commit();
    eprintln!("Processed a total of {processed} messages");
    outcome?;
    committed?;
    Ok(())
}
