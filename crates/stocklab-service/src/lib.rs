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
//! - [`strategies`]: every synchronization strategy, one implementation each.
//! - [`locks`]: the in-process locks of `mutex`, `per-product` and `semaphore`.
//! - [`race`]: the race point where the lab pauses a read-modify-write.
//! - [`stats`]: counters per strategy.
//! - [`demo`]: the demo catalogue a fresh database starts with.
//! - [`ServiceError`]: why a use case failed.

pub mod demo;
pub mod locks;
pub mod race;
pub mod stats;
pub mod strategies;
mod work;

use std::sync::Arc;

use stocklab_domain::{
    AuditReport, Movement, NewProduct, Page, Product, ProductId, ProductName, Quantity, StockError,
};
use stocklab_store::{Backend, Store, StoreError};

pub use stats::{StatsSnapshot, StrategyStats};
pub use strategies::{Applied, ChangeOptions};

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request asked for something only lab mode allows.
    #[error("{0} is only available in lab mode (serve --lab)")]
    LabDisabled(String),
    /// `optimistic` found the version changed on every try.
    #[error("the product kept changing: gave up after {retries} optimistic retries")]
    Conflict { retries: u32 },
    /// An in-process lock or permit was not free within the lock timeout.
    #[error("waited {} ms for an in-process lock: the lock timeout", waited.as_millis())]
    LockTimeout { waited: std::time::Duration },
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    /// The stable, snake_case name of this failure: the `code` of the API's error body and the
    /// key of the rejection counts in the stats. Defined here once, for both.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Store(StoreError::Rejected(rejected)) => match rejected {
                StockError::ProductNotFound(_) => "product_not_found",
                StockError::DuplicateSku(_) => "duplicate_sku",
                StockError::InsufficientStock(_) => "insufficient_stock",
                StockError::StockOverflow { .. } => "stock_overflow",
                StockError::VersionMismatch { .. } => "version_mismatch",
            },
            ServiceError::Store(StoreError::Unavailable(_)) => "database_unavailable",
            ServiceError::Store(StoreError::LockTimeout(_)) | ServiceError::LockTimeout { .. } => {
                "lock_timeout"
            }
            ServiceError::Store(StoreError::Deadlock(_)) => "deadlock",
            ServiceError::Store(
                StoreError::Migrate(_)
                | StoreError::MigrationLockTimeout { .. }
                | StoreError::UnsupportedUrl(_)
                | StoreError::InvalidUrl { .. }
                | StoreError::Database(_),
            )
            | ServiceError::Internal(_) => "internal_error",
            ServiceError::LabDisabled(_) => "lab_disabled",
            ServiceError::Conflict { .. } => "conflict",
        }
    }
}

impl From<StockError> for ServiceError {
    fn from(error: StockError) -> Self {
        ServiceError::Store(error.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The inventory: one store, the change options a request starts from, and the lab.
#[derive(Debug, Clone)]
pub struct Inventory {
    store: Arc<dyn Store>,
    defaults: ChangeOptions,
    lab: Arc<Lab>,
}

/// What the strategies share within this process.
#[derive(Debug, Default)]
struct Lab {
    /// Whether the lab's unsafe options (DESIGN.md) are allowed.
    enabled: bool,
    locks: locks::Locks,
    rendezvous: race::Rendezvous,
    paused: race::PausedNow,
    stats: stats::Stats,
    /// The longest a change waits for an in-process lock or permit.
    lock_timeout: std::time::Duration,
}

impl Inventory {
    /// An inventory over `store`. Requests start from `defaults` (the server's `--strategy` and
    /// `--race-window-ms`); with `lab_enabled` false, the lab's unsafe options are refused. A
    /// change waits at most `lock_timeout` for an in-process lock, as for a database lock.
    pub fn new(
        store: Arc<dyn Store>,
        defaults: ChangeOptions,
        lab_enabled: bool,
        lock_timeout: std::time::Duration,
    ) -> Self {
        Self {
            store,
            defaults,
            lab: Arc::new(Lab {
                enabled: lab_enabled,
                lock_timeout,
                ..Lab::default()
            }),
        }
    }

    /// The most products a lab reset creates.
    pub const MAX_LAB_PRODUCTS: u32 = 10_000;

    /// Lab only: replaces all data with `products` products (`LAB-00001`, ...) of
    /// `initial_stock` each, and restarts the counters. Returns the products' ids.
    pub async fn reset_lab(
        &self,
        products: u32,
        initial_stock: Quantity,
    ) -> ServiceResult<Vec<ProductId>> {
        if !self.lab.enabled {
            return Err(ServiceError::LabDisabled(
                "resetting the data set".to_owned(),
            ));
        }
        let catalogue = (1..=products.min(Self::MAX_LAB_PRODUCTS))
            .map(|n| {
                NewProduct::parse(
                    &format!("LAB-{n:05}"),
                    &format!("Lab product {n}"),
                    initial_stock.get(),
                )
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| ServiceError::Internal(error.to_string()))?;
        let ids = self.store.replace_all(&catalogue).await?;
        self.lab.stats.reset();
        Ok(ids)
    }

    /// The strategies' counters since start-up or the last lab reset.
    pub fn stats(&self) -> StatsSnapshot {
        self.lab.stats.snapshot()
    }

    /// How many changes are paused at their race point (in a race window or a rendezvous) now.
    pub fn paused_at_race_point(&self) -> usize {
        self.lab.paused.count()
    }

    /// Whether lab mode is on.
    pub fn lab_enabled(&self) -> bool {
        self.lab.enabled
    }

    /// Which database the inventory lives in.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Closes the database connections; call it once nothing uses the inventory any more.
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// The database server's version string; an error when the database does not answer.
    pub async fn database_version(&self) -> ServiceResult<String> {
        Ok(self.store.server_version().await?)
    }

    /// The options of a request that names none.
    pub fn default_options(&self) -> ChangeOptions {
        self.defaults
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
