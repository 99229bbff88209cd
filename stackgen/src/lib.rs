//! stackgen: turns a profile (TOML) into a fully sized network-stack plan.
//!
//! The path through the library is the path of a build:
//!
//! 1. [`source::Source`] holds the text of a profile and its display name, so every message can
//!    point at `file:line:column`.
//! 2. [`profile::Profile::parse`] reads the TOML into a [`profile::Profile`]: what the user wrote,
//!    every value with its span, nothing defaulted yet.
//! 3. [`plan::Plan::resolve`] applies the defaults, runs the cross-field checks, sizes every pool
//!    and attaches the sizing [`plan::Warning`]s.
//! 4. [`budget::Budget`] turns the plan's pools into the RAM table that `stackgen budget` prints.
//! 5. [`codegen::items`] turns the plan into the Rust items of the stack (`stackgen generate`,
//!    `#[stack_config]`).
//!
//! The command-line tool in `main.rs` is a thin wrapper around `cli::run` (feature `cli`, on by
//! default).

#![forbid(unsafe_code)]

pub mod board;
pub mod budget;
pub mod build;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codegen;
pub mod diagnostic;
pub mod plan;
pub mod profile;
pub mod report;
pub mod schema;
pub mod source;
pub mod units;
