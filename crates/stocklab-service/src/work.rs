//! What a strategy protects: one product's change, or every line of an order.
//!
//! Each strategy in [`crate::strategies`] is written once, in terms of the steps a [`Work`]
//! offers: the store's atomic, locked and transactional forms, and the unprotected
//! read-modify-write that the in-process strategies wrap. Adding an operation means adding a
//! `Work`, not another copy of every strategy.

use stocklab_domain::{
    Change, ChangeMeta, Isolation, LockOrder, OrderLines, PlacedOrder, ProductId, Quantity,
    StockChange, withdraw_all,
};
use stocklab_store::{RacePoint, Store, StoreResult};

use crate::race::NoPause;
use crate::{ServiceError, ServiceResult};

/// The steps every strategy is made of, for one kind of change.
pub(crate) trait Work: Sync {
    /// What a committed change returns.
    type Done: Send;

    /// The products it changes, in the order their locks are to be taken.
    fn products(&self) -> Vec<ProductId>;

    /// The product whose rendezvous the race point joins: changes that can lose each other's
    /// updates must meet under the same one.
    fn race_product(&self) -> ProductId;

    /// No read-modify-write at all: conditional statements in the store.
    async fn atomic(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Self::Done>;

    /// The read-modify-write in one transaction that locks every row before reading it.
    async fn locked(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Self::Done>;

    /// The read-modify-write in one transaction at `isolation`, with plain reads.
    async fn in_transaction(
        &self,
        store: &dyn Store,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Self::Done>;

    /// Read, pause at `race_point`, compute, write: each step a transaction of its own. With
    /// `check_versions` the write lands only if nothing changed since the read (`Ok(None)`
    /// otherwise); without, it overwrites whatever happened meanwhile.
    async fn read_modify_write(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> ServiceResult<Option<Self::Done>>;
}

/// A change of one product: an adjustment or a stock-take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProductWork {
    pub id: ProductId,
    pub change: StockChange,
}

impl Work for ProductWork {
    type Done = Change;

    fn products(&self) -> Vec<ProductId> {
        vec![self.id]
    }

    fn race_product(&self) -> ProductId {
        self.id
    }

    async fn atomic(
        &self,
        store: &dyn Store,
        _race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        match self.change {
            StockChange::Adjust(delta) => store.adjust_atomic(self.id, delta, meta).await,
            // A stock-take needs the old stock for its ledger row, so it cannot be one
            // conditional statement: under `atomic` it is a short locked transaction, with no
            // race point to widen.
            count => store.change_locked(self.id, count, &NoPause, meta).await,
        }
    }

    async fn locked(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        store
            .change_locked(self.id, self.change, race_point, meta)
            .await
    }

    async fn in_transaction(
        &self,
        store: &dyn Store,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        store
            .change_in_transaction(self.id, self.change, isolation, race_point, meta)
            .await
    }

    async fn read_modify_write(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> ServiceResult<Option<Change>> {
        let level = store.read_level(self.id).await?;
        race_point.reached().await;
        let (after, delta) = self.change.apply(self.id, level)?;
        let stock = Quantity::parse("stock", after.stock)
            .map_err(|error| ServiceError::Internal(error.to_string()))?;
        let expected = check_versions.then_some(level.version);
        Ok(store
            .write_stock(self.id, stock, delta, expected, meta)
            .await?)
    }
}

/// An order: every line withdrawn, or none.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderWork<'a> {
    pub lines: &'a OrderLines,
    pub lock_order: LockOrder,
}

impl Work for OrderWork<'_> {
    type Done = PlacedOrder;

    fn products(&self) -> Vec<ProductId> {
        self.lines
            .in_lock_order(self.lock_order)
            .iter()
            .map(|line| line.product_id)
            .collect()
    }

    /// The lowest product id: orders over the same products meet under it, whichever row each
    /// takes first.
    fn race_product(&self) -> ProductId {
        self.lines.lines().first().map_or(0, |line| line.product_id)
    }

    async fn atomic(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        store
            .place_order_atomic(self.lines, self.lock_order, race_point, meta)
            .await
    }

    async fn locked(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        store
            .place_order_locked(self.lines, self.lock_order, race_point, meta)
            .await
    }

    async fn in_transaction(
        &self,
        store: &dyn Store,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        store
            .place_order_in_transaction(self.lines, self.lock_order, isolation, race_point, meta)
            .await
    }

    async fn read_modify_write(
        &self,
        store: &dyn Store,
        race_point: &dyn RacePoint,
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> ServiceResult<Option<PlacedOrder>> {
        // As in the store's forms: the pause comes once the first row is read.
        let mut reads = Vec::with_capacity(self.lines.lines().len());
        for line in self.lines.in_lock_order(self.lock_order) {
            reads.push((line, store.read_level(line.product_id).await?));
            if reads.len() == 1 {
                race_point.reached().await;
            }
        }
        let writes = withdraw_all(&reads)?;
        Ok(store.write_order(&writes, check_versions, meta).await?)
    }
}
