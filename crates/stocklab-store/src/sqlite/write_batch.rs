//! Group commit for SQLite adjustments.
//!
//! SQLite has one writer at a time, and sqlx runs every statement as a round trip to the
//! connection's worker thread. An adjustment on its own costs four round trips on the single
//! writer (`BEGIN IMMEDIATE`, `UPDATE`, `INSERT` into the ledger, `COMMIT`), which caps
//! throughput at a few thousand per second however fast SQLite itself is. So adjustments queue
//! here, and one task applies whatever has queued up as one transaction of five statements:
//!
//! 1. `BEGIN IMMEDIATE` takes the database's write lock: nothing else can change a row until
//!    the commit, in this process or any other.
//! 2. One `SELECT` reads the stock and version of every product in the batch.
//! 3. [`plan`](crate::batch::plan) applies each adjustment's condition (`0 <= stock + delta <= MAX_QUANTITY`) in
//!    arrival order against the running stock, exactly as one conditional `UPDATE` per
//!    adjustment would, so repeated products and a hot product need no special case.
//! 4. One `UPDATE ... FROM json_each(?)` writes every product's final stock and version, and
//!    one `INSERT ... SELECT FROM json_each(?)` appends every applied adjustment's ledger row.
//! 5. `COMMIT`, then each caller gets its own result.
//!
//! There is no artificial wait: a lone adjustment is a batch of one, and batches grow only when
//! requests arrive while the previous batch commits. If a batch fails (the database is gone,
//! the disk is full), its adjustments are retried one by one, so that each caller gets its own,
//! correctly classified error.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};
use stocklab_domain::{Change, ChangeMeta, Delta, Product, ProductId, StockError, StockLevel};
use tokio::sync::{mpsc, oneshot};

use super::adjust_one;
use crate::batch::{Outcome, as_of, plan};
use crate::rows::{ProductRow, product_columns};
use crate::{StoreError, StoreResult};

/// The most adjustments one transaction applies; more wait for the next batch.
const MAX_BATCH: usize = 256;

/// One queued adjustment and where its result goes.
#[derive(Debug)]
pub(super) struct Pending {
    pub id: ProductId,
    pub delta: Delta,
    pub meta: ChangeMeta,
    pub reply: oneshot::Sender<StoreResult<Change>>,
}

/// The sending side of the queue; the writer task ends when every sender is gone.
#[derive(Debug, Clone)]
pub(super) struct WriteQueue {
    sender: mpsc::UnboundedSender<Pending>,
    /// How long a caller waits for its result before the database counts as unavailable, as
    /// long as it would wait for a connection.
    wait_limit: Duration,
}

impl WriteQueue {
    /// Starts the writer task over the single-connection `writer` pool.
    pub fn start(writer: SqlitePool, wait_limit: Duration) -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(run(writer, receiver));
        Self { sender, wait_limit }
    }

    /// Queues an adjustment and waits for its result, at most `wait_limit`.
    ///
    /// Giving up before the adjustment's batch starts withdraws it; giving up while its batch
    /// commits leaves the outcome unknown to the caller, as with any request that times out.
    pub async fn adjust(
        &self,
        id: ProductId,
        delta: Delta,
        meta: ChangeMeta,
    ) -> StoreResult<Change> {
        let (reply, result) = oneshot::channel();
        let unavailable = |error| Err(StoreError::Unavailable(error));
        if self
            .sender
            .send(Pending {
                id,
                delta,
                meta,
                reply,
            })
            .is_err()
        {
            return unavailable(sqlx::Error::PoolClosed);
        }
        match tokio::time::timeout(self.wait_limit, result).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_writer_gone)) => unavailable(sqlx::Error::WorkerCrashed),
            Err(_elapsed) => unavailable(sqlx::Error::PoolTimedOut),
        }
    }
}

async fn run(writer: SqlitePool, mut queue: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that stopped waiting gets nothing applied on its behalf.
        batch.retain(|pending| !pending.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        match apply(&writer, &batch).await {
            Ok(results) => {
                for (pending, result) in batch.drain(..).zip(results) {
                    let _ = pending.reply.send(result);
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = batch.len(), "an adjustment batch failed; retrying one by one");
                for pending in batch.drain(..) {
                    // The failed batch may have taken as long as the callers were willing to
                    // wait: one that has given up (and got 503) must not be applied after all,
                    // or a client that retries would withdraw twice.
                    if pending.reply.is_closed() {
                        continue;
                    }
                    let result =
                        adjust_one(&writer, pending.id, pending.delta, &pending.meta).await;
                    let _ = pending.reply.send(result);
                }
            }
        }
    }
}

/// Applies a batch in one transaction; an `Err` means nothing was applied.
async fn apply(writer: &SqlitePool, batch: &[Pending]) -> StoreResult<Vec<StoreResult<Change>>> {
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let ids: Vec<ProductId> = batch.iter().map(|p| p.id).collect();
    let current: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT id, stock, version FROM products WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(json!(ids).to_string())
    .fetch_all(&mut *tx)
    .await?;
    let current = current
        .into_iter()
        .map(|(id, stock, version)| (id, StockLevel { stock, version }))
        .collect();
    let adjustments: Vec<(ProductId, Delta)> = batch.iter().map(|p| (p.id, p.delta)).collect();
    let (outcomes, finals) = plan(&current, &adjustments);
    let now = Utc::now();
    let (products, movement_ids) = if finals.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        write(&mut tx, batch, &outcomes, &finals, now).await?
    };
    tx.commit().await?;

    Ok(batch
        .iter()
        .zip(outcomes)
        .map(|(pending, outcome)| match outcome {
            Outcome::Applied(after) => {
                let product = products
                    .get(&pending.id)
                    .ok_or(StockError::ProductNotFound(pending.id))?;
                let movement_id = *movement_ids
                    .get(&(pending.id, after.version))
                    .ok_or(StockError::ProductNotFound(pending.id))?;
                Ok(Change {
                    product: as_of(product, after, now),
                    movement_id,
                })
            }
            Outcome::Refused(error) => Err(error.into()),
        })
        .collect())
}

/// Writes the batch's final levels and the ledger rows of its applied adjustments. Returns the
/// changed products and each movement's id by (product, version).
async fn write(
    tx: &mut Transaction<'static, Sqlite>,
    batch: &[Pending],
    outcomes: &[Outcome],
    finals: &HashMap<ProductId, StockLevel>,
    now: DateTime<Utc>,
) -> StoreResult<(HashMap<ProductId, Product>, HashMap<(ProductId, i64), i64>)> {
    let levels: Vec<_> = finals
        .iter()
        .map(|(id, level)| json!([id, level.stock, level.version]))
        .collect();
    let products: Vec<ProductRow> = sqlx::query_as(concat!(
        "UPDATE products SET stock = json_extract(level.value, '$[1]'), \
             version = json_extract(level.value, '$[2]'), updated_at = ?2 \
         FROM json_each(?1) AS level WHERE products.id = json_extract(level.value, '$[0]') \
         RETURNING ",
        product_columns!()
    ))
    .bind(json!(levels).to_string())
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    let products = products
        .into_iter()
        .map(Product::from)
        .map(|p| (p.id, p))
        .collect();

    let movements: Vec<_> = batch
        .iter()
        .zip(outcomes)
        .filter_map(|(pending, outcome)| match outcome {
            Outcome::Applied(after) => Some(json!([
                pending.id,
                pending.delta.get(),
                after.stock,
                after.version,
                pending.meta.reason.as_ref().map(|r| r.as_str()),
                pending.meta.request_id,
            ])),
            Outcome::Refused(_) => None,
        })
        .collect();
    let inserted: Vec<(i64, i64, i64)> = sqlx::query_as(
        "INSERT INTO movements \
             (product_id, delta, stock_after, version, reason, request_id, order_id, created_at) \
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), \
                json_extract(value, '$[2]'), json_extract(value, '$[3]'), \
                json_extract(value, '$[4]'), json_extract(value, '$[5]'), NULL, ?2 \
         FROM json_each(?1) RETURNING id, product_id, version",
    )
    .bind(json!(movements).to_string())
    .bind(now)
    .fetch_all(&mut **tx)
    .await?;
    // (product, version) identifies a movement: each applied adjustment raised the version by one.
    let movement_ids = inserted
        .into_iter()
        .map(|(movement_id, product_id, version)| ((product_id, version), movement_id))
        .collect();
    Ok((products, movement_ids))
}
