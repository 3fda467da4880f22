//! The stocklab simulator: concurrent clients that drive one or more running service instances
//! over HTTP, as any external client would, record every operation in a history, and report
//! throughput, latency, refusals and the anomalies the checker (`stocklab-check`) finds.
//!
//! # Layout
//!
//! The simulator is a pipeline, each stage a module with one job:
//!
//! - [`args`]: `stocklab sim`'s options, parsed and checked, become one [`Plan`] ([`plan`]).
//! - [`experiment`]: checks that every instance answers, then runs each strategy in turn
//!   through the `runner` and checks each history; Ctrl-C stops the load, not the report.
//! - `runner`: one strategy: reset the data set, start the clients, merge their logs into a
//!   history, read the end state and the audit.
//! - `workload`: what each client asks for next, from a per-client seeded generator.
//! - `ops`: an operation as an HTTP request, and its reply as an outcome (`ok`, `fail`,
//!   `unknown`); `api`: the calls around an experiment (health, reset, product list, audit).
//! - `client`: one keep-alive HTTP/1.1 connection per client, on hyper's connection API.
//! - [`stats`]: throughput and latency percentiles (HDR histogram) from the history;
//!   `progress`: the live progress bar.
//! - [`report`]: the text on stdout; [`files`]: `--json` and `--history`.

mod api;
pub mod args;
mod client;
pub mod error;
pub mod experiment;
pub mod files;
mod ops;
pub mod plan;
mod progress;
pub mod report;
mod runner;
pub mod stats;
mod workload;

pub use args::SimArgs;
pub use error::SimError;
pub use experiment::{Experiment, StrategyResult, run};
pub use plan::Plan;
