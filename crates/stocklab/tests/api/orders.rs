//! `POST /api/orders`: every line withdrawn or none. Repeated lines are merged and lines come
//! back ascending by product id; a shortage names every short line and leaves all stock as it
//! was; an unknown product changes nothing; an order's ledger rows carry its id.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, backend_tests, read};
use crate::stock::movements;
use crate::stock::pick;

backend_tests!(
    order_merges_repeated_lines_and_withdraws_every_line,
    order_may_take_the_whole_stock,
    short_order_names_every_short_line_and_changes_nothing,
    order_with_an_unknown_product_changes_nothing,
    each_order_tags_its_own_ledger_rows,
    order_accepts_the_atomic_strategy_and_refuses_an_unknown_one,
);

/// Places an order of `(product_id, quantity)` lines.
async fn order(app: &TestApp, lines: &[(i64, i64)]) -> Reply {
    app.post("/api/orders", order_body(lines)).await
}

fn order_body(lines: &[(i64, i64)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(|&(product_id, quantity)| json!({"product_id": product_id, "quantity": quantity}))
        .collect();
    json!({ "lines": lines })
}

/// A placed order's id, with the status and strategy header checked.
#[track_caller]
fn placed(reply: &Reply) -> i64 {
    let body = reply.assert_status(201);
    assert_eq!(
        reply.header("x-stocklab-strategy"),
        Some("atomic"),
        "{reply:#?}"
    );
    body["id"].as_i64().expect("an order id")
}

/// `(stock, version)` of each product.
async fn stock_and_versions(app: &TestApp, ids: &[i64]) -> Vec<(i64, i64)> {
    let mut states = Vec::with_capacity(ids.len());
    for id in ids {
        let reply = app.get(&format!("/api/products/{id}")).await;
        let product = reply.assert_status(200);
        states.push((
            product["stock"].as_i64().expect("a stock"),
            product["version"].as_i64().expect("a version"),
        ));
    }
    states
}

async fn order_merges_repeated_lines_and_withdraws_every_line(app: TestApp) {
    let a = app.create_product("ORD-A", 10).await;
    let b = app.create_product("ORD-B", 10).await;
    let request = app
        .client
        .request(Method::POST, app.url("/api/orders"))
        .header("x-request-id", "order-req-1")
        .json(&order_body(&[(b, 1), (a, 2), (a, 3)]));
    let reply = read(request.send().await.expect("the server answers")).await;
    let order_id = placed(&reply);
    let body = &reply.json;
    assert!(body["created_at"].is_string(), "{body}");
    let lines = body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "one line per product: {body}");
    let movement_ids: Vec<i64> = lines
        .iter()
        .map(|line| line["movement_id"].as_i64().expect("a movement id"))
        .collect();
    let line = |product_id: i64, quantity: i64, stock: i64, movement_id: i64| {
        json!({"product_id": product_id, "quantity": quantity, "stock": stock, "version": 1,
            "movement_id": movement_id})
    };
    assert_eq!(
        body["lines"],
        json!([
            line(a, 5, 5, movement_ids[0]),
            line(b, 1, 9, movement_ids[1])
        ])
    );
    assert_eq!(
        stock_and_versions(&app, &[a, b]).await,
        vec![(5, 1), (9, 1)]
    );

    for (product_id, movement_id, delta, stock_after) in
        [(a, movement_ids[0], -5, 5), (b, movement_ids[1], -1, 9)]
    {
        let ledger = movements(&app, product_id).await;
        let facts = pick(
            &ledger,
            &[
                "id",
                "delta",
                "stock_after",
                "version",
                "order_id",
                "request_id",
            ],
        );
        assert_eq!(
            facts,
            vec![json!([
                movement_id,
                delta,
                stock_after,
                1,
                order_id,
                "order-req-1"
            ])]
        );
    }
}

async fn order_may_take_the_whole_stock(app: TestApp) {
    let a = app.create_product("WHOLE-A", 4).await;
    placed(&order(&app, &[(a, 4)]).await);
    assert_eq!(stock_and_versions(&app, &[a]).await, vec![(0, 1)]);
}

async fn short_order_names_every_short_line_and_changes_nothing(app: TestApp) {
    // The first line has enough stock and is withdrawn before the short lines are reached: it
    // must be rolled back with them.
    let plenty = app.create_product("SHORT-A", 10).await;
    let scarce = app.create_product("SHORT-B", 1).await;
    let empty = app.create_product("SHORT-C", 0).await;
    let reply = order(&app, &[(empty, 5), (plenty, 3), (scarce, 2)]).await;
    let error = reply.assert_error(409, "insufficient_stock");
    assert_eq!(
        error["details"]["shortages"],
        json!([
            {"product_id": scarce, "requested": 2, "available": 1},
            {"product_id": empty, "requested": 5, "available": 0},
        ])
    );
    let ids = [plenty, scarce, empty];
    assert_eq!(
        stock_and_versions(&app, &ids).await,
        vec![(10, 0), (1, 0), (0, 0)]
    );
    for id in ids {
        assert_eq!(
            movements(&app, id).await,
            Vec::<Value>::new(),
            "product {id}"
        );
    }
    app.assert_audit_ok().await;
}

async fn order_with_an_unknown_product_changes_nothing(app: TestApp) {
    // The known product sorts first, so it is withdrawn before the unknown one is found.
    let known = app.create_product("KNOWN-A", 10).await;
    let unknown = known + 1000;
    order(&app, &[(unknown, 1), (known, 2)])
        .await
        .assert_error(404, "product_not_found");
    assert_eq!(stock_and_versions(&app, &[known]).await, vec![(10, 0)]);
    assert_eq!(movements(&app, known).await, Vec::<Value>::new());
}

async fn each_order_tags_its_own_ledger_rows(app: TestApp) {
    let a = app.create_product("TAG-A", 10).await;
    let first = placed(&order(&app, &[(a, 1)]).await);
    let second = placed(&order(&app, &[(a, 2)]).await);
    assert_ne!(first, second);
    app.adjust(a, 1).await.assert_status(200);
    let tags: Vec<(Value, Value)> = movements(&app, a)
        .await
        .iter()
        .map(|m| (m["delta"].clone(), m["order_id"].clone()))
        .collect();
    assert_eq!(
        tags,
        vec![
            (json!(1), Value::Null),
            (json!(-2), json!(second)),
            (json!(-1), json!(first)),
        ]
    );
}

async fn order_accepts_the_atomic_strategy_and_refuses_an_unknown_one(app: TestApp) {
    let a = app.create_product("OSTRAT-A", 10).await;
    let reply = app
        .post("/api/orders?strategy=atomic", order_body(&[(a, 1)]))
        .await;
    placed(&reply);
    app.post("/api/orders?strategy=nope", order_body(&[(a, 1)]))
        .await
        .assert_error(422, "invalid_value");
    assert_eq!(stock_and_versions(&app, &[a]).await, vec![(9, 1)]);
}
