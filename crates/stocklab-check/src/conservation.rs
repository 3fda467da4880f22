//! Conservation: the final stock must be what the starting point and the changes since give.
//!
//! The starting point is the start record, or, when stock-takes succeeded, the successful
//! stock-take with the highest version: under a correct service it is the last stock-take, so
//! every earlier change is absorbed in the stock it set, and the changes after it are exactly the
//! successful adjustments that report a higher version. An unknown change is never guessed: each
//! one widens the allowed range by its delta (it happened or it did not), and an unknown stock-take
//! may have been the last one, so the range it would leave is allowed too.

use crate::by_product::{Action, ProductHistory, Seen};
use crate::report::{Anomaly, AnomalyKind};

/// Checks one product's final stock, if the history has an end record.
pub(crate) fn check(history: &ProductHistory) -> Option<Anomaly> {
    let end = history.end?;
    let baseline = history
        .steps
        .iter()
        .filter_map(|step| match (step.action, step.seen) {
            (Action::StockTake { .. }, Seen::Ok(state)) => Some((step, state)),
            _ => None,
        })
        .max_by_key(|(_, state)| state.version);
    let (base_stock, base_version) = match baseline {
        Some((_, state)) => (state.stock, Some(state.version)),
        None => (history.start.stock, None),
    };

    let mut since = Range::exactly(0);
    // Had an unknown stock-take been the last, the stock would be its quantity plus those of the
    // changes above that came after it: any subset of them.
    let mut subset = Range::exactly(0);
    let mut acknowledged = 0;
    let mut unknown = 0;
    let mut unknown_stock_takes = Vec::new();
    for step in &history.steps {
        match (step.action, step.seen) {
            (Action::Adjust { delta }, Seen::Ok(state))
                if base_version.is_none_or(|base| state.version > base) =>
            {
                since = since.shifted(delta);
                subset = subset.maybe_plus(delta);
                acknowledged += 1;
            }
            (Action::Adjust { delta }, Seen::Unknown) => {
                since = since.maybe_plus(delta);
                subset = subset.maybe_plus(delta);
                unknown += 1;
            }
            (Action::StockTake { quantity, .. }, Seen::Unknown) => {
                unknown_stock_takes.push(quantity);
                unknown += 1;
            }
            _ => {}
        }
    }
    let expected = since.shifted(base_stock);
    let explained = expected.contains(end.stock)
        || unknown_stock_takes
            .iter()
            .any(|&quantity| subset.shifted(quantity).contains(end.stock));
    if explained {
        return None;
    }

    let from = match baseline {
        Some((step, state)) => format!(
            "the stock-take {} set {} at version {}",
            step.op.id, state.stock, state.version
        ),
        None => format!("the start had {}", history.start.stock),
    };
    let expected_text = if expected.min == expected.max {
        format!("{}", expected.min)
    } else {
        format!("between {} and {}", expected.min, expected.max)
    };
    let mut anomaly = Anomaly::new(
        AnomalyKind::Conservation,
        history.product(),
        format!(
            "final stock {}, but {from}, and the {acknowledged} acknowledged and {unknown} unknown \
             changes since leave {expected_text}",
            end.stock
        ),
    )
    .value("final_stock", end.stock)
    .value("expected_min", expected.min)
    .value("expected_max", expected.max)
    .value("baseline_stock", base_stock)
    .value("acknowledged_changes", acknowledged)
    .value("unknown_changes", unknown);
    if let Some((step, _)) = baseline {
        anomaly = anomaly.step(step);
    }
    Some(anomaly)
}

/// The values a sum of deltas can take when some of them may not have happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    min: i64,
    max: i64,
}

impl Range {
    fn exactly(value: i64) -> Range {
        Range {
            min: value,
            max: value,
        }
    }

    fn maybe_plus(self, delta: i64) -> Range {
        Range {
            min: self.min + delta.min(0),
            max: self.max + delta.max(0),
        }
    }

    fn shifted(self, by: i64) -> Range {
        Range {
            min: self.min + by,
            max: self.max + by,
        }
    }

    fn contains(self, value: i64) -> bool {
        (self.min..=self.max).contains(&value)
    }
}
