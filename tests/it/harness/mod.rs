//! Test harness: real `broker-start` processes on ephemeral ports with
//! temporary data dirs (broker), librdkafka clients (rdkafka), a raw wire
//! client for what librdkafka cannot send (raw) and the request bodies of
//! every API (requests), the built command-line tools (tools),
//! certificates (pki), the metrics endpoint (scrape), and a watchdog that
//! ends the run, naming the test, when a test hangs.

pub mod broker;
pub mod pki;
pub mod raw;
pub mod rdkafka;
pub mod requests;
pub mod scrape;
pub mod tools;
pub mod watchdog;

use std::time::{Duration, Instant};

pub use self::broker::*;
pub use self::raw::*;
pub use self::rdkafka::*;
pub use self::requests::encode_batch;
pub use self::tools::*;

/// Polls `cond` until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}
