//! console-consumer's loop: poll, deserialize, print, and mark what was
//! printed, until a limit is met, the reader goes away or a signal comes.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::ConsoleConsumer;
use crate::client::consumer::Consumer;
use crate::client::format::{json_record, ConsumedRecord, TextFormatter};
use crate::client::share_consumer::{Acknowledge, ShareConsumer};
use crate::client::transform::Transforms;
use crate::client::{ClientError, Result};

/// What the loop reads from: a consumer of partitions or of a consumer
/// group, or a member of a share group.
pub trait Records {
    fn poll(&mut self, timeout: Duration) -> Option<Result<ConsumedRecord>>;
    /// Whether every partition has reached `until_ms` (--until).
    fn reached(&mut self, until_ms: i64) -> Result<bool>;
    /// Whether the record is past where its partition stops (--until).
    fn past_stop(&self, record: &ConsumedRecord) -> bool;
    /// The record was printed.
    fn printed(&mut self, record: &ConsumedRecord) -> Result<()>;
    /// The record could not be read (`error`): Ok to go on without it.
    fn unreadable(&mut self, record: &ConsumedRecord, error: ClientError) -> Result<()>;
}

impl Records for Consumer {
    fn poll(&mut self, timeout: Duration) -> Option<Result<ConsumedRecord>> {
        Consumer::poll(self, timeout)
    }

    fn reached(&mut self, until_ms: i64) -> Result<bool> {
        Consumer::reached(self, until_ms)
    }

    fn past_stop(&self, record: &ConsumedRecord) -> bool {
        Consumer::past_stop(self, record)
    }

    fn printed(&mut self, record: &ConsumedRecord) -> Result<()> {
        Consumer::printed(self, record)
    }

    /// As a Java deserializer's exception: the end of the run.
    fn unreadable(&mut self, _record: &ConsumedRecord, error: ClientError) -> Result<()> {
        Err(error)
    }
}

/// A share group member as console-consumer --share-group runs it: each
/// printed record ACCEPTed (RELEASEd with --release, for a look that
/// leaves every record to be delivered again), an unreadable one REJECTed
/// with --reject-on-error.
pub struct ShareRecords {
    pub consumer: ShareConsumer,
    pub release: bool,
    pub reject_on_error: bool,
}

impl Records for ShareRecords {
    fn poll(&mut self, timeout: Duration) -> Option<Result<ConsumedRecord>> {
        self.consumer.poll(timeout)
    }

    fn reached(&mut self, _until_ms: i64) -> Result<bool> {
        Ok(false)
    }

    fn past_stop(&self, _record: &ConsumedRecord) -> bool {
        false
    }

    fn printed(&mut self, record: &ConsumedRecord) -> Result<()> {
        let ack = if self.release {
            Acknowledge::Release
        } else {
            Acknowledge::Accept
        };
        self.consumer.acknowledge(record, ack)
    }

    fn unreadable(&mut self, record: &ConsumedRecord, error: ClientError) -> Result<()> {
        if !self.reject_on_error {
            // Given back, so that another reader may read it.
            self.consumer.acknowledge(record, Acknowledge::Release)?;
            return Err(error);
        }
        self.consumer.acknowledge(record, Acknowledge::Reject)
    }
}

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
/// `cli::Outage`. Each record goes through `transforms` first, and what
/// they emit is printed in its place. Returns how many records were
/// printed, with what ended the loop when it was an error.
pub fn print(
    args: &ConsoleConsumer,
    consumer: &mut dyn Records,
    transforms: &mut Transforms,
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
        let record = match result {
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
        // What marks the record read: its own place, whatever topic a
        // transform routes it to.
        let source = ConsumedRecord {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
            ..ConsumedRecord::default()
        };
        let records = match transforms.apply_consumed(record) {
            Ok(records) => records,
            Err(e) => break Err(e),
        };
        let mut failed = None;
        let mut unreadable = false;
        for mut record in records {
            if let Err(e) = args.deserialize(&mut record) {
                unreadable = true;
                match consumer.unreadable(&source, e) {
                    Ok(()) => break,
                    Err(e) => {
                        failed = Some(Err(e));
                        break;
                    }
                }
            }
            let line = match &output {
                Output::Json => format!("{}\n", json_record(&record)).into_bytes(),
                Output::Text { formatter, paint } => formatter.format(&record, *paint),
            };
            if let Err(e) = out.write_all(&line).and_then(|_| out.flush()) {
                // A closed pipe (`| head`) is a normal way to stop reading.
                failed = Some(if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(ClientError::Output(e))
                });
                break;
            }
            processed += 1;
        }
        if let Some(outcome) = failed {
            break outcome;
        }
        if unreadable {
            continue;
        }
        if let Err(e) = consumer.printed(&source) {
            break Err(e);
        }
    };
    (processed, outcome)
}
