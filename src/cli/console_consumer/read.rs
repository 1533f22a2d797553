//! console-consumer's loop: poll, deserialize, print, and mark what was
//! printed, until a limit is met, the reader goes away or a signal comes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ConsoleConsumer;
use crate::client::consumer::Consumer;
use crate::client::format::{json_record, TextFormatter};
use crate::client::{ClientError, Result};

/// How records are written out.
pub enum Output<'a> {
    /// One JSON object per line.
    Json,
    /// Kafka's console formatter, with `paint` for the field labels.
    Text {
        formatter: &'a TextFormatter,
        paint: &'a dyn Fn(String) -> String,
    },
}

/// Reads and prints records until `stop` is set, --max-messages are
/// printed, --timeout-ms passes without a record, every partition has
/// reached --until, or `out` is closed (`| head`, not an error). Transient
/// errors (a rolling restart) are said once and waited out through
/// `cli::Outage`. Returns how many records were printed, with what ended
/// the loop when it was an error.
pub fn print(
    args: &ConsoleConsumer,
    consumer: &mut Consumer,
    output: Output,
    stop: &AtomicBool,
    out: &mut dyn Write,
) -> (u64, Result<()>) {
    let mut processed: u64 = 0;
    let mut last_record = Instant::now();
    let idle_limit = args.timeout_ms.map(Duration::from_millis);
    let mut outage = crate::cli::Outage::new("console-consumer");
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
                Err(e) => break Err(e),
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
            Err(e) => break Err(e),
        };
        outage.end();
        last_record = Instant::now();
        if consumer.past_stop(&record) {
            continue;
        }
        if let Err(e) = args.deserialize(&mut record) {
            break Err(e);
        }
        let line = match &output {
            Output::Json => format!("{}\n", json_record(&record)).into_bytes(),
            Output::Text { formatter, paint } => formatter.format(&record, *paint),
        };
        if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
            // A closed pipe (`| head`) is a normal way to stop reading.
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                break Ok(());
            }
            break Err(ClientError::Output(e));
        }
        processed += 1;
        if let Err(e) = consumer.printed(&record) {
            break Err(e);
        }
    };
    (processed, outcome)
}
