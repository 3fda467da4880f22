//! The history of an experiment: every operation a client invoked, when, and what it learned.
//!
//! A history file is JSON Lines. The first line is a [`Record::Start`] (the data set as the
//! experiment found it), then one [`Record::Op`] per operation in completion order, and, when the
//! run finished cleanly, a [`Record::End`] with what the service reported afterwards. The
//! simulator writes it; the checker reads it. Times are microseconds since the experiment began,
//! on the simulator's clock, so two operations overlap exactly when their intervals do.

use serde::{Deserialize, Serialize};

/// A whole history, as the checker reads it: the start, every operation, and the end when the run
/// finished cleanly.
///
/// [`History::from_reader`] and [`History::from_path`] read one from JSON Lines and validate it; the
/// simulator may also build one in memory and hand it to [`crate::check`] directly, and call
/// [`History::validate`] to get the same errors a file would give.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub start: Start,
    /// In completion order, as the simulator writes them; the checker does not rely on the order.
    pub ops: Vec<Operation>,
    pub end: Option<End>,
}

/// One line of a history file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Start(Start),
    Op(Operation),
    End(End),
}

/// The experiment as it began.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Start {
    /// The strategy every change asked for (`?strategy=`), or `None` for the server's default.
    pub strategy: Option<String>,
    /// The race window asked for, in milliseconds.
    pub race_window_ms: u64,
    /// Every product of the experiment, as read before the first operation.
    pub products: Vec<ProductState>,
}

/// A product's stock and version as the service reported them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductState {
    pub product: i64,
    pub stock: i64,
    pub version: i64,
}

/// One operation: who invoked what, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique within the history, in invocation order.
    pub id: u64,
    /// The simulated client that invoked it; a client runs one operation at a time.
    pub client: u32,
    #[serde(flatten)]
    pub kind: OpKind,
    /// When the request was sent (or, at a fixed rate, was meant to be sent).
    pub invoke_us: u64,
    /// When the response arrived, or when the client gave up on it.
    pub complete_us: u64,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// What an operation asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OpKind {
    /// `POST /api/products/{product}/adjust {"delta": -quantity}`.
    Withdraw { product: i64, quantity: i64 },
    /// `POST /api/products/{product}/adjust {"delta": quantity}`.
    Receive { product: i64, quantity: i64 },
    /// `PUT /api/products/{product}/stock {"quantity", "expected_version"}`.
    StockTake {
        product: i64,
        quantity: i64,
        expected_version: Option<i64>,
    },
    /// `POST /api/orders`: withdraw every line or none.
    Order { lines: Vec<OrderLine> },
    /// `GET /api/products/{product}`.
    Read { product: i64 },
}

impl OpKind {
    /// The `kind` tag of the JSON line: `withdraw`, `receive`, `stock_take`, `order` or `read`.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Withdraw { .. } => "withdraw",
            OpKind::Receive { .. } => "receive",
            OpKind::StockTake { .. } => "stock_take",
            OpKind::Order { .. } => "order",
            OpKind::Read { .. } => "read",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product: i64,
    pub quantity: i64,
}

/// How an operation ended, as far as its client could tell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx: the state of every product the operation touched, right after it (one entry for
    /// a single-product operation, one per merged line for an order, ascending by product).
    Ok { states: Vec<ProductState> },
    /// A definite refusal: the service answered with an error and changed nothing.
    Fail {
        /// The error body's `code` (`insufficient_stock`, `version_mismatch`, ...).
        code: String,
        status: u16,
    },
    /// The client could not learn the result (timeout, dropped connection, 5xx after the
    /// request was sent): the change may or may not have happened.
    Unknown { reason: String },
}

/// What the service reported once the load had stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Every product of the experiment, read after the last operation completed.
    pub products: Vec<ProductState>,
    /// `GET /api/audit`: the products whose stock their ledger does not explain.
    pub audit_mismatches: Vec<AuditMismatch>,
}

/// One mismatch of `GET /api/audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditMismatch {
    pub product: i64,
    pub stock: i64,
    pub ledger_stock: i64,
}
