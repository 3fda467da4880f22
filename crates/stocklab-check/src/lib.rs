//! What happened in an experiment (the [`history`]) and what can be proved from it ([`check`]).
//!
//! # Layout
//!
//! - [`history`]: the records of a history file, and [`History`], a whole history in memory.
//! - `read`: reading a history from JSON Lines, and the rules every history must follow
//!   ([`HistoryError`]).
//! - `by_product`: the history split into one timeline per product, which every check works on.
//! - `versions`, `conservation`, `oversell`, `reads`, `audit`: one check each (see their module
//!   docs).
//! - `overwrites`: the part of `versions` that finds a change which did not build on the version
//!   it replaced (a lost update even when every version is unique).
//! - `linearizability`: the optional search for an order of the operations that explains every
//!   result, product by product, within a time limit.
//! - `check`: [`check`] runs them all; [`report`] is what it returns.

mod audit;
mod by_product;
mod check;
mod conservation;
pub mod history;
mod linearizability;
mod oversell;
mod overwrites;
mod read;
mod reads;
pub mod report;
mod versions;

pub use check::{CheckOptions, check};
pub use history::History;
pub use read::{HistoryError, LineProblem};
pub use report::{Anomaly, AnomalyKind, Report};
