//! Two kinds of "no": input that is not a valid value ([`ValidationError`]), and a valid change
//! that the current state of the stock refuses ([`StockError`]).

use crate::ProductId;

/// A value that failed to parse: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ValidationError {
    pub field: &'static str,
    pub problem: String,
}

impl ValidationError {
    pub fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self {
            field,
            problem: problem.into(),
        }
    }
}

/// One order line (or adjustment) that asked for more than was on hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: ProductId,
    pub requested: i64,
    pub available: i64,
}

/// A valid change that the stock as it is now refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("product {0} does not exist")]
    ProductNotFound(ProductId),
    #[error("a product with sku {0:?} already exists")]
    DuplicateSku(String),
    #[error("insufficient stock for {}", describe_shortages(.0))]
    InsufficientStock(Vec<Shortage>),
    #[error("product {product_id}: stock {stock} plus {delta} would exceed the maximum of {max}", max = crate::MAX_QUANTITY)]
    StockOverflow {
        product_id: ProductId,
        stock: i64,
        delta: i64,
    },
    #[error("product {product_id} is at version {actual}, not the expected {expected}")]
    VersionMismatch {
        product_id: ProductId,
        expected: i64,
        actual: i64,
    },
}

impl StockError {
    /// Why adding `delta` to product `id` is refused, given its current stock (`None` when the
    /// product does not exist).
    pub fn refused(id: ProductId, stock: Option<i64>, delta: crate::Delta) -> StockError {
        let delta = delta.get();
        match stock {
            None => StockError::ProductNotFound(id),
            Some(stock) if stock + delta > crate::MAX_QUANTITY => StockError::StockOverflow {
                product_id: id,
                stock,
                delta,
            },
            Some(stock) => StockError::InsufficientStock(vec![Shortage {
                product_id: id,
                requested: -delta,
                available: stock,
            }]),
        }
    }
}

fn describe_shortages(shortages: &[Shortage]) -> String {
    shortages
        .iter()
        .map(|s| {
            format!(
                "product {} (requested {}, available {})",
                s.product_id, s.requested, s.available
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insufficient_stock_names_every_line() {
        let error = StockError::InsufficientStock(vec![
            Shortage {
                product_id: 1,
                requested: 5,
                available: 2,
            },
            Shortage {
                product_id: 7,
                requested: 1,
                available: 0,
            },
        ]);
        assert_eq!(
            error.to_string(),
            "insufficient stock for product 1 (requested 5, available 2), \
             product 7 (requested 1, available 0)"
        );
    }
}
