//! `--transform` and `--on-error`, which console-producer,
//! console-consumer, topic-export and topic-import share.

use std::path::PathBuf;

use clap::Args;

use crate::client::transform::engine::DEFAULT_FUEL;
use crate::client::transform::{OnError, Transforms};
use crate::client::Result;

#[derive(Args, Debug, Clone, Default)]
pub struct TransformArgs {
    /// Run each record through this WebAssembly transform (docs/plugins.md); repeatable, applied in order.
    #[arg(long, value_name = "FILE.wasm")]
    pub transform: Vec<PathBuf>,

    /// What a record a transform fails on becomes: fail (stop with the error), skip (left out, counted), or dead-letter TOPIC (the original record written to TOPIC with headers saying why).
    #[arg(long, value_names = ["POLICY", "TOPIC"], num_args = 1..=2, requires = "transform")]
    pub on_error: Vec<String>,

    /// The fuel (about one WebAssembly instruction each) a transform may spend on one record before it is stopped as a runaway.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_FUEL,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub transform_fuel: u64,
}

impl TransformArgs {
    /// Loads the modules, so that a bad one fails before connecting.
    pub fn load(&self) -> Result<Transforms> {
        Transforms::load(
            &self.transform,
            OnError::parse(&self.on_error)?,
            self.transform_fuel,
        )
    }
}
