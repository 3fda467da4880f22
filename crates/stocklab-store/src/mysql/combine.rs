//! Per-product combining of MySQL adjustments: the hot product's group commit.
//!
//! Every `atomic` adjustment of one product needs that product's row lock, so on a hot product
//! they queue inside InnoDB one transaction at a time, each holding the lock for its statements
//! and its commit, and the product's throughput is one over that hold time whatever the number
//! of clients. So when an adjustment arrives while another one of the same product is in
//! flight in this process, it does not go to the database on its own: it waits here, and when
//! the one in flight is done, everything that waited is applied as one transaction that locks
//! the row once (`SELECT ... FOR UPDATE`), decides each adjustment in arrival order with
//! [`plan`](crate::batch::plan) (exactly as one conditional `UPDATE` each would), writes the final
//! level and one ledger row per applied adjustment, and commits once.
//!
//! There is no artificial wait: a product that nobody else is changing is adjusted alone, as
//! before, and batches grow only while one is in flight. Products do not wait for each other.
//! Other instances' changes of the product still queue for the row lock in InnoDB. If a batch
//! fails, its adjustments are retried one by one, so each caller gets its own error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::MySqlPool;
use stocklab_domain::{Change, ChangeMeta, Delta, ProductId, StockError};
use tokio::sync::oneshot;

use super::in_flight::InFlight;
use super::{adjust_one, locked_product};
use crate::batch::{Outcome, as_of, plan};
use crate::{StoreError, StoreResult};

/// One adjustment that waits for the product's adjustment in flight, and where its result goes.
#[derive(Debug)]
struct Waiting {
    delta: Delta,
    meta: ChangeMeta,
    reply: oneshot::Sender<StoreResult<Change>>,
}

/// The products with an adjustment in flight, each with the adjustments waiting behind it.
#[derive(Debug, Clone)]
pub(super) struct Combiner {
    pool: MySqlPool,
    in_flight: Arc<InFlight<Waiting>>,
    /// How long a waiting caller waits for its result before the database counts as
    /// unavailable, as long as it would wait for a connection.
    wait_limit: Duration,
}

impl Combiner {
    pub fn new(pool: MySqlPool, wait_limit: Duration) -> Self {
        Self {
            pool,
            in_flight: Arc::default(),
            wait_limit,
        }
    }

    /// Adjusts the product alone when nothing else of it is in flight, or else waits to be
    /// applied with the others that queued behind the one in flight.
    pub async fn adjust(
        &self,
        id: ProductId,
        delta: Delta,
        meta: &ChangeMeta,
    ) -> StoreResult<Change> {
        let (reply, result) = oneshot::channel();
        let lead = self.in_flight.lead_or_queue(id, || Waiting {
            delta,
            meta: meta.clone(),
            reply,
        });
        if lead {
            // Handed over when this future ends, even when it is dropped half-way (the client
            // went away): the adjustments that queued behind it must not wait for nothing.
            let _turn = Turn { combiner: self, id };
            return adjust_one(&self.pool, id, delta, meta).await;
        }
        let unavailable = |error| Err(StoreError::Unavailable(error));
        match tokio::time::timeout(self.wait_limit, result).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_combiner_gone)) => unavailable(sqlx::Error::WorkerCrashed),
            Err(_elapsed) => unavailable(sqlx::Error::PoolTimedOut),
        }
    }

    /// Applies batch after batch of the product's waiting adjustments until none is left.
    async fn drain(self, id: ProductId, mut batch: Vec<Waiting>) {
        loop {
            // A caller that stopped waiting gets nothing applied on its behalf.
            batch.retain(|waiting| !waiting.reply.is_closed());
            if !batch.is_empty() {
                self.apply_or_retry(id, batch).await;
            }
            match self.in_flight.next_batch(id) {
                Some(next) => batch = next,
                None => return,
            }
        }
    }

    async fn apply_or_retry(&self, id: ProductId, batch: Vec<Waiting>) {
        match apply(&self.pool, id, &batch).await {
            Ok(results) => {
                for (waiting, result) in batch.into_iter().zip(results) {
                    let _ = waiting.reply.send(result);
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = batch.len(), product = id, "an adjustment batch failed; retrying one by one");
                for waiting in batch {
                    // One that gave up during the failed batch (and got 503) must not be
                    // applied after all, or a client that retries would withdraw twice.
                    if waiting.reply.is_closed() {
                        continue;
                    }
                    let result = adjust_one(&self.pool, id, waiting.delta, &waiting.meta).await;
                    let _ = waiting.reply.send(result);
                }
            }
        }
    }
}

/// The adjustment in flight of one product: when it ends, whatever queued behind it is applied
/// by a task of its own (so the caller in flight gets its answer at once), or the product is
/// no longer in flight.
struct Turn<'a> {
    combiner: &'a Combiner,
    id: ProductId,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if let Some(batch) = self.combiner.in_flight.next_batch(self.id) {
            tokio::spawn(self.combiner.clone().drain(self.id, batch));
        }
    }
}

/// Applies one product's batch in one transaction; an `Err` means nothing was applied.
async fn apply(
    pool: &MySqlPool,
    id: ProductId,
    batch: &[Waiting],
) -> StoreResult<Vec<StoreResult<Change>>> {
    let mut tx = pool.begin().await?;
    let product = match locked_product(&mut tx, id).await {
        Ok(product) => product,
        Err(StoreError::Rejected(StockError::ProductNotFound(_))) => {
            return Ok(batch
                .iter()
                .map(|_| Err(StockError::ProductNotFound(id).into()))
                .collect());
        }
        Err(error) => return Err(error),
    };
    let current = HashMap::from([(id, product.level())]);
    let adjustments: Vec<(ProductId, Delta)> = batch.iter().map(|w| (id, w.delta)).collect();
    let (outcomes, finals) = plan(&current, &adjustments);
    let now = Utc::now();
    let mut movement_ids = Vec::with_capacity(batch.len());
    if let Some(last) = finals.get(&id) {
        sqlx::query("UPDATE products SET stock = ?, version = ?, updated_at = ? WHERE id = ?")
            .bind(last.stock)
            .bind(last.version)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for (waiting, outcome) in batch.iter().zip(&outcomes) {
            if let Outcome::Applied(after) = outcome {
                let movement = sqlx::query(
                    "INSERT INTO movements (product_id, delta, stock_after, version, reason, \
                     request_id, order_id, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                )
                .bind(id)
                .bind(waiting.delta.get())
                .bind(after.stock)
                .bind(after.version)
                .bind(waiting.meta.reason.as_ref().map(|r| r.as_str()))
                .bind(waiting.meta.request_id.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                movement_ids.push(super::inserted_id(movement.last_insert_id())?);
            }
        }
        tx.commit().await?;
    }
    let mut movement_ids = movement_ids.into_iter();
    Ok(outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Applied(after) => Ok(Change {
                product: as_of(&product, after, now),
                movement_id: movement_ids.next().ok_or(StockError::ProductNotFound(id))?,
            }),
            Outcome::Refused(refused) => Err(refused.into()),
        })
        .collect())
}
