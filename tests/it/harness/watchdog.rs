//! A hung test (librdkafka 2.12 can block forever closing a consumer that
//! finds a rebalance callback pending) would hold CI until its overall
//! timeout with no name on it. Every broker a test starts arms a watchdog:
//! a broker alive longer than any test needs ends the whole test binary,
//! naming the test that started it, after killing every broker still
//! running so none outlives the run.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Mutex;
use std::time::Duration;

/// Far beyond the slowest test (about a minute on CI's two cores).
const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

/// Broker processes started and not yet reaped.
static LIVE: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Disarms its watchdog when dropped.
pub struct Watchdog {
    _disarm: mpsc::Sender<()>,
}

/// Arms a watchdog for the calling test (libtest names each test's
/// thread after the test).
pub fn arm() -> Watchdog {
    let test = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_string();
    let limit = std::env::var("GREGOR_TEST_WATCHDOG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_LIMIT);
    let (disarm, disarmed) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = disarmed.recv_timeout(limit) {
            eprintln!(
                "watchdog: {test} kept a broker running for over {} s: it hangs; ending the test run",
                limit.as_secs()
            );
            for pid in LIVE.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
                if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            std::process::exit(124);
        }
    });
    Watchdog { _disarm: disarm }
}

/// Records a started broker process, for the watchdog to kill.
pub fn started(pid: u32) {
    LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
}

/// Forgets a broker process that was reaped.
pub fn reaped(pid: u32) {
    LIVE.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|p| *p != pid);
}
