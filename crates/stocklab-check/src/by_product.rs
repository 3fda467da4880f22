//! One product's view of a history, which is what every check works on.
//!
//! Every invariant the checker knows is about one product, so the history is split once: an
//! operation becomes one [`Step`] per product it touches (an order becomes one withdrawal per
//! merged line), with the outcome as that product saw it. Refused operations are left out: they
//! changed nothing, and the checks do not judge refusals.

use std::collections::HashMap;

use crate::history::{History, OpKind, Operation, Outcome, ProductState};

/// What an operation did to one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// A withdrawal (negative, including an order's line) or a receipt (positive).
    Adjust {
        delta: i64,
    },
    StockTake {
        quantity: i64,
        expected_version: Option<i64>,
    },
    Read,
}

/// What the client learned about one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The state right after the operation.
    Ok(ProductState),
    /// Nothing: the operation may have happened at any time after its invocation, or never.
    Unknown,
}

/// One operation as one product saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Step<'h> {
    pub op: &'h Operation,
    pub action: Action,
    pub seen: Seen,
}

impl Step<'_> {
    /// Whether the step changes stock and version when it happens (everything but a read).
    pub fn is_change(&self) -> bool {
        self.action != Action::Read
    }

    /// The state the step reported, if it succeeded.
    pub fn state(&self) -> Option<ProductState> {
        match self.seen {
            Seen::Ok(state) => Some(state),
            Seen::Unknown => None,
        }
    }
}

/// Everything a history says about one product.
#[derive(Debug)]
pub(crate) struct ProductHistory<'h> {
    pub start: ProductState,
    /// The state read after the load stopped, when the history has an end record.
    pub end: Option<ProductState>,
    /// In the order of the history's operations.
    pub steps: Vec<Step<'h>>,
}

impl ProductHistory<'_> {
    pub fn product(&self) -> i64 {
        self.start.product
    }
}

/// The history split by product, in the order of the start record, with what did not fit.
#[derive(Debug)]
pub(crate) struct Split<'h> {
    pub products: Vec<ProductHistory<'h>>,
    /// Operations on products the start record does not list; they are left out of every check.
    pub unknown_product_ops: usize,
    /// Successful operations that report no state for a product they touched; they are checked as
    /// unknown for that product, which only widens what is allowed.
    pub missing_states: usize,
}

/// Splits a history by product. Works on any history, valid or not (see [`Split`]).
pub(crate) fn split(history: &History) -> Split<'_> {
    let mut products: Vec<ProductHistory> = history
        .start
        .products
        .iter()
        .map(|&start| ProductHistory {
            start,
            end: None,
            steps: Vec::new(),
        })
        .collect();
    let index: HashMap<i64, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.product(), i))
        .collect();
    if let Some(end) = &history.end {
        for state in &end.products {
            if let Some(&i) = index.get(&state.product) {
                products[i].end = Some(*state);
            }
        }
    }
    let mut split = Split {
        products,
        unknown_product_ops: 0,
        missing_states: 0,
    };
    for op in &history.ops {
        let ok_states = match &op.outcome {
            Outcome::Fail { .. } => continue,
            Outcome::Unknown { .. } if matches!(op.kind, OpKind::Read { .. }) => continue,
            Outcome::Ok { states } => Some(states.as_slice()),
            Outcome::Unknown { .. } => None,
        };
        for_each_action(&op.kind, |product, action| {
            let Some(&i) = index.get(&product) else {
                split.unknown_product_ops += 1;
                return;
            };
            let seen = match ok_states {
                None => Seen::Unknown,
                Some(states) => match states.iter().find(|s| s.product == product) {
                    Some(state) => Seen::Ok(*state),
                    None => {
                        split.missing_states += 1;
                        Seen::Unknown
                    }
                },
            };
            split.products[i].steps.push(Step { op, action, seen });
        });
    }
    split
}

/// Calls `f` once per product the operation touches, with what it does there. An order's lines
/// are merged per product first, as the service merges them.
fn for_each_action(kind: &OpKind, mut f: impl FnMut(i64, Action)) {
    match kind {
        OpKind::Withdraw { product, quantity } => f(*product, Action::Adjust { delta: -quantity }),
        OpKind::Receive { product, quantity } => f(*product, Action::Adjust { delta: *quantity }),
        OpKind::StockTake {
            product,
            quantity,
            expected_version,
        } => f(
            *product,
            Action::StockTake {
                quantity: *quantity,
                expected_version: *expected_version,
            },
        ),
        OpKind::Read { product } => f(*product, Action::Read),
        OpKind::Order { lines } => {
            let mut merged: Vec<(i64, i64)> =
                lines.iter().map(|l| (l.product, l.quantity)).collect();
            merged.sort_unstable();
            merged.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    kept.1 += later.1;
                }
                same
            });
            for (product, quantity) in merged {
                f(product, Action::Adjust { delta: -quantity });
            }
        }
    }
}
