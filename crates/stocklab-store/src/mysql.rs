//! The MySQL / MariaDB backend: the real server database, shared by several service instances.
//!
//! Differences from [`crate::sqlite`] worth knowing:
//! - No `UPDATE ... RETURNING` (MariaDB 10.11 and MySQL 8 lack it): a change is an `UPDATE`
//!   followed by a `SELECT` of the row in the same transaction, which sees its own write and
//!   still holds the row lock the `UPDATE` took.
//! - Row locks, not a database lock: `SELECT ... FOR UPDATE` locks one product, so changes to
//!   different products proceed in parallel. A lock wait ends after `innodb_lock_wait_timeout`
//!   (set per session from [`StoreOptions::lock_timeout`]) with error 1205.
//! - `SUM` returns a `DECIMAL`, so the audit casts it back to a signed integer.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use sqlx::mysql::MySqlConnection;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Connection, MySql, Transaction};
use stocklab_domain::{
    AuditMismatch, AuditReport, Change, ChangeMeta, Delta, Isolation, LockOrder, MAX_QUANTITY,
    Movement, NewProduct, OrderLines, OrderWrite, Page, PlacedOrder, PlacedOrderLine, Product,
    ProductId, ProductName, Quantity, Shortage, StockChange, StockError, StockLevel, withdraw_all,
};

mod combine;
mod in_flight;

use crate::error::is_unique_violation;
use crate::order_write::{WriteTx, write_order_in};
use crate::rows::{self, MovementRow, ProductRow, movement_columns, product_columns};
use crate::{Backend, RacePoint, Store, StoreError, StoreOptions, StoreResult};

/// A MySQL or MariaDB database reached through a connection pool.
#[derive(Debug, Clone)]
pub struct MySqlStore {
    pool: MySqlPool,
    /// Atomic adjustments of a product that another one of it is in flight for, batched.
    combiner: combine::Combiner,
}

impl MySqlStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Self> {
        let connect_options =
            MySqlConnectOptions::from_str(url).map_err(|error| StoreError::InvalidUrl {
                url: crate::redact_password(url),
                reason: error.to_string(),
            })?;
        // InnoDB counts lock waits in whole seconds, at least one.
        let lock_wait_seconds = options.lock_timeout.as_secs_f64().ceil().max(1.0) as u64;
        let pool = MySqlPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .after_connect(move |connection, _meta| {
                Box::pin(async move {
                    let statement =
                        format!("SET SESSION innodb_lock_wait_timeout = {lock_wait_seconds}");
                    sqlx::query(AssertSqlSafe(statement))
                        .execute(&mut *connection)
                        .await?;
                    Ok(())
                })
            })
            .connect_with(connect_options)
            .await?;
        migrate(&pool).await?;
        let combiner = combine::Combiner::new(pool.clone(), options.acquire_timeout);
        Ok(Self { pool, combiner })
    }
}

/// The lock that instances migrating one database take in turn (a lock name has at most 64
/// characters).
macro_rules! migration_lock {
    () => {
        "LEFT(CONCAT('stocklab:migrate:', DATABASE()), 64)"
    };
}

/// How long an instance waits for another one's migrations to finish.
const MIGRATION_LOCK_WAIT_SECONDS: u32 = 120;

/// Brings the schema up to date, one instance at a time.
///
/// sqlx's migrator takes `GET_LOCK(name, -1)`, meant as "wait forever", but MariaDB answers a
/// negative timeout at once with NULL when the lock is taken, and sqlx goes on without it: two
/// instances started together on an empty database then both apply migration 1, and one fails
/// (a duplicate key in `_sqlx_migrations`, or "partially applied"). So the migrations run under a
/// lock of our own, with a positive timeout, on the connection that applies them.
async fn migrate(pool: &MySqlPool) -> StoreResult<()> {
    let mut connection = pool.acquire().await?;
    let locked: Option<i64> =
        sqlx::query_scalar(concat!("SELECT GET_LOCK(", migration_lock!(), ", ?)"))
            .bind(MIGRATION_LOCK_WAIT_SECONDS)
            .fetch_one(&mut *connection)
            .await?;
    if locked != Some(1) {
        return Err(StoreError::MigrationLockTimeout {
            seconds: MIGRATION_LOCK_WAIT_SECONDS,
        });
    }
    let migrated = sqlx::migrate!("./migrations/mysql")
        .run_direct(None, &mut *connection, false)
        .await;
    // If this fails the connection is broken, and its session's locks went with it.
    let _ = sqlx::query(concat!("SELECT RELEASE_LOCK(", migration_lock!(), ")"))
        .execute(&mut *connection)
        .await;
    Ok(migrated?)
}

const SELECT_PRODUCT: &str = concat!("SELECT ", product_columns!(), " FROM products WHERE id = ?");

const SELECT_PRODUCT_FOR_UPDATE: &str = concat!(
    "SELECT ",
    product_columns!(),
    " FROM products WHERE id = ? FOR UPDATE"
);

const INSERT_MOVEMENT: &str = "INSERT INTO movements \
     (product_id, delta, stock_after, version, reason, request_id, order_id, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Inserts a product; a taken SKU is [`StockError::DuplicateSku`].
async fn insert_product(tx: &mut Transaction<'_, MySql>, new: &NewProduct) -> StoreResult<Product> {
    let now = Utc::now();
    let inserted = sqlx::query(
        "INSERT INTO products (sku, name, stock, initial_stock, version, created_at, updated_at) \
         VALUES (?, ?, ?, ?, 0, ?, ?)",
    )
    .bind(new.sku.as_str())
    .bind(new.name.as_str())
    .bind(new.stock.get())
    .bind(new.stock.get())
    .bind(now)
    .bind(now)
    .execute(&mut **tx)
    .await;
    let id = match inserted {
        Ok(result) => inserted_id(result.last_insert_id())?,
        Err(error) if is_unique_violation(&error) => {
            return Err(StockError::DuplicateSku(new.sku.as_str().to_owned()).into());
        }
        Err(error) => return Err(error.into()),
    };
    locked_product(tx, id).await
}

/// [`set_stock`] without a version check, in a transaction that read the row itself.
async fn overwrite_stock(
    tx: &mut Transaction<'_, MySql>,
    id: ProductId,
    stock: i64,
) -> StoreResult<Product> {
    tx.set_stock(id, stock, None)
        .await?
        .ok_or_else(|| StockError::ProductNotFound(id).into())
}

/// Writes a level computed inside `tx` (whose row it holds locked), appends the ledger row
/// recording `delta`, and commits.
async fn write_change(
    mut tx: Transaction<'_, MySql>,
    id: ProductId,
    after: StockLevel,
    delta: i64,
    meta: &ChangeMeta,
) -> StoreResult<Change> {
    let product = overwrite_stock(&mut tx, id, after.stock).await?;
    let movement_id = tx.insert_movement(&product, delta, meta, None).await?;
    tx.commit().await?;
    Ok(Change {
        product,
        movement_id,
    })
}

/// One adjustment in a transaction of its own, one conditional `UPDATE`: what an adjustment of a
/// product that nothing else is changing runs, and what a failed batch falls back to
/// ([`combine`]).
async fn adjust_one(
    pool: &MySqlPool,
    id: ProductId,
    delta: Delta,
    meta: &ChangeMeta,
) -> StoreResult<Change> {
    // The row lock taken by the UPDATE is held until the commit, and every other change of the
    // product (another instance's too) queues behind it: so between the two, only one more
    // round trip, the ledger row copied from the row as the UPDATE left it. The product is read back from
    // that ledger row after the commit, outside the lock.
    let mut tx = pool.begin().await?;
    let updated = sqlx::query(
        "UPDATE products SET stock = stock + ?, version = version + 1, updated_at = ? \
             WHERE id = ? AND stock + ? BETWEEN 0 AND ?",
    )
    .bind(delta.get())
    .bind(Utc::now())
    .bind(id)
    .bind(delta.get())
    .bind(MAX_QUANTITY)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let stock = match plain_level(&mut tx, id).await {
            Ok(level) => Some(level.stock),
            Err(StoreError::Rejected(StockError::ProductNotFound(_))) => None,
            Err(error) => return Err(error),
        };
        return Err(StockError::refused(id, stock, delta).into());
    }
    let movement_id = sqlx::query(
        "INSERT INTO movements \
             (product_id, delta, stock_after, version, reason, request_id, order_id, created_at) \
             SELECT id, ?, stock, version, ?, ?, NULL, updated_at FROM products WHERE id = ?",
    )
    .bind(delta.get())
    .bind(meta.reason.as_ref().map(|r| r.as_str()))
    .bind(meta.request_id.as_deref())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .last_insert_id();
    let movement_id = inserted_id(movement_id)?;
    tx.commit().await?;
    let row: Option<ProductRow> = sqlx::query_as(
        "SELECT p.id, p.sku, p.name, m.stock_after AS stock, m.version, \
             m.created_at AS updated_at \
             FROM movements m JOIN products p ON p.id = m.product_id WHERE m.id = ?",
    )
    .bind(movement_id)
    .fetch_optional(pool)
    .await?;
    // Only a delete right after the commit (which takes the ledger with it) leaves no row.
    let row = row.ok_or(StockError::ProductNotFound(id))?;
    Ok(Change {
        product: row.into(),
        movement_id,
    })
}

/// MySQL reports `LAST_INSERT_ID()` unsigned; our ids are signed and far below `i64::MAX`.
fn inserted_id(id: u64) -> StoreResult<i64> {
    i64::try_from(id).map_err(|error| StoreError::Database(sqlx::Error::Decode(Box::new(error))))
}

/// Reads and locks the product inside `tx`, until the transaction ends.
///
/// A locking read sees the latest committed row, not the transaction's REPEATABLE READ
/// snapshot: a pessimistic change that waited for another one's lock reads what that one
/// committed, and a refusal reports the stock as it is now. After an `UPDATE` of the row (which
/// already holds its lock) it sees the new values.
async fn product_in(
    tx: &mut Transaction<'_, MySql>,
    id: ProductId,
) -> StoreResult<Option<Product>> {
    let row: Option<ProductRow> = sqlx::query_as(SELECT_PRODUCT_FOR_UPDATE)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(row.map(Product::from))
}

/// [`product_in`] for a product that must exist.
async fn locked_product(tx: &mut Transaction<'_, MySql>, id: ProductId) -> StoreResult<Product> {
    product_in(tx, id)
        .await?
        .ok_or_else(|| StockError::ProductNotFound(id).into())
}

/// Reads a product's level inside `tx` without locking it. Under SERIALIZABLE, InnoDB turns
/// the read into a shared lock, so two read-modify-writes deadlock at their writes and one is
/// rolled back; under the weaker levels it takes no lock, and the later write overwrites the
/// other's change.
async fn plain_level(tx: &mut Transaction<'_, MySql>, id: ProductId) -> StoreResult<StockLevel> {
    let level: Option<(i64, i64)> =
        sqlx::query_as("SELECT stock, version FROM products WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let (stock, version) = level.ok_or(StockError::ProductNotFound(id))?;
    Ok(StockLevel { stock, version })
}

/// Sets the isolation level of the next transaction on `connection`. SET TRANSACTION (without
/// SESSION) applies to that one transaction only; the connection goes back to the pool at the
/// server's default level.
async fn set_next_isolation(
    connection: &mut MySqlConnection,
    isolation: Isolation,
) -> StoreResult<()> {
    let statement = match isolation {
        Isolation::ReadCommitted => "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
        Isolation::RepeatableRead => "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        Isolation::Serializable => "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    };
    sqlx::query(statement).execute(&mut *connection).await?;
    Ok(())
}

/// An order's read-modify-write inside `tx`: reads every row in `lock_order` (locking each one
/// first when `locking`), pauses at `race_point` once the first row is read, withdraws every
/// line from what it read, and writes them.
async fn order_read_modify_write(
    mut tx: Transaction<'_, MySql>,
    lines: &OrderLines,
    lock_order: LockOrder,
    locking: bool,
    race_point: &dyn RacePoint,
    meta: &ChangeMeta,
) -> StoreResult<PlacedOrder> {
    let mut reads = Vec::with_capacity(lines.lines().len());
    for line in lines.in_lock_order(lock_order) {
        let level = if locking {
            locked_product(&mut tx, line.product_id).await?.level()
        } else {
            plain_level(&mut tx, line.product_id).await?
        };
        reads.push((line, level));
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

/// Fails with [`StockError::ProductNotFound`] unless the product exists; takes no lock.
async fn ensure_exists(tx: &mut Transaction<'_, MySql>, id: ProductId) -> StoreResult<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    exists
        .map(drop)
        .ok_or_else(|| StockError::ProductNotFound(id).into())
}

impl<'c> WriteTx for Transaction<'c, MySql> {
    async fn insert_order(
        &mut self,
        meta: &ChangeMeta,
        created_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let result = sqlx::query("INSERT INTO orders (request_id, created_at) VALUES (?, ?)")
            .bind(meta.request_id.as_deref())
            .bind(created_at)
            .execute(&mut **self)
            .await?;
        inserted_id(result.last_insert_id())
    }

    async fn set_stock(
        &mut self,
        id: ProductId,
        stock: i64,
        expected_version: Option<i64>,
    ) -> StoreResult<Option<Product>> {
        let updated = sqlx::query(
            "UPDATE products SET stock = ?, version = version + 1, updated_at = ? \
             WHERE id = ? AND (? IS NULL OR version = ?)",
        )
        .bind(stock)
        .bind(Utc::now())
        .bind(id)
        .bind(expected_version)
        .bind(expected_version)
        .execute(&mut **self)
        .await?
        .rows_affected();
        if updated == 0 {
            // The version moved on, or the product is gone: tell which, without locking.
            ensure_exists(self, id).await?;
            return Ok(None);
        }
        Ok(Some(locked_product(self, id).await?))
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
        inserted_id(result.last_insert_id())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(Transaction::commit(self).await?)
    }
}

#[async_trait]
impl Store for MySqlStore {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    async fn server_version(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("SELECT VERSION()")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn seed_if_empty(&self, products: &[NewProduct]) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await?;
        if count > 0 {
            return Ok(0);
        }
        // Two instances starting on one empty database both get here. The second one's first
        // insert waits for the first one's uncommitted SKU and then fails as a duplicate, and
        // its transaction rolls back: the caller learns that another instance seeded.
        for product in products {
            insert_product(&mut tx, product).await?;
        }
        tx.commit().await?;
        Ok(products.len())
    }

    async fn replace_all(&self, products: &[NewProduct]) -> StoreResult<Vec<ProductId>> {
        let mut tx = self.pool.begin().await?;
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
            " FROM products WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::page(rows, limit, |p: &Product| p.id))
    }

    async fn create_product(&self, new: &NewProduct) -> StoreResult<Product> {
        let mut tx = self.pool.begin().await?;
        let product = insert_product(&mut tx, new).await?;
        tx.commit().await?;
        Ok(product)
    }

    async fn get_product(&self, id: ProductId) -> StoreResult<Product> {
        let row: Option<ProductRow> = sqlx::query_as(SELECT_PRODUCT)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Product::from)
            .ok_or(StockError::ProductNotFound(id).into())
    }

    async fn rename_product(&self, id: ProductId, name: &ProductName) -> StoreResult<Product> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE products SET name = ?, updated_at = ? WHERE id = ?")
            .bind(name.as_str())
            .bind(Utc::now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let product = locked_product(&mut tx, id).await?;
        tx.commit().await?;
        Ok(product)
    }

    async fn delete_product(&self, id: ProductId) -> StoreResult<()> {
        let result = sqlx::query("DELETE FROM products WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
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
        self.combiner.adjust(id, delta, meta).await
    }

    async fn read_level(&self, id: ProductId) -> StoreResult<StockLevel> {
        let level: Option<(i64, i64)> =
            sqlx::query_as("SELECT stock, version FROM products WHERE id = ?")
                .bind(id)
                .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
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
        let mut tx = self.pool.begin().await?;
        // FOR UPDATE locks the row until commit: another locked change of this product waits
        // here (at most innodb_lock_wait_timeout) until this one commits.
        let level = locked_product(&mut tx, id).await?;
        race_point.reached().await;
        let current = StockLevel {
            stock: level.stock,
            version: level.version,
        };
        let (after, delta) = change.apply(id, current)?;
        write_change(tx, id, after, delta, meta).await
    }

    async fn change_in_transaction(
        &self,
        id: ProductId,
        change: StockChange,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        let mut connection = self.pool.acquire().await?;
        set_next_isolation(&mut connection, isolation).await?;
        let mut tx = connection.begin().await?;
        let level = plain_level(&mut tx, id).await?;
        race_point.reached().await;
        let (after, delta) = change.apply(id, level)?;
        write_change(tx, id, after, delta, meta).await
    }

    async fn place_order_atomic(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        let mut tx = self.pool.begin().await?;
        let created_at = Utc::now();
        let order_id = tx.insert_order(meta, created_at).await?;
        let mut placed = Vec::with_capacity(lines.lines().len());
        let mut shortages = Vec::new();
        // Lines arrive merged. In ascending product id (the default), two orders over the same
        // products take their row locks in the same order and queue; in request order (lab)
        // they can each hold the row the other wants, and InnoDB breaks the deadlock (1213).
        for (position, line) in lines.in_lock_order(lock_order).into_iter().enumerate() {
            if position == 1 {
                race_point.reached().await;
            }
            let updated = sqlx::query(
                "UPDATE products SET stock = stock - ?, version = version + 1, updated_at = ? \
                 WHERE id = ? AND stock >= ?",
            )
            .bind(line.quantity.get())
            .bind(created_at)
            .bind(line.product_id)
            .bind(line.quantity.get())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let product = locked_product(&mut tx, line.product_id).await?;
            if updated == 0 {
                shortages.push(Shortage {
                    product_id: line.product_id,
                    requested: line.quantity.get(),
                    available: product.stock,
                });
                continue;
            }
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
        let tx = self.pool.begin().await?;
        order_read_modify_write(tx, lines, lock_order, true, race_point, meta).await
    }

    async fn place_order_in_transaction(
        &self,
        lines: &OrderLines,
        lock_order: LockOrder,
        isolation: Isolation,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> StoreResult<PlacedOrder> {
        let mut connection = self.pool.acquire().await?;
        set_next_isolation(&mut connection, isolation).await?;
        let tx = connection.begin().await?;
        order_read_modify_write(tx, lines, lock_order, false, race_point, meta).await
    }

    async fn write_order(
        &self,
        writes: &[OrderWrite],
        check_versions: bool,
        meta: &ChangeMeta,
    ) -> StoreResult<Option<PlacedOrder>> {
        let tx = self.pool.begin().await?;
        write_order_in(tx, writes, check_versions, meta).await
    }

    async fn list_movements(
        &self,
        product_id: ProductId,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Page<Movement>> {
        // One read transaction, so the existence check and the page see the same snapshot.
        let mut tx = self.pool.begin().await?;
        ensure_exists(&mut tx, product_id).await?;
        let rows: Vec<MovementRow> = sqlx::query_as(concat!(
            "SELECT ",
            movement_columns!(),
            " FROM movements WHERE product_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(product_id)
        .bind(after.unwrap_or(i64::MAX))
        .bind(i64::from(limit) + 1)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows::page(rows, limit, |m: &Movement| m.id))
    }

    async fn audit(&self) -> StoreResult<AuditReport> {
        let mut tx = self.pool.begin().await?;
        let products_checked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(&mut *tx)
            .await?;
        let mismatches: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT p.id, p.stock, \
                    CAST(p.initial_stock + COALESCE(SUM(m.delta), 0) AS SIGNED) AS ledger_stock \
             FROM products p LEFT JOIN movements m ON m.product_id = p.id \
             GROUP BY p.id, p.stock, p.initial_stock \
             HAVING p.stock <> ledger_stock ORDER BY p.id",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
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
