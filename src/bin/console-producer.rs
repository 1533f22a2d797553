//! `console-producer`: Kafka's kafka-console-producer.sh, for any
//! Kafka-compatible cluster.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use gregor::cli::console_producer::{send, ConsoleProducer};
use gregor::cli::{self};
use gregor::client::line_reader::LineReader;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufRead, BufReader};

/// Large reads: tokio reads stdin on a blocking thread, one hand-off per read.
const INPUT_BUFFER: usize = 1 << 20;
const TOOL: &str = "console-producer";
/// How long the exit waits for the runtime's blocking threads.
const BLOCKING_THREADS_GRACE: Duration = Duration::from_millis(200);

fn main() -> ExitCode {
    let args: ConsoleProducer = cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cli::fail(TOOL, format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        match run(args).await {
            Ok(code) => code,
            Err(e) => cli::fail(TOOL, format!("{e:#}")),
        }
    });
    // tokio reads stdin on a blocking thread, which a Ctrl-C at a terminal
    // leaves inside read(2) until the next Enter; dropping the runtime
    // would wait for it (and the read would take that line from the
    // shell), so that thread is abandoned to the process's exit after a
    // short wait. The wait is not to be dropped: the other blocking threads
    // (librdkafka's metadata lookups ran there) must have exited before
    // the process does, since a thread's exit runs OpenSSL's per-thread
    // cleanup, and run at the same time as OpenSSL's atexit cleanup it
    // crashed the tool (SIGSEGV in OPENSSL_sk_value) after it had printed
    // its summary. Joined within the wait, they cannot overlap.
    runtime.shutdown_timeout(BLOCKING_THREADS_GRACE);
    code
}

async fn run(args: ConsoleProducer) -> anyhow::Result<ExitCode> {
    let reader = LineReader::from_properties(&args.property)?;
    let mut transforms = args.transforms.load()?;
    let settings = args
        .connection
        .settings()?
        .with_defaults(args.tuning.properties());
    let (producer, stats) = send::producer(&args, &settings).await?;

    let (input, progress): (Box<dyn AsyncBufRead + Unpin>, ProgressBar) = match &args.file {
        Some(path) => {
            let file = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("cannot open {}", path.display()))?;
            let size = file.metadata().await.map(|m| m.len()).unwrap_or(0);
            let bar = ProgressBar::new(size).with_style(
                ProgressStyle::with_template(
                    "{bar:30} {bytes}/{total_bytes} {msg} {bytes_per_sec} ETA {eta}",
                )
                .expect("valid progress template"),
            );
            (Box::new(BufReader::with_capacity(INPUT_BUFFER, file)), bar)
        }
        None => (
            Box::new(BufReader::with_capacity(INPUT_BUFFER, tokio::io::stdin())),
            ProgressBar::hidden(),
        ),
    };

    let sent = send::send(
        Arc::new(producer),
        &args,
        &reader,
        &mut transforms,
        input,
        progress,
    )
    .await;
    if let Some(summary) = sent.summary() {
        eprintln!("{summary}");
    }
    if args.stats {
        eprint!("{}", send::stats_text(&stats.report()));
    }
    if let Some(e) = sent.failure {
        return Err(e.into());
    }
    Ok(if sent.all_acknowledged() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
