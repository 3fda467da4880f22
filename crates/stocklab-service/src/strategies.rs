//! Every strategy of DESIGN.md as one implementation, used by every operation that takes one.
//!
//! Each is a small function here; the names say which protection it adds around the same
//! read-modify-write, so the strategies can be compared side by side:
//! - `atomic`: no read-modify-write at all, one conditional statement in the store;
//! - `pessimistic`: the store's locked transaction;
//! - `transaction`: the store's read-modify-write in a transaction at a chosen isolation level;
//!
//! - `optimistic`: read, write if the version is unchanged, retry with jittered backoff;
//! - `unsafe`: read, pause, write back, nothing else;
//! - `mutex`, `per-product`, `semaphore`: `unsafe` inside an in-process lock.
//!
//! A strategy never knows which operation it protects: it runs the steps of a [`Work`] (one
//! product's adjustment or stock-take, or an order's lines).

use std::pin::pin;
use std::time::{Duration, Instant};

use futures::FutureExt;
use rand::Rng;
use stocklab_domain::{
    Change, ChangeMeta, Delta, Isolation, LockOrder, OrderLines, PlacedOrder, ProductId, Quantity,
    StockChange, Strategy,
};
use stocklab_store::RacePoint;
use tokio::sync::{Mutex, MutexGuard};

use crate::race::Pause;
use crate::stats::Outcome;
use crate::work::{OrderWork, ProductWork, Work};
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
        let work = ProductWork {
            id,
            change: StockChange::Adjust(delta),
        };
        self.run(&work, options, meta).await
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
        let change = StockChange::Count {
            quantity,
            expected_version,
        };
        self.run(&ProductWork { id, change }, options, meta).await
    }

    /// Withdraws every line of an order, all or nothing, under `options.strategy`.
    pub async fn place_order(
        &self,
        lines: &OrderLines,
        options: &ChangeOptions,
        meta: &ChangeMeta,
    ) -> ServiceResult<Applied<PlacedOrder>> {
        let work = OrderWork {
            lines,
            lock_order: options.lock_order,
        };
        self.run(&work, options, meta).await
    }

    /// Runs `work` under `options.strategy`, and counts it in the stats.
    async fn run<W: Work>(
        &self,
        work: &W,
        options: &ChangeOptions,
        meta: &ChangeMeta,
    ) -> ServiceResult<Applied<W::Done>> {
        let mut outcome = Outcome::default();
        let result = self.run_under(work, options, meta, &mut outcome).await;
        self.lab
            .stats
            .record(options.strategy, outcome, result.as_ref().map(|_| ()));
        result.map(|value| Applied {
            value,
            strategy: options.strategy,
            retries: outcome.retries,
        })
    }

    async fn run_under<W: Work>(
        &self,
        work: &W,
        options: &ChangeOptions,
        meta: &ChangeMeta,
        outcome: &mut Outcome,
    ) -> ServiceResult<W::Done> {
        self.check_lab(options)?;
        let pause = Pause {
            product: work.race_product(),
            window: options.race_window,
            rendezvous_size: options.rendezvous,
            rendezvous: &self.lab.rendezvous,
            paused: &self.lab.paused,
        };
        let store = &*self.store;
        let locks = &self.lab.locks;
        let done = match options.strategy {
            Strategy::Atomic => work.atomic(store, &pause, meta).await?,
            Strategy::Pessimistic => work.locked(store, &pause, meta).await?,
            Strategy::Transaction => {
                work.in_transaction(store, options.isolation, &pause, meta)
                    .await?
            }
            Strategy::Optimistic => self.optimistic(work, &pause, meta, outcome).await?,
            Strategy::Unsafe => self.unprotected(work, &pause, meta).await?,
            Strategy::Mutex => {
                let _held = self.wait_for(locks.global.lock(), outcome).await?;
                self.unprotected(work, &pause, meta).await?
            }
            Strategy::PerProduct => {
                let stripes = locks.stripes(&work.products());
                let _held = self.wait_for(lock_all(stripes), outcome).await?;
                self.unprotected(work, &pause, meta).await?
            }
            Strategy::Semaphore => {
                let semaphore = locks.semaphore(options.permits);
                // Only a closed semaphore refuses a permit, and nothing closes one.
                let _permit = self
                    .wait_for(semaphore.acquire(), outcome)
                    .await?
                    .map_err(|_| ServiceError::Internal("the semaphore was closed".to_owned()))?;
                self.unprotected(work, &pause, meta).await?
            }
        };
        Ok(done)
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
    async fn unprotected<W: Work>(
        &self,
        work: &W,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
    ) -> ServiceResult<W::Done> {
        work.read_modify_write(&*self.store, race_point, false, meta)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal("a write without a version check was refused".to_owned())
            })
    }

    /// Read with the version, write only if it is unchanged, otherwise back off and retry.
    /// Nothing is held while backing off: each write is a transaction of its own.
    async fn optimistic<W: Work>(
        &self,
        work: &W,
        race_point: &dyn RacePoint,
        meta: &ChangeMeta,
        outcome: &mut Outcome,
    ) -> ServiceResult<W::Done> {
        for retries in 0..=MAX_OPTIMISTIC_RETRIES {
            outcome.retries = retries;
            if retries > 0 {
                tokio::time::sleep(backoff(retries - 1)).await;
            }
            let written = work
                .read_modify_write(&*self.store, race_point, true, meta)
                .await?;
            if let Some(done) = written {
                return Ok(done);
            }
        }
        Err(ServiceError::Conflict {
            retries: MAX_OPTIMISTIC_RETRIES,
        })
    }

    /// Waits for an in-process lock or permit at most the lock timeout, the bound a database
    /// lock wait has too: locks taken in different orders (an order's stripes in request
    /// order) end in a 409 `lock_timeout`, not a hang. When it was not free at once, notes in
    /// `outcome` how long the wait took.
    async fn wait_for<T>(
        &self,
        acquire: impl Future<Output = T>,
        outcome: &mut Outcome,
    ) -> ServiceResult<T> {
        let mut acquire = pin!(acquire);
        if let Some(held) = acquire.as_mut().now_or_never() {
            return Ok(held);
        }
        let started = Instant::now();
        let acquired = tokio::time::timeout(self.lab.lock_timeout, acquire).await;
        let waited = started.elapsed();
        outcome.lock_wait = Some(waited);
        acquired.map_err(|_| ServiceError::LockTimeout { waited })
    }
}

/// Takes every lock of `stripes` in turn, in the order given.
async fn lock_all(stripes: Vec<&Mutex<()>>) -> Vec<MutexGuard<'_, ()>> {
    let mut held = Vec::with_capacity(stripes.len());
    for stripe in stripes {
        held.push(stripe.lock().await);
    }
    held
}

/// Exponential backoff from 1 ms, capped at 64 ms, with full jitter: clients that collided once
/// should not collide again in lockstep.
fn backoff(retries: u32) -> Duration {
    let ceiling_ms = 1u64 << retries.min(6);
    Duration::from_micros(rand::rng().random_range(0..=ceiling_ms * 1000))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use stocklab_domain::{NewProduct, Product};
    use stocklab_store::StoreOptions;

    use super::*;

    /// A race point at which another change of the product lands the first `times` times it is
    /// reached: each of those reads is stale by the time `optimistic` writes.
    struct OthersChangeIt<'a> {
        inventory: &'a Inventory,
        id: ProductId,
        times: u32,
        landed: AtomicU32,
    }

    #[async_trait]
    impl RacePoint for OthersChangeIt<'_> {
        async fn reached(&self) {
            if self.landed.fetch_add(1, Ordering::SeqCst) >= self.times {
                return;
            }
            let receive = Delta::parse(1).expect("a valid delta");
            self.inventory
                .adjust(
                    self.id,
                    receive,
                    &ChangeOptions::new(Strategy::Atomic),
                    &ChangeMeta::default(),
                )
                .await
                .expect("the other change is applied");
        }
    }

    async fn inventory_with_one_product(dir: &tempfile::TempDir) -> (Inventory, Product) {
        let url = format!("sqlite://{}", dir.path().join("stocklab.db").display());
        let store = stocklab_store::connect(&url, &StoreOptions::default())
            .await
            .expect("a SQLite store");
        let inventory = Inventory::new(
            store,
            ChangeOptions::new(Strategy::Optimistic),
            true,
            Duration::from_secs(1),
        );
        let new = NewProduct::parse("CONTENDED", "Contended", 10).expect("a valid product");
        let product = inventory.create_product(&new).await.expect("created");
        (inventory, product)
    }

    /// Withdraws one unit under `optimistic` while `others_first` other changes land between
    /// its reads and its writes. Returns its result, the retries it counted and the final stock.
    async fn withdraw_while_others_change_it(
        others_first: u32,
    ) -> (ServiceResult<Change>, u32, i64) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (inventory, product) = inventory_with_one_product(&dir).await;
        let others = OthersChangeIt {
            inventory: &inventory,
            id: product.id,
            times: others_first,
            landed: AtomicU32::new(0),
        };
        let work = ProductWork {
            id: product.id,
            change: StockChange::Adjust(Delta::parse(-1).expect("a valid delta")),
        };
        let mut outcome = Outcome::default();
        let result = inventory
            .optimistic(&work, &others, &ChangeMeta::default(), &mut outcome)
            .await;
        let stock = inventory.get_product(product.id).await.expect("read").stock;
        (result, outcome.retries, stock)
    }

    #[tokio::test]
    async fn optimistic_retries_past_changes_it_did_not_see() {
        let (result, retries, stock) = withdraw_while_others_change_it(3).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(retries, 3);
        assert_eq!(
            stock,
            10 + 3 - 1,
            "three receipts and the withdrawal, none lost"
        );
    }

    #[tokio::test]
    async fn optimistic_gives_up_with_a_conflict_when_every_read_is_stale() {
        let (result, retries, stock) = withdraw_while_others_change_it(u32::MAX).await;
        assert!(
            matches!(
                result,
                Err(ServiceError::Conflict {
                    retries: MAX_OPTIMISTIC_RETRIES
                })
            ),
            "{result:?}"
        );
        assert_eq!(retries, MAX_OPTIMISTIC_RETRIES);
        let attempts = i64::from(MAX_OPTIMISTIC_RETRIES) + 1;
        assert_eq!(
            stock,
            10 + attempts,
            "every receipt, and not the withdrawal"
        );
    }
}
