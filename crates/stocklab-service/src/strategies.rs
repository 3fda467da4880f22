//! Every strategy of DESIGN.md as one implementation, used by every operation that takes one.
//!
//! Each is a small function here; the names say which protection it adds around the same
//! read-modify-write, so the strategies can be compared side by side:
//! - `atomic`: no read-modify-write at all, one conditional statement in the store;
//! - `pessimistic`: the store's locked transaction;
//! - `transaction`: the store's read-modify-write in a transaction at a chosen isolation level;
//!
//! A strategy never knows which operation it protects: it applies a [`StockChange`] (an
//! adjustment or a stock-take) to the level it read.
//! - `optimistic`: read, write if the version is unchanged, retry with jittered backoff;
//! - `unsafe`: read, pause, write back, nothing else;
//! - `mutex`, `per-product`, `semaphore`: `unsafe` inside an in-process lock.

use std::time::{Duration, Instant};

use rand::Rng;
use stocklab_domain::{
    Change, ChangeMeta, Delta, Isolation, LockOrder, ProductId, Quantity, StockChange, StockError,
    Strategy,
};
use stocklab_store::RacePoint;
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

use crate::race::{NoPause, Pause};
use crate::stats::Outcome;
use crate::{Inventory, ServiceError, ServiceResult};

/// How a change should run: the strategy and what the lab adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeOptions {
    pub strategy: Strategy,
    /// The permits of the `semaphore` strategy (1 makes it a lock).
    pub permits: u32,
    /// A pause between the read and the write of a read-modify-write (lab only when not zero).
    pub race_window: Duration,
    /// Wait at the race point for this many requests on the same product, at most
    /// `race_window` (lab only).
    pub rendezvous: Option<u32>,
    /// The order in which an order's rows are locked (request order: lab only).
    pub lock_order: LockOrder,
    /// The isolation level of the `transaction` strategy (below serializable: lab only).
    pub isolation: Isolation,
}

impl ChangeOptions {
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            permits: 1,
            race_window: Duration::ZERO,
            rendezvous: None,
            lock_order: LockOrder::Ascending,
            isolation: Isolation::default(),
        }
    }

    /// What these options ask for that only lab mode allows, if anything.
    pub fn lab_only_feature(&self) -> Option<String> {
        if self.strategy == Strategy::Unsafe {
            return Some("the unsafe strategy".to_owned());
        }
        if self.strategy == Strategy::Semaphore && self.permits > 1 {
            return Some(format!(
                "a semaphore with {} permits (not a lock)",
                self.permits
            ));
        }
        // Before the window: a rendezvous brings a window of its own, and the refusal should
        // name what the request asked for.
        if self.rendezvous.is_some() {
            return Some("a rendezvous at the race point".to_owned());
        }
        if !self.race_window.is_zero() {
            return Some("a race window".to_owned());
        }
        if self.strategy == Strategy::Transaction && self.isolation != Isolation::Serializable {
            return Some(format!(
                "a transaction at {}, which lets updates be lost on MySQL",
                self.isolation.name()
            ));
        }
        if self.lock_order == LockOrder::Request {
            return Some("locking an order's rows in request order".to_owned());
        }
        None
    }
}

/// A change that was applied, and what it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<T> {
    pub value: T,
    pub strategy: Strategy,
    /// How many times `optimistic` found the version changed and tried again.
    pub retries: u32,
}

/// The most times `optimistic` retries before giving up with 409 `conflict`.
pub const MAX_OPTIMISTIC_RETRIES: u32 = 10;

impl Inventory {
    /// Adds `delta` to a product's stock under `options.strategy`.
    pub async fn adjust(
        &self,
        id: ProductId,
        delta: Delta,
        options: &ChangeOptions,
        meta: &ChangeMeta,
    ) -> ServiceResult<Applied<Change>> {
        self.change(id, StockChange::Adjust(delta), options, meta)
            .await
    }

    /// Sets a product's stock to a counted quantity (a stock-take) under `options.strategy`,
    /// refusing when the product has changed since the version the counter saw.
    pub async fn count_stock(
        &self,
        id: ProductId,
        quantity: Quantity,
        expected_version: Option<i64>,
        options: &ChangeOptions,
        meta: &ChangeMeta,
    ) -> ServiceResult<Applied<Change>> {
        let count = StockChange::Count {
            quantity,
            expected_version,
        };
        self.change(id, count, options, meta).await
    }

    /// Applies a change of one product under `options.strategy`, and counts it in the stats.
    async fn change(
        &self,
        id: ProductId,
        change: StockChange,
        options: &ChangeOptions,
        meta: &ChangeMeta,
    ) -> ServiceResult<Applied<Change>> {
        let mut outcome = Outcome::default();
        let result = self
            .change_under(id, change, options, meta, &mut outcome)
            .await;
        self.record(options.strategy, outcome, &result);
        result.map(|value| Applied {
            value,
            strategy: options.strategy,
            retries: outcome.retries,
        })
    }

    /// Counts one change in the stats.
    pub(crate) fn record<T>(
        &self,
        strategy: Strategy,
        outcome: Outcome,
        result: &ServiceResult<T>,
    ) {
        self.lab
            .stats
            .record(strategy, outcome, result.as_ref().map(|_| ()));
    }

    async fn change_under(
        &self,
        id: ProductId,
        change: StockChange,
        options: &ChangeOptions,
        meta: &ChangeMeta,
        outcome: &mut Outcome,
    ) -> ServiceResult<Change> {
        self.check_lab(options)?;
        let pause = Pause {
            product: id,
            window: options.race_window,
            rendezvous_size: options.rendezvous,
            rendezvous: &self.lab.rendezvous,
        };
        let store = &self.store;
        let change = match (options.strategy, change) {
            (Strategy::Atomic, StockChange::Adjust(delta)) => {
                store.adjust_atomic(id, delta, meta).await?
            }
            // A stock-take needs the old stock for its ledger row, so it cannot be one
            // conditional statement: under `atomic` it is a short locked transaction.
            (Strategy::Atomic, count) => store.change_locked(id, count, &NoPause, meta).await?,
            (Strategy::Pessimistic, change) => {
                store.change_locked(id, change, &pause, meta).await?
            }
            (Strategy::Transaction, change) => {
                store
                    .change_in_transaction(id, change, options.isolation, &pause, meta)
                    .await?
            }
            (Strategy::Optimistic, change) => {
                self.optimistic(id, change, &pause, meta, outcome).await?
            }
            (Strategy::Unsafe, change) => self.read_modify_write(id, change, &pause, meta).await?,
            (Strategy::Mutex, change) => {
                let _held = lock(&self.lab.locks.global, outcome).await;
                self.read_modify_write(id, change, &pause, meta).await?
            }
            (Strategy::PerProduct, change) => {
                let _held = lock(self.lab.locks.stripe(id), outcome).await;
                self.read_modify_write(id, change, &pause, meta).await?
            }
            (Strategy::Semaphore, change) => {
                let semaphore = self.lab.locks.semaphore(options.permits);
                let _permit = permit(&semaphore, outcome).await?;
                self.read_modify_write(id, change, &pause, meta).await?
            }
        };
        Ok(change)
    }

    pub(crate) fn check_lab(&self, options: &ChangeOptions) -> ServiceResult<()> {
        match options.lab_only_feature() {
            Some(feature) if !self.lab.enabled => Err(ServiceError::LabDisabled(feature)),
            _ => Ok(()),
        }
    }

    /// Read, pause, check, write back: the unprotected read-modify-write. Two of these that
    /// read the same stock both write their own result, and one update is lost; a check on a
    /// stale read lets through a withdrawal the real stock could not cover (oversell), or a
    /// stock-take that overwrites a change it did not see.
    async fn read_modify_write(
        &self,
        id: ProductId,
        change: StockChange,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> ServiceResult<Change> {
        let level = self.store.read_level(id).await?;
        race_point.reached().await;
        let (after, delta) = change.apply(id, level)?;
        self.store
            .write_stock(id, quantity(after.stock)?, delta, None, meta)
            .await?
            .ok_or_else(|| StockError::ProductNotFound(id).into())
    }

    /// Read with the version, write only if it is unchanged, otherwise back off and retry.
    /// Nothing is held while backing off: each write is a transaction of its own.
    async fn optimistic(
        &self,
        id: ProductId,
        change: StockChange,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
        outcome: &mut Outcome,
    ) -> ServiceResult<Change> {
        for retries in 0..=MAX_OPTIMISTIC_RETRIES {
            outcome.retries = retries;
            if retries > 0 {
                tokio::time::sleep(backoff(retries - 1)).await;
            }
            let level = self.store.read_level(id).await?;
            race_point.reached().await;
            let (after, delta) = change.apply(id, level)?;
            let written = self
                .store
                .write_stock(id, quantity(after.stock)?, delta, Some(level.version), meta)
                .await?;
            if let Some(change) = written {
                return Ok(change);
            }
        }
        Err(ServiceError::Conflict {
            retries: MAX_OPTIMISTIC_RETRIES,
        })
    }
}

/// Takes `lock`, noting in `outcome` how long that took if it was not free.
async fn lock<'a>(lock: &'a Mutex<()>, outcome: &mut Outcome) -> MutexGuard<'a, ()> {
    if let Ok(guard) = lock.try_lock() {
        return guard;
    }
    let started = Instant::now();
    let guard = lock.lock().await;
    outcome.lock_wait = Some(started.elapsed());
    guard
}

/// Takes a permit of `semaphore`, noting in `outcome` how long that took if none was free.
async fn permit<'a>(
    semaphore: &'a Semaphore,
    outcome: &mut Outcome,
) -> ServiceResult<SemaphorePermit<'a>> {
    if let Ok(permit) = semaphore.try_acquire() {
        return Ok(permit);
    }
    let started = Instant::now();
    let permit = semaphore
        .acquire()
        .await
        .map_err(|_| ServiceError::ShuttingDown)?;
    outcome.lock_wait = Some(started.elapsed());
    Ok(permit)
}

/// Exponential backoff from 1 ms, capped at 64 ms, with full jitter: clients that collided once
/// should not collide again in lockstep.
fn backoff(retries: u32) -> Duration {
    let ceiling_ms = 1u64 << retries.min(6);
    Duration::from_micros(rand::rng().random_range(0..=ceiling_ms * 1000))
}

fn quantity(stock: i64) -> ServiceResult<Quantity> {
    // `StockLevel::apply` only returns stocks within 0..=MAX_QUANTITY.
    Quantity::parse("stock", stock).map_err(|error| ServiceError::Internal(error.to_string()))
}
