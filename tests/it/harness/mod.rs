//! Test harness: real `broker-start` processes on ephemeral ports with
//! temporary data dirs (broker), librdkafka clients (rdkafka), a raw wire
//! client for what librdkafka cannot send (raw) and the request bodies of
//! every API (requests), the built command-line tools (tools),
//! certificates (pki) and the metrics endpoint (scrape).
//!
//! Test modules import it as `common` (`use crate::harness;`),
//! the name it had when each file was a test binary of its own with a
//! tests/common module, so that tests written then still apply unchanged.

pub mod broker;
pub mod pki;
pub mod raw;
pub mod rdkafka;
pub mod requests;
pub mod scrape;
pub mod tools;

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
