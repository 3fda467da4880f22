//! The service's own audit (`GET /api/audit`, in the end record): each product whose stock its
//! ledger does not explain is an anomaly the checker passes on, since the checker cannot see the
//! ledger itself.

use crate::history::End;
use crate::report::{Anomaly, AnomalyKind};

pub(crate) fn check(end: &End, anomalies: &mut Vec<Anomaly>) {
    for mismatch in &end.audit_mismatches {
        anomalies.push(
            Anomaly::new(
                AnomalyKind::LedgerMismatch,
                mismatch.product,
                format!(
                    "the audit found stock {}, but the ledger adds up to {}",
                    mismatch.stock, mismatch.ledger_stock
                ),
            )
            .value("stock", mismatch.stock)
            .value("ledger_stock", mismatch.ledger_stock),
        );
    }
}
