//! Stock changes and the ledger: `POST /api/products/{id}/adjust` (receipts, withdrawals,
//! shortages, overflow, `?strategy=`), `PUT /api/products/{id}/stock` (stock-takes with and
//! without `expected_version`), `GET /api/products/{id}/movements` (newest first, paged) and the
//! `x-request-id` that each change records.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, backend_tests, read};
use crate::products::{ids, pages};

/// The largest stock, count or change the API accepts (the contract's 10^15).
pub(crate) const MAX_QUANTITY: i64 = 1_000_000_000_000_000;

backend_tests!(
    adjust_receives_and_withdraws_one_version_at_a_time,
    adjust_accepts_the_atomic_strategy_and_refuses_an_unknown_one,
    withdrawing_the_whole_stock_leaves_zero,
    withdrawing_more_than_the_stock_changes_nothing,
    adjust_beyond_the_maximum_stock_overflows,
    adjust_unknown_product_is_not_found,
    count_sets_the_stock_and_records_the_difference,
    count_with_a_stale_version_changes_nothing,
    count_unknown_product_is_not_found,
    movements_page_newest_first,
    movements_of_unknown_product_is_not_found,
    client_request_id_is_echoed_and_recorded,
    missing_request_id_is_generated_echoed_and_recorded,
    overlong_request_id_is_replaced,
);

fn adjust_path(id: i64) -> String {
    format!("/api/products/{id}/adjust")
}

fn stock_path(id: i64) -> String {
    format!("/api/products/{id}/stock")
}

/// The product as `GET /api/products/{id}` serves it.
async fn product(app: &TestApp, id: i64) -> Value {
    app.get(&format!("/api/products/{id}"))
        .await
        .assert_status(200)
        .clone()
}

/// The product's whole ledger, newest first.
pub(crate) async fn movements(app: &TestApp, id: i64) -> Vec<Value> {
    let reply = app
        .get(&format!("/api/products/{id}/movements?limit=1000"))
        .await;
    let page = reply.assert_status(200);
    assert_eq!(page["next_after"], Value::Null, "one page holds the ledger");
    page["items"].as_array().expect("a page has items").clone()
}

/// The named fields of each ledger row, in order: one JSON array per row, to compare at a glance.
pub(crate) fn pick(ledger: &[Value], fields: &[&str]) -> Vec<Value> {
    ledger
        .iter()
        .map(|row| Value::Array(fields.iter().map(|field| row[*field].clone()).collect()))
        .collect()
}

/// A successful change's product and ledger row, with the strategy header checked.
#[track_caller]
fn change(reply: &Reply) -> (Value, i64) {
    let body = reply.assert_status(200);
    assert_eq!(
        reply.header("x-stocklab-strategy"),
        Some("atomic"),
        "{reply:#?}"
    );
    let movement_id = body["movement_id"].as_i64().expect("a movement id");
    (body["product"].clone(), movement_id)
}

/// Asserts a product's stock and version.
#[track_caller]
fn assert_stock(product: &Value, stock: i64, version: i64) {
    assert_eq!(
        (&product["stock"], &product["version"]),
        (&json!(stock), &json!(version)),
        "{product}"
    );
}

/// An adjustment of product `id` by `delta`, sent with `request_id` as `x-request-id` if any.
async fn adjust_with_request_id(app: &TestApp, id: i64, request_id: Option<&str>) -> Reply {
    let mut request = app
        .client
        .request(Method::POST, app.url(&adjust_path(id)))
        .json(&json!({"delta": 1}));
    if let Some(request_id) = request_id {
        request = request.header("x-request-id", request_id);
    }
    read(request.send().await.expect("the server answers")).await
}

async fn adjust_receives_and_withdraws_one_version_at_a_time(app: TestApp) {
    let id = app.create_product("ADJ-1", 10).await;
    let (received, first) = change(&app.adjust(id, 5).await);
    assert_stock(&received, 15, 1);
    assert_eq!(received["id"], json!(id));
    let reply = app
        .post(&adjust_path(id), json!({"delta": -3, "reason": "sale"}))
        .await;
    let (withdrawn, second) = change(&reply);
    assert_stock(&withdrawn, 12, 2);
    assert_eq!(product(&app, id).await, withdrawn);

    let ledger = movements(&app, id).await;
    let facts = pick(
        &ledger,
        &[
            "id",
            "product_id",
            "delta",
            "stock_after",
            "version",
            "reason",
            "order_id",
        ],
    );
    assert_eq!(
        facts,
        vec![
            json!([second, id, -3, 12, 2, "sale", null]),
            json!([first, id, 5, 15, 1, null, null]),
        ]
    );
    assert!(
        ledger.iter().all(|m| m["created_at"].is_string()),
        "{ledger:?}"
    );
}

async fn adjust_accepts_the_atomic_strategy_and_refuses_an_unknown_one(app: TestApp) {
    let id = app.create_product("STRAT-1", 10).await;
    let path = adjust_path(id);
    let (adjusted, _) = change(
        &app.post(&format!("{path}?strategy=atomic"), json!({"delta": -1}))
            .await,
    );
    assert_stock(&adjusted, 9, 1);
    app.post(&format!("{path}?strategy=nope"), json!({"delta": -1}))
        .await
        .assert_error(422, "invalid_value");
    assert_stock(&product(&app, id).await, 9, 1);
    assert_eq!(movements(&app, id).await.len(), 1);
}

async fn withdrawing_the_whole_stock_leaves_zero(app: TestApp) {
    let id = app.create_product("ALL-1", 3).await;
    let (emptied, _) = change(&app.adjust(id, -3).await);
    assert_stock(&emptied, 0, 1);
}

async fn withdrawing_more_than_the_stock_changes_nothing(app: TestApp) {
    let id = app.create_product("SHORT-1", 3).await;
    let reply = app.adjust(id, -5).await;
    let error = reply.assert_error(409, "insufficient_stock");
    assert_eq!(
        error["details"]["shortages"],
        json!([{"product_id": id, "requested": 5, "available": 3}])
    );
    assert_stock(&product(&app, id).await, 3, 0);
    assert_eq!(movements(&app, id).await, Vec::<Value>::new());
}

async fn adjust_beyond_the_maximum_stock_overflows(app: TestApp) {
    let id = app.create_product("MAX-1", MAX_QUANTITY - 1).await;
    let (full, _) = change(&app.adjust(id, 1).await);
    assert_stock(&full, MAX_QUANTITY, 1);
    app.adjust(id, 1).await.assert_error(422, "stock_overflow");
    assert_stock(&product(&app, id).await, MAX_QUANTITY, 1);
    assert_eq!(movements(&app, id).await.len(), 1);
}

async fn adjust_unknown_product_is_not_found(app: TestApp) {
    app.adjust(4242, 1)
        .await
        .assert_error(404, "product_not_found");
}

async fn count_sets_the_stock_and_records_the_difference(app: TestApp) {
    let id = app.create_product("COUNT-1", 10).await;
    let reply = app
        .put(
            &stock_path(id),
            json!({"quantity": 4, "reason": "stock-take"}),
        )
        .await;
    let (counted, first) = change(&reply);
    assert_stock(&counted, 4, 1);
    let reply = app
        .put(
            &stock_path(id),
            json!({"quantity": 9, "expected_version": 1}),
        )
        .await;
    let (recounted, second) = change(&reply);
    assert_stock(&recounted, 9, 2);
    assert_eq!(product(&app, id).await, recounted);

    let ledger = movements(&app, id).await;
    let facts = pick(
        &ledger,
        &["id", "delta", "stock_after", "version", "reason"],
    );
    assert_eq!(
        facts,
        vec![
            json!([second, 5, 9, 2, null]),
            json!([first, -6, 4, 1, "stock-take"]),
        ]
    );
}

async fn count_with_a_stale_version_changes_nothing(app: TestApp) {
    let id = app.create_product("STALE-1", 10).await;
    change(&app.adjust(id, -2).await);
    let reply = app
        .put(
            &stock_path(id),
            json!({"quantity": 0, "expected_version": 0}),
        )
        .await;
    let error = reply.assert_error(409, "version_mismatch");
    assert_eq!(
        (
            &error["details"]["expected_version"],
            &error["details"]["actual_version"]
        ),
        (&json!(0), &json!(1))
    );
    assert_stock(&product(&app, id).await, 8, 1);
    assert_eq!(movements(&app, id).await.len(), 1);
}

async fn count_unknown_product_is_not_found(app: TestApp) {
    app.put(&stock_path(4242), json!({"quantity": 1}))
        .await
        .assert_error(404, "product_not_found");
}

async fn movements_page_newest_first(app: TestApp) {
    let id = app.create_product("LEDGER-1", 0).await;
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(change(&app.adjust(id, 1).await).1);
    }
    let newest_first: Vec<i64> = made.iter().rev().copied().collect();
    let path = format!("/api/products/{id}/movements");

    let paged = pages(&app, &path, Some(2)).await;
    let page_ids: Vec<Vec<i64>> = paged.iter().map(ids).collect();
    assert_eq!(
        page_ids,
        vec![
            newest_first[0..2].to_vec(),
            newest_first[2..4].to_vec(),
            newest_first[4..].to_vec()
        ]
    );
    let cursors: Vec<&Value> = paged.iter().map(|page| &page["next_after"]).collect();
    assert_eq!(
        cursors,
        vec![
            &json!(newest_first[1]),
            &json!(newest_first[3]),
            &Value::Null
        ]
    );
    let stock_after: Vec<i64> = paged
        .iter()
        .flat_map(|page| page["items"].as_array().expect("a page has items"))
        .map(|m| m["stock_after"].as_i64().expect("a stock_after"))
        .collect();
    assert_eq!(stock_after, vec![5, 4, 3, 2, 1]);

    let whole = pages(&app, &path, None).await;
    assert_eq!(whole.len(), 1, "the default page holds all five");
    assert_eq!(ids(&whole[0]), newest_first);
}

async fn movements_of_unknown_product_is_not_found(app: TestApp) {
    app.get("/api/products/4242/movements")
        .await
        .assert_error(404, "product_not_found");
}

/// Asserts that the reply echoes `x-request-id` and that the change's ledger row records it;
/// returns the id.
async fn assert_request_id_recorded(app: &TestApp, id: i64, reply: &Reply) -> String {
    let (_, movement_id) = change(reply);
    let echoed = reply
        .header("x-request-id")
        .expect("the request id is echoed")
        .to_owned();
    let ledger = movements(app, id).await;
    let row = ledger
        .iter()
        .find(|m| m["id"] == json!(movement_id))
        .expect("the change's ledger row");
    assert_eq!(row["request_id"], json!(echoed), "{row}");
    echoed
}

async fn client_request_id_is_echoed_and_recorded(app: TestApp) {
    let id = app.create_product("RID-1", 0).await;
    let reply = adjust_with_request_id(&app, id, Some("my-id-1")).await;
    assert_eq!(
        assert_request_id_recorded(&app, id, &reply).await,
        "my-id-1"
    );
    // The longest id a client may choose is kept as it is.
    let longest = "r".repeat(64);
    let reply = adjust_with_request_id(&app, id, Some(&longest)).await;
    assert_eq!(assert_request_id_recorded(&app, id, &reply).await, longest);
}

async fn missing_request_id_is_generated_echoed_and_recorded(app: TestApp) {
    let id = app.create_product("RID-2", 0).await;
    let first = adjust_with_request_id(&app, id, None).await;
    let first = assert_request_id_recorded(&app, id, &first).await;
    let second = adjust_with_request_id(&app, id, None).await;
    let second = assert_request_id_recorded(&app, id, &second).await;
    assert!(!first.is_empty() && first.len() <= 64, "{first:?}");
    assert_ne!(first, second, "each request gets an id of its own");
}

async fn overlong_request_id_is_replaced(app: TestApp) {
    let id = app.create_product("RID-3", 0).await;
    let overlong = "x".repeat(65);
    let reply = adjust_with_request_id(&app, id, Some(&overlong)).await;
    let replaced = assert_request_id_recorded(&app, id, &reply).await;
    assert_ne!(replaced, overlong);
    assert!(!replaced.is_empty() && replaced.len() <= 64, "{replaced:?}");
}
