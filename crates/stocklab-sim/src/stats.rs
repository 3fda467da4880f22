//! The numbers of one experiment: throughput, latency percentiles (an HDR histogram), and how
//! the operations ended. Computed from the history after the load, so clients record nothing
//! but the history itself while they run.
//!
//! A latency is `complete - invoke`. At a fixed rate `invoke` is when the operation was due, not
//! when it was sent, so time spent queued behind a slow answer counts (no coordinated omission).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use stocklab_check::history::Outcome;

use crate::plan::Arrival;
use crate::runner::Run;

/// One experiment's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub elapsed_s: f64,
    pub operations: u64,
    /// Operations completed per second: the achieved rate.
    pub throughput: f64,
    /// The rate asked for with `--rate`, if any.
    pub offered_rate: Option<f64>,
    pub latency_ms: Latency,
    pub ok: u64,
    /// Refusals (`fail` outcomes) by error code.
    pub rejections: BTreeMap<String, u64>,
    /// Operations whose outcome the client could not learn.
    pub errors: u64,
    /// The errors by reason (`timeout`, `connection_lost`, `503 database_unavailable`, ...).
    pub errors_by_reason: BTreeMap<String, u64>,
    /// Retries the service reported (`x-stocklab-retries`).
    pub retries: u64,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Summary {
    pub fn of(run: &Run, arrival: Arrival) -> Self {
        // Microseconds from 1 µs to an hour, at three significant digits.
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)
            .unwrap_or_else(|_| unreachable!("the bounds are valid"));
        let mut ok = 0;
        let mut rejections = BTreeMap::new();
        let mut errors_by_reason = BTreeMap::new();
        for op in &run.history.ops {
            histogram.saturating_record(op.complete_us.saturating_sub(op.invoke_us).max(1));
            match &op.outcome {
                Outcome::Ok { .. } => ok += 1,
                Outcome::Fail { code, .. } => *rejections.entry(code.clone()).or_insert(0) += 1,
                Outcome::Unknown { reason } => {
                    *errors_by_reason.entry(reason.clone()).or_insert(0) += 1;
                }
            }
        }
        let operations = run.history.ops.len() as u64;
        let elapsed_s = run.elapsed.as_secs_f64();
        let ms = |quantile| histogram.value_at_quantile(quantile) as f64 / 1000.0;
        let latency_ms = if operations == 0 {
            Latency::default()
        } else {
            Latency {
                p50: ms(0.50),
                p90: ms(0.90),
                p99: ms(0.99),
                p999: ms(0.999),
                max: histogram.max() as f64 / 1000.0,
                mean: histogram.mean() / 1000.0,
            }
        };
        Self {
            elapsed_s,
            operations,
            throughput: operations as f64 / elapsed_s.max(1e-9),
            offered_rate: match arrival {
                Arrival::Closed => None,
                Arrival::Rate(rate) => Some(rate),
            },
            latency_ms,
            ok,
            rejections,
            errors: errors_by_reason.values().sum(),
            errors_by_reason,
            retries: run.retries,
        }
    }

    pub fn rejected(&self) -> u64 {
        self.rejections.values().sum()
    }
}
