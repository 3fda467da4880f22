//! The concurrency lab's proofs: for every strategy, two withdrawals are made to meet at the
//! race point (a rendezvous: each waits there until the other has arrived too, or until the
//! window runs out when a lock keeps the other away). Strategies that do not serialize the
//! read-modify-write lose an update every time; the safe ones never do.

use serde_json::{Value, json};
use stocklab_domain::Strategy;

use crate::helpers::{Backend, Reply, TestApp, assert_one_applied_one_refused, backend_tests};

backend_tests!(
    unsafe_loses_an_update_every_time,
    a_semaphore_with_two_permits_is_not_a_lock,
    mutex_loses_nothing,
    per_product_loses_nothing,
    a_semaphore_with_one_permit_is_a_lock,
    pessimistic_loses_nothing,
    optimistic_loses_nothing_and_counts_its_retry,
    atomic_loses_nothing,
    the_servers_strategy_and_race_window_are_what_a_request_gets_by_default,
    lab_options_are_refused_without_lab_mode,
    out_of_range_lab_values_are_invalid,
    orders_locking_in_request_order_deadlock_and_get_a_clear_409,
    orders_locking_in_ascending_order_never_deadlock,
    lock_order_is_for_orders_in_lab_mode_only,
    a_read_committed_transaction_loses_an_update_on_mysql_only,
    a_repeatable_read_transaction_loses_an_update_on_mysql_only,
    a_serializable_transaction_loses_nothing,
    isolation_levels_below_serializable_are_lab_only,
    unsafe_stock_takes_overwrite_a_count_they_did_not_see,
    safe_stock_takes_refuse_a_count_that_missed_a_change,
    transaction_stock_takes_follow_the_isolation_level,
    stats_count_each_strategys_outcomes,
    a_lab_reset_replaces_the_data_set_and_the_stats,
    a_lab_reset_is_refused_without_lab_mode_or_with_bad_values,
    a_hundred_mixed_changes_keep_the_books_under_every_safe_strategy,
    a_pessimistic_change_waits_for_another_process_at_most_the_lock_timeout,
    a_pessimistic_change_waits_for_one_of_this_process_at_most_the_lock_timeout,
);

/// How long a request that arrives alone waits at the race point: long enough for the other
/// request to arrive when nothing holds it back, short enough to keep the tests quick.
const WINDOW_MS: u32 = 400;

/// Withdraws one unit of product `id` with this query string.
async fn withdraw_one(app: &TestApp, id: i64, query: &str) -> Reply {
    app.post(
        &format!("/api/products/{id}/adjust?{query}"),
        json!({"delta": -1}),
    )
    .await
}

/// Two concurrent withdrawals of 1 from a stock of 10, meeting at the race point.
async fn race(app: &TestApp, query: &str) -> (i64, [Reply; 2]) {
    let id = app.create_product("RACE-1", 10).await;
    let path = format!("/api/products/{id}/adjust?{query}&rendezvous=2&race_window_ms={WINDOW_MS}");
    let withdraw = || app.post(&path, json!({"delta": -1}));
    let (first, second) = tokio::join!(withdraw(), withdraw());
    (id, [first, second])
}

/// Both withdrawals were acknowledged, yet the stock went down by one: an update was lost,
/// and the audit shows the ledger (which recorded both) disagreeing with the stock.
async fn assert_lost_update(app: &TestApp, query: &str) {
    let (id, replies) = race(app, query).await;
    for reply in &replies {
        reply.assert_status(200);
    }
    assert_eq!(
        app.stock_of(id).await,
        9,
        "one of two acknowledged withdrawals was lost"
    );
    let audit = app.get("/api/audit").await;
    assert_eq!(
        audit.assert_status(200),
        &json!({"ok": false, "products_checked": 1, "mismatches": [{"id": id, "stock": 9, "ledger_stock": 8}]})
    );
}

/// `--strategy` and `--race-window-ms` are what a request gets when it names neither: with
/// `unsafe` and a window as the server's defaults, two plain withdrawals that meet lose an
/// update. A request that names a strategy still gets the one it named.
async fn the_servers_strategy_and_race_window_are_what_a_request_gets_by_default(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |args| {
        args.strategy = Strategy::Unsafe;
        args.race_window_ms = u64::from(WINDOW_MS);
    })
    .await;
    let id = app.create_product("DEFAULTS-1", 10).await;
    let path = format!("/api/products/{id}/adjust?rendezvous=2");
    let withdraw = || app.post(&path, json!({"delta": -1}));
    let (first, second) = tokio::join!(withdraw(), withdraw());
    for reply in [&first, &second] {
        reply.assert_status(200);
        assert_eq!(reply.header("x-stocklab-strategy"), Some("unsafe"));
    }
    assert_eq!(app.stock_of(id).await, 9, "one of two withdrawals was lost");
    let named = withdraw_one(&app, id, "strategy=atomic").await;
    named.assert_status(200);
    assert_eq!(named.header("x-stocklab-strategy"), Some("atomic"));
}

/// Both withdrawals were applied, one after the other. Returns the two replies.
async fn assert_no_lost_update(app: &TestApp, query: &str, strategy: &str) -> [Reply; 2] {
    let (id, replies) = race(app, query).await;
    for reply in &replies {
        reply.assert_status(200);
        assert_eq!(reply.header("x-stocklab-strategy"), Some(strategy));
    }
    let mut versions: Vec<Value> = replies
        .iter()
        .map(|r| r.json["product"]["version"].clone())
        .collect();
    versions.sort_by_key(|v| v.as_i64());
    assert_eq!(
        versions,
        [json!(1), json!(2)],
        "each saw the other's change"
    );
    assert_eq!(app.stock_of(id).await, 8);
    app.assert_audit_ok().await;
    replies
}

async fn unsafe_loses_an_update_every_time(app: TestApp) {
    assert_lost_update(&app, "strategy=unsafe").await;
}

async fn a_semaphore_with_two_permits_is_not_a_lock(app: TestApp) {
    assert_lost_update(&app, "strategy=semaphore&permits=2").await;
}

async fn mutex_loses_nothing(app: TestApp) {
    assert_no_lost_update(&app, "strategy=mutex", "mutex").await;
}

async fn per_product_loses_nothing(app: TestApp) {
    assert_no_lost_update(&app, "strategy=per-product", "per-product").await;
}

async fn a_semaphore_with_one_permit_is_a_lock(app: TestApp) {
    assert_no_lost_update(&app, "strategy=semaphore&permits=1", "semaphore").await;
}

async fn pessimistic_loses_nothing(app: TestApp) {
    assert_no_lost_update(&app, "strategy=pessimistic", "pessimistic").await;
}

/// Both read version 0 and meet; one write wins, the other finds the version changed, backs
/// off, reads again and succeeds: exactly one retry between them.
async fn optimistic_loses_nothing_and_counts_its_retry(app: TestApp) {
    let replies = assert_no_lost_update(&app, "strategy=optimistic", "optimistic").await;
    let mut retries: Vec<&str> = replies
        .iter()
        .filter_map(|r| r.header("x-stocklab-retries"))
        .collect();
    retries.sort_unstable();
    assert_eq!(retries, ["0", "1"]);
}

async fn atomic_loses_nothing(app: TestApp) {
    assert_no_lost_update(&app, "strategy=atomic", "atomic").await;
}

async fn lab_options_are_refused_without_lab_mode(app: TestApp) {
    let locked = TestApp::spawn_with(app.backend, |args| args.no_lab = true).await;
    let id = locked.create_product("LOCKED-1", 10).await;
    for query in [
        "strategy=unsafe",
        "strategy=semaphore&permits=2",
        "race_window_ms=10",
        "strategy=mutex&rendezvous=2",
    ] {
        let reply = withdraw_one(&locked, id, query).await;
        let refused = reply.assert_error(403, "lab_disabled");
        let named = ["unsafe", "permits", "race window", "rendezvous"];
        let message = refused["message"].as_str().unwrap_or_default();
        assert!(
            named.iter().any(|n| message.contains(n)),
            "{query}: the refusal names what was asked: {message}"
        );
        if query.contains("rendezvous") {
            assert!(message.contains("rendezvous"), "{message}");
        }
    }
    for (query, strategy) in [
        ("strategy=semaphore&permits=1", "semaphore"),
        ("strategy=mutex", "mutex"),
    ] {
        let reply = withdraw_one(&locked, id, query).await;
        reply.assert_status(200);
        assert_eq!(reply.header("x-stocklab-strategy"), Some(strategy));
    }
    assert_eq!(
        locked.stock_of(id).await,
        8,
        "only the two allowed withdrawals were applied"
    );
    let health = locked.get("/healthz").await;
    assert_eq!(health.assert_status(200)["lab"], json!(false));
}

async fn out_of_range_lab_values_are_invalid(app: TestApp) {
    let id = app.create_product("BAD-LAB-1", 10).await;
    for query in [
        "permits=0",
        "permits=1001",
        "race_window_ms=-1",
        "race_window_ms=1001",
        "rendezvous=1",
        "rendezvous=65",
    ] {
        let reply = withdraw_one(&app, id, query).await;
        reply.assert_error(422, "invalid_value");
    }
    assert_eq!(app.stock_of(id).await, 10);
}

/// Two stock-takes that both saw version 0 of a stock of 10 (one counted 3, the other 4),
/// meeting at the race point.
async fn count_race(app: &TestApp, sku: &str, query: &str) -> [Reply; 2] {
    let id = app.create_product(sku, 10).await;
    let path = format!("/api/products/{id}/stock?{query}&rendezvous=2&race_window_ms={WINDOW_MS}");
    let count =
        |quantity: i64| app.put(&path, json!({"quantity": quantity, "expected_version": 0}));
    let (first, second) = tokio::join!(count(3), count(4));
    [first, second]
}

/// Both counts pass the version check on what they read, and both are written: the second
/// overwrote the first without having seen it, which `expected_version` exists to prevent. A
/// semaphore with two permits lets both through just the same.
async fn unsafe_stock_takes_overwrite_a_count_they_did_not_see(app: TestApp) {
    for (n, query) in ["strategy=unsafe", "strategy=semaphore&permits=2"]
        .into_iter()
        .enumerate()
    {
        for reply in count_race(&app, &format!("COUNT-UNSAFE-{n}"), query).await {
            reply.assert_status(200);
        }
    }
}

/// Stock-takes in one transaction: on MySQL and MariaDB, below SERIALIZABLE both counts read
/// version 0 without a lock and both are written; at SERIALIZABLE the shared read locks make
/// InnoDB roll one back (409 `deadlock`). SQLite holds its one writer from the read to the
/// commit at every level, so the second count sees the first and is refused.
async fn transaction_stock_takes_follow_the_isolation_level(app: TestApp) {
    for (n, isolation) in ["read-committed", "repeatable-read", "serializable"]
        .into_iter()
        .enumerate()
    {
        let query = format!("strategy=transaction&isolation={isolation}");
        let replies = count_race(&app, &format!("COUNT-TX-{n}"), &query).await;
        let refusal = match (app.backend, isolation) {
            (Backend::Mysql, "serializable") => Some("deadlock"),
            (Backend::Mysql, _) => None,
            (Backend::Sqlite, _) => Some("version_mismatch"),
        };
        match refusal {
            None => {
                for reply in &replies {
                    reply.assert_status(200);
                }
            }
            Some(code) => assert_one_applied_one_refused(&replies, &query, 200, code),
        }
    }
}

async fn safe_stock_takes_refuse_a_count_that_missed_a_change(app: TestApp) {
    for (n, query) in [
        "strategy=mutex",
        "strategy=per-product",
        "strategy=semaphore&permits=1",
        "strategy=pessimistic",
        "strategy=optimistic",
        "strategy=atomic",
    ]
    .into_iter()
    .enumerate()
    {
        let replies = count_race(&app, &format!("COUNT-SAFE-{n}"), query).await;
        assert_one_applied_one_refused(&replies, query, 200, "version_mismatch");
    }
    app.assert_audit_ok().await;
}

async fn stats_count_each_strategys_outcomes(app: TestApp) {
    let id = app.create_product("STATS-1", 1).await;
    let mutex = format!("/api/products/{id}/adjust?strategy=mutex");
    app.post(&mutex, json!({"delta": -1}))
        .await
        .assert_status(200);
    let refused = app.post(&mutex, json!({"delta": -1})).await;
    refused.assert_error(409, "insufficient_stock");
    app.post(&mutex, json!({"delta": 5}))
        .await
        .assert_status(200);
    assert_no_lost_update(&app, "strategy=optimistic", "optimistic").await;

    let stats = app.get("/api/stats").await;
    assert_eq!(
        stats.assert_status(200)["paused_at_race_point"],
        json!(0),
        "the rendezvous's pauses have all ended"
    );
    let strategies = stats.assert_status(200)["strategies"]
        .as_array()
        .expect("strategies");
    let by_name = |name: &str| {
        strategies
            .iter()
            .find(|s| s["strategy"] == name)
            .unwrap_or_else(|| panic!("{name} is in {strategies:?}"))
            .clone()
    };
    let mutex = by_name("mutex");
    assert_eq!(
        (
            &mutex["attempts"],
            &mutex["successes"],
            &mutex["rejections"],
            &mutex["retries"]
        ),
        (
            &json!(3),
            &json!(2),
            &json!({"insufficient_stock": 1}),
            &json!(0)
        )
    );
    let optimistic = by_name("optimistic");
    assert_eq!(
        (
            &optimistic["attempts"],
            &optimistic["successes"],
            &optimistic["retries"]
        ),
        (&json!(2), &json!(2), &json!(1))
    );
    let names: Vec<&Value> = strategies.iter().map(|s| &s["strategy"]).collect();
    assert_eq!(
        names,
        [&json!("mutex"), &json!("optimistic")],
        "only the strategies used, in the lab's order"
    );
}

async fn a_lab_reset_replaces_the_data_set_and_the_stats(app: TestApp) {
    let old = app.create_product("OLD-1", 5).await;
    app.adjust(old, -1).await.assert_status(200);

    let reset = app
        .post("/api/lab/reset", json!({"products": 3, "initial_stock": 7}))
        .await;
    let ids = reset.assert_status(200)["ids"]
        .as_array()
        .expect("ids")
        .clone();
    assert_eq!(ids.len(), 3);
    let page = app.get("/api/products").await;
    let products: Vec<Value> = page.assert_status(200)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| json!([p["id"], p["sku"], p["stock"], p["version"]]))
        .collect();
    assert_eq!(
        products,
        [
            json!([ids[0], "LAB-00001", 7, 0]),
            json!([ids[1], "LAB-00002", 7, 0]),
            json!([ids[2], "LAB-00003", 7, 0]),
        ]
    );
    app.get(&format!("/api/products/{old}"))
        .await
        .assert_error(404, "product_not_found");
    let stats = app.get("/api/stats").await;
    assert_eq!(
        stats.assert_status(200)["strategies"],
        json!([]),
        "counting starts afresh"
    );
    let audit = app.get("/api/audit").await;
    assert_eq!(
        audit.assert_status(200),
        &json!({"ok": true, "products_checked": 3, "mismatches": []})
    );
}

async fn a_lab_reset_is_refused_without_lab_mode_or_with_bad_values(app: TestApp) {
    let id = app.create_product("KEEP-1", 5).await;
    for body in [
        json!({"products": 0, "initial_stock": 1}),
        json!({"products": 10_001, "initial_stock": 1}),
        json!({"products": 1, "initial_stock": -1}),
    ] {
        app.post("/api/lab/reset", body)
            .await
            .assert_error(422, "invalid_value");
    }
    let locked = TestApp::spawn_with(app.backend, |args| args.no_lab = true).await;
    let refused = locked
        .post("/api/lab/reset", json!({"products": 1, "initial_stock": 1}))
        .await;
    refused.assert_error(403, "lab_disabled");
    assert_eq!(app.stock_of(id).await, 5, "nothing was reset");
}

/// For each safe strategy: 100 concurrent changes (seeded, so reproducible) over three
/// products: withdrawals, receipts and two-line orders. Each product's stock must end at its
/// initial stock plus exactly the acknowledged changes, every refusal must be a clean 409, and
/// the audit must agree.
async fn a_hundred_mixed_changes_keep_the_books_under_every_safe_strategy(app: TestApp) {
    use rand::{Rng, SeedableRng};

    const INITIAL: i64 = 50;
    for (seed, query) in [
        "strategy=mutex",
        "strategy=per-product",
        "strategy=semaphore&permits=1",
        "strategy=pessimistic",
        "strategy=optimistic",
        "strategy=atomic",
        "strategy=transaction&isolation=serializable",
    ]
    .into_iter()
    .enumerate()
    {
        let ids = [
            app.create_product(&format!("MIX-{seed}-A"), INITIAL).await,
            app.create_product(&format!("MIX-{seed}-B"), INITIAL).await,
            app.create_product(&format!("MIX-{seed}-C"), INITIAL).await,
        ];
        let mut rng = rand::rngs::SmallRng::seed_from_u64(seed as u64);
        // Each change as the (product, delta) pairs it applies when acknowledged.
        let changes: Vec<Vec<(i64, i64)>> = (0..100)
            .map(|_| {
                let mut product = || ids[rng.random_range(0..ids.len())];
                let (first, second) = (product(), product());
                if rng.random_bool(0.2) {
                    vec![
                        (first, -rng.random_range(1..=3)),
                        (second, -rng.random_range(1..=3)),
                    ]
                } else if rng.random_bool(0.6) {
                    vec![(first, -rng.random_range(1..=4))]
                } else {
                    vec![(first, rng.random_range(1..=4))]
                }
            })
            .collect();
        let requests: Vec<(String, Value)> = changes
            .iter()
            .map(|change| match change.as_slice() {
                [(id, delta)] => (
                    format!("/api/products/{id}/adjust?{query}"),
                    json!({"delta": delta}),
                ),
                lines => (
                    format!("/api/orders?{query}"),
                    json!({"lines": lines
                        .iter()
                        .map(|(id, delta)| json!({"product_id": id, "quantity": -delta}))
                        .collect::<Vec<_>>()}),
                ),
            })
            .collect();
        let replies = futures::future::join_all(
            requests
                .iter()
                .map(|(path, body)| app.post(path, body.clone())),
        )
        .await;

        for &id in &ids {
            let acknowledged: i64 = changes
                .iter()
                .zip(&replies)
                .filter(|(_, reply)| reply.status == 200 || reply.status == 201)
                .flat_map(|(change, _)| change.iter())
                .filter(|(product, _)| *product == id)
                .map(|(_, delta)| delta)
                .sum();
            assert_eq!(
                app.stock_of(id).await,
                INITIAL + acknowledged,
                "{query}: product {id}"
            );
        }
        for reply in replies
            .iter()
            .filter(|r| r.status != 200 && r.status != 201)
        {
            let code = reply.json["error"]["code"].as_str().unwrap_or_default();
            assert!(
                reply.status == 409
                    && ["insufficient_stock", "conflict", "lock_timeout", "deadlock"]
                        .contains(&code),
                "{query}: unexpected reply {reply:?}"
            );
        }
        app.assert_audit_ok().await;
    }
}

/// Two orders name the same two products in opposite orders. Each locks the row of its first
/// line, waits at the race point until the other has locked its own, then asks for the row the
/// other holds. Returns the products' stocks afterwards and the two replies.
async fn crossed_orders(app: &TestApp, query: &str) -> ([i64; 2], [Reply; 2]) {
    let (a, b) = (
        app.create_product("CROSS-A", 10).await,
        app.create_product("CROSS-B", 10).await,
    );
    let path = format!("/api/orders?{query}&rendezvous=2&race_window_ms={WINDOW_MS}");
    let order = |first: i64, second: i64| {
        app.post(
            &path,
            json!({"lines": [{"product_id": first, "quantity": 1}, {"product_id": second, "quantity": 1}]}),
        )
    };
    let (first, second) = tokio::join!(order(a, b), order(b, a));
    (
        [app.stock_of(a).await, app.stock_of(b).await],
        [first, second],
    )
}

/// On MariaDB the two orders deadlock; InnoDB rolls one back, which gets 409 `deadlock` (and
/// changed nothing), while the other completes. SQLite cannot deadlock: its one writer holds
/// the whole database, so the second order waits for the first to commit.
async fn orders_locking_in_request_order_deadlock_and_get_a_clear_409(app: TestApp) {
    let (stocks, replies) = crossed_orders(&app, "lock_order=request").await;
    match app.backend {
        Backend::Mysql => {
            assert_one_applied_one_refused(&replies, "crossed orders", 201, "deadlock");
            assert_eq!(stocks, [9, 9], "only the surviving order was applied");
        }
        Backend::Sqlite => {
            for reply in &replies {
                reply.assert_status(201);
            }
            assert_eq!(stocks, [8, 8]);
        }
    }
    app.assert_audit_ok().await;
}

async fn orders_locking_in_ascending_order_never_deadlock(app: TestApp) {
    let (stocks, replies) = crossed_orders(&app, "lock_order=ascending").await;
    for reply in &replies {
        reply.assert_status(201);
    }
    assert_eq!(stocks, [8, 8]);
    app.assert_audit_ok().await;
}

async fn lock_order_is_for_orders_in_lab_mode_only(app: TestApp) {
    let id = app.create_product("LOCK-ORDER-1", 10).await;
    let line = json!({"lines": [{"product_id": id, "quantity": 1}]});
    let adjust = withdraw_one(&app, id, "lock_order=request").await;
    adjust.assert_error(422, "invalid_value");
    app.post("/api/orders?lock_order=sideways", line.clone())
        .await
        .assert_error(422, "invalid_value");
    let locked = TestApp::spawn_with(app.backend, |args| args.no_lab = true).await;
    let order = locked.post("/api/orders?lock_order=request", line).await;
    order.assert_error(403, "lab_disabled");
    assert_eq!(app.stock_of(id).await, 10);
}

/// MySQL and MariaDB do not stop a read-modify-write from losing an update at READ COMMITTED,
/// nor at REPEATABLE READ, their default: the plain read takes no lock, and the later write
/// overwrites the earlier one. SQLite is always serializable, and its one writer is held from
/// the read to the commit.
async fn transaction_below_serializable(app: &TestApp, isolation: &str) {
    let query = format!("strategy=transaction&isolation={isolation}");
    match app.backend {
        Backend::Mysql => assert_lost_update(app, &query).await,
        Backend::Sqlite => drop(assert_no_lost_update(app, &query, "transaction").await),
    }
}

async fn a_read_committed_transaction_loses_an_update_on_mysql_only(app: TestApp) {
    transaction_below_serializable(&app, "read-committed").await;
}

async fn a_repeatable_read_transaction_loses_an_update_on_mysql_only(app: TestApp) {
    transaction_below_serializable(&app, "repeatable-read").await;
}

/// At SERIALIZABLE, InnoDB makes the plain reads shared locks: both changes hold one when they
/// meet, each write waits for the other's, and InnoDB rolls one back (409 `deadlock`): an
/// update refused, none lost.
async fn a_serializable_transaction_loses_nothing(app: TestApp) {
    let query = "strategy=transaction&isolation=serializable";
    match app.backend {
        Backend::Mysql => {
            let (id, replies) = race(&app, query).await;
            assert_one_applied_one_refused(&replies, query, 200, "deadlock");
            assert_eq!(app.stock_of(id).await, 9);
            app.assert_audit_ok().await;
        }
        Backend::Sqlite => drop(assert_no_lost_update(&app, query, "transaction").await),
    }
}

async fn isolation_levels_below_serializable_are_lab_only(app: TestApp) {
    let id = app.create_product("ISOLATION-1", 10).await;
    for query in [
        "strategy=atomic&isolation=serializable",
        "strategy=transaction&isolation=chaos",
    ] {
        let reply = withdraw_one(&app, id, query).await;
        reply.assert_error(422, "invalid_value");
    }
    let locked = TestApp::spawn_with(app.backend, |args| args.no_lab = true).await;
    let other = locked.create_product("ISOLATION-2", 10).await;
    for query in [
        "strategy=transaction",
        "strategy=transaction&isolation=read-committed",
    ] {
        withdraw_one(&locked, other, query)
            .await
            .assert_error(403, "lab_disabled");
    }
    let serializable = withdraw_one(
        &locked,
        other,
        "strategy=transaction&isolation=serializable",
    )
    .await;
    serializable.assert_status(200);
    assert_eq!(
        serializable.header("x-stocklab-strategy"),
        Some("transaction")
    );
}

/// Another process holds the lock a pessimistic change needs: the product's row (MySQL,
/// `SELECT ... FOR UPDATE` in an open transaction) or the database's write lock (SQLite, an
/// open `BEGIN IMMEDIATE`).
enum LockHolder {
    Mysql(sqlx::MySqlConnection),
    Sqlite(sqlx::SqliteConnection),
}

impl LockHolder {
    /// Rolls the holding transaction back, which lets go of the lock.
    async fn release(self) {
        use sqlx::Executor;

        let released = match self {
            LockHolder::Mysql(mut connection) => connection.execute("ROLLBACK").await.map(drop),
            LockHolder::Sqlite(mut connection) => connection.execute("ROLLBACK").await.map(drop),
        };
        released.expect("the lock is released");
    }
}

async fn hold_lock(app: &TestApp, id: i64) -> LockHolder {
    use sqlx::{Connection, Executor};

    match app.backend {
        Backend::Mysql => {
            let mut holder = sqlx::MySqlConnection::connect(app.database_url())
                .await
                .expect("a connection of another process");
            holder.execute("BEGIN").await.expect("BEGIN");
            sqlx::query("SELECT id FROM products WHERE id = ? FOR UPDATE")
                .bind(id)
                .execute(&mut holder)
                .await
                .expect("the row is locked");
            LockHolder::Mysql(holder)
        }
        Backend::Sqlite => {
            let mut holder = sqlx::SqliteConnection::connect(app.database_url())
                .await
                .expect("a connection of another process");
            holder
                .execute("BEGIN IMMEDIATE")
                .await
                .expect("the write lock is taken");
            LockHolder::Sqlite(holder)
        }
    }
}

/// The wait ends after `--lock-timeout-ms` (MySQL counts whole seconds: 1 s here) with a clean
/// 409 `lock_timeout`, and nothing was changed.
async fn a_pessimistic_change_waits_for_another_process_at_most_the_lock_timeout(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |args| args.lock_timeout_ms = 1000).await;
    let id = app.create_product("LOCKED-ELSEWHERE", 10).await;
    let holder = hold_lock(&app, id).await;
    let started = std::time::Instant::now();
    let reply = withdraw_one(&app, id, "strategy=pessimistic").await;
    reply.assert_error(409, "lock_timeout");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "gave up only after the lock timeout"
    );
    holder.release().await;
    assert_eq!(app.stock_of(id).await, 10);
    withdraw_one(&app, id, "strategy=pessimistic")
        .await
        .assert_status(200);
}

/// One pessimistic change holds the lock through a race window; another arrives while it is
/// paused there, on the same instance, with a lock timeout of 0.3 s. On SQLite it waits for the
/// one writer, which the first holds for 1 s, and gives up with 409 `lock_timeout` (not 503: the
/// database is there, its lock is taken). MySQL counts the timeout in whole seconds (1 s), so
/// there the second waits out what is left of the first's 0.4 s window and is applied after it.
async fn a_pessimistic_change_waits_for_one_of_this_process_at_most_the_lock_timeout(app: TestApp) {
    let app = TestApp::spawn_with(app.backend, |args| args.lock_timeout_ms = 300).await;
    let id = app.create_product("LOCKED-HERE", 10).await;
    let window_ms = match app.backend {
        Backend::Sqlite => 1000,
        Backend::Mysql => 400,
    };
    let holding = format!("strategy=pessimistic&race_window_ms={window_ms}");
    let holder = withdraw_one(&app, id, &holding);
    let waiter = async {
        app.until_paused_at_race_point(1).await;
        withdraw_one(&app, id, "strategy=pessimistic").await
    };
    let (held, waited) = tokio::join!(holder, waiter);
    held.assert_status(200);
    match app.backend {
        Backend::Sqlite => {
            waited.assert_error(409, "lock_timeout");
            assert_eq!(app.stock_of(id).await, 9);
        }
        Backend::Mysql => {
            waited.assert_status(200);
            assert_eq!(app.stock_of(id).await, 8);
        }
    }
}
