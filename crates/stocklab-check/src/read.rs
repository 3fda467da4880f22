//! Reading a history from JSON Lines, and the rules every history must follow before the checker
//! can trust it.
//!
//! The rules are checked as the lines are read, so an error names the line at fault. A history
//! built in memory goes through the same rules with [`History::validate`], which names the line the
//! faulty record would have in a file (the start is line 1, operation `i` is line `i + 2`).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::history::{End, History, OpKind, Operation, Outcome, Record, Start};

/// Why a history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("cannot open the history {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read line {line} of the history: {source}")]
    Io { line: usize, source: io::Error },
    #[error("line {line} of the history: {problem}")]
    Line { line: usize, problem: LineProblem },
}

/// What is wrong with one line of a history.
#[derive(Debug, thiserror::Error)]
pub enum LineProblem {
    #[error("malformed record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the history must begin with a start record (`\"type\":\"start\"`)")]
    MissingStart,
    #[error("a second start record")]
    SecondStart,
    #[error("a record after the end record")]
    AfterEnd,
    #[error("product {product} is listed twice")]
    DuplicateProduct { product: i64 },
    #[error("product {product} is not in the start record")]
    UnknownProduct { product: i64 },
    #[error("operation id {id} was already used on line {first_line}")]
    DuplicateId { id: u64, first_line: usize },
    #[error("operation {id} touches product {product}, which is not in the start record")]
    OpOnUnknownProduct { id: u64, product: i64 },
    #[error(
        "operation {id} completes at {complete_us} µs, before its invocation at {invoke_us} µs"
    )]
    CompleteBeforeInvoke {
        id: u64,
        invoke_us: u64,
        complete_us: u64,
    },
    #[error("operation {id} has quantity {quantity}; quantities cannot be negative")]
    NegativeQuantity { id: u64, quantity: i64 },
    #[error("operation {id} is an order without lines")]
    EmptyOrder { id: u64 },
    #[error("operation {id} succeeded but reports no state for product {product}")]
    MissingState { id: u64, product: i64 },
}

impl History {
    /// Reads a JSON Lines history: one start record, the operations, and at most one end record.
    /// Blank lines are ignored.
    pub fn from_reader(reader: impl BufRead) -> Result<History, HistoryError> {
        let mut lines = Lines { reader, line: 0 };
        let start = match lines.next_record()? {
            Some(Record::Start(start)) => start,
            _ => return Err(lines.error(LineProblem::MissingStart)),
        };
        let mut rules = Rules::new(&start).map_err(|problem| lines.error(problem))?;
        let mut ops = Vec::new();
        let mut end = None;
        while let Some(record) = lines.next_record()? {
            let checked = match record {
                _ if end.is_some() => Err(LineProblem::AfterEnd),
                Record::Start(_) => Err(LineProblem::SecondStart),
                Record::Op(op) => rules.op(&op, lines.line).map(|()| ops.push(op)),
                Record::End(last) => rules.end(&last).map(|()| end = Some(last)),
            };
            checked.map_err(|problem| lines.error(problem))?;
        }
        Ok(History { start, ops, end })
    }

    /// Reads the history in the file at `path` (see [`History::from_reader`]).
    pub fn from_path(path: &Path) -> Result<History, HistoryError> {
        let file = File::open(path).map_err(|source| HistoryError::Open {
            path: path.to_owned(),
            source,
        })?;
        // A large buffer: histories run to millions of short lines.
        History::from_reader(BufReader::with_capacity(1 << 20, file))
    }

    /// Applies the rules [`History::from_reader`] applies to a history built in memory.
    pub fn validate(&self) -> Result<(), HistoryError> {
        let at = |line: usize| move |problem| HistoryError::Line { line, problem };
        let mut rules = Rules::new(&self.start).map_err(at(1))?;
        for (index, op) in self.ops.iter().enumerate() {
            let line = index + 2;
            rules.op(op, line).map_err(at(line))?;
        }
        match &self.end {
            Some(end) => rules.end(end).map_err(at(self.ops.len() + 2)),
            None => Ok(()),
        }
    }
}

/// The non-blank lines of a history, parsed one record at a time into a reused buffer.
struct Lines<R> {
    reader: R,
    /// The number of the line read last, counting from 1.
    line: usize,
}

impl<R: BufRead> Lines<R> {
    fn next_record(&mut self) -> Result<Option<Record>, HistoryError> {
        let mut text = String::new();
        loop {
            text.clear();
            self.line += 1;
            let read = self
                .reader
                .read_line(&mut text)
                .map_err(|source| HistoryError::Io {
                    line: self.line,
                    source,
                })?;
            if read == 0 {
                return Ok(None);
            }
            if !text.trim().is_empty() {
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| self.error(LineProblem::Json(e)));
            }
        }
    }

    fn error(&self, problem: LineProblem) -> HistoryError {
        HistoryError::Line {
            line: self.line,
            problem,
        }
    }
}

/// The rules a history must follow, checked record by record.
struct Rules {
    products: HashSet<i64>,
    /// The line each operation id was first seen on, to name it when an id repeats.
    first_line_of_id: HashMap<u64, usize>,
}

impl Rules {
    fn new(start: &Start) -> Result<Rules, LineProblem> {
        let mut products = HashSet::with_capacity(start.products.len());
        for state in &start.products {
            if !products.insert(state.product) {
                return Err(LineProblem::DuplicateProduct {
                    product: state.product,
                });
            }
        }
        Ok(Rules {
            products,
            first_line_of_id: HashMap::new(),
        })
    }

    fn op(&mut self, op: &Operation, line: usize) -> Result<(), LineProblem> {
        let id = op.id;
        match self.first_line_of_id.entry(id) {
            Entry::Occupied(first) => {
                return Err(LineProblem::DuplicateId {
                    id,
                    first_line: *first.get(),
                });
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
        if op.complete_us < op.invoke_us {
            return Err(LineProblem::CompleteBeforeInvoke {
                id,
                invoke_us: op.invoke_us,
                complete_us: op.complete_us,
            });
        }
        if let OpKind::Order { lines } = &op.kind
            && lines.is_empty()
        {
            return Err(LineProblem::EmptyOrder { id });
        }
        for (product, quantity) in touched(&op.kind) {
            if !self.products.contains(&product) {
                return Err(LineProblem::OpOnUnknownProduct { id, product });
            }
            if quantity < 0 {
                return Err(LineProblem::NegativeQuantity { id, quantity });
            }
            if let Outcome::Ok { states } = &op.outcome
                && !states.iter().any(|state| state.product == product)
            {
                return Err(LineProblem::MissingState { id, product });
            }
        }
        Ok(())
    }

    fn end(&self, end: &End) -> Result<(), LineProblem> {
        let mut seen = HashSet::with_capacity(end.products.len());
        for state in &end.products {
            if !self.products.contains(&state.product) {
                return Err(LineProblem::UnknownProduct {
                    product: state.product,
                });
            }
            if !seen.insert(state.product) {
                return Err(LineProblem::DuplicateProduct {
                    product: state.product,
                });
            }
        }
        Ok(())
    }
}

/// Every (product, quantity) an operation names; a read names quantity 0.
fn touched(kind: &OpKind) -> Vec<(i64, i64)> {
    match kind {
        OpKind::Withdraw { product, quantity }
        | OpKind::Receive { product, quantity }
        | OpKind::StockTake {
            product, quantity, ..
        } => vec![(*product, *quantity)],
        OpKind::Order { lines } => lines.iter().map(|l| (l.product, l.quantity)).collect(),
        OpKind::Read { product } => vec![(*product, 0)],
    }
}
