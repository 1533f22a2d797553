//! The network side: TCP listener, Kafka framing, per-connection dispatch.

mod activity;
mod authentication;
mod connection;
mod frame;
pub mod limits;
mod listener;
mod transport;

pub(crate) use authentication::{gate_with, Answer, Gate};
pub use connection::{serve_controller_client, ConnectionSettings};
pub use frame::{Frame, FrameError, FrameReader};
pub use listener::Listener;
