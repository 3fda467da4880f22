//! Overwrites: a change builds on the version it replaces, so a change whose result does not follow
//! from that version's state wrote over a change it never saw (`lost_update`).
//!
//! The service bumps the version in the statement that writes the stock (`version = version + 1`),
//! so a read-modify-write without a lock does not leave two changes at one version, which
//! `versions` would find: two withdrawals of 1 that both read stock 10 at version 4 write stock 9
//! at versions 5 and 6. Under a correct service each version is one state, and a change that
//! reports version v + 1 took effect on the state of version v. So wherever the history pins the
//! stock of version v (the start, or an acknowledged change or read that reported it), the change
//! that made v + 1 must report what it does to that stock: an adjustment or an order's line adds
//! its delta, a stock-take sets its quantity. Above, version 6 should have stock 8: the withdrawal
//! that made it wrote over the one that made version 5.
//!
//! A stock-take with an expected version only succeeds at that version, so it must report the
//! next one; one that reports a later version wrote over the changes that made the versions in
//! between (a count applied after a withdrawal it did not see).
//!
//! Only what the history pins is judged, which keeps the rule sound with overlapping and unknown
//! operations: a version that only an unknown change can have made has no known stock, so the
//! change after it is not judged; refused operations change nothing and report nothing. A version
//! that two changes report, or whose reports disagree on the stock, is already a lost update or a
//! stale read of its own: neither the changes at it nor the one after it are judged, so that each
//! lost change is reported once.

use crate::by_product::{Action, ProductHistory, Step};
use crate::history::OpKind;
use crate::report::{Anomaly, AnomalyKind};

/// At most this many overwritten changes are given as evidence against one stock-take.
const OVERWRITTEN_EVIDENCE: usize = 10;

/// One anomaly per acknowledged change that wrote over another.
pub(crate) fn check(history: &ProductHistory) -> Vec<Anomaly> {
    let versions = known_versions(history);
    let product = history.product();
    let mut anomalies = Vec::new();
    for (i, known) in versions.iter().enumerate() {
        let Some((change, reported)) = known.first_change else {
            continue;
        };
        if known.changes > 1 || known.version <= history.start.version {
            // Two changes at one version, or a version the start already had: `versions` reports
            // both.
            continue;
        }
        if let Action::StockTake {
            expected_version: Some(expected),
            ..
        } = change.action
            && expected
                .checked_add(1)
                .is_some_and(|next| known.version > next)
        {
            let below = versions.partition_point(|v| v.version <= expected);
            let overwritten = versions[below..i]
                .iter()
                .filter_map(|v| v.first_change.map(|(step, _)| step));
            anomalies.push(skipped_versions(
                product,
                change,
                known.version,
                expected,
                overwritten,
            ));
            continue;
        }
        let previous = i
            .checked_sub(1)
            .and_then(|p| versions.get(p))
            .filter(|p| known.version.checked_sub(1) == Some(p.version));
        if let Some(previous) = previous
            && let Some(stock) = previous.stock
            && let Some(expected) = result(change.action, stock)
            && expected != reported
        {
            let made = (known.version, reported);
            anomalies.push(unfounded(product, change, made, previous, stock, expected));
        }
    }
    anomalies
}

/// Who reported a version's state.
#[derive(Debug, Clone, Copy)]
enum Source<'a, 'h> {
    Start,
    /// An acknowledged change or read.
    Step(&'a Step<'h>),
}

/// Everything the history says about one version.
struct Known<'a, 'h> {
    version: i64,
    /// The stock every report of the version agrees on; `None` when they disagree.
    stock: Option<i64>,
    /// The report to cite for the stock: the start, else a change, else a read.
    source: Source<'a, 'h>,
    /// The first acknowledged change that reports the version (by id), and the stock it reported.
    first_change: Option<(&'a Step<'h>, i64)>,
    /// How many acknowledged changes report the version.
    changes: usize,
}

/// Every version from the start on that the start, an acknowledged change or a read reported,
/// ascending.
fn known_versions<'a, 'h>(history: &'a ProductHistory<'h>) -> Vec<Known<'a, 'h>> {
    let start = history.start;
    // (version, rank, id): the start first, then changes, then reads, each by id.
    let mut reports: Vec<((i64, u8, u64), i64, Source)> = history
        .steps
        .iter()
        .filter_map(|step| {
            let state = step.state().filter(|s| s.version >= start.version)?;
            let rank = if step.is_change() { 1 } else { 2 };
            Some((
                (state.version, rank, step.op.id),
                state.stock,
                Source::Step(step),
            ))
        })
        .collect();
    reports.push(((start.version, 0, 0), start.stock, Source::Start));
    reports.sort_unstable_by_key(|&(key, _, _)| key);

    reports
        .chunk_by(|a, b| a.0.0 == b.0.0)
        .map(|group| {
            let ((version, _, _), stock, source) = group[0];
            let mut changes = group.iter().filter_map(|&(_, stock, source)| match source {
                Source::Step(step) if step.is_change() => Some((step, stock)),
                _ => None,
            });
            let first = changes.next();
            Known {
                version,
                stock: group.iter().all(|r| r.1 == stock).then_some(stock),
                source,
                first_change: first,
                changes: usize::from(first.is_some()) + changes.count(),
            }
        })
        .collect()
}

/// The stock a change leaves when it takes effect on `stock`.
fn result(action: Action, stock: i64) -> Option<i64> {
    match action {
        Action::Adjust { delta } => stock.checked_add(delta),
        Action::StockTake { quantity, .. } => Some(quantity),
        Action::Read => None,
    }
}

/// A change whose reported stock does not follow from the stock of the version before it.
/// `made` is the version the change made and the stock it reported there.
fn unfounded(
    product: i64,
    change: &Step,
    (version, reported): (i64, i64),
    previous: &Known,
    previous_stock: i64,
    expected: i64,
) -> Anomaly {
    let previous_version = previous.version;
    let (seen_by, cited) = match previous.source {
        Source::Start => ("at the start".to_owned(), None),
        Source::Step(step) => {
            let verb = if step.is_change() {
                "reported"
            } else {
                "returned"
            };
            (format!("as {} {verb}", named(step)), Some(step))
        }
    };
    let doing = match change.action {
        Action::Adjust { delta } if delta < 0 => format!("taking {} from it", delta.unsigned_abs()),
        Action::Adjust { delta } => format!("adding {delta} to it"),
        Action::StockTake { quantity, .. } => format!("setting it to {quantity}"),
        Action::Read => "reading it".to_owned(),
    };
    let meaning = match (change.action, previous.source) {
        (Action::StockTake { .. }, _) => "the state it reported is not the one it set".to_owned(),
        (_, Source::Start) => "it did not build on the state it replaced".to_owned(),
        (_, Source::Step(_)) => format!(
            "it wrote over the change that made version {previous_version}, which it never saw"
        ),
    };
    let mut anomaly = Anomaly::new(
        AnomalyKind::LostUpdate,
        product,
        format!(
            "{} made version {version} with stock {reported}, but version {previous_version} had \
             stock {previous_stock} ({seen_by}), and {doing} leaves {expected}: {meaning}",
            named(change)
        ),
    )
    .step(change)
    .value("version", version)
    .value("reported_stock", reported)
    .value("previous_version", previous_version)
    .value("previous_stock", previous_stock)
    .value("expected_stock", expected);
    if let Some(step) = cited {
        anomaly = anomaly.step(step);
    }
    anomaly
}

/// A stock-take that succeeded at a version other than the one it expected.
fn skipped_versions<'a, 'h: 'a>(
    product: i64,
    stock_take: &Step,
    version: i64,
    expected: i64,
    overwritten: impl Iterator<Item = &'a Step<'h>>,
) -> Anomaly {
    let overwritten: Vec<&Step> = overwritten.take(OVERWRITTEN_EVIDENCE).collect();
    let (first, last) = (expected + 1, version - 1);
    let lost = version.saturating_sub(first);
    let what = if first == last {
        let by = match overwritten.as_slice() {
            [step] => format!(" ({})", named(step)),
            _ => String::new(),
        };
        format!("the change that made version {first}{by}")
    } else {
        format!("the {lost} changes that made versions {first} to {last}")
    };
    let mut anomaly = Anomaly::new(
        AnomalyKind::LostUpdate,
        product,
        format!(
            "{} expected version {expected} but made version {version}: it was applied to version \
             {last}, so it wrote over {what}, which it never saw",
            named(stock_take)
        ),
    )
    .step(stock_take)
    .value("version", version)
    .value("expected_version", expected)
    .value("lost_changes", lost);
    if let Some(state) = stock_take.state() {
        anomaly = anomaly.value("reported_stock", state.stock);
    }
    for step in overwritten {
        anomaly = anomaly.step(step);
    }
    anomaly
}

/// An operation as a message names it: `withdrawal 17`.
fn named(step: &Step) -> String {
    let noun = match step.op.kind {
        OpKind::Withdraw { .. } => "withdrawal",
        OpKind::Receive { .. } => "receipt",
        OpKind::StockTake { .. } => "stock-take",
        OpKind::Order { .. } => "order",
        OpKind::Read { .. } => "read",
    };
    format!("{noun} {}", step.op.id)
}
