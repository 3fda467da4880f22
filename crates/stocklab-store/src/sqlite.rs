//! The SQLite backend: the embedded default.
//!
//! SQLite lets one connection write at a time. Rather than have many connections fight for the
//! write lock (each loser sleeps in the busy handler, and throughput collapses), the store keeps
//! one writer connection that requests queue for in the pool, plus a pool of read-only
//! connections that read concurrently in WAL mode. Every write transaction starts with
//! `BEGIN IMMEDIATE`, which takes the write lock up front: a deferred transaction that read first
//! would fail with `SQLITE_BUSY_SNAPSHOT` instead of waiting if another process wrote meanwhile.
//! Adjustments, the hot path, go one step further and queue for a group commit
//! ([`write_batch`]).

mod write_batch;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use stocklab_domain::{
    AuditMismatch, AuditReport, Change, ChangeMeta, Delta, Isolation, LockOrder, MAX_QUANTITY,
    Movement, NewProduct, OrderLines, OrderWrite, Page, PlacedOrder, PlacedOrderLine, Product,
    ProductId, ProductName, Quantity, Shortage, StockChange, StockError, StockLevel, withdraw_all,
};

use crate::error::is_unique_violation;
use crate::order_write::{WriteTx, write_order_in};
use crate::rows::{self, MovementRow, ProductRow, movement_columns, product_columns};
use crate::{Backend, RacePoint, SqliteDurability, Store, StoreError, StoreOptions, StoreResult};

/// A SQLite database file: one writer connection, several readers.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    /// Exactly one connection: writers queue here instead of contending for the file lock.
    writer: SqlitePool,
    /// Read-only connections; WAL mode lets them read while the writer writes.
    readers: SqlitePool,
    /// Runs the WAL checkpoints (see [`checkpoint_in_background`]).
    checkpointer: SqlitePool,
    /// Adjustments waiting for the next group commit on `writer`.
    adjustments: write_batch::WriteQueue,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let synchronous = match options.sqlite_durability {
            SqliteDurability::Normal => SqliteSynchronous::Normal,
            SqliteDurability::Full => SqliteSynchronous::Full,
        };
        let base = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::InvalidUrl {
                url: url.to_owned(),
                reason: error.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(options.lock_timeout)
            .foreign_keys(true)
            // Checkpoints run on a connection of their own (see `checkpoint_in_background`),
            // not inside whichever commit happens to cross the threshold.
            .pragma("wal_autocheckpoint", "0");
        // A local file cannot drop a connection the way a network can, so the round trip that
        // tests a connection before each use would only cost time.
        let pool = |max_connections, acquire_timeout| {
            SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .test_before_acquire(false)
        };
        // Waiting for the one writer is waiting for SQLite's write lock, which another change of
        // this process holds through it: bounded by the lock timeout, like a wait for the lock
        // held by another process (the busy timeout), and ending the same way (`begin_write`).
        let writer = pool(1, options.lock_timeout)
            .connect_with(base.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let readers = pool(options.max_connections.max(1), options.acquire_timeout)
            .connect_with(base.clone().read_only(true))
            .await?;
        let checkpointer = pool(1, options.acquire_timeout)
            .connect_with(base.clone())
            .await?;
        tokio::spawn(checkpoint_in_background(checkpointer.clone()));
        let adjustments = write_batch::WriteQueue::start(writer.clone(), options.acquire_timeout);
        Ok(Self {
            writer,
            readers,
            checkpointer,
            adjustments,
        })
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        begin_write(&self.writer).await
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// Copies the WAL back into the database file every [`CHECKPOINT_INTERVAL`].
///
/// SQLite's automatic checkpoint runs inside the commit that crosses its threshold, so the
/// writer everyone queues behind would stall for the copy and its fsync. A `PASSIVE` checkpoint
/// on another connection runs beside the writer without blocking it. It ends when the pool is
/// closed.
async fn checkpoint_in_background(checkpointer: SqlitePool) {
    let mut ticks = tokio::time::interval(CHECKPOINT_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&checkpointer)
            .await
        {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(error) => tracing::warn!(%error, "WAL checkpoint failed; will retry"),
        }
    }
}

/// Takes the one writer and SQLite's write lock. The writer not coming free within the lock
/// timeout is a lock timeout (409), not an unavailable database: another change holds the lock.
async fn begin_write(writer: &SqlitePool) -> StoreResult<Transaction<'static, Sqlite>> {
    match writer.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => Ok(tx),
        Err(sqlx::Error::PoolTimedOut) => Err(StoreError::LockTimeout(sqlx::Error::Protocol(
            "another change of this process held SQLite's write lock (its one writer) for longer \
             than the lock timeout"
                .to_owned(),
        ))),
        Err(error) => Err(error.into()),
    }
}

/// One adjustment in a transaction of its own: one conditional `UPDATE`, and the ledger row.
/// [`write_batch`] falls back to this when a batch fails, so each caller gets its own error.
async fn adjust_one(
    writer: &SqlitePool,
    id: ProductId,
    delta: Delta,
    meta: &ChangeMeta,
) -> StoreResult<Change> {
    let mut tx = begin_write(writer).await?;
    let row: Option<ProductRow> = sqlx::query_as(concat!(
        "UPDATE products SET stock = stock + ?1, version = version + 1, updated_at = ?2 \
         WHERE id = ?3 AND stock + ?1 BETWEEN 0 AND ?4 RETURNING ",
        product_columns!()
    ))
    .bind(delta.get())
    .bind(Utc::now())
    .bind(id)
    .bind(MAX_QUANTITY)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(product) = row.map(Product::from) else {
        let stock = current_stock(&mut tx, id).await?;
        return Err(StockError::refused(id, stock, delta).into());
    };
    let movement_id = tx
        .insert_movement(&product, delta.get(), meta, None)
        .await?;
    tx.commit().await?;
    Ok(Change {
        product,
        movement_id,
    })
}

const SELECT_PRODUCT: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products WHERE id = ?1"
);

const INSERT_MOVEMENT: &str = "INSERT INTO movements \
     (product_id, delta, stock_after, version, reason, request_id, order_id, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// Inserts a product; a taken SKU is [`StockError::DuplicateSku`].
async fn insert_product(
    tx: &mut Transaction<'_, Sqlite>,
    new: &NewProduct,
) -> StoreResult<Product> {
    let row: Result<ProductRow, sqlx::Error> = sqlx::query_as(concat!(
        "INSERT INTO products (sku, name, stock, initial_stock, version, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?3, 0, ?4, ?4) RETURNING ",
        product_columns!()
    ))
    .bind(new.sku.as_str())
    .bind(new.name.as_str())
    .bind(new.stock.get())
    .bind(Utc::now())
    .fetch_one(&mut **tx)
    .await;
    match row {
        Ok(row) => Ok(row.into()),
        Err(error) if is_unique_violation(&error) => {
            Err(StockError::DuplicateSku(new.sku.as_str().to_owned()).into())
        }
        Err(error) => Err(error.into()),
    }
}

async fn current_stock(
    tx: &mut Transaction<'_, Sqlite>,
    id: ProductId,
) -> StoreResult<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT stock FROM products WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// Reads a product's level inside `tx`.
async fn level_in(tx: &mut Transaction<'_, Sqlite>, id: ProductId) -> StoreResult<StockLevel> {
    let level: Option<(i64, i64)> =
        sqlx::query_as("SELECT stock, version FROM products WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let (stock, version) = level.ok_or(StockError::ProductNotFound(id))?;
    Ok(StockLevel { stock, version })
}

/// [`set_stock`] without a version check, in a transaction that read the row itself.
async fn overwrite_stock(
    tx: &mut Transaction<'_, Sqlite>,
    id: ProductId,
    stock: i64,
) -> StoreResult<Product> {
    tx.set_stock(id, stock, None)
        .await?
        .ok_or_else(|| StockError::ProductNotFound(id).into())
}

impl<'c> WriteTx for Transaction<'c, Sqlite> {
    async fn insert_order(
        &mut self,
        meta: &ChangeMeta,
        created_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let result = sqlx::query("INSERT INTO orders (request_id, created_at) VALUES (?1, ?2)")
            .bind(meta.request_id.as_deref())
            .bind(created_at)
            .execute(&mut **self)
            .await?;
        Ok(result.last_insert_rowid())
    }

    async fn set_stock(
        &mut self,
        id: ProductId,
        stock: i64,
        expected_version: Option<i64>,
    ) -> StoreResult<Option<Product>> {
        let row: Option<ProductRow> = sqlx::query_as(concat!(
            "UPDATE products SET stock = ?1, version = version + 1, updated_at = ?2 \
             WHERE id = ?3 AND (?4 IS NULL OR version = ?4) RETURNING ",
            product_columns!()
        ))
        .bind(stock)
        .bind(Utc::now())
        .bind(id)
        .bind(expected_version)
        .fetch_optional(&mut **self)
        .await?;
        match row {
            Some(row) => Ok(Some(row.into())),
            None => {
                // The version moved on, or the product is gone: tell which.
                current_stock(self, id)
                    .await?
                    .ok_or(StockError::ProductNotFound(id))?;
                Ok(None)
            }
        }
    }

    async fn insert_movement(
        &mut self,
        product: &Product,
        delta: i64,
        meta: &ChangeMeta,
        order_id: Option<i64>,
    ) -> StoreResult<i64> {
        let result = sqlx::query(INSERT_MOVEMENT)
            .bind(product.id)
            .bind(delta)
            .bind(product.stock)
            .bind(product.version)
            .bind(meta.reason.as_ref().map(|r| r.as_str()))
            .bind(meta.request_id.as_deref())
            .bind(order_id)
            .bind(product.updated_at)
            .execute(&mut **self)
            .await?;
        Ok(result.last_insert_rowid())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(Transaction::commit(self).await?)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn server_version(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&self.readers)
            .await?)
    }

    async fn close(&self) {
        // The writer last: the connection that closes last checkpoints and removes the WAL.
        self.readers.close().await;
        self.checkpointer.close().await;
        self.writer.close().await;
    }

    async fn seed_if_empty(&self, products: &[NewProduct]) -> StoreResult<usize> {
        // BEGIN IMMEDIATE: a second instance starting on the same file waits here, then finds
        // the products the first one committed.
        let mut tx = self.begin_write().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Ok(0);
        }
        for product in products {
            insert_product(&mut tx, product).await?;
        }
        tx.commit().await?;
        Ok(products.len())
    }

    async fn replace_all(&self, products: &[NewProduct]) -> StoreResult<Vec<ProductId>> {
        let mut tx = self.begin_write().await?;
        // Children first: movements refer to orders and products.
        for statement in [
            "DELETE FROM movements",
            "DELETE FROM orders",
            "DELETE FROM products",
        ] {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        let mut ids = Vec::with_capacity(products.len());
        for product in products {
            ids.push(insert_product(&mut tx, product).await?.id);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn list_products(
        &self,
        after: Option<ProductId>,
        limit: u32,
    ) -> StoreResult<Page<Product>> {
        let rows: Vec<ProductRow> = sqlx::query_as(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id > ?1 ORDER BY id LIMIT ?2"
        ))
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.readers)
        .await?;
        Ok(rows::page(rows, limit, |p: &Product| p.id))
    }

    async fn create_product(&self, new: &NewProduct) -> StoreResult<Product> {
        let mut tx = self.begin_write().await?;
        let product = insert_product(&mut tx, new).await?;
        tx.commit().await?;
        Ok(product)
    }

    async fn get_product(&self, id: ProductId) -> StoreResult<Product> {
        let row: Option<ProductRow> = sqlx::query_as(SELECT_PRODUCT)
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.map(Product::from)
            .ok_or(StockError::ProductNotFound(id).into())
    }

    async fn rename_product(&self, id: ProductId, name: &ProductName) -> StoreResult<Product> {
        let row: Option<ProductRow> = sqlx::query_as(concat!(
            "UPDATE products SET name = ?1, updated_at = ?2 WHERE id = ?3 RETURNING ",
            product_columns!()
        ))
        .bind(name.as_str())
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        row.map(Product::from)
            .ok_or(StockError::ProductNotFound(id).into())
    }

    async fn delete_product(&self, id: ProductId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM products WHERE id = ?1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        if result.rows_affected() == 0 {
            return Err(StockError::ProductNotFound(id).into());
        }
        Ok(())
    }

    async fn adjust_atomic(
        &self,
        id: ProductId,
        delta: Delta,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        self.adjustments.adjust(id, delta, meta.clone()).await
    }

    async fn read_level(&self, id: ProductId) -> StoreResult<StockLevel> {
        let level: Option<(i64, i64)> =
            sqlx::query_as("SELECT stock, version FROM products WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.readers)
                .await?;
        let (stock, version) = level.ok_or(StockError::ProductNotFound(id))?;
        Ok(StockLevel { stock, version })
    }

    async fn write_stock(
        &self,
        id: ProductId,
        stock: Quantity,
        delta: i64,
        expected_version: Option<i64>,
        meta: &ChangeMeta,
    ) -> StoreResult<Option<Change>> {
        let mut tx = self.begin_write().await?;
        let Some(product) = tx.set_stock(id, stock.get(), expected_version).await? else {
            return Ok(None);
        };
        let movement_id = tx.insert_movement(&product, delta, meta, None).await?;
        tx.commit().await?;
        Ok(Some(Change {
            product,
            movement_id,
        }))
    }

    async fn change_locked(
        &self,
        id: ProductId,
        change: StockChange,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        // BEGIN IMMEDIATE takes SQLite's write lock, for the whole database: the row is locked
        // from the read to the commit because everything is.
        let mut tx = self.begin_write().await?;
        let level = level_in(&mut tx, id).await?;
        race_point.reached().await;
        let (after, delta) = change.apply(id, level)?;
        let product = overwrite_stock(&mut tx, id, after.stock).await?;
        let movement_id = tx.insert_movement(&product, delta, meta, None).await?;
        tx.commit().await?;
        Ok(Change {
            product,
            movement_id,
        })
    }

    async fn change_in_transaction(
        &self,
        id: ProductId,
        change: StockChange,
        _isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        // SQLite transactions are always serializable, whatever level is asked for, and this
        // one needs the single writer from its read to its commit: it is `change_locked`.
        self.change_locked(id, change, race_point, meta).await
    }

    async fn place_order_atomic(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        let mut tx = self.begin_write().await?;
        let created_at = Utc::now();
        let order_id = tx.insert_order(meta, created_at).await?;
        let mut placed = Vec::with_capacity(lines.lines().len());
        let mut shortages = Vec::new();
        // Lines arrive merged. BEGIN IMMEDIATE already holds the whole database, so on SQLite
        // the lock order cannot cause a deadlock: a second order cannot even begin.
        for (position, line) in lines.in_lock_order(lock_order).into_iter().enumerate() {
            if position == 1 {
                race_point.reached().await;
            }
            let row: Option<ProductRow> = sqlx::query_as(concat!(
                "UPDATE products SET stock = stock - ?1, version = version + 1, updated_at = ?2 \
                 WHERE id = ?3 AND stock >= ?1 RETURNING ",
                product_columns!()
            ))
            .bind(line.quantity.get())
            .bind(created_at)
            .bind(line.product_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(product) = row.map(Product::from) else {
                let available = current_stock(&mut tx, line.product_id)
                    .await?
                    .ok_or(StockError::ProductNotFound(line.product_id))?;
                shortages.push(Shortage {
                    product_id: line.product_id,
                    requested: line.quantity.get(),
                    available,
                });
                continue;
            };
            let movement_id = tx
                .insert_movement(&product, -line.quantity.get(), meta, Some(order_id))
                .await?;
            placed.push(PlacedOrderLine::new(
                &product,
                line.quantity.get(),
                movement_id,
            ));
        }
        if !shortages.is_empty() {
            // Dropping the transaction rolls back every line already withdrawn.
            return Err(StockError::InsufficientStock(shortages).into());
        }
        tx.commit().await?;
        Ok(PlacedOrder::new(order_id, placed, created_at))
    }

    async fn place_order_locked(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        // BEGIN IMMEDIATE holds the whole database from the first read to the commit, so every
        // row is locked before it is read, in whatever order the lines come.
        let mut tx = self.begin_write().await?;
        let mut reads = Vec::with_capacity(lines.lines().len());
        for line in lines.in_lock_order(lock_order) {
            reads.push((line, level_in(&mut tx, line.product_id).await?));
            if reads.len() == 1 {
                race_point.reached().await;
            }
        }
        let writes = withdraw_all(&reads)?;
        // Without a version check every write lands: `None` cannot come back.
        write_order_in(tx, &writes, false, meta)
            .await?
            .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))
    }

    async fn place_order_in_transaction(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        _isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        // As for one product: SQLite is always serializable, and this needs the single writer
        // from its first read to its commit.
        self.place_order_locked(lines, lock_order, race_point, meta)
            .await
    }

    async fn write_order(
        &self,
        writes: &[OrderWrite],
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> StoreResult<Option<PlacedOrder>> {
        let tx = self.begin_write().await?;
        write_order_in(tx, writes, check_versions, meta).await
    }

    async fn list_movements(
        &self,
        product_id: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<Movement>> {
        // One read transaction, so the existence check and the page see the same snapshot.
        let mut tx = self.readers.begin().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = ?1")
            .bind(product_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StockError::ProductNotFound(product_id).into());
        }
        let rows: Vec<MovementRow> = sqlx::query_as(concat!(
            "SELECT ",
            movement_columns!(),
            " FROM movements WHERE product_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
        ))
        .bind(product_id)
        .bind(after.unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *tx)
        .await?;
        Ok(rows::page(rows, limit, |m: &Movement| m.id))
    }

    async fn audit(&self) -> StoreResult<AuditReport> {
        let mut tx = self.readers.begin().await?;
        let products_checked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await?;
        let mismatches: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT p.id, p.stock, p.initial_stock + COALESCE(SUM(m.delta), 0) AS ledger_stock \
             FROM products p LEFT JOIN movements m ON m.product_id = p.id \
             GROUP BY p.id, p.stock, p.initial_stock \
             HAVING p.stock <> ledger_stock ORDER BY p.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        Ok(AuditReport {
            products_checked: products_checked.unsigned_abs(),
            mismatches: mismatches
                .into_iter()
                .map(|(id, stock, ledger_stock)| AuditMismatch {
                    id,
                    stock,
                    ledger_stock,
                })
                .collect(),
        })
    }
}
