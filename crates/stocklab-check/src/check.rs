//! [`check`]: every check, product by product, gathered into one [`Report`].

use std::time::{Duration, Instant};

use crate::by_product::ProductHistory;
use crate::history::{History, Outcome};
use crate::report::{Anomaly, Linearizability, OutcomeCounts, ProductLinearizability, Report};
use crate::{audit, by_product, conservation, linearizability, oversell, reads, versions};

/// What [`check`] should do beyond the checks that always run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// `None` skips the linearizability search; `Some(limit)` runs it product by product until
    /// `limit` has passed in total, and reports the products it could not decide as unknown.
    pub linearizability: Option<Duration>,
}

/// Checks a history and reports every anomaly found.
///
/// The checks are sound for a correct service: overlapping operations and unknown outcomes only
/// widen what is allowed, so an anomaly is always a real violation. A history that breaks the rules
/// of [`History::validate`] is still checked as far as it can be, with notes on what was left out.
pub fn check(history: &History, options: &CheckOptions) -> Report {
    let split = by_product::split(history);
    let mut anomalies = Vec::new();
    let mut notes = Vec::new();
    for product in &split.products {
        versions::check(product, &mut anomalies);
        anomalies.extend(conservation::check(product));
        oversell::check(product, &mut anomalies);
        reads::check(product, &mut anomalies);
    }
    match &history.end {
        Some(end) => audit::check(end, &mut anomalies),
        None => notes.push(
            "no end record (the run did not finish cleanly): final stock and versions not checked"
                .to_owned(),
        ),
    }
    if split.unknown_product_ops > 0 {
        notes.push(format!(
            "{} operation lines touch products the start record does not list; they were not checked",
            split.unknown_product_ops
        ));
    }
    if split.missing_states > 0 {
        notes.push(format!(
            "{} successful operation lines report no state for their product; they were checked as unknown",
            split.missing_states
        ));
    }
    let linearizability = match options.linearizability {
        None => Linearizability::skipped(),
        Some(limit) => search_each_product(&split.products, limit, &mut anomalies),
    };
    Report {
        operations: history.ops.len(),
        products: history.start.products.len(),
        outcomes: count_outcomes(history),
        anomalies,
        linearizability,
        notes,
    }
}

/// Runs the linearizability search on each product until `limit` has passed in total; the products
/// left when it has are undecided.
fn search_each_product(
    products: &[ProductHistory],
    limit: Duration,
    anomalies: &mut Vec<Anomaly>,
) -> Linearizability {
    let deadline = Instant::now() + limit;
    let verdicts = products
        .iter()
        .map(|product| {
            let (verdict, anomaly) = linearizability::check(product, deadline);
            anomalies.extend(anomaly);
            ProductLinearizability {
                product: product.product(),
                verdict,
            }
        })
        .collect();
    Linearizability::of_products(verdicts)
}

fn count_outcomes(history: &History) -> OutcomeCounts {
    let mut counts = OutcomeCounts::default();
    for op in &history.ops {
        match op.outcome {
            Outcome::Ok { .. } => counts.ok += 1,
            Outcome::Fail { .. } => counts.fail += 1,
            Outcome::Unknown { .. } => counts.unknown += 1,
        }
    }
    counts
}
