//! The race point of a read-modify-write: where the lab pauses a change between its read and
//! its write, so that a race happens on demand instead of by luck.
//!
//! Two ways to pause, both lab-only:
//! - a race window: sleep for a while, so that concurrent requests likely read the same value;
//! - a rendezvous: wait until N requests on the same product are at the race point (or the
//!   window runs out). Under `unsafe` all N have read the same stock when they are released, so
//!   the lost update happens every time; under a strategy that serializes them the others cannot
//!   arrive while one holds the lock, so it waits out the window alone and then goes on. Tests
//!   use it to prove which strategies lose updates, deterministically.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stocklab_domain::ProductId;
use stocklab_store::RacePoint;
use tokio::sync::Notify;

/// Requests that wait for each other at the race point, by (product, group size).
#[derive(Debug, Default)]
pub struct Rendezvous {
    groups: std::sync::Mutex<HashMap<(ProductId, u32), Arc<Group>>>,
}

#[derive(Debug, Default)]
struct Group {
    arrived: std::sync::Mutex<u32>,
    all_here: Notify,
}

impl Rendezvous {
    /// Waits until `size` requests on `product` have arrived, or `limit` has passed.
    pub async fn meet(&self, product: ProductId, size: u32, limit: Duration) {
        let key = (product, size);
        let group = Arc::clone(self.lock().entry(key).or_default());
        // Created before counting ourselves in: `notify_waiters` reaches every `Notified` that
        // exists when it is called, polled yet or not, so the last arrival cannot be missed.
        let all_here = group.all_here.notified();
        let arrived = {
            let mut arrived = group.arrived.lock().unwrap_or_else(PoisonError::into_inner);
            *arrived += 1;
            *arrived
        };
        if arrived >= size {
            self.forget(key, &group);
            group.all_here.notify_waiters();
            return;
        }
        if tokio::time::timeout(limit, all_here).await.is_err() {
            // Alone at the race point: the others are held elsewhere (by a lock). Later
            // arrivals start a new group rather than complete this one.
            self.forget(key, &group);
        }
    }

    fn forget(&self, key: (ProductId, u32), group: &Arc<Group>) {
        let mut groups = self.lock();
        if groups
            .get(&key)
            .is_some_and(|current| Arc::ptr_eq(current, group))
        {
            groups.remove(&key);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(ProductId, u32), Arc<Group>>> {
        // No await under this lock, so a poisoned map is still consistent.
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// No pause: for changes that have no race point to widen.
#[derive(Debug)]
pub struct NoPause;

#[async_trait]
impl RacePoint for NoPause {
    async fn reached(&self) {}
}

/// The pause one change makes at its race point.
#[derive(Debug)]
pub struct Pause<'a> {
    pub product: ProductId,
    pub window: Duration,
    pub rendezvous_size: Option<u32>,
    pub rendezvous: &'a Rendezvous,
}

#[async_trait]
impl RacePoint for Pause<'_> {
    async fn reached(&self) {
        match self.rendezvous_size {
            Some(size) => self.rendezvous.meet(self.product, size, self.window).await,
            None if !self.window.is_zero() => tokio::time::sleep(self.window).await,
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_group_is_released_together_without_waiting_out_the_window() {
        let rendezvous = Arc::new(Rendezvous::default());
        let started = tokio::time::Instant::now();
        let released = Arc::new(AtomicU32::new(0));
        let members: Vec<_> = (0..3)
            .map(|_| {
                let (rendezvous, released) = (Arc::clone(&rendezvous), Arc::clone(&released));
                tokio::spawn(async move {
                    rendezvous.meet(7, 3, Duration::from_secs(60)).await;
                    released.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for member in members {
            member.await.expect("a member did not panic");
        }
        assert_eq!(released.load(Ordering::SeqCst), 3);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "released when all were there"
        );
        assert!(
            rendezvous.lock().is_empty(),
            "the group is forgotten once complete"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_lone_member_goes_on_after_the_window_and_the_next_one_starts_afresh() {
        let rendezvous = Rendezvous::default();
        let started = tokio::time::Instant::now();
        rendezvous.meet(7, 2, Duration::from_millis(300)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(300));
        rendezvous.meet(7, 2, Duration::from_millis(300)).await;
        assert_eq!(
            started.elapsed(),
            Duration::from_millis(600),
            "not completed by the first"
        );
    }
}
