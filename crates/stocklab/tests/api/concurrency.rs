//! Many clients, one product: the default (`atomic`) strategy neither loses an update nor sells
//! stock it does not have.

use std::sync::Arc;

use futures::future::join_all;
use serde_json::json;
use tokio::sync::Barrier;

use crate::helpers::{TestApp, backend_tests};

backend_tests!(two_hundred_withdrawals_of_one_on_a_stock_of_one_hundred);

/// 200 clients withdraw 1 unit each from a stock of 100, all released at once by a barrier.
/// Exactly 100 must succeed, the other 100 must be refused as `insufficient_stock`, the stock
/// must end at 0, and the ledger must hold 100 rows with versions 1 to 100: a lost update would
/// show as two rows with the same version, an oversell as more than 100 successes.
async fn two_hundred_withdrawals_of_one_on_a_stock_of_one_hundred(app: TestApp) {
    const CLIENTS: usize = 200;
    const STOCK: i64 = 100;
    let id = app.create_product("HOT-1", STOCK).await;
    let app = Arc::new(app);
    let start = Arc::new(Barrier::new(CLIENTS));
    let withdrawals = (0..CLIENTS).map(|_| {
        let (app, start) = (Arc::clone(&app), Arc::clone(&start));
        tokio::spawn(async move {
            start.wait().await;
            app.post(&format!("/api/products/{id}/adjust"), json!({"delta": -1}))
                .await
        })
    });
    let replies: Vec<_> = join_all(withdrawals)
        .await
        .into_iter()
        .map(|joined| joined.expect("a client task did not panic"))
        .collect();

    let succeeded = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies
        .iter()
        .filter(|r| r.status == 409 && r.json["error"]["code"] == "insufficient_stock")
        .count();
    assert_eq!(
        (succeeded, refused),
        (100, 100),
        "every reply is a success or a refusal"
    );
    assert_eq!(app.stock_of(id).await, 0);

    let ledger = app
        .get(&format!("/api/products/{id}/movements?limit=1000"))
        .await;
    let rows = ledger.assert_status(200)["items"]
        .as_array()
        .expect("ledger items");
    let mut versions: Vec<i64> = rows
        .iter()
        .map(|m| m["version"].as_i64().expect("a version"))
        .collect();
    versions.sort_unstable();
    assert_eq!(
        versions,
        (1..=STOCK).collect::<Vec<_>>(),
        "one ledger row per version"
    );
    assert!(rows.iter().all(|m| m["delta"] == -1));
    app.assert_audit_ok().await;
}
