//! Reads within bounds: a read must return a state the product could have been in at some moment
//! between the read's invocation and its completion.
//!
//! The version decides it, because under a correct service each version is one state:
//!
//! - The version cannot be older than one an acknowledged change reported before the read was
//!   invoked (that change had taken effect), nor newer than the start plus every change, known or
//!   unknown, invoked before the read completed, nor as new as one a change invoked after the read
//!   completed reported (that change took effect later).
//! - The stock must be the one the version stands for: the start's for the start version, or one
//!   of those the acknowledged changes at that version reported. A version only an unknown change
//!   can have made pins nothing, and is let through.
//!
//! Only acknowledged changes bound a read, by their reported versions rather than by counting
//! them, so that one lost update does not make every later read look stale.

use crate::by_product::{ProductHistory, Seen, Step};
use crate::history::ProductState;
use crate::report::{Anomaly, AnomalyKind, count};

pub(crate) fn check(history: &ProductHistory, anomalies: &mut Vec<Anomaly>) {
    let bounds = Bounds::new(history);
    for read in history.steps.iter().filter(|step| !step.is_change()) {
        if let Seen::Ok(state) = read.seen {
            anomalies.extend(bounds.check(history, read, state));
        }
    }
}

/// The acknowledged changes of one product, indexed for the three questions a read asks.
struct Bounds<'a, 'h> {
    /// By completion time, with the running maximum of the versions reported so far.
    by_completion: Vec<(u64, Latest<'a, 'h>)>,
    /// By invocation time, with the minimum of the versions reported from there on.
    by_invocation: Vec<(u64, Latest<'a, 'h>)>,
    /// By version, to find the stocks a version stands for.
    by_version: Vec<(i64, &'a Step<'h>)>,
    /// The invocation times of every change, acknowledged or unknown, in order.
    change_invocations: Vec<u64>,
}

/// A reported version and the change that reported it.
#[derive(Clone, Copy)]
struct Latest<'a, 'h> {
    version: i64,
    step: &'a Step<'h>,
}

impl<'a, 'h> Bounds<'a, 'h> {
    fn new(history: &'a ProductHistory<'h>) -> Bounds<'a, 'h> {
        let acknowledged: Vec<Latest> = history
            .steps
            .iter()
            .filter(|step| step.is_change())
            .filter_map(|step| {
                let version = step.state()?.version;
                Some(Latest { version, step })
            })
            .collect();

        let mut by_completion: Vec<(u64, Latest)> = acknowledged
            .iter()
            .map(|latest| (latest.step.op.complete_us, *latest))
            .collect();
        by_completion.sort_unstable_by_key(|(time, _)| *time);
        for i in 1..by_completion.len() {
            if by_completion[i].1.version < by_completion[i - 1].1.version {
                by_completion[i].1 = by_completion[i - 1].1;
            }
        }

        let mut by_invocation: Vec<(u64, Latest)> = acknowledged
            .iter()
            .map(|latest| (latest.step.op.invoke_us, *latest))
            .collect();
        by_invocation.sort_unstable_by_key(|(time, _)| *time);
        for i in (0..by_invocation.len().saturating_sub(1)).rev() {
            if by_invocation[i].1.version > by_invocation[i + 1].1.version {
                by_invocation[i].1 = by_invocation[i + 1].1;
            }
        }

        let mut by_version: Vec<(i64, &Step)> = acknowledged
            .iter()
            .map(|latest| (latest.version, latest.step))
            .collect();
        by_version.sort_unstable_by_key(|(version, _)| *version);

        let mut change_invocations: Vec<u64> = history
            .steps
            .iter()
            .filter(|step| step.is_change())
            .map(|step| step.op.invoke_us)
            .collect();
        change_invocations.sort_unstable();

        Bounds {
            by_completion,
            by_invocation,
            by_version,
            change_invocations,
        }
    }

    fn check(&self, history: &ProductHistory, read: &Step, seen: ProductState) -> Option<Anomaly> {
        let product = history.product();
        let start = history.start;
        let (invoke, complete) = (read.op.invoke_us, read.op.complete_us);
        let stale = |message: String| {
            Anomaly::new(AnomalyKind::StaleRead, product, message)
                .step(read)
                .value("read_stock", seen.stock)
                .value("read_version", seen.version)
        };

        // Acknowledged changes that completed strictly before the read was invoked, and the start.
        let before = self
            .by_completion
            .partition_point(|(time, _)| *time < invoke);
        let latest = before
            .checked_sub(1)
            .and_then(|i| self.by_completion.get(i))
            .map(|&(_, latest)| latest)
            .filter(|latest| latest.version > start.version);
        let at_least = latest.map_or(start.version, |latest| latest.version);
        if seen.version < at_least {
            let (by, step) = match latest {
                Some(latest) => (
                    format!("operation {}", latest.step.op.id),
                    Some(latest.step),
                ),
                None => ("the start".to_owned(), None),
            };
            let mut anomaly = stale(format!(
                "read {} returned version {}, but {by} had already reported version {at_least} \
                 when the read was invoked",
                read.op.id, seen.version
            ))
            .value("at_least_version", at_least);
            if let Some(step) = step {
                anomaly = anomaly.step(step);
            }
            return Some(anomaly);
        }

        // Acknowledged changes invoked strictly after the read completed.
        let after = self
            .by_invocation
            .partition_point(|(time, _)| *time <= complete);
        if let Some(&(_, later)) = self.by_invocation.get(after)
            && seen.version >= later.version
        {
            return Some(
                stale(format!(
                    "read {} returned version {}, but operation {}, invoked after the read \
                     completed, reported version {}",
                    read.op.id, seen.version, later.step.op.id, later.version
                ))
                .step(later.step)
                .value("below_version", later.version),
            );
        }

        let possible = count(self.change_invocations.partition_point(|&t| t <= complete));
        if seen.version > start.version + possible {
            return Some(
                stale(format!(
                    "read {} returned version {}, but from version {} the {possible} changes \
                     invoked before it completed reach at most version {}",
                    read.op.id,
                    seen.version,
                    start.version,
                    start.version + possible
                ))
                .value("start_version", start.version)
                .value("possible_changes", possible),
            );
        }

        let from = self.by_version.partition_point(|(v, _)| *v < seen.version);
        let to = self.by_version.partition_point(|(v, _)| *v <= seen.version);
        let at_version = &self.by_version[from..to];
        let stock_of = |step: &Step| step.state().map(|state| state.stock);
        let pinned = if seen.version == start.version && at_version.is_empty() {
            Some(start.stock)
        } else if at_version
            .iter()
            .any(|&(_, step)| stock_of(step) == Some(seen.stock))
        {
            None
        } else {
            at_version.first().and_then(|&(_, step)| stock_of(step))
        };
        let expected = pinned.filter(|&stock| stock != seen.stock)?;
        let mut anomaly = stale(format!(
            "read {} returned stock {} at version {}, but the product had stock {expected} at \
             that version",
            read.op.id, seen.stock, seen.version
        ))
        .value("stock_at_version", expected);
        if let Some(&(_, step)) = at_version.first() {
            anomaly = anomaly.step(step);
        }
        Some(anomaly)
    }
}
