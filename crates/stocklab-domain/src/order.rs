//! An order's lines, parsed into the shape the store needs to withdraw them safely: one line per
//! product (repeated lines merged, so a product cannot pass the stock check twice with half the
//! quantity each time) and sorted by ascending product id (so every order locks rows in the same
//! order, and two orders cannot deadlock each other).

use std::collections::BTreeMap;

use crate::{MAX_QUANTITY, ProductId, Quantity, Shortage, StockError, StockLevel, ValidationError};

/// One merged line: withdraw `quantity` (at least 1) of `product_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

/// The lines of an order: non-empty, one per product, ascending by product id; and the order
/// in which the request first named each product, for the lab's unordered locking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLines {
    lines: Vec<OrderLine>,
    request_order: Vec<ProductId>,
}

/// The order in which an order's rows are locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LockOrder {
    /// Ascending product id: every order locks in the same global order, so two orders can
    /// wait for each other but never deadlock.
    #[default]
    Ascending,
    /// The order the request named the products in (lab only): two orders naming the same
    /// products in opposite orders can deadlock.
    Request,
}

impl std::str::FromStr for LockOrder {
    type Err = ValidationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw {
            "ascending" => Ok(LockOrder::Ascending),
            "request" => Ok(LockOrder::Request),
            other => Err(ValidationError::new(
                "lock_order",
                format!("must be ascending or request, got {other:?}"),
            )),
        }
    }
}

impl OrderLines {
    /// The most lines one order may carry, before merging.
    pub const MAX_LINES: usize = 1000;

    /// Parses raw `(product_id, quantity)` pairs, merging repeated products.
    pub fn parse(raw: &[(i64, i64)]) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > Self::MAX_LINES {
            return Err(ValidationError::new(
                "lines",
                format!(
                    "must hold 1 to {} lines, got {}",
                    Self::MAX_LINES,
                    raw.len()
                ),
            ));
        }
        let mut merged: BTreeMap<ProductId, i64> = BTreeMap::new();
        let mut request_order = Vec::new();
        for (index, &(product_id, quantity)) in raw.iter().enumerate() {
            if product_id < 1 {
                return Err(ValidationError::new(
                    "lines",
                    format!("line {index}: product_id must be positive, got {product_id}"),
                ));
            }
            if !(1..=MAX_QUANTITY).contains(&quantity) {
                return Err(ValidationError::new(
                    "lines",
                    format!(
                        "line {index}: quantity must be between 1 and {MAX_QUANTITY}, got {quantity}"
                    ),
                ));
            }
            if !merged.contains_key(&product_id) {
                request_order.push(product_id);
            }
            let total = merged.entry(product_id).or_insert(0);
            *total += quantity;
            if *total > MAX_QUANTITY {
                return Err(ValidationError::new(
                    "lines",
                    format!("product {product_id}: the merged quantity exceeds {MAX_QUANTITY}"),
                ));
            }
        }
        let lines = merged
            .into_iter()
            .map(|(product_id, total)| {
                Quantity::parse("lines", total).map(|quantity| OrderLine {
                    product_id,
                    quantity,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            lines,
            request_order,
        })
    }

    /// The merged lines, ascending by product id.
    pub fn lines(&self) -> &[OrderLine] {
        &self.lines
    }

    /// The merged lines in the order their rows are to be locked.
    pub fn in_lock_order(&self, order: LockOrder) -> Vec<OrderLine> {
        match order {
            LockOrder::Ascending => self.lines.clone(),
            LockOrder::Request => self
                .request_order
                .iter()
                .filter_map(|id| {
                    self.lines
                        .iter()
                        .find(|line| line.product_id == *id)
                        .copied()
                })
                .collect(),
        }
    }
}

/// One line of an order as a read-modify-write will write it: the stock it computed from the
/// level it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderWrite {
    pub line: OrderLine,
    /// The stock after withdrawing the line from what was read.
    pub stock: Quantity,
    /// The version that was read: an optimistic write only succeeds if it is still current.
    pub read_version: i64,
}

/// Withdraws every line from the level read for it, all or nothing: the writes, or a refusal
/// that names every line that lacks stock (not just the first).
pub fn withdraw_all(reads: &[(OrderLine, StockLevel)]) -> Result<Vec<OrderWrite>, StockError> {
    let mut writes = Vec::with_capacity(reads.len());
    let mut shortages = Vec::new();
    for &(line, level) in reads {
        let requested = line.quantity.get();
        match Quantity::parse("stock", level.stock - requested) {
            Ok(stock) => writes.push(OrderWrite {
                line,
                stock,
                read_version: level.version,
            }),
            Err(_) => shortages.push(Shortage {
                product_id: line.product_id,
                requested,
                available: level.stock,
            }),
        }
    }
    if shortages.is_empty() {
        Ok(writes)
    } else {
        Err(StockError::InsufficientStock(shortages))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantities(lines: &OrderLines) -> Vec<(i64, i64)> {
        lines
            .lines()
            .iter()
            .map(|l| (l.product_id, l.quantity.get()))
            .collect()
    }

    #[test]
    fn repeated_products_are_merged_and_sorted() {
        let lines = OrderLines::parse(&[(9, 1), (2, 3), (9, 4)]).expect("valid lines");
        assert_eq!(quantities(&lines), vec![(2, 3), (9, 5)]);
    }

    #[test]
    fn request_order_is_the_order_products_were_first_named() {
        let lines = OrderLines::parse(&[(9, 1), (2, 3), (9, 4)]).expect("valid lines");
        let ids = |order| -> Vec<i64> {
            lines
                .in_lock_order(order)
                .iter()
                .map(|l| l.product_id)
                .collect()
        };
        assert_eq!(ids(LockOrder::Ascending), [2, 9]);
        assert_eq!(ids(LockOrder::Request), [9, 2]);
        assert_eq!(
            lines.in_lock_order(LockOrder::Request)[0].quantity.get(),
            5,
            "merged"
        );
    }

    #[test]
    fn withdrawing_all_lines_names_every_shortage_or_computes_every_stock() {
        let lines = OrderLines::parse(&[(1, 2), (2, 5), (3, 9)]).expect("valid lines");
        let level = |stock| StockLevel { stock, version: 7 };
        let reads: Vec<_> = lines.lines().iter().map(|&l| (l, level(4))).collect();
        let Err(StockError::InsufficientStock(shortages)) = withdraw_all(&reads) else {
            panic!("lines 2 and 3 lack stock");
        };
        let short: Vec<_> = shortages
            .iter()
            .map(|s| (s.product_id, s.available))
            .collect();
        assert_eq!(short, [(2, 4), (3, 4)]);

        let reads: Vec<_> = lines.lines().iter().map(|&l| (l, level(10))).collect();
        let writes = withdraw_all(&reads).expect("enough stock");
        let stocks: Vec<_> = writes
            .iter()
            .map(|w| (w.line.product_id, w.stock.get()))
            .collect();
        assert_eq!(stocks, [(1, 8), (2, 5), (3, 1)]);
        assert!(writes.iter().all(|w| w.read_version == 7));
    }

    #[test]
    fn rejects_empty_zero_negative_and_overflowing_lines() {
        assert!(OrderLines::parse(&[]).is_err());
        assert!(OrderLines::parse(&[(1, 0)]).is_err());
        assert!(OrderLines::parse(&[(1, -2)]).is_err());
        assert!(OrderLines::parse(&[(0, 1)]).is_err());
        assert!(OrderLines::parse(&[(1, MAX_QUANTITY), (1, 1)]).is_err());
        assert!(OrderLines::parse(&vec![(1, 1); OrderLines::MAX_LINES + 1]).is_err());
    }
}
