//! tallyscope: election forensics on disaggregated polling-station protocols.
//!
//! Data flows one way: [`ingest`] → [`model`] → [`checks`] / statistics → export.
//! Every stage is a library call; the `tallyscope` binary is a thin layer in [`cli`].

pub mod analysis;
pub mod api;
pub mod calibrate;
pub mod checks;
pub mod cli;
pub mod compare;
pub mod error;
pub mod export;
pub mod ingest;
pub mod model;
pub mod numfmt;
pub mod rank;
pub mod render;
pub mod report;
pub mod simulate;
pub mod stats;

pub use error::{Error, InputError, Result};
pub use model::{Count, Election, Level, Role};
