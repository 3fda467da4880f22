//! What happened in an experiment (the [`history`]) and what can be proved from it.

pub mod history;
