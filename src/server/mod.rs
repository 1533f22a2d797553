//! The network side: TCP listener, Kafka framing, per-connection dispatch.

mod connection;
mod frame;
mod listener;

pub use frame::{read_frame, FrameError};
pub use listener::Listener;
