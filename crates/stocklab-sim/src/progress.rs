//! The live progress line: operations done, their rate, refusals and errors.
//!
//! Clients only bump three atomic counters; a ticker task redraws the bar a few times a second
//! from them, so drawing costs the clients nothing. The bar goes to stderr, and only when stderr
//! is a terminal and `--quiet` is off, so that stdout carries just the report.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use stocklab_check::history::Outcome;
use tokio::task::JoinHandle;

use crate::plan::Budget;

/// How the operations of the running experiment have ended so far.
#[derive(Debug, Default)]
pub struct Counters {
    done: AtomicU64,
    rejected: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    pub fn record(&self, outcome: &Outcome) {
        self.done.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Outcome::Ok { .. } => {}
            Outcome::Fail { .. } => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Unknown { .. } => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A progress bar for one experiment, redrawn by its own task until [`Progress::finish`].
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    counters: Arc<Counters>,
    ticker: JoinHandle<()>,
}

impl Progress {
    pub fn start(label: String, budget: Budget, quiet: bool) -> Self {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            match budget {
                Budget::Ops(ops) => ProgressBar::new(ops).with_style(style(
                    "{prefix:>16} [{elapsed_precise}] {wide_bar} {pos}/{len} ops {msg}",
                )),
                Budget::Duration(_) => ProgressBar::new_spinner()
                    .with_style(style("{prefix:>16} [{elapsed_precise}] {pos} ops {msg}")),
            }
        };
        bar.set_prefix(label);
        let counters = Arc::new(Counters::default());
        let ticker = tokio::spawn(tick(bar.clone(), Arc::clone(&counters)));
        Self {
            bar,
            counters,
            ticker,
        }
    }

    /// What the clients count into.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Stops redrawing and clears the bar, so the report starts on a clean line.
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

async fn tick(bar: ProgressBar, counters: Arc<Counters>) {
    let started = Instant::now();
    let mut interval = tokio::time::interval(Duration::from_millis(200));
    loop {
        interval.tick().await;
        let done = counters.done.load(Ordering::Relaxed);
        let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-3);
        bar.set_position(done);
        bar.set_message(format!(
            "{rate:>8.0}/s  {} rejected  {} errors",
            counters.rejected.load(Ordering::Relaxed),
            counters.errors.load(Ordering::Relaxed)
        ));
    }
}
