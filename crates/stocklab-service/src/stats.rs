//! Counters per strategy: how many changes were attempted, applied and refused (by code), how
//! many optimistic retries they took, and how often and how long they waited for an in-process
//! lock. Kept since start-up or the last lab reset; `GET /api/stats` shows them.

use std::collections::BTreeMap;
use std::sync::PoisonError;
use std::time::Duration;

use chrono::{DateTime, Utc};
use stocklab_domain::Strategy;

use crate::ServiceError;

/// The counters of one strategy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrategyStats {
    pub attempts: u64,
    pub successes: u64,
    /// Refused or failed changes by error code (`insufficient_stock`, `conflict`, ...).
    pub rejections: BTreeMap<&'static str, u64>,
    pub retries: u64,
    /// Changes that found their in-process lock (or semaphore permit) taken and waited.
    pub lock_waits: u64,
    pub lock_wait_total: Duration,
}

/// Every strategy's counters at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub since: DateTime<Utc>,
    /// Only strategies that were used, in the lab's order.
    pub strategies: Vec<(Strategy, StrategyStats)>,
}

/// What one change did, for the counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub retries: u32,
    /// How long it waited for an in-process lock, if it had to.
    pub lock_wait: Option<Duration>,
}

#[derive(Debug)]
pub struct Stats {
    // A std mutex: every use is a few counter updates, never across an await.
    inner: std::sync::Mutex<Counters>,
}

#[derive(Debug)]
struct Counters {
    since: DateTime<Utc>,
    by_strategy: BTreeMap<usize, StrategyStats>,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            inner: std::sync::Mutex::new(Counters {
                since: Utc::now(),
                by_strategy: BTreeMap::new(),
            }),
        }
    }
}

impl Stats {
    /// Counts one change under `strategy` that ended in `result`.
    pub fn record(&self, strategy: Strategy, outcome: Outcome, result: Result<(), &ServiceError>) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let stats = inner.by_strategy.entry(position(strategy)).or_default();
        stats.attempts += 1;
        stats.retries += u64::from(outcome.retries);
        if let Some(waited) = outcome.lock_wait {
            stats.lock_waits += 1;
            stats.lock_wait_total += waited;
        }
        match result {
            Ok(()) => stats.successes += 1,
            Err(error) => *stats.rejections.entry(error.code()).or_default() += 1,
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        StatsSnapshot {
            since: inner.since,
            strategies: inner
                .by_strategy
                .iter()
                .map(|(&position, stats)| (Strategy::ALL[position], stats.clone()))
                .collect(),
        }
    }

    /// Starts counting afresh.
    pub fn reset(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.since = Utc::now();
        inner.by_strategy.clear();
    }
}

/// The strategy's place in [`Strategy::ALL`], which orders the snapshot.
fn position(strategy: Strategy) -> usize {
    Strategy::ALL
        .iter()
        .position(|&s| s == strategy)
        .unwrap_or_else(|| unreachable!("Strategy::ALL lists every strategy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_successes_rejections_retries_and_waits_per_strategy() {
        let stats = Stats::default();
        let waited = Outcome {
            retries: 0,
            lock_wait: Some(Duration::from_millis(5)),
        };
        stats.record(Strategy::Mutex, waited, Ok(()));
        stats.record(
            Strategy::Mutex,
            Outcome::default(),
            Err(&ServiceError::Conflict { retries: 10 }),
        );
        stats.record(
            Strategy::Optimistic,
            Outcome {
                retries: 3,
                lock_wait: None,
            },
            Ok(()),
        );
        let snapshot = stats.snapshot();
        let names: Vec<&str> = snapshot.strategies.iter().map(|(s, _)| s.name()).collect();
        assert_eq!(names, ["mutex", "optimistic"]);
        let mutex = &snapshot.strategies[0].1;
        assert_eq!(
            (mutex.attempts, mutex.successes, mutex.lock_waits),
            (2, 1, 1)
        );
        assert_eq!(mutex.rejections, BTreeMap::from([("conflict", 1)]));
        assert_eq!(mutex.lock_wait_total, Duration::from_millis(5));
        assert_eq!(snapshot.strategies[1].1.retries, 3);
        stats.reset();
        assert!(stats.snapshot().strategies.is_empty());
    }
}
