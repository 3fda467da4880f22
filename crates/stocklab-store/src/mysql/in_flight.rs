//! The combiner's keyed queue: which products have an adjustment in flight in this process,
//! and what waits behind each.
//!
//! The whole protocol is two steps under one lock. An arrival either finds its product idle,
//! marks it in flight and leads (goes to the database alone), or queues behind it. Whoever is
//! in flight takes the product's queue when done, as the next batch, or, finding it empty,
//! marks the product idle, both under the same lock: an arrival can never queue behind a
//! product that nobody will come back to.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use stocklab_domain::ProductId;

// Under the `shuttle` feature the lock is shuttle's, so that its model checker controls (and
// explores) every interleaving of arrivals and batches around it.
#[cfg(feature = "shuttle")]
use shuttle::sync::{Mutex, MutexGuard};
use std::sync::PoisonError;
#[cfg(not(feature = "shuttle"))]
use std::sync::{Mutex, MutexGuard};

/// The products with an adjustment in flight, each with the adjustments (`T`) waiting behind it.
#[derive(Debug)]
pub(super) struct InFlight<T> {
    queues: Mutex<HashMap<ProductId, Vec<T>>>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        Self {
            queues: Mutex::default(),
        }
    }
}

impl<T> InFlight<T> {
    /// `true` when the caller leads: nothing of product `id` was in flight, and now the
    /// caller's change is, which obliges it to call [`next_batch`](Self::next_batch) until
    /// `None` once it is done. Otherwise `waiting()` is queued behind the change in flight.
    pub fn lead_or_queue(&self, id: ProductId, waiting: impl FnOnce() -> T) -> bool {
        match self.lock().entry(id) {
            Entry::Vacant(vacant) => {
                vacant.insert(Vec::new());
                true
            }
            Entry::Occupied(mut queue) => {
                queue.get_mut().push(waiting());
                false
            }
        }
    }

    /// What queued behind the product's change or batch in flight, or `None` (and the product
    /// is no longer in flight) when nothing did.
    pub fn next_batch(&self, id: ProductId) -> Option<Vec<T>> {
        let mut queues = self.lock();
        let queue = queues.get_mut(&id)?;
        if queue.is_empty() {
            queues.remove(&id);
            return None;
        }
        Some(std::mem::take(queue))
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<ProductId, Vec<T>>> {
        // No await under this lock, so a poisoned map is still consistent.
        self.queues.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Shuttle explores the interleavings of arrivals and batches (run with `--features
/// shuttle`); each test body runs thousands of times under a randomized scheduler.
#[cfg(all(test, feature = "shuttle"))]
mod shuttle_tests {
    use std::sync::Arc;

    use shuttle::thread;

    use super::*;

    const ITERATIONS: usize = 5_000;
    const PRODUCT: ProductId = 7;

    /// One adjustment as the combiner makes it: lead and then drain batch after batch, or
    /// queue. `applied` records each adjustment when its batch is taken.
    fn adjust(in_flight: &InFlight<u32>, applied: &Mutex<Vec<u32>>, n: u32) {
        let record = |batch: &[u32]| {
            applied
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(batch);
        };
        if in_flight.lead_or_queue(PRODUCT, || n) {
            record(&[n]);
            while let Some(batch) = in_flight.next_batch(PRODUCT) {
                record(&batch);
            }
        }
    }

    /// Four adjustments of one product, arriving in any interleaving: each is applied exactly
    /// once (none stranded in a queue nobody drains, none twice), and afterwards the product is
    /// idle, so the next arrival leads instead of queueing for nothing.
    #[test]
    fn every_adjustment_is_applied_once_and_the_product_ends_idle() {
        shuttle::check_random(
            || {
                let in_flight = Arc::new(InFlight::default());
                let applied = Arc::new(Mutex::new(Vec::new()));
                let threads: Vec<_> = (0..4)
                    .map(|n| {
                        let (in_flight, applied) = (Arc::clone(&in_flight), Arc::clone(&applied));
                        thread::spawn(move || adjust(&in_flight, &applied, n))
                    })
                    .collect();
                for thread in threads {
                    thread.join().expect("the adjustment finished");
                }
                let mut applied = applied.lock().expect("not poisoned").clone();
                applied.sort_unstable();
                assert_eq!(applied, [0, 1, 2, 3]);
                assert!(
                    in_flight.lead_or_queue(PRODUCT, || 4),
                    "the product was left in flight"
                );
            },
            ITERATIONS,
        );
    }
}
