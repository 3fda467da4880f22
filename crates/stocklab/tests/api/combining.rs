//! MySQL's per-product combining of atomic adjustments (`mysql/combine.rs`), driven through the
//! store itself: these tests must hold a product's row lock from a connection of their own, and
//! cancel an adjustment in flight, which HTTP cannot do deterministically. The HTTP contract
//! (`concurrency.rs`, `lab.rs`) covers the same path under load.

use std::sync::Arc;
use std::time::Duration;

use sqlx::{Connection, Executor, MySqlConnection};
use stocklab_domain::{ChangeMeta, Delta, NewProduct, StockError};
use stocklab_store::{Store, StoreError, StoreOptions};

use crate::helpers::{Backend, TestDatabase, mysql_configured};

/// A fresh MySQL store with one product of `stock`, and a connection that holds that product's
/// row lock until it is dropped or rolls back: adjustments started meanwhile are in flight (the
/// first, waiting in InnoDB) or queued behind it (the others) for as long as the test wants.
async fn store_with_locked_product(
    stock: i64,
) -> (TestDatabase, Arc<dyn Store>, i64, MySqlConnection) {
    let db = TestDatabase::create(Backend::Mysql).await;
    let options = StoreOptions {
        acquire_timeout: Duration::from_secs(3),
        lock_timeout: Duration::from_secs(10),
        ..StoreOptions::default()
    };
    let store = stocklab_store::connect(&db.url, &options)
        .await
        .expect("the test database opens");
    let product = NewProduct::parse("COMBINE-1", "Combined", stock).expect("a valid product");
    let id = store.create_product(&product).await.expect("created").id;
    let mut holder = MySqlConnection::connect(&db.url)
        .await
        .expect("a second connection");
    holder.execute("BEGIN").await.expect("BEGIN");
    sqlx::query("SELECT id FROM products WHERE id = ? FOR UPDATE")
        .bind(id)
        .execute(&mut holder)
        .await
        .expect("the row is locked");
    (db, store, id, holder)
}

fn withdraw_one(
    store: &Arc<dyn Store>,
    id: i64,
) -> tokio::task::JoinHandle<Result<i64, StoreError>> {
    let store = Arc::clone(store);
    tokio::spawn(async move {
        let delta = Delta::parse(-1).expect("a valid delta");
        let change = store
            .adjust_atomic(id, delta, &ChangeMeta::default())
            .await?;
        Ok(change.product.version)
    })
}

/// Time for spawned adjustments to reach the store and start waiting.
const SETTLE: Duration = Duration::from_millis(300);

/// Twenty withdrawals of one from a stock of ten, all queued behind the first while the row is
/// locked: one batch decides them in arrival order, so exactly ten are applied (versions 1 to
/// 10, none repeated) and ten refused, and the ledger agrees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_queued_behind_one_in_flight_are_applied_as_one_batch() {
    if !mysql_configured() {
        return;
    }
    let (_db, store, id, mut holder) = store_with_locked_product(10).await;
    let first = withdraw_one(&store, id);
    tokio::time::sleep(SETTLE).await;
    let queued: Vec<_> = (0..19).map(|_| withdraw_one(&store, id)).collect();
    tokio::time::sleep(SETTLE).await;
    holder
        .execute("ROLLBACK")
        .await
        .expect("the lock is released");

    let mut versions = Vec::new();
    let mut refused = 0;
    for handle in std::iter::once(first).chain(queued) {
        match handle.await.expect("no panic") {
            Ok(version) => versions.push(version),
            Err(StoreError::Rejected(StockError::InsufficientStock(_))) => refused += 1,
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=10).collect::<Vec<_>>());
    assert_eq!(refused, 10);
    assert_eq!(store.get_product(id).await.expect("read").stock, 0);
    assert!(store.audit().await.expect("audit").ok());
}

/// The adjustment in flight is cancelled (its client went away) while others wait behind it:
/// they are still applied, promptly, instead of waiting out their limit for a hand-over that
/// never comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjustments_queued_behind_a_cancelled_one_are_still_applied() {
    if !mysql_configured() {
        return;
    }
    let (_db, store, id, mut holder) = store_with_locked_product(10).await;
    let first = withdraw_one(&store, id);
    tokio::time::sleep(SETTLE).await;
    let queued: Vec<_> = (0..5).map(|_| withdraw_one(&store, id)).collect();
    tokio::time::sleep(SETTLE).await;
    first.abort();
    holder
        .execute("ROLLBACK")
        .await
        .expect("the lock is released");

    for handle in queued {
        let version = handle.await.expect("no panic");
        assert!(version.is_ok(), "a queued withdrawal failed: {version:?}");
    }
    // The cancelled one never committed.
    assert_eq!(store.get_product(id).await.expect("read").stock, 5);
    assert!(store.audit().await.expect("audit").ok());
}
