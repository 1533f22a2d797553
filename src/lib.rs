//! Gregor: a Kafka-compatible, partitioned, replicated commit log.
//!
//! Layers point down only: `broker` (wiring) -> `server` -> `api` ->
//! `cluster` -> `partition` -> `log` -> `config`. See docs/architecture.md.

pub mod api;
pub mod broker;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod config;
pub mod coordinator_records;
pub mod group;
#[cfg(test)]
mod layering;
pub mod log;
pub mod metrics;
pub mod partition;
pub mod pem_key;
pub mod quota;
pub mod security;
pub mod server;
pub mod share_coordinator;
pub mod telemetry;
pub mod topic_partition;
pub mod transaction;
pub mod wire_format;
