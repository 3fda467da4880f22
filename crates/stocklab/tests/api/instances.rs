//! Two service instances against one MariaDB database: which strategies still protect a stock
//! when the requests that race for it arrive at different processes.
//!
//! Each test starts two servers (two `TestApp`s, each with its own in-process locks, as two
//! processes would have) on one fresh database, creates a product with a stock of 10, and sends
//! one withdrawal of 1 to each instance at the same moment, under the same strategy:
//! - `mutex` and `per-product` lose an update: each instance's lock is free, since the other
//!   request holds the other instance's lock, so both read 10 and both write 9. Both requests are
//!   acknowledged, the stock ends at 9, and the audit finds the ledger (which recorded both
//!   withdrawals) at 8.
//! - `pessimistic`, `optimistic` and `atomic` lose nothing: their protection is in the database,
//!   which both instances share (a row lock, a version check, a single conditional `UPDATE`).
//!   The stock ends at 8 and the audit is clean.
//!
//! The requests meet through a race window (`?race_window_ms=`: read, sleep, write), not through
//! the rendezvous that the single-instance proofs in `lab.rs` use: a rendezvous is a barrier in
//! one process's memory, so a request waiting at instance A's never sees the one at instance B.
//! With both requests sent at once and a window far longer than the time it takes them to reach
//! their read, both read before either writes, so the in-process strategies lose an update. For
//! the database strategies correctness never depends on that timing: the window only makes the
//! overlap certain, so that they are shown to hold under it. `atomic` has no read-modify-write
//! and so no window at all; it must end at 8 all the same.
//!
//! MariaDB/MySQL only (`STOCKLAB_TEST_MYSQL_URL`): it is the database several instances of the
//! service are meant to share.

use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, TestApp, TestDatabase, mysql_configured};

/// How long each request pauses between its read and its write: far longer than the two
/// requests, sent together, take to reach their reads, so both read before either writes.
const WINDOW_MS: u32 = 500;

/// What one withdrawal on each of two instances left behind.
struct Outcome {
    product: i64,
    /// The product's stock afterwards.
    stock: i64,
    /// `GET /api/audit` afterwards.
    audit: Value,
    /// The replies to the two withdrawals, each checked to be a 200 from `strategy`.
    replies: [Reply; 2],
}

/// Starts two instances on one fresh database and withdraws 1 from a stock of 10 on each at the
/// same moment, under `strategy` (a `?strategy=` value, which is also the name the replies give).
async fn one_withdrawal_on_each_instance(strategy: &str) -> Outcome {
    let a = TestApp::spawn(Backend::Mysql).await;
    let b = a.another_instance().await;
    let product = a.create_product("SHARED-1", 10).await;
    assert_eq!(
        b.stock_of(product).await,
        10,
        "instance B sees the product instance A created: they share the database"
    );

    let path =
        format!("/api/products/{product}/adjust?strategy={strategy}&race_window_ms={WINDOW_MS}");
    let withdrawal = json!({"delta": -1});
    let (on_a, on_b) = tokio::join!(a.post(&path, withdrawal.clone()), b.post(&path, withdrawal));
    for reply in [&on_a, &on_b] {
        reply.assert_status(200);
        assert_eq!(
            reply.header("x-stocklab-strategy"),
            Some(strategy),
            "{reply:#?}"
        );
    }

    let stock = b.stock_of(product).await;
    let audit = a.get("/api/audit").await;
    Outcome {
        product,
        stock,
        audit: audit.assert_status(200).clone(),
        replies: [on_a, on_b],
    }
}

/// Both withdrawals were acknowledged, yet the stock went down by one: each instance's lock was
/// free, both read 10, both wrote 9. The ledger recorded both, so the audit finds it at 8.
async fn assert_lost_update_across_instances(strategy: &str) {
    let outcome = one_withdrawal_on_each_instance(strategy).await;
    let stocks: Vec<Value> = outcome
        .replies
        .iter()
        .map(|r| r.json["product"]["stock"].clone())
        .collect();
    assert_eq!(
        stocks,
        [json!(9), json!(9)],
        "each instance wrote 10 - 1: both read before either wrote"
    );
    assert_eq!(
        outcome.stock, 9,
        "one of two acknowledged withdrawals was lost"
    );
    assert_eq!(
        outcome.audit,
        json!({
            "ok": false,
            "products_checked": 1,
            "mismatches": [{"id": outcome.product, "stock": 9, "ledger_stock": 8}],
        })
    );
}

/// Both withdrawals were applied, one after the other, whichever instance each went to.
/// Returns the two replies.
async fn assert_nothing_lost_across_instances(strategy: &str) -> [Reply; 2] {
    let outcome = one_withdrawal_on_each_instance(strategy).await;
    let mut stocks: Vec<i64> = outcome
        .replies
        .iter()
        .map(|r| r.json["product"]["stock"].as_i64().expect("a stock"))
        .collect();
    stocks.sort_unstable();
    assert_eq!(stocks, [8, 9], "the second saw the first's change");
    assert_eq!(outcome.stock, 8, "both withdrawals were applied");
    assert_eq!(
        outcome.audit,
        json!({"ok": true, "products_checked": 1, "mismatches": []})
    );
    outcome.replies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_loses_an_update_across_instances() {
    if !mysql_configured() {
        return;
    }
    assert_lost_update_across_instances("mutex").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_product_loses_an_update_across_instances() {
    if !mysql_configured() {
        return;
    }
    assert_lost_update_across_instances("per-product").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pessimistic_loses_nothing_across_instances() {
    if !mysql_configured() {
        return;
    }
    assert_nothing_lost_across_instances("pessimistic").await;
}

/// Both read version 0 and sleep; one write wins, the other finds the version changed, backs
/// off, reads again and succeeds: exactly one retry between them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_loses_nothing_across_instances_and_counts_its_retry() {
    if !mysql_configured() {
        return;
    }
    let replies = assert_nothing_lost_across_instances("optimistic").await;
    let mut retries: Vec<&str> = replies
        .iter()
        .filter_map(|r| r.header("x-stocklab-retries"))
        .collect();
    retries.sort_unstable();
    assert_eq!(retries, ["0", "1"], "{replies:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_loses_nothing_across_instances() {
    if !mysql_configured() {
        return;
    }
    assert_nothing_lost_across_instances("atomic").await;
}

/// Instances started at the same moment on an empty database migrate it one after the other:
/// while another holds the migration lock, an instance's start-up waits, creating nothing, and
/// goes on once the lock is free. (sqlx's own migration lock does not wait on MariaDB, and two
/// instances started together used to both apply the first migration, one of them failing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_waits_for_another_ones_migrations() {
    use sqlx::{Connection, MySqlConnection};

    if !mysql_configured() {
        return;
    }
    let db = TestDatabase::create(Backend::Mysql).await;
    let mut other = MySqlConnection::connect(&db.url)
        .await
        .expect("a connection of the other instance");
    let lock = "LEFT(CONCAT('stocklab:migrate:', DATABASE()), 64)";
    let taken: Option<i64> =
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT GET_LOCK({lock}, 10)")))
            .fetch_one(&mut other)
            .await
            .expect("GET_LOCK");
    assert_eq!(taken, Some(1));

    let url = db.url.clone();
    let starting = tokio::spawn(async move {
        stocklab_store::connect(&url, &stocklab_store::StoreOptions::default()).await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!starting.is_finished(), "start-up waits for the lock");
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .fetch_one(&mut other)
    .await
    .expect("count tables");
    assert_eq!(
        tables, 0,
        "nothing is migrated while the other instance migrates"
    );

    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT RELEASE_LOCK({lock})")))
        .execute(&mut other)
        .await
        .expect("RELEASE_LOCK");
    let store = tokio::time::timeout(std::time::Duration::from_secs(10), starting)
        .await
        .expect("start-up goes on once the lock is free")
        .expect("no panic")
        .expect("the database is migrated");
    assert_eq!(
        store.list_products(None, 10).await.expect("a query").items,
        []
    );
}

/// Two instances really started together on one empty database both come up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_started_together_on_an_empty_database_both_start() {
    if !mysql_configured() {
        return;
    }
    let db = TestDatabase::create(Backend::Mysql).await;
    let options = stocklab_store::StoreOptions::default();
    let (first, second) = tokio::join!(
        stocklab_store::connect(&db.url, &options),
        stocklab_store::connect(&db.url, &options)
    );
    first.expect("the first instance starts");
    second.expect("the second instance starts");
}
