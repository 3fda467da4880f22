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
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use stocklab_domain::ProductId;
use stocklab_store::RacePoint;
use tokio::sync::Notify;

// Under the `shuttle` feature the table's lock is shuttle's, so that its model checker controls
// (and explores) every interleaving of the members around it.
#[cfg(feature = "shuttle")]
use shuttle::sync::{Mutex, MutexGuard};
#[cfg(not(feature = "shuttle"))]
use std::sync::{Mutex, MutexGuard};

/// Requests that wait for each other at the race point, by (product, group size).
///
/// One lock guards the whole table, counts included: a member is counted in, counted out (when
/// it gives up) and released under it, so a later arrival can never complete a group with a
/// member that has already left.
#[derive(Debug, Default)]
pub struct Rendezvous {
    groups: Mutex<HashMap<(ProductId, u32), Group>>,
}

/// The members of a group waiting so far, and how they are released.
#[derive(Debug, Default)]
struct Group {
    arrived: u32,
    released: Arc<Notify>,
}

/// How a member left the rendezvous.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Met {
    /// The whole group arrived, this member included.
    All,
    /// It gave up waiting, uncounted, before the group was complete.
    Alone,
}

impl Rendezvous {
    /// Waits until `size` requests on `product` have arrived, or `limit` has passed.
    pub async fn meet(&self, product: ProductId, size: u32, limit: Duration) -> Met {
        self.meet_or_give_up(product, size, tokio::time::sleep(limit))
            .await
    }

    /// Waits until `size` requests on `product` have arrived, or `give_up` completes.
    async fn meet_or_give_up(
        &self,
        product: ProductId,
        size: u32,
        give_up: impl Future<Output = ()>,
    ) -> Met {
        let key = (product, size);
        let released;
        let all_here;
        {
            let mut groups = self.lock();
            let group = groups.entry(key).or_default();
            group.arrived += 1;
            if group.arrived >= size {
                if let Some(group) = groups.remove(&key) {
                    group.released.notify_waiters();
                }
                return Met::All;
            }
            released = Arc::clone(&group.released);
            // Created under the lock, before the last member can call `notify_waiters`, which
            // reaches every `Notified` that exists by then, polled yet or not.
            all_here = released.notified();
        }
        tokio::select! {
            biased;
            () = all_here => Met::All,
            () = give_up => self.leave(key, &released),
        }
    }

    /// Counts a member out of its group, unless the group was completed meanwhile (then it met
    /// the others after all): later arrivals start a group of their own rather than count on it.
    fn leave(&self, key: (ProductId, u32), released: &Arc<Notify>) -> Met {
        let mut groups = self.lock();
        match groups.get_mut(&key) {
            Some(group) if Arc::ptr_eq(&group.released, released) => {
                group.arrived -= 1;
                if group.arrived == 0 {
                    groups.remove(&key);
                }
                Met::Alone
            }
            // Removed, or replaced by a newer group: ours was completed and released.
            _ => Met::All,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<(ProductId, u32), Group>> {
        // No await under this lock, so a poisoned table is still consistent.
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

/// How many changes are paused at their race point right now. A lab user watches it to see
/// the window open; a test waits for it to know that a change holds its lock, read done, before
/// it sends the one that must find the lock taken (rather than sleeping and hoping).
#[derive(Debug, Default)]
pub struct PausedNow(AtomicUsize);

impl PausedNow {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts one change in until the returned guard is dropped, when the pause ends or the
    /// request is cancelled in it.
    fn enter(&self) -> impl Drop + '_ {
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.0.fetch_add(1, Ordering::Relaxed);
        Leave(&self.0)
    }
}

/// The pause one change makes at its race point.
#[derive(Debug)]
pub struct Pause<'a> {
    pub product: ProductId,
    pub window: Duration,
    pub rendezvous_size: Option<u32>,
    pub rendezvous: &'a Rendezvous,
    pub paused: &'a PausedNow,
}

#[async_trait]
impl RacePoint for Pause<'_> {
    async fn reached(&self) {
        if self.window.is_zero() && self.rendezvous_size.is_none() {
            return;
        }
        let _counted = self.paused.enter();
        match self.rendezvous_size {
            Some(size) => {
                self.rendezvous.meet(self.product, size, self.window).await;
            }
            None => tokio::time::sleep(self.window).await,
        }
    }
}

// Paused tokio time needs the std lock; the shuttle build has its own tests below.
#[cfg(all(test, not(feature = "shuttle")))]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_full_group_is_released_together_without_waiting_out_the_window() {
        let rendezvous = Arc::new(Rendezvous::default());
        let started = tokio::time::Instant::now();
        let members: Vec<_> = (0..3)
            .map(|_| {
                let rendezvous = Arc::clone(&rendezvous);
                tokio::spawn(async move { rendezvous.meet(7, 3, Duration::from_secs(60)).await })
            })
            .collect();
        for member in members {
            assert_eq!(member.await.expect("a member did not panic"), Met::All);
        }
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
        let window = Duration::from_millis(300);
        assert_eq!(rendezvous.meet(7, 2, window).await, Met::Alone);
        assert_eq!(started.elapsed(), window);
        assert_eq!(rendezvous.meet(7, 2, window).await, Met::Alone);
        assert_eq!(started.elapsed(), window * 2, "not completed by the first");
        assert!(
            rendezvous.lock().is_empty(),
            "a member that left is uncounted"
        );
    }
}

/// Shuttle explores the interleavings of members arriving, giving up and being released (run
/// with `--features shuttle`). Each test body runs thousands of times under a randomized
/// scheduler; shuttle fails a test on a failed assertion, and on a deadlock: a member left
/// waiting forever for a release that never comes (a lost wake-up).
#[cfg(all(test, feature = "shuttle"))]
mod shuttle_tests {
    use std::future::pending;

    use shuttle::future::{self, JoinHandle};
    use shuttle::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    const ITERATIONS: usize = 5_000;

    fn spawn_member(
        rendezvous: &Arc<Rendezvous>,
        size: u32,
        give_up: impl Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<Met> {
        let rendezvous = Arc::clone(rendezvous);
        future::spawn(async move { rendezvous.meet_or_give_up(7, size, give_up).await })
    }

    /// Completes once `count` has reached `at_least`: a member that gives up only after the
    /// members before it have finished.
    async fn once_finished(count: Arc<AtomicU32>, at_least: u32) {
        while count.load(Ordering::SeqCst) < at_least {
            future::yield_now().await;
        }
    }

    #[test]
    fn a_full_group_is_always_released_together() {
        shuttle::check_random(
            || {
                let rendezvous = Arc::new(Rendezvous::default());
                let members: Vec<_> = (0..3)
                    .map(|_| spawn_member(&rendezvous, 3, pending()))
                    .collect();
                future::block_on(async move {
                    for member in members {
                        assert_eq!(member.await.expect("member finished"), Met::All);
                    }
                });
                assert!(
                    rendezvous.lock().is_empty(),
                    "a complete group is forgotten"
                );
            },
            ITERATIONS,
        );
    }

    /// Three members, groups of two; the first gives up at whatever point the scheduler picks,
    /// each later one only once those before it are done (so nobody waits forever for a
    /// partner that cannot come). Whatever the interleaving, members are released in complete
    /// groups only: never one that counted a member which had already left.
    #[test]
    fn members_are_released_in_complete_groups_only() {
        shuttle::check_random(
            || {
                let rendezvous = Arc::new(Rendezvous::default());
                let finished = Arc::new(AtomicU32::new(0));
                let members: Vec<_> = (0..3)
                    .map(|index| {
                        let (finished, done) = (Arc::clone(&finished), Arc::clone(&finished));
                        let give_up = once_finished(finished, index);
                        let rendezvous = Arc::clone(&rendezvous);
                        future::spawn(async move {
                            let met = rendezvous.meet_or_give_up(7, 2, give_up).await;
                            done.fetch_add(1, Ordering::SeqCst);
                            met
                        })
                    })
                    .collect();
                let outcomes: Vec<Met> = future::block_on(async move {
                    let mut outcomes = Vec::new();
                    for member in members {
                        outcomes.push(member.await.expect("member finished"));
                    }
                    outcomes
                });
                let met = outcomes.iter().filter(|m| **m == Met::All).count();
                assert!(met % 2 == 0, "released in pairs only: {outcomes:?}");
                assert!(
                    rendezvous.lock().is_empty(),
                    "nobody is left counted: {outcomes:?}"
                );
            },
            ITERATIONS,
        );
    }
}
