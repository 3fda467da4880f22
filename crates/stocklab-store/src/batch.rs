//! Planning a batch of adjustments in memory: the part of a group commit that does not depend on
//! the database. A backend reads the current levels under its lock, asks [`plan`] what each
//! adjustment comes to, in arrival order, exactly as one conditional `UPDATE` per adjustment
//! would decide, and writes the result in one transaction. Used by SQLite's group commit
//! (`sqlite/write_batch.rs`) and by MySQL's per-product combining (`mysql/combine.rs`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use stocklab_domain::{Delta, Product, ProductId, StockError, StockLevel};

/// What happens to one adjustment of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Applied: the product's stock and version right after this adjustment.
    Applied(StockLevel),
    Refused(StockError),
}

/// Applies each adjustment's condition in order against the running levels, starting from
/// `current` (products missing from it do not exist). Returns each adjustment's outcome and
/// the final level of every product that changed.
pub(crate) fn plan(
    current: &HashMap<ProductId, StockLevel>,
    adjustments: &[(ProductId, Delta)],
) -> (Vec<Outcome>, HashMap<ProductId, StockLevel>) {
    let mut running: HashMap<ProductId, StockLevel> = HashMap::new();
    let outcomes = adjustments
        .iter()
        .map(|&(id, delta)| {
            let Some(level) = running.get(&id).or_else(|| current.get(&id)).copied() else {
                return Outcome::Refused(StockError::refused(id, None, delta));
            };
            let after = match level.apply(id, delta) {
                Ok(after) => after,
                Err(refused) => return Outcome::Refused(refused),
            };
            running.insert(id, after);
            Outcome::Applied(after)
        })
        .collect();
    (outcomes, running)
}

/// The product as it was right after one adjustment of the batch.
pub(crate) fn as_of(product: &Product, level: StockLevel, updated_at: DateTime<Utc>) -> Product {
    Product {
        stock: level.stock,
        version: level.version,
        updated_at,
        ..product.clone()
    }
}

#[cfg(test)]
mod tests {
    use stocklab_domain::{MAX_QUANTITY, Shortage};

    use super::*;

    fn delta(d: i64) -> Delta {
        Delta::parse(d).expect("a valid delta")
    }

    #[test]
    fn repeated_products_see_each_others_changes_in_arrival_order() {
        let current = HashMap::from([(
            1,
            StockLevel {
                stock: 2,
                version: 7,
            },
        )]);
        let (outcomes, finals) = plan(&current, &[(1, delta(-1)), (1, delta(-2)), (1, delta(-1))]);
        assert_eq!(
            outcomes,
            vec![
                Outcome::Applied(StockLevel {
                    stock: 1,
                    version: 8
                }),
                Outcome::Refused(StockError::InsufficientStock(vec![Shortage {
                    product_id: 1,
                    requested: 2,
                    available: 1,
                }])),
                Outcome::Applied(StockLevel {
                    stock: 0,
                    version: 9
                }),
            ]
        );
        assert_eq!(
            finals,
            HashMap::from([(
                1,
                StockLevel {
                    stock: 0,
                    version: 9
                }
            )])
        );
    }

    #[test]
    fn unknown_products_and_overflows_are_refused_without_touching_others() {
        let current = HashMap::from([
            (
                1,
                StockLevel {
                    stock: MAX_QUANTITY,
                    version: 0,
                },
            ),
            (
                2,
                StockLevel {
                    stock: 5,
                    version: 3,
                },
            ),
        ]);
        let (outcomes, finals) = plan(&current, &[(9, delta(1)), (1, delta(1)), (2, delta(5))]);
        assert_eq!(
            outcomes[0],
            Outcome::Refused(StockError::ProductNotFound(9))
        );
        assert!(matches!(
            outcomes[1],
            Outcome::Refused(StockError::StockOverflow { product_id: 1, .. })
        ));
        assert_eq!(
            outcomes[2],
            Outcome::Applied(StockLevel {
                stock: 10,
                version: 4
            })
        );
        assert_eq!(
            finals,
            HashMap::from([(
                2,
                StockLevel {
                    stock: 10,
                    version: 4
                }
            )])
        );
    }
}
