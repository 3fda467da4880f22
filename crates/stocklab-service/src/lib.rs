//! # stocklab-service
//!
//! The use cases: what the HTTP API (and later the lab and the simulator) ask of the inventory.
//! [`Inventory`] routes every stock change through a [`Strategy`] passed in as a value, so a
//! handler is the same whatever strategy protects the change.
//!
//! Architecture invariant: no SQL and no HTTP here. The service speaks domain types to its
//! callers and to the [`Store`](stocklab_store::Store) below it.
//!
//! ## Layout
//! - [`Inventory`]: products, stock changes, orders, the ledger and the audit.
//! - [`demo`]: the demo catalogue a fresh database starts with.
//! - [`ServiceError`]: why a use case failed.

pub mod demo;

use std::sync::Arc;

use stocklab_domain::{
    AuditReport, Change, ChangeMeta, Delta, Movement, NewProduct, OrderLines, Page, PlacedOrder,
    Product, ProductId, ProductName, Quantity, StockError, Strategy,
};
use stocklab_store::{Backend, Store, StoreError};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The inventory: one store, and the strategy used when a request names none.
#[derive(Debug, Clone)]
pub struct Inventory {
    store: Arc<dyn Store>,
    default_strategy: Strategy,
}

impl Inventory {
    pub fn new(store: Arc<dyn Store>, default_strategy: Strategy) -> Self {
        Self {
            store,
            default_strategy,
        }
    }

    /// Which database the inventory lives in.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Closes the database connections; call it once nothing uses the inventory any more.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Succeeds when the database answers.
    pub async fn ping(&self) -> ServiceResult<()> {
        Ok(self.store.ping().await?)
    }

    /// The strategy for requests that name none (the server's `--strategy`).
    pub fn default_strategy(&self) -> Strategy {
        self.default_strategy
    }

    /// Fills an empty database with the demo catalogue, all of it or none; returns how many
    /// products it added (0 when the database had products, or another instance starting at the
    /// same moment seeded it).
    pub async fn seed_demo_data_if_empty(&self) -> ServiceResult<usize> {
        match self.store.seed_if_empty(&demo::catalogue()).await {
            Err(StoreError::Rejected(StockError::DuplicateSku(_))) => Ok(0),
            seeded => Ok(seeded?),
        }
    }

    pub async fn list_products(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> ServiceResult<Page<Product>> {
        Ok(self.store.list_products(after, limit).await?)
    }

    pub async fn create_product(&self, new: &NewProduct) -> ServiceResult<Product> {
        Ok(self.store.create_product(new).await?)
    }

    pub async fn get_product(&self, id: ProductId) -> ServiceResult<Product> {
        Ok(self.store.get_product(id).await?)
    }

    pub async fn rename_product(
        &self,
        id: ProductId,
        name: &ProductName,
    ) -> ServiceResult<Product> {
        Ok(self.store.rename_product(id, name).await?)
    }

    pub async fn delete_product(&self, id: ProductId) -> ServiceResult<()> {
        Ok(self.store.delete_product(id).await?)
    }

    /// Adds `delta` to a product's stock under `strategy`.
    pub async fn adjust(
        &self,
        id: ProductId,
        delta: Delta,
        strategy: Strategy,
        meta: &ChangeMeta,
    ) -> ServiceResult<Change> {
        match strategy {
            Strategy::Atomic => Ok(self.store.adjust_atomic(id, delta, meta).await?),
        }
    }

    /// Sets a product's stock to a counted quantity (a stock-take), refusing when the product
    /// has changed since the version the counter saw.
    pub async fn count_stock(
        &self,
        id: ProductId,
        quantity: Quantity,
        expected_version: Option<i64>,
        strategy: Strategy,
        meta: &ChangeMeta,
    ) -> ServiceResult<Change> {
        match strategy {
            Strategy::Atomic => Ok(self
                .store
                .count_stock(id, quantity, expected_version, meta)
                .await?),
        }
    }

    /// Withdraws every line of an order, all or nothing.
    pub async fn place_order(
        &self,
        lines: &OrderLines,
        strategy: Strategy,
        meta: &ChangeMeta,
    ) -> ServiceResult<PlacedOrder> {
        match strategy {
            Strategy::Atomic => Ok(self.store.place_order(lines, meta).await?),
        }
    }

    pub async fn list_movements(
        &self,
        product_id: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> ServiceResult<Page<Movement>> {
        Ok(self.store.list_movements(product_id, after, limit).await?)
    }

    pub async fn audit(&self) -> ServiceResult<AuditReport> {
        Ok(self.store.audit().await?)
    }
}
