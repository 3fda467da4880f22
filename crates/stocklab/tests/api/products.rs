//! The catalogue: `GET`/`POST /api/products` (keyset paging, creation, duplicate and
//! case-sensitive SKUs) and `GET`/`PATCH`/`DELETE /api/products/{id}`.
//!
//! [`pages`], which walks a keyset-paged listing to its end, is shared with the ledger tests.

use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, backend_tests};

backend_tests!(
    create_returns_the_product_at_version_zero,
    create_without_stock_starts_at_zero,
    create_accepts_the_longest_sku_and_name,
    duplicate_sku_is_a_conflict,
    skus_are_case_sensitive,
    get_unknown_product_is_not_found,
    patch_renames_and_trims_but_keeps_stock_and_version,
    patch_unknown_product_is_not_found,
    delete_removes_the_product_and_its_ledger,
    delete_unknown_product_is_not_found,
    empty_catalogue_is_one_empty_page,
    list_pages_through_products_in_id_order,
    list_defaults_to_100_products_a_page,
);

async fn create(app: &TestApp, body: Value) -> Reply {
    app.post("/api/products", body).await
}

/// The ids of a page's items, in the order served.
pub(crate) fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("a page has items")
        .iter()
        .map(|item| item["id"].as_i64().expect("an item has an id"))
        .collect()
}

/// Every page of a keyset-paged listing at `path`, `limit` items a page (or the default when
/// `None`), following `next_after` until it is null.
pub(crate) async fn pages(app: &TestApp, path: &str, limit: Option<u32>) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(after) = after {
            query.push(format!("after={after}"));
        }
        let url = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let page = app.get(&url).await.assert_status(200).clone();
        after = page["next_after"].as_i64();
        assert!(
            after.is_some() || page["next_after"].is_null(),
            "next_after is an id or null: {page}"
        );
        pages.push(page);
        assert!(pages.len() <= 1000, "paging of {path} never ends");
        if after.is_none() {
            return pages;
        }
    }
}

async fn create_products(app: &TestApp, count: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        ids.push(app.create_product(&format!("P-{i}"), 1).await);
    }
    ids
}

async fn create_returns_the_product_at_version_zero(app: TestApp) {
    let reply = create(
        &app,
        json!({"sku": "HW-HAMMER-16", "name": "Claw hammer", "stock": 12}),
    )
    .await;
    let product = reply.assert_status(201).clone();
    let id = product["id"].as_i64().expect("an id");
    assert!(id > 0, "{product}");
    let updated_at = product["updated_at"].as_str().expect("an updated_at");
    assert!(
        updated_at.contains('T'),
        "an RFC 3339 timestamp: {updated_at}"
    );
    assert_eq!(
        product,
        json!({
            "id": id,
            "sku": "HW-HAMMER-16",
            "name": "Claw hammer",
            "stock": 12,
            "version": 0,
            "updated_at": updated_at,
        })
    );
    let fetched = app.get(&format!("/api/products/{id}")).await;
    assert_eq!(fetched.assert_status(200), &product);
}

async fn create_without_stock_starts_at_zero(app: TestApp) {
    let reply = create(&app, json!({"sku": "EMPTY-1", "name": "Nothing yet"})).await;
    let product = reply.assert_status(201);
    assert_eq!(
        (&product["stock"], &product["version"]),
        (&json!(0), &json!(0))
    );
}

async fn create_accepts_the_longest_sku_and_name(app: TestApp) {
    // Multi-byte characters: the name limit counts characters, and MySQL must store them all.
    let sku = format!("{}-_.", "A".repeat(61));
    let name = "é".repeat(200);
    let reply = create(&app, json!({"sku": sku, "name": name})).await;
    let id = reply.assert_status(201)["id"].as_i64().expect("an id");
    let fetched = app.get(&format!("/api/products/{id}")).await;
    let product = fetched.assert_status(200);
    assert_eq!(
        (&product["sku"], &product["name"]),
        (&json!(sku), &json!(name))
    );
}

async fn duplicate_sku_is_a_conflict(app: TestApp) {
    let first = app.create_product("DUP-1", 5).await;
    let reply = create(&app, json!({"sku": "DUP-1", "name": "Another", "stock": 9})).await;
    reply.assert_error(409, "duplicate_sku");
    let listing = app.get("/api/products").await;
    let page = listing.assert_status(200);
    assert_eq!(ids(page), vec![first]);
    assert_eq!(page["items"][0]["stock"], json!(5));
}

async fn skus_are_case_sensitive(app: TestApp) {
    let lower = app.create_product("ab", 1).await;
    let upper = app.create_product("AB", 2).await;
    assert_ne!(lower, upper);
    for (id, sku) in [(lower, "ab"), (upper, "AB")] {
        let reply = app.get(&format!("/api/products/{id}")).await;
        assert_eq!(reply.assert_status(200)["sku"], json!(sku));
    }
}

async fn get_unknown_product_is_not_found(app: TestApp) {
    let id = app.create_product("REAL-1", 1).await;
    app.get(&format!("/api/products/{}", id + 1))
        .await
        .assert_error(404, "product_not_found");
}

async fn patch_renames_and_trims_but_keeps_stock_and_version(app: TestApp) {
    let id = app.create_product("REN-1", 7).await;
    app.adjust(id, 3).await.assert_status(200);
    let path = format!("/api/products/{id}");
    let reply = app.patch(&path, json!({"name": "  Renamed tool  "})).await;
    let renamed = reply.assert_status(200).clone();
    assert_eq!(
        (
            &renamed["id"],
            &renamed["sku"],
            &renamed["name"],
            &renamed["stock"],
            &renamed["version"]
        ),
        (
            &json!(id),
            &json!("REN-1"),
            &json!("Renamed tool"),
            &json!(10),
            &json!(1)
        )
    );
    assert_eq!(app.get(&path).await.assert_status(200), &renamed);
}

async fn patch_unknown_product_is_not_found(app: TestApp) {
    app.patch("/api/products/4242", json!({"name": "Ghost"}))
        .await
        .assert_error(404, "product_not_found");
}

async fn delete_removes_the_product_and_its_ledger(app: TestApp) {
    let id = app.create_product("DEL-1", 4).await;
    let kept = app.create_product("KEEP-1", 4).await;
    app.adjust(id, -1).await.assert_status(200);
    let path = format!("/api/products/{id}");
    let reply = app.delete(&path).await;
    reply.assert_status(204);
    assert_eq!(reply.json, Value::Null, "204 has no body");
    app.get(&path).await.assert_error(404, "product_not_found");
    app.get(&format!("{path}/movements"))
        .await
        .assert_error(404, "product_not_found");
    app.delete(&path)
        .await
        .assert_error(404, "product_not_found");
    assert_eq!(
        ids(app.get("/api/products").await.assert_status(200)),
        vec![kept]
    );
}

async fn delete_unknown_product_is_not_found(app: TestApp) {
    app.delete("/api/products/4242")
        .await
        .assert_error(404, "product_not_found");
}

async fn empty_catalogue_is_one_empty_page(app: TestApp) {
    let reply = app.get("/api/products").await;
    assert_eq!(
        reply.assert_status(200),
        &json!({"items": [], "next_after": null})
    );
}

async fn list_pages_through_products_in_id_order(app: TestApp) {
    let created = create_products(&app, 5).await;
    let pages = pages(&app, "/api/products", Some(2)).await;
    let page_ids: Vec<Vec<i64>> = pages.iter().map(ids).collect();
    assert_eq!(
        page_ids,
        vec![
            created[0..2].to_vec(),
            created[2..4].to_vec(),
            created[4..5].to_vec()
        ]
    );
    let cursors: Vec<&Value> = pages.iter().map(|page| &page["next_after"]).collect();
    assert_eq!(
        cursors,
        vec![&json!(created[1]), &json!(created[3]), &Value::Null]
    );
    // The items are whole products, the same as GET /api/products/{id} serves.
    let single = app.get(&format!("/api/products/{}", created[2])).await;
    assert_eq!(&pages[1]["items"][0], single.assert_status(200));
}

async fn list_defaults_to_100_products_a_page(app: TestApp) {
    let created = create_products(&app, 101).await;
    let pages = pages(&app, "/api/products", None).await;
    let page_ids: Vec<Vec<i64>> = pages.iter().map(ids).collect();
    assert_eq!(
        page_ids,
        vec![created[0..100].to_vec(), created[100..].to_vec()]
    );
    assert_eq!(pages[0]["next_after"], json!(created[99]));
    // The largest page holds them all.
    let all = app.get("/api/products?limit=1000").await;
    let all = all.assert_status(200);
    assert_eq!((ids(all), &all["next_after"]), (created, &Value::Null));
}
