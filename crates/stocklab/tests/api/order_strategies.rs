//! Orders under every strategy: the same proofs as for one product's change (lab.rs), for a
//! read-modify-write over several rows. Two orders over the same two products meet at the race
//! point, which an order reaches once it has read its first row.

use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, TestApp, assert_one_applied_one_refused, backend_tests};

backend_tests!(
    unsafe_orders_lose_an_update_every_time,
    unsafe_orders_oversell_the_last_unit,
    orders_under_a_semaphore_with_two_permits_lose_an_update,
    mutex_orders_lose_nothing,
    per_product_orders_lose_nothing,
    orders_under_a_semaphore_with_one_permit_lose_nothing,
    pessimistic_orders_lose_nothing,
    optimistic_orders_lose_nothing_and_count_their_retry,
    atomic_orders_lose_nothing,
    orders_in_a_read_committed_transaction_lose_an_update_on_mysql_only,
    orders_in_a_repeatable_read_transaction_lose_an_update_on_mysql_only,
    orders_in_a_serializable_transaction_lose_nothing,
    a_wait_for_an_in_process_lock_ends_in_a_clear_409,
);

/// How long an order that arrives alone waits at the race point.
const WINDOW_MS: u32 = 400;

/// Two orders of one unit of each of two products (stock `stock` each), meeting at the race
/// point. Returns the products and the two replies.
async fn order_race(app: &TestApp, stock: i64, query: &str) -> ([i64; 2], [Reply; 2]) {
    let ids = [
        app.create_product("ORACE-A", stock).await,
        app.create_product("ORACE-B", stock).await,
    ];
    let body = json!({"lines": [{"product_id": ids[0], "quantity": 1}, {"product_id": ids[1], "quantity": 1}]});
    (ids, race_orders(app, query, body).await)
}

/// Sends `body` as two orders at once under `query`, meeting at the race point.
async fn race_orders(app: &TestApp, query: &str, body: Value) -> [Reply; 2] {
    let path = format!("/api/orders?{query}&rendezvous=2&race_window_ms={WINDOW_MS}");
    let order = || app.post(&path, body.clone());
    let (first, second) = tokio::join!(order(), order());
    [first, second]
}

/// Both orders were acknowledged, yet the first product's stock went down by one: both read
/// it before either wrote. (The second product's read comes after the race point, so whether
/// its update is lost too depends on timing.) The audit shows the ledger disagreeing.
async fn assert_order_lost_update(app: &TestApp, query: &str) {
    let ([first, _], replies) = order_race(app, 10, query).await;
    for reply in &replies {
        reply.assert_status(201);
    }
    assert_eq!(
        app.stock_of(first).await,
        9,
        "one acknowledged line was lost"
    );
    let audit = app.get("/api/audit").await;
    let audit = audit.assert_status(200);
    assert_eq!(audit["ok"], json!(false));
    assert!(
        audit["mismatches"]
            .as_array()
            .is_some_and(|m| m.contains(&json!({"id": first, "stock": 9, "ledger_stock": 8}))),
        "{audit}"
    );
}

/// Both orders were applied, one after the other. Returns the two replies.
async fn assert_order_no_lost_update(app: &TestApp, query: &str, strategy: &str) -> [Reply; 2] {
    let (ids, replies) = order_race(app, 10, query).await;
    for reply in &replies {
        reply.assert_status(201);
        assert_eq!(reply.header("x-stocklab-strategy"), Some(strategy));
    }
    let mut versions: Vec<Value> = replies
        .iter()
        .map(|r| r.json["lines"][0]["version"].clone())
        .collect();
    versions.sort_by_key(|v| v.as_i64());
    assert_eq!(versions, [json!(1), json!(2)], "each saw the other's order");
    for id in ids {
        assert_eq!(app.stock_of(id).await, 8);
    }
    app.assert_audit_ok().await;
    replies
}

async fn unsafe_orders_lose_an_update_every_time(app: TestApp) {
    assert_order_lost_update(&app, "strategy=unsafe").await;
}

/// One unit left, two one-line orders for it: both read the stock (1) before the race point,
/// both passed the check and both were acknowledged, though only one unit existed. The guard
/// against negative stock cannot see it: each wrote 0. (One line only: a second line's row is
/// read after the race point, by then possibly already sold out.)
async fn unsafe_orders_oversell_the_last_unit(app: TestApp) {
    let first = app.create_product("OVERSELL-1", 1).await;
    let body = json!({"lines": [{"product_id": first, "quantity": 1}]});
    for reply in race_orders(&app, "strategy=unsafe", body).await {
        reply.assert_status(201);
    }
    assert_eq!(app.stock_of(first).await, 0);
    let audit = app.get("/api/audit").await;
    assert!(
        audit.assert_status(200)["mismatches"]
            .as_array()
            .is_some_and(|m| m.contains(&json!({"id": first, "stock": 0, "ledger_stock": -1}))),
        "two units were withdrawn from a stock of one: {audit:?}"
    );
}

async fn orders_under_a_semaphore_with_two_permits_lose_an_update(app: TestApp) {
    assert_order_lost_update(&app, "strategy=semaphore&permits=2").await;
}

async fn mutex_orders_lose_nothing(app: TestApp) {
    assert_order_no_lost_update(&app, "strategy=mutex", "mutex").await;
}

async fn per_product_orders_lose_nothing(app: TestApp) {
    assert_order_no_lost_update(&app, "strategy=per-product", "per-product").await;
}

async fn orders_under_a_semaphore_with_one_permit_lose_nothing(app: TestApp) {
    assert_order_no_lost_update(&app, "strategy=semaphore&permits=1", "semaphore").await;
}

async fn pessimistic_orders_lose_nothing(app: TestApp) {
    assert_order_no_lost_update(&app, "strategy=pessimistic", "pessimistic").await;
}

/// Both read version 0 of the first product and meet; one order commits, the other finds a
/// version changed when it writes, rolls back every line, and tries again: one retry.
async fn optimistic_orders_lose_nothing_and_count_their_retry(app: TestApp) {
    let replies = assert_order_no_lost_update(&app, "strategy=optimistic", "optimistic").await;
    let mut retries: Vec<&str> = replies
        .iter()
        .filter_map(|r| r.header("x-stocklab-retries"))
        .collect();
    retries.sort_unstable();
    assert_eq!(retries, ["0", "1"]);
}

async fn atomic_orders_lose_nothing(app: TestApp) {
    assert_order_no_lost_update(&app, "strategy=atomic", "atomic").await;
}

/// As for one product: the plain reads of READ COMMITTED and REPEATABLE READ take no lock on
/// MySQL, so the later order overwrites the earlier one's lines; SQLite's one writer is held
/// from read to commit.
async fn orders_below_serializable(app: &TestApp, isolation: &str) {
    let query = format!("strategy=transaction&isolation={isolation}");
    match app.backend {
        Backend::Mysql => assert_order_lost_update(app, &query).await,
        Backend::Sqlite => drop(assert_order_no_lost_update(app, &query, "transaction").await),
    }
}

async fn orders_in_a_read_committed_transaction_lose_an_update_on_mysql_only(app: TestApp) {
    orders_below_serializable(&app, "read-committed").await;
}

async fn orders_in_a_repeatable_read_transaction_lose_an_update_on_mysql_only(app: TestApp) {
    orders_below_serializable(&app, "repeatable-read").await;
}

/// At SERIALIZABLE, InnoDB turns the reads into shared locks; the two orders deadlock at their
/// writes and one is rolled back whole (409 `deadlock`): refused, never lost.
async fn orders_in_a_serializable_transaction_lose_nothing(app: TestApp) {
    let query = "strategy=transaction&isolation=serializable";
    match app.backend {
        Backend::Mysql => {
            let (ids, replies) = order_race(&app, 10, query).await;
            assert_one_applied_one_refused(&replies, query, 201, "deadlock");
            for id in ids {
                assert_eq!(app.stock_of(id).await, 9, "only one order was applied");
            }
            app.assert_audit_ok().await;
        }
        Backend::Sqlite => drop(assert_order_no_lost_update(&app, query, "transaction").await),
    }
}

/// An in-process lock is waited for no longer than the lock timeout, like a database lock:
/// an order that holds the `mutex` through a long race window makes the next change give up
/// with 409 `lock_timeout` instead of queueing without bound.
async fn a_wait_for_an_in_process_lock_ends_in_a_clear_409(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |args| args.lock_timeout_ms = 200).await;
    let id = app.create_product("LOCK-WAIT-1", 10).await;
    let line = json!({"lines": [{"product_id": id, "quantity": 1}]});
    let holder = app.post(
        "/api/orders?strategy=mutex&race_window_ms=1000",
        line.clone(),
    );
    let waiter = async {
        app.until_paused_at_race_point(1).await;
        app.post("/api/orders?strategy=mutex", line.clone()).await
    };
    let (held, waited) = tokio::join!(holder, waiter);
    held.assert_status(201);
    waited.assert_error(409, "lock_timeout");
    assert_eq!(app.stock_of(id).await, 9);
    let stats = app.get("/api/stats").await;
    let mutex = stats.assert_status(200)["strategies"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["strategy"] == "mutex"))
        .expect("mutex stats");
    assert_eq!(mutex["rejections"]["lock_timeout"], json!(1), "{stats:?}");
    assert_eq!(mutex["lock_waits"], json!(1), "{stats:?}");
}
