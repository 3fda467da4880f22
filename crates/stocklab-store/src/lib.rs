//! # stocklab-store
//!
//! Where stock lives. One trait, [`Store`], and one implementation per database, each in its own
//! file so the dialect differences stand side by side: [`sqlite`] (the embedded default) and
//! [`mysql`] (MySQL 8 and MariaDB 10.11). [`connect`] picks one from a database URL and runs that
//! backend's migrations.
//!
//! Architecture invariant: this is the only crate that contains SQL. Callers speak in domain
//! types (`Delta`, `OrderLines`, ...) and get domain records or a [`StoreError`] back.
//!
//! ## Layout
//! - [`Store`]: the operations the service needs.
//! - [`error`]: `StoreError`, and the one place that classifies a database error (unavailable,
//!   lock timeout, deadlock, constraint).
//! - [`rows`]: row types shared by both backends and their conversion into domain records.
//! - [`batch`]: the in-memory planning of a batch of adjustments, shared by the group commits.
//! - [`order_write`]: writing an order's lines, shared by the backends.
//! - [`sqlite`], [`mysql`]: the backends.

mod batch;
pub mod error;
pub mod mysql;
mod order_write;
mod rows;
pub mod sqlite;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use stocklab_domain::{
    AuditReport, Change, ChangeMeta, Delta, Isolation, LockOrder, Movement, NewProduct, OrderLines,
    OrderWrite, Page, PlacedOrder, Product, ProductId, ProductName, Quantity, StockChange,
    StockLevel,
};

pub use error::StoreError;

/// The result of every store operation.
pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Mysql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How SQLite makes a commit durable (`PRAGMA synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteDurability {
    /// `NORMAL`: a commit survives a crash of the service process, but the last commits may be
    /// lost if the machine loses power. Much faster: a commit does not wait for the disk.
    #[default]
    Normal,
    /// `FULL`: every commit is on disk before it is acknowledged, and survives a power loss.
    Full,
}

/// Connection settings shared by the backends.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The most connections the pool opens (for SQLite: readers; it always has one writer).
    pub max_connections: u32,
    /// How long a request waits for a free connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// How long a statement waits for a row or database lock before it fails with a lock timeout.
    pub lock_timeout: Duration,
    pub sqlite_durability: SqliteDurability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(5),
            sqlite_durability: SqliteDurability::default(),
        }
    }
}

/// Connects to the database named by `url` (`sqlite://...` or `mysql://...`; `mariadb://` is
/// accepted as a synonym) and brings its schema up to date.
pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(sqlite::SqliteStore::connect(url, options).await?)
    } else if let Some(rest) = url.strip_prefix("mariadb:") {
        Arc::new(mysql::MySqlStore::connect(&format!("mysql:{rest}"), options).await?)
    } else if url.starts_with("mysql:") {
        Arc::new(mysql::MySqlStore::connect(url, options).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(redact_password(url)));
    };
    Ok(store)
}

/// The URL with any password replaced by `***`, fit for logs and error messages.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Where a read-modify-write pauses between its read and its write. The lab uses it to widen
/// the race window, or to make several requests meet there, so that a race happens on demand.
#[async_trait]
pub trait RacePoint: Send + Sync {
    async fn reached(&self);
}

/// Everything the service asks of the database.
///
/// Every stock change writes its ledger row (a movement) in the same transaction as the change,
/// so the ledger and the stock cannot disagree under a safe strategy.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    fn backend(&self) -> Backend;

    /// The database server's own version string, e.g. `10.11.19-MariaDB` or `3.54.1`; asking
    /// for it is also how `/healthz` learns that the database answers.
    async fn server_version(&self) -> StoreResult<String>;

    /// Closes every connection, waiting for those in use to be returned. For SQLite, closing
    /// the last connection checkpoints the WAL into the database file and removes it.
    async fn close(&self);

    /// Creates `products` if, and only if, the database has no product yet, in one transaction:
    /// all of them or none. Returns how many it created (0 when there were products already).
    async fn seed_if_empty(&self, products: &[NewProduct]) -> StoreResult<usize>;

    /// Products in ascending id order, starting after `after`.
    /// Deletes every product, movement and order, then creates `products`, in one transaction:
    /// the lab's clean data set for an experiment. Returns the new products' ids, in order.
    async fn replace_all(&self, products: &[NewProduct]) -> StoreResult<Vec<ProductId>>;

    async fn list_products(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> StoreResult<Page<Product>>;

    async fn create_product(&self, new: &NewProduct) -> StoreResult<Product>;

    async fn get_product(&self, id: ProductId) -> StoreResult<Product>;

    async fn rename_product(&self, id: ProductId, name: &ProductName) -> StoreResult<Product>;

    /// Deletes the product and, with it, its ledger.
    async fn delete_product(&self, id: ProductId) -> StoreResult<()>;

    /// Adds `delta` to the stock in one conditional statement that refuses to go below zero or
    /// above the maximum (the `atomic` strategy).
    async fn adjust_atomic(
        &self,
        id: ProductId,
        delta: Delta,
        meta: &ChangeMeta,
    ) -> StoreResult<Change>;

    /// Reads a product's stock and version without locking it: where an unprotected
    /// read-modify-write starts.
    async fn read_level(&self, id: ProductId) -> StoreResult<StockLevel>;

    /// Writes a stock the caller computed and records the caller's `delta` in the ledger: the
    /// write half of a read-modify-write. With `expected_version`, only if the product is still
    /// at that version (`Ok(None)` when it is not); without, whatever happened since the read,
    /// which is how an update gets lost (and the audit then shows the ledger disagreeing).
    async fn write_stock(
        &self,
        id: ProductId,
        stock: Quantity,
        delta: i64,
        expected_version: Option<i64>,
        meta: &ChangeMeta,
    ) -> StoreResult<Option<Change>>;

    /// Applies `change` in one transaction that locks the row before reading it, pausing at
    /// `race_point` between the read and the write: the `pessimistic` strategy, and how a
    /// stock-take (which needs the old stock for its ledger row) runs under `atomic`.
    async fn change_locked(
        &self,
        id: ProductId,
        change: StockChange,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change>;

    /// Applies `change` as a read-modify-write inside one transaction at `isolation`, with a
    /// plain (non-locking) read and a pause at `race_point` before the write: the `transaction`
    /// strategy. Whether an update can be lost is up to the level and the database.
    async fn change_in_transaction(
        &self,
        id: ProductId,
        change: StockChange,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change>;

    /// Withdraws every line, all or nothing, with one conditional `UPDATE` per line in one
    /// transaction (the `atomic` strategy), taking the rows in `lock_order` and pausing at
    /// `race_point` once the first row is taken. The placed lines are ascending by product id.
    async fn place_order_atomic(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder>;

    /// Withdraws every line, all or nothing, as a read-modify-write in one transaction that
    /// locks each row (in `lock_order`) before reading it, pausing at `race_point` once the
    /// first row is read: the `pessimistic` strategy for an order.
    async fn place_order_locked(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder>;

    /// [`Store::place_order_locked`] with plain (non-locking) reads in a transaction at
    /// `isolation`: the `transaction` strategy for an order.
    async fn place_order_in_transaction(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder>;

    /// Writes an order whose stocks the caller computed from levels it read earlier, in one
    /// transaction: the write half of an order's read-modify-write. With `check_versions`, only
    /// if every product is still at the version that was read (`Ok(None)` when one is not).
    async fn write_order(
        &self,
        writes: &[OrderWrite],
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> StoreResult<Option<PlacedOrder>>;

    /// The product's ledger, newest first, starting before the movement id `after`.
    async fn list_movements(
        &self,
        product_id: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<Movement>>;

    /// Compares every product's stock with its initial stock plus the sum of its ledger.
    async fn audit(&self) -> StoreResult<AuditReport>;
}
