//! `GET /api/audit`: every product's stock checked against its initial stock plus its ledger.
//! Through the API, with the safe strategy, the ledger always explains the stock.

use serde_json::json;

use crate::helpers::{TestApp, backend_tests};

backend_tests!(
    empty_catalogue_is_ok,
    ledger_explains_stock_after_every_kind_of_change,
);

async fn empty_catalogue_is_ok(app: TestApp) {
    let reply = app.get("/api/audit").await;
    assert_eq!(
        reply.assert_status(200),
        &json!({"ok": true, "products_checked": 0, "mismatches": []})
    );
}

async fn ledger_explains_stock_after_every_kind_of_change(app: TestApp) {
    let a = app.create_product("AUD-A", 10).await;
    let b = app.create_product("AUD-B", 5).await;
    let c = app.create_product("AUD-C", 0).await;
    let gone = app.create_product("AUD-GONE", 3).await;
    app.create_product("AUD-UNTOUCHED", 7).await;

    app.adjust(a, 4).await.assert_status(200);
    app.adjust(b, -2).await.assert_status(200);
    app.adjust(gone, -1).await.assert_status(200);
    app.put(&format!("/api/products/{c}/stock"), json!({"quantity": 8}))
        .await
        .assert_status(200);
    app.put(&format!("/api/products/{a}/stock"), json!({"quantity": 2}))
        .await
        .assert_status(200);
    let order = json!({"lines": [
        {"product_id": a, "quantity": 1},
        {"product_id": c, "quantity": 3},
    ]});
    app.post("/api/orders", order).await.assert_status(201);
    // Refused changes must leave no ledger rows behind either.
    app.adjust(b, -100).await.assert_status(409);
    let short = json!({"lines": [
        {"product_id": a, "quantity": 1},
        {"product_id": b, "quantity": 100},
    ]});
    app.post("/api/orders", short).await.assert_status(409);
    app.delete(&format!("/api/products/{gone}"))
        .await
        .assert_status(204);

    let expected = [(a, 1), (b, 3), (c, 5)];
    for (id, stock) in expected {
        assert_eq!(app.stock_of(id).await, stock, "product {id}");
    }
    let reply = app.get("/api/audit").await;
    assert_eq!(
        reply.assert_status(200),
        &json!({"ok": true, "products_checked": 4, "mismatches": []})
    );
}
