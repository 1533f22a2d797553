//! The integration tests, in one test binary: a module per area (the
//! command-line tools' under cli/, the benchmark scripts' smoke runs under
//! bench/), each test starting its own brokers through the harness on
//! ephemeral ports. One binary links librdkafka, openraft and the crate
//! once, where a binary per file linked them some fifty times.
//!
//! `cargo test --test it` runs them all, `cargo test --test it cli::` an
//! area, `cargo test --test it groups::` one file. The decoder fuzzer
//! (tests/fuzz_decoder.rs) stays a binary of its own.

mod harness;

mod acls;
mod admin_api;
mod checkpoints;
mod cluster;
mod compaction;
mod compat;
mod connections;
mod consumer_protocol;
mod durability;
mod export;
mod fault_run;
mod fetch;
mod generated_docs;
mod group_commit;
mod group_configs;
mod groups;
mod hostile_input;
mod hostile_records;
mod idempotence;
mod kafka41_apis;
mod log_dirs;
mod metrics;
mod metrics_tls;
mod produce_fetch;
mod quotas;
mod racks;
mod retention;
mod sasl;
mod share_cluster;
mod share_tools;
mod storage_faults;
mod telemetry;
mod tls;
mod topic_ids;
mod transactions;
mod transforms;
mod txn_versions;
mod versions;
mod wire_errors;

mod bench {
    mod replication;
    mod scale;
    mod share;
}

mod cli {
    mod acl_admin;
    mod broker_start;
    mod cluster;
    mod completion;
    mod config_admin;
    mod console;
    mod fallback;
    mod group_inspect;
    mod log_dump;
    mod metadata_quorum;
    mod perf;
    mod topic_admin;
}
