//! Histories written as timelines: `t.withdraw(P, 1, 0..10).ok(9, 5)` is "client invokes a
//! withdrawal of 1 unit of product P at 0 µs, learns at 10 µs that it left stock 9 at version 5".
#![allow(dead_code, clippy::unwrap_used)]

use std::ops::Range;
use std::time::Duration;

use stocklab_check::history::{
    AuditMismatch, End, OpKind, Operation, OrderLine, Outcome, ProductState, Start,
};
use stocklab_check::{AnomalyKind, CheckOptions, History, Report, check};

pub const P: i64 = 1;
pub const Q: i64 = 2;

/// A history under construction. Operation ids count from 1, in the order they are written.
pub struct Timeline {
    pub history: History,
}

/// One operation waiting for its outcome.
pub struct Invoked<'t> {
    timeline: &'t mut Timeline,
    kind: OpKind,
    time: Range<u64>,
}

impl Timeline {
    /// Products as `(product, stock, version)`.
    pub fn new(products: &[(i64, i64, i64)]) -> Timeline {
        Timeline {
            history: History {
                start: Start {
                    strategy: Some("atomic".to_owned()),
                    race_window_ms: 0,
                    products: states(products),
                },
                ops: Vec::new(),
                end: None,
            },
        }
    }

    pub fn withdraw(&mut self, product: i64, quantity: i64, time: Range<u64>) -> Invoked<'_> {
        self.invoke(OpKind::Withdraw { product, quantity }, time)
    }

    pub fn receive(&mut self, product: i64, quantity: i64, time: Range<u64>) -> Invoked<'_> {
        self.invoke(OpKind::Receive { product, quantity }, time)
    }

    pub fn stock_take(
        &mut self,
        product: i64,
        quantity: i64,
        expected_version: Option<i64>,
        time: Range<u64>,
    ) -> Invoked<'_> {
        let kind = OpKind::StockTake {
            product,
            quantity,
            expected_version,
        };
        self.invoke(kind, time)
    }

    /// Lines as `(product, quantity)`.
    pub fn order(&mut self, lines: &[(i64, i64)], time: Range<u64>) -> Invoked<'_> {
        let lines = lines
            .iter()
            .map(|&(product, quantity)| OrderLine { product, quantity })
            .collect();
        self.invoke(OpKind::Order { lines }, time)
    }

    pub fn read(&mut self, product: i64, time: Range<u64>) -> Invoked<'_> {
        self.invoke(OpKind::Read { product }, time)
    }

    /// The end record, products as `(product, stock, version)`, with a clean audit.
    pub fn end(&mut self, products: &[(i64, i64, i64)]) -> &mut Timeline {
        self.history.end = Some(End {
            products: states(products),
            audit_mismatches: Vec::new(),
        });
        self
    }

    /// Adds an audit mismatch to the end record.
    pub fn audit_mismatch(&mut self, product: i64, stock: i64, ledger_stock: i64) {
        let end = self.history.end.as_mut().expect("end() first");
        end.audit_mismatches.push(AuditMismatch {
            product,
            stock,
            ledger_stock,
        });
    }

    pub fn check(&self) -> Report {
        self.history.validate().expect("the test history is valid");
        check(&self.history, &CheckOptions::default())
    }

    pub fn check_linearizability(&self, limit: Duration) -> Report {
        self.history.validate().expect("the test history is valid");
        let options = CheckOptions {
            linearizability: Some(limit),
        };
        check(&self.history, &options)
    }

    fn invoke(&mut self, kind: OpKind, time: Range<u64>) -> Invoked<'_> {
        Invoked {
            timeline: self,
            kind,
            time,
        }
    }
}

impl Invoked<'_> {
    /// Succeeded, leaving the product it touched at `stock`, `version`.
    pub fn ok(self, stock: i64, version: i64) {
        let product = match &self.kind {
            OpKind::Withdraw { product, .. }
            | OpKind::Receive { product, .. }
            | OpKind::StockTake { product, .. }
            | OpKind::Read { product } => *product,
            OpKind::Order { .. } => panic!("an order reports states(): one per product"),
        };
        self.ok_states(&[(product, stock, version)]);
    }

    /// Succeeded, with one `(product, stock, version)` per product touched.
    pub fn ok_states(self, products: &[(i64, i64, i64)]) {
        let states = states(products);
        self.finish(Outcome::Ok { states });
    }

    pub fn fail(self, code: &str) {
        let code = code.to_owned();
        self.finish(Outcome::Fail { code, status: 409 });
    }

    pub fn unknown(self) {
        let reason = "timeout".to_owned();
        self.finish(Outcome::Unknown { reason });
    }

    fn finish(self, outcome: Outcome) {
        let ops = &mut self.timeline.history.ops;
        let id = ops.len() as u64 + 1;
        ops.push(Operation {
            id,
            client: id as u32,
            kind: self.kind,
            invoke_us: self.time.start,
            complete_us: self.time.end,
            outcome,
        });
    }
}

pub fn states(products: &[(i64, i64, i64)]) -> Vec<ProductState> {
    products
        .iter()
        .map(|&(product, stock, version)| ProductState {
            product,
            stock,
            version,
        })
        .collect()
}

/// The kinds of the report's anomalies, in order.
pub fn kinds(report: &Report) -> Vec<AnomalyKind> {
    report.anomalies.iter().map(|a| a.kind).collect()
}

/// Asserts that the report is consistent, showing it when it is not.
pub fn assert_consistent(report: &Report) {
    assert!(report.is_consistent(), "expected consistent:\n{report}");
}
