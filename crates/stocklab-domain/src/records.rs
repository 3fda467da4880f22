//! What the store hands back: products, ledger movements, pages of either, placed orders and the
//! audit report. Plain data; the HTTP layer decides how each looks as JSON.

use chrono::{DateTime, Utc};

use crate::{Delta, ProductId, ProductName, Quantity, Sku, StockError};

/// A product as stored. `version` grows by one with every committed stock change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub stock: i64,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// Its stock and version.
    pub fn level(&self) -> StockLevel {
        StockLevel {
            stock: self.stock,
            version: self.version,
        }
    }
}

/// What it takes to create a product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub sku: Sku,
    pub name: ProductName,
    pub stock: Quantity,
}

impl NewProduct {
    /// Parses a product's raw fields; the first invalid one is the error.
    pub fn parse(sku: &str, name: &str, stock: i64) -> Result<Self, crate::ValidationError> {
        Ok(Self {
            sku: Sku::parse(sku)?,
            name: ProductName::parse(name)?,
            stock: Quantity::parse("stock", stock)?,
        })
    }
}

/// One row of the append-only stock ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    pub id: i64,
    pub product_id: ProductId,
    pub delta: i64,
    pub stock_after: i64,
    pub version: i64,
    pub reason: Option<String>,
    pub request_id: Option<String>,
    pub order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A committed stock change: the product as it now is, and the ledger row that records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub product: Product,
    pub movement_id: i64,
}

/// One keyset page. `next_after` is the cursor for the following page, `None` on the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

/// An order that was withdrawn in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrder {
    pub id: i64,
    pub lines: Vec<PlacedOrderLine>,
    pub created_at: DateTime<Utc>,
}

/// One merged line of a placed order, with the product's stock and version after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedOrderLine {
    pub product_id: ProductId,
    pub quantity: i64,
    pub stock: i64,
    pub version: i64,
    pub movement_id: i64,
}

impl PlacedOrder {
    /// An order of `lines` in any order; they are kept ascending by product id.
    pub fn new(id: i64, mut lines: Vec<PlacedOrderLine>, created_at: DateTime<Utc>) -> Self {
        lines.sort_by_key(|line| line.product_id);
        Self {
            id,
            lines,
            created_at,
        }
    }
}

impl PlacedOrderLine {
    /// The line that withdrew `quantity` of `product`, which shows the stock after it.
    pub fn new(product: &Product, quantity: i64, movement_id: i64) -> Self {
        Self {
            product_id: product.id,
            quantity,
            stock: product.stock,
            version: product.version,
            movement_id,
        }
    }
}

/// The result of comparing each product's stock with its initial stock plus its ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub products_checked: u64,
    pub mismatches: Vec<AuditMismatch>,
}

impl AuditReport {
    /// True when every product's stock is explained by its ledger.
    pub fn ok(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// A product whose stock differs from what its ledger says it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditMismatch {
    pub id: ProductId,
    pub stock: i64,
    pub ledger_stock: i64,
}

/// Who asked for a change and why, recorded on its ledger rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeMeta {
    pub reason: Option<crate::Reason>,
    pub request_id: Option<String>,
}

/// A product's stock and version at one moment: what a read-modify-write starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockLevel {
    pub stock: i64,
    pub version: i64,
}

/// A change of one product's stock, computed from the level it is applied to. Every strategy
/// applies it the same way; only what protects the read and the write differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockChange {
    /// Add a signed delta.
    Adjust(Delta),
    /// Set the stock to a counted quantity: a stock-take, refused when the product is no
    /// longer at the version the counter saw (when given).
    Count {
        quantity: Quantity,
        expected_version: Option<i64>,
    },
}

impl StockChange {
    /// The level after this change to product `id` at `level`, and the delta its ledger row
    /// records; or why it is refused.
    pub fn apply(self, id: ProductId, level: StockLevel) -> Result<(StockLevel, i64), StockError> {
        match self {
            StockChange::Adjust(delta) => level.apply(id, delta).map(|after| (after, delta.get())),
            StockChange::Count {
                expected_version: Some(expected),
                ..
            } if expected != level.version => Err(StockError::VersionMismatch {
                product_id: id,
                expected,
                actual: level.version,
            }),
            StockChange::Count { quantity, .. } => Ok((
                StockLevel {
                    stock: quantity.get(),
                    version: level.version + 1,
                },
                quantity.get() - level.stock,
            )),
        }
    }
}

impl StockLevel {
    /// The level after adding `delta` to product `id`, or why that is refused: the stock may not
    /// go below 0 nor above [`MAX_QUANTITY`](crate::MAX_QUANTITY).
    pub fn apply(self, id: ProductId, delta: Delta) -> Result<StockLevel, StockError> {
        let stock = self.stock + delta.get();
        if (0..=crate::MAX_QUANTITY).contains(&stock) {
            Ok(StockLevel {
                stock,
                version: self.version + 1,
            })
        } else {
            Err(StockError::refused(id, Some(self.stock), delta))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEVEL: StockLevel = StockLevel {
        stock: 5,
        version: 3,
    };

    #[test]
    fn an_adjustment_records_its_delta_and_refuses_to_go_below_zero() {
        let minus = |d| StockChange::Adjust(Delta::parse(d).expect("a delta"));
        assert_eq!(
            minus(-2).apply(1, LEVEL),
            Ok((
                StockLevel {
                    stock: 3,
                    version: 4
                },
                -2
            ))
        );
        assert!(matches!(
            minus(-6).apply(1, LEVEL),
            Err(StockError::InsufficientStock(_))
        ));
    }

    #[test]
    fn a_count_records_the_difference_and_refuses_a_version_it_did_not_see() {
        let count = |expected_version| StockChange::Count {
            quantity: Quantity::parse("quantity", 9).expect("a quantity"),
            expected_version,
        };
        assert_eq!(
            count(None).apply(1, LEVEL),
            Ok((
                StockLevel {
                    stock: 9,
                    version: 4
                },
                4
            ))
        );
        assert_eq!(
            count(Some(3)).apply(1, LEVEL),
            Ok((
                StockLevel {
                    stock: 9,
                    version: 4
                },
                4
            ))
        );
        assert_eq!(
            count(Some(2)).apply(1, LEVEL),
            Err(StockError::VersionMismatch {
                product_id: 1,
                expected: 2,
                actual: 3
            })
        );
    }
}
