//! The in-process locks of the `mutex`, `per-product` and `semaphore` strategies.
//!
//! All are tokio primitives, held across `.await` (the database round trips of a
//! read-modify-write), which a `std::sync::Mutex` must never be. None of them protects anything
//! across service instances: each process has its own.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use stocklab_domain::ProductId;
use tokio::sync::{Mutex, Semaphore};

/// How many per-product locks there are. Products share a stripe by id modulo this, which
/// costs only needless waits between the products of one stripe, and needs no map that grows
/// with the catalogue or entries to clean up.
const STRIPES: usize = 1024;

#[derive(Debug)]
pub struct Locks {
    /// `mutex`: one lock for every change in the process.
    pub global: Mutex<()>,
    /// `per-product`: one lock per stripe of products.
    stripes: Vec<Mutex<()>>,
    /// `semaphore`: one semaphore per permit count asked for, created on first use.
    semaphores: std::sync::Mutex<HashMap<u32, Arc<Semaphore>>>,
}

impl Default for Locks {
    fn default() -> Self {
        Self {
            global: Mutex::new(()),
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            semaphores: std::sync::Mutex::default(),
        }
    }
}

impl Locks {
    /// The locks of the stripes of `ids`, in the order the ids come, each stripe once: an
    /// order whose products share a stripe must not wait for the lock it already holds.
    pub fn stripes(&self, ids: &[ProductId]) -> Vec<&Mutex<()>> {
        let mut indexes: Vec<usize> = Vec::with_capacity(ids.len());
        for id in ids {
            let index = id.rem_euclid(STRIPES as i64) as usize;
            if !indexes.contains(&index) {
                indexes.push(index);
            }
        }
        indexes
            .into_iter()
            .map(|index| &self.stripes[index])
            .collect()
    }

    /// The semaphore with `permits` permits.
    pub fn semaphore(&self, permits: u32) -> Arc<Semaphore> {
        // Only a map insert happens under this std lock; no await, so poisoning cannot leave
        // the map half-changed and is safe to ignore.
        let mut semaphores = self
            .semaphores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            semaphores
                .entry(permits)
                .or_insert_with(|| Arc::new(Semaphore::new(permits as usize))),
        )
    }
}
