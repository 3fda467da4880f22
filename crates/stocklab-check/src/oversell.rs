//! No oversell: stock never below zero, and never more withdrawn than was ever there.
//!
//! A negative stock is visible directly in a reported state. An oversell often is not: the unsafe
//! strategies let two withdrawals both take the last unit and both write 0, and the schema's
//! `CHECK (stock >= 0)` is satisfied. It shows in the totals instead: the units withdrawn
//! successfully exceed every unit that could have been there, the initial stock plus every receipt
//! that may have happened plus every quantity a stock-take may have set. (A stock-take raises stock
//! by its quantity minus a stock that is never negative under a correct service, so at most by its
//! quantity.)

use crate::by_product::{Action, ProductHistory, Seen, Step};
use crate::report::{Anomaly, AnomalyKind, count};

/// At most this many operations are given as evidence of a negative stock.
const NEGATIVE_EVIDENCE: usize = 10;

pub(crate) fn check(history: &ProductHistory, anomalies: &mut Vec<Anomaly>) {
    anomalies.extend(negative_stock(history));
    anomalies.extend(oversell(history));
}

fn negative_stock(history: &ProductHistory) -> Option<Anomaly> {
    let negative: Vec<&Step> = history
        .steps
        .iter()
        .filter(|step| step.state().is_some_and(|state| state.stock < 0))
        .collect();
    let final_stock = history.end.map(|end| end.stock).filter(|&stock| stock < 0);
    let lowest = negative
        .iter()
        .filter_map(|step| step.state().map(|state| state.stock))
        .chain(final_stock)
        .min()?;
    let first = match negative.first() {
        Some(step) => format!("operation {} reported it first", step.op.id),
        None => "the final state shows it".to_owned(),
    };
    let mut anomaly = Anomaly::new(
        AnomalyKind::NegativeStock,
        history.product(),
        format!(
            "stock went down to {lowest}; {} operations reported a negative stock, and {first}",
            negative.len()
        ),
    )
    .value("lowest_stock", lowest)
    .value("operations_reporting", count(negative.len()));
    if let Some(stock) = final_stock {
        anomaly = anomaly.value("final_stock", stock);
    }
    for step in negative.into_iter().take(NEGATIVE_EVIDENCE) {
        anomaly = anomaly.step(step);
    }
    Some(anomaly)
}

fn oversell(history: &ProductHistory) -> Option<Anomaly> {
    let mut supply = history.start.stock;
    let mut withdrawals: Vec<&Step> = Vec::new();
    for step in &history.steps {
        match (step.action, step.seen) {
            (Action::Adjust { delta }, _) if delta > 0 => supply += delta,
            (Action::Adjust { delta }, Seen::Ok(_)) if delta < 0 => withdrawals.push(step),
            (Action::StockTake { quantity, .. }, _) => supply += quantity,
            _ => {}
        }
    }
    let withdrawn: i64 = withdrawals.iter().map(|step| withdrawal(step)).sum();
    if withdrawn <= supply {
        return None;
    }
    // The evidence: the withdrawal that, in completion order, took the total past the supply.
    withdrawals.sort_by_key(|step| (step.op.complete_us, step.op.id));
    let mut running = 0;
    let crossing = withdrawals.iter().find(|step| {
        running += withdrawal(step);
        running > supply
    });
    let mut anomaly = Anomaly::new(
        AnomalyKind::Oversell,
        history.product(),
        format!(
            "{withdrawn} units were withdrawn successfully, but at most {supply} were ever \
             available (the initial {}, receipts and stock-takes included)",
            history.start.stock
        ),
    )
    .value("withdrawn", withdrawn)
    .value("supply", supply)
    .value("initial_stock", history.start.stock)
    .value("successful_withdrawals", count(withdrawals.len()));
    if let Some(step) = crossing {
        anomaly = anomaly.step(step);
    }
    Some(anomaly)
}

/// The units a withdrawal took (a positive number).
fn withdrawal(step: &Step) -> i64 {
    match step.action {
        Action::Adjust { delta } => -delta.min(0),
        Action::StockTake { .. } | Action::Read => 0,
    }
}
