//! Writing an order's lines, the same on every backend: the order row, then each line's stock
//! (version-checked or not) and its ledger row, then the commit. A backend provides the
//! statements through [`WriteTx`], implemented for its transaction type, which its own single
//! changes are written with too.

use chrono::{DateTime, Utc};
use stocklab_domain::{ChangeMeta, OrderWrite, PlacedOrder, PlacedOrderLine, Product, ProductId};

use crate::StoreResult;

/// The statements of one backend that stock changes are written with, inside one transaction.
pub(crate) trait WriteTx: Send {
    /// Inserts the order row every line's ledger row points to; returns its id.
    async fn insert_order(
        &mut self,
        meta: &ChangeMeta,
        created_at: DateTime<Utc>,
    ) -> StoreResult<i64>;

    /// Sets a computed stock and bumps the version; with `expected_version`, only if the product
    /// is still at it (`Ok(None)` when it is not).
    async fn set_stock(
        &mut self,
        id: ProductId,
        stock: i64,
        expected_version: Option<i64>,
    ) -> StoreResult<Option<Product>>;

    /// Appends the ledger row of a change that `product` now reflects; returns its id.
    async fn insert_movement(
        &mut self,
        product: &Product,
        delta: i64,
        meta: &ChangeMeta,
        order_id: Option<i64>,
    ) -> StoreResult<i64>;

    async fn commit(self) -> StoreResult<()>;
}

/// Writes every line of an order whose stocks the caller computed, with their ledger rows, and
/// commits; `Ok(None)` (and nothing written) when `check_versions` finds a product that moved
/// on since it was read.
pub(crate) async fn write_order_in<T: WriteTx>(
    mut tx: T,
    writes: &[OrderWrite],
    check_versions: bool,
    meta: &ChangeMeta,
) -> StoreResult<Option<PlacedOrder>> {
    let created_at = Utc::now();
    let order_id = tx.insert_order(meta, created_at).await?;
    let mut placed = Vec::with_capacity(writes.len());
    for write in writes {
        let id = write.line.product_id;
        let expected = check_versions.then_some(write.read_version);
        let Some(product) = tx.set_stock(id, write.stock.get(), expected).await? else {
            // Dropping the transaction rolls back the lines already written.
            return Ok(None);
        };
        let quantity = write.line.quantity.get();
        let movement_id = tx
            .insert_movement(&product, -quantity, meta, Some(order_id))
            .await?;
        placed.push(PlacedOrderLine::new(&product, quantity, movement_id));
    }
    tx.commit().await?;
    Ok(Some(PlacedOrder::new(order_id, placed, created_at)))
}
