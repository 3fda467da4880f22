//! What the checker found: the [`Report`], its [`Anomaly`]s with their evidence, and the summary a
//! person reads (`Display`).
//!
//! The report is `Serialize` so the simulator can write it beside the history; every anomaly
//! carries the operations involved (ids, times, what they reported) and the numbers the check
//! compared, so that a reader can verify the claim against the history by hand.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::by_product::{Action, Seen, Step};

/// The result of [`crate::check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The number of operations in the history.
    pub operations: usize,
    /// The number of products in the start record.
    pub products: usize,
    pub outcomes: OutcomeCounts,
    pub anomalies: Vec<Anomaly>,
    pub linearizability: Linearizability,
    /// What the checker could not check, and why (no end record, operations it had to skip).
    pub notes: Vec<String>,
}

impl Report {
    /// Whether the checker found no anomaly. A linearizability search that ran out of time is not
    /// an anomaly: it proved nothing either way.
    pub fn is_consistent(&self) -> bool {
        self.anomalies.is_empty()
    }

    /// How many anomalies of each kind, in the order of [`AnomalyKind`].
    pub fn anomaly_counts(&self) -> BTreeMap<AnomalyKind, usize> {
        let mut counts = BTreeMap::new();
        for anomaly in &self.anomalies {
            *counts.entry(anomaly.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// How the operations of a history ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeCounts {
    pub ok: usize,
    pub fail: usize,
    pub unknown: usize,
}

/// One violation of an invariant, on one product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub product: i64,
    /// One sentence, for a person.
    pub message: String,
    /// The operations involved, in the order the message names them.
    pub operations: Vec<OpEvidence>,
    /// The numbers the check compared (`final_stock`, `expected_min`, `version`, ...).
    pub values: BTreeMap<&'static str, i64>,
}

impl Anomaly {
    pub(crate) fn new(kind: AnomalyKind, product: i64, message: String) -> Anomaly {
        Anomaly {
            kind,
            product,
            message,
            operations: Vec::new(),
            values: BTreeMap::new(),
        }
    }

    pub(crate) fn step(mut self, step: &Step) -> Anomaly {
        self.operations.push(OpEvidence::of(step));
        self
    }

    pub(crate) fn value(mut self, name: &'static str, value: i64) -> Anomaly {
        self.values.insert(name, value);
        self
    }
}

/// A count of operations as an evidence value, in the `i64` that stock and versions are measured in.
pub(crate) fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The kinds of anomaly, from the most to the least direct evidence of a lost change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// Two acknowledged changes report the same version, a change's result does not follow from
    /// the version it replaced, or fewer changes were kept than acknowledged.
    LostUpdate,
    /// More units were withdrawn successfully than were ever available.
    Oversell,
    /// A reported stock below zero.
    NegativeStock,
    /// The final stock is not the initial stock plus the acknowledged changes.
    Conservation,
    /// The service's own audit found stock its ledger does not explain.
    LedgerMismatch,
    /// A read returned a state that no order of the operations around it can produce.
    StaleRead,
    /// Versions that no operation of the history can account for.
    VersionGap,
    /// The linearizability search proved that no order of the operations explains the results.
    NonLinearizable,
}

impl AnomalyKind {
    /// The name used in JSON: `lost_update`, `oversell`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::LostUpdate => "lost_update",
            AnomalyKind::Oversell => "oversell",
            AnomalyKind::NegativeStock => "negative_stock",
            AnomalyKind::Conservation => "conservation",
            AnomalyKind::LedgerMismatch => "ledger_mismatch",
            AnomalyKind::StaleRead => "stale_read",
            AnomalyKind::VersionGap => "version_gap",
            AnomalyKind::NonLinearizable => "non_linearizable",
        }
    }

    /// `count` anomalies of this kind, in words: `2 lost updates`.
    fn describe(self, count: usize) -> String {
        let (one, many) = match self {
            AnomalyKind::LostUpdate => ("lost update", "lost updates"),
            AnomalyKind::Oversell => ("oversell", "oversells"),
            AnomalyKind::NegativeStock => ("negative stock", "negative stocks"),
            AnomalyKind::Conservation => ("conservation violation", "conservation violations"),
            AnomalyKind::LedgerMismatch => ("ledger mismatch", "ledger mismatches"),
            AnomalyKind::StaleRead => ("stale read", "stale reads"),
            AnomalyKind::VersionGap => ("version gap", "version gaps"),
            AnomalyKind::NonLinearizable => {
                ("non-linearizable product", "non-linearizable products")
            }
        };
        format!("{count} {}", if count == 1 { one } else { many })
    }
}

/// One operation, as evidence: what it did to the product in question and what it reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpEvidence {
    pub id: u64,
    pub client: u32,
    /// `withdraw`, `receive`, `stock_take`, `order` or `read`.
    pub kind: &'static str,
    pub invoke_us: u64,
    pub complete_us: u64,
    /// `ok` or `unknown` (refused operations are never evidence).
    pub outcome: &'static str,
    /// The signed change of stock, for a withdrawal, a receipt or an order's line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<i64>,
    /// The quantity a stock-take sets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_to: Option<i64>,
    /// The stock and version reported, for a successful operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

impl OpEvidence {
    pub(crate) fn of(step: &Step) -> OpEvidence {
        let op = step.op;
        let (delta, set_to) = match step.action {
            Action::Adjust { delta } => (Some(delta), None),
            Action::StockTake { quantity, .. } => (None, Some(quantity)),
            Action::Read => (None, None),
        };
        let state = step.state();
        OpEvidence {
            id: op.id,
            client: op.client,
            kind: op.kind.name(),
            invoke_us: op.invoke_us,
            complete_us: op.complete_us,
            outcome: match step.seen {
                Seen::Ok(_) => "ok",
                Seen::Unknown => "unknown",
            },
            delta,
            set_to,
            stock: state.map(|s| s.stock),
            version: state.map(|s| s.version),
        }
    }
}

/// What the linearizability search concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Linearizability {
    pub verdict: LinearizabilityVerdict,
    /// One entry per product searched (empty when the search was skipped).
    pub products: Vec<ProductLinearizability>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProductLinearizability {
    pub product: i64,
    pub verdict: LinearizabilityVerdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearizabilityVerdict {
    Linearizable,
    NotLinearizable,
    /// The time limit passed before the search could decide.
    Unknown,
    /// Not asked for ([`crate::CheckOptions::linearizability`] was `None`).
    Skipped,
}

impl Linearizability {
    pub(crate) fn skipped() -> Linearizability {
        Linearizability {
            verdict: LinearizabilityVerdict::Skipped,
            products: Vec::new(),
        }
    }

    /// The overall verdict of per-product verdicts: not linearizable if any product is not,
    /// unknown if any is undecided, linearizable otherwise.
    pub(crate) fn of_products(products: Vec<ProductLinearizability>) -> Linearizability {
        let any = |v| products.iter().any(|p| p.verdict == v);
        let verdict = if any(LinearizabilityVerdict::NotLinearizable) {
            LinearizabilityVerdict::NotLinearizable
        } else if any(LinearizabilityVerdict::Unknown) {
            LinearizabilityVerdict::Unknown
        } else {
            LinearizabilityVerdict::Linearizable
        };
        Linearizability { verdict, products }
    }

    fn count(&self, verdict: LinearizabilityVerdict) -> usize {
        self.products
            .iter()
            .filter(|p| p.verdict == verdict)
            .count()
    }
}

/// At most this many anomalies are listed in the summary; the report itself keeps all of them.
const ANOMALIES_SHOWN: usize = 20;

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let OutcomeCounts { ok, fail, unknown } = self.outcomes;
        writeln!(
            f,
            "{} operations ({ok} ok, {fail} failed, {unknown} unknown) on {} products",
            self.operations, self.products
        )?;
        for anomaly in self.anomalies.iter().take(ANOMALIES_SHOWN) {
            writeln!(
                f,
                "  {} on product {}: {}",
                anomaly.kind.as_str(),
                anomaly.product,
                anomaly.message
            )?;
        }
        if self.anomalies.len() > ANOMALIES_SHOWN {
            writeln!(
                f,
                "  ... and {} more",
                self.anomalies.len() - ANOMALIES_SHOWN
            )?;
        }
        writeln!(f, "linearizability: {}", self.linearizability)?;
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        if self.is_consistent() {
            write!(
                f,
                "verdict: CONSISTENT (no anomaly in {} operations",
                self.operations
            )?;
            if self.linearizability.verdict == LinearizabilityVerdict::Unknown {
                write!(f, "; linearizability undecided")?;
            }
            write!(f, ")")
        } else {
            let kinds: Vec<String> = self
                .anomaly_counts()
                .into_iter()
                .map(|(kind, count)| kind.describe(count))
                .collect();
            let count = self.anomalies.len();
            let noun = if count == 1 { "anomaly" } else { "anomalies" };
            write!(f, "verdict: {count} {noun}: {}", kinds.join(", "))
        }
    }
}

impl fmt::Display for Linearizability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use LinearizabilityVerdict as V;
        if self.verdict == V::Skipped {
            return write!(f, "skipped");
        }
        write!(
            f,
            "{} products linearizable, {} not, {} undecided (time limit)",
            self.count(V::Linearizable),
            self.count(V::NotLinearizable),
            self.count(V::Unknown)
        )
    }
}
