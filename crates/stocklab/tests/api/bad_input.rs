//! Bad input of every kind, as tables of cases run through one [`check`]: each must get its
//! exact 4xx status and error code in the API's error shape `{"error": {"code", "message"}}`,
//! never a 500, and none may change anything.
//!
//! Paths may name `{id}`, which stands for a product that exists, so that a request is refused
//! for its input and not because the product is missing.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

use crate::helpers::{TestApp, backend_tests, read};

use crate::stock::MAX_QUANTITY;

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

const JSON: Option<&str> = Some("application/json");

/// Larger than the 64 KiB body limit.
const OVERSIZED: usize = 70_000;

backend_tests!(
    malformed_json_is_400,
    wrong_content_type_is_415,
    oversized_body_is_413,
    body_of_the_wrong_shape_is_invalid_body,
    out_of_range_values_are_invalid_value,
    bad_query_strings_are_invalid_query_or_value,
    bad_paths_unknown_routes_and_wrong_methods,
);

#[derive(Debug)]
enum Body {
    Empty,
    /// Sent as `application/json`.
    Json(Value),
    /// Sent as is, with this content type (none when `None`).
    Raw(Option<&'static str>, String),
}

#[derive(Debug)]
struct Case {
    method: Method,
    path: String,
    body: Body,
    status: u16,
    code: &'static str,
}

fn case(method: Method, path: &str, body: Body, status: u16, code: &'static str) -> Case {
    Case {
        method,
        path: path.to_owned(),
        body,
        status,
        code,
    }
}

fn json_body(value: Value) -> Body {
    Body::Json(value)
}

fn raw(content_type: Option<&'static str>, text: impl Into<String>) -> Body {
    Body::Raw(content_type, text.into())
}

/// An order of `count` one-unit lines of product 1, the product [`run`] creates first.
fn order_of(count: usize) -> Value {
    json!({"lines": vec![json!({"product_id": 1, "quantity": 1}); count]})
}

/// Sends one case and asserts its status, code and error shape.
async fn check(app: &TestApp, product_id: i64, case: &Case) {
    let path = case.path.replace("{id}", &product_id.to_string());
    let mut request = app.client.request(case.method.clone(), app.url(&path));
    request = match &case.body {
        Body::Empty => request,
        Body::Json(value) => request.json(value),
        Body::Raw(content_type, text) => {
            let request = request.body(text.clone());
            match content_type {
                Some(content_type) => request.header(CONTENT_TYPE, *content_type),
                None => request,
            }
        }
    };
    let reply = read(request.send().await.expect("the server answers")).await;
    let what = format!("{} {path} with {}", case.method, summary(&case.body));
    assert!(reply.status < 500, "{what}: a server error {reply:#?}");
    assert_eq!(
        (reply.status, reply.json["error"]["code"].as_str()),
        (case.status, Some(case.code)),
        "{what}: {reply:#?}"
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{what}"
    );
    let top: Vec<&String> = reply.json.as_object().expect("an object").keys().collect();
    assert_eq!(top, vec!["error"], "{what}: {reply:#?}");
    let error = reply.json["error"].as_object().expect("an error object");
    assert!(
        error
            .keys()
            .all(|key| ["code", "message", "details"].contains(&key.as_str())),
        "{what}: {reply:#?}"
    );
    let message = error["message"].as_str().expect("a message");
    assert!(!message.is_empty(), "{what}: an empty message");
}

fn summary(body: &Body) -> String {
    let (kind, text) = match body {
        Body::Empty => return "no body".to_owned(),
        Body::Json(value) => ("application/json", value.to_string()),
        Body::Raw(content_type, text) => (content_type.unwrap_or("no content type"), text.clone()),
    };
    let short: String = text.chars().take(80).collect();
    let ellipsis = if text.chars().count() > 80 { "..." } else { "" };
    format!("{kind} {short}{ellipsis} ({} bytes)", text.len())
}

/// Creates the product `{id}` names, runs every case, and asserts that nothing changed.
async fn run(app: TestApp, cases: Vec<Case>) {
    let id = app.create_product("BAD-1", 5).await;
    assert_eq!(id, 1, "order_of() names product 1");
    for case in &cases {
        check(&app, id, case).await;
    }
    let listing = app.get("/api/products").await;
    let products = listing.assert_status(200)["items"]
        .as_array()
        .expect("items")
        .clone();
    assert_eq!(products.len(), 1, "no bad create succeeded: {products:?}");
    assert_eq!(
        (
            &products[0]["name"],
            &products[0]["stock"],
            &products[0]["version"]
        ),
        (&json!("Product BAD-1"), &json!(5), &json!(0)),
        "no bad change succeeded"
    );
    let ledger = app.get(&format!("/api/products/{id}/movements")).await;
    assert_eq!(ledger.assert_status(200)["items"], json!([]));
    app.assert_audit_ok().await;
}

async fn malformed_json_is_400(app: TestApp) {
    let bad = |method: Method, path: &str, text: &str| {
        case(method, path, raw(JSON, text), 400, "malformed_json")
    };
    #[rustfmt::skip]
    let cases = vec![
        bad(POST, "/api/products", r#"{"sku": "A-1", "name": "#),
        bad(POST, "/api/products/{id}/adjust", "not json at all"),
        bad(POST, "/api/products/{id}/adjust", ""),
        bad(PUT, "/api/products/{id}/stock", r#"{"quantity": 1,}"#),
        bad(PATCH, "/api/products/{id}", "{'name': 'x'}"),
        bad(POST, "/api/orders", r#"{"lines": [}"#),
    ];
    run(app, cases).await;
}

async fn wrong_content_type_is_415(app: TestApp) {
    let bad = |method: Method, path: &str, content_type: Option<&'static str>, text: &str| {
        let body = raw(content_type, text);
        case(method, path, body, 415, "unsupported_media_type")
    };
    let text = Some("text/plain");
    let form = Some("application/x-www-form-urlencoded");
    let order = order_of(1).to_string();
    #[rustfmt::skip]
    let cases = vec![
        bad(POST, "/api/products/{id}/adjust", text, r#"{"delta": 1}"#),
        bad(POST, "/api/products/{id}/adjust", None, r#"{"delta": 1}"#),
        bad(POST, "/api/products", None, r#"{"sku": "NEW-1", "name": "New"}"#),
        bad(PUT, "/api/products/{id}/stock", form, "quantity=1"),
        bad(PATCH, "/api/products/{id}", text, r#"{"name": "x"}"#),
        bad(POST, "/api/orders", None, &order),
    ];
    run(app, cases).await;
}

async fn oversized_body_is_413(app: TestApp) {
    let bad = |method: Method, path: &str, body: Value| {
        case(method, path, json_body(body), 413, "payload_too_large")
    };
    let huge = "x".repeat(OVERSIZED);
    let mut padded_order = order_of(1);
    padded_order["padding"] = json!(huge);
    #[rustfmt::skip]
    let cases = vec![
        bad(POST, "/api/products", json!({"sku": "BIG-1", "name": huge})),
        bad(PATCH, "/api/products/{id}", json!({"name": huge})),
        bad(POST, "/api/products/{id}/adjust", json!({"delta": 1, "reason": huge})),
        bad(PUT, "/api/products/{id}/stock", json!({"quantity": 1, "reason": huge})),
        bad(POST, "/api/orders", padded_order),
    ];
    run(app, cases).await;
}

async fn body_of_the_wrong_shape_is_invalid_body(app: TestApp) {
    let bad =
        |method: Method, path: &str, body: Body| case(method, path, body, 422, "invalid_body");
    let adjust = |body: Body| bad(POST, "/api/products/{id}/adjust", body);
    let create = |body: Value| bad(POST, "/api/products", json_body(body));
    let count = |body: Body| bad(PUT, "/api/products/{id}/stock", body);
    let rename = |body: Value| bad(PATCH, "/api/products/{id}", json_body(body));
    let order = |body: Value| bad(POST, "/api/orders", json_body(body));
    #[rustfmt::skip]
    let cases = vec![
        // Unknown fields: a typo must not be ignored.
        adjust(json_body(json!({"detla": 1}))),
        create(json!({"sku": "NEW-1", "name": "New", "colour": "red"})),
        order(json!({"lines": [{"product_id": 1, "quantity": 1, "note": "x"}]})),
        // Wrong types.
        adjust(json_body(json!({"delta": "one"}))),
        adjust(json_body(json!({"delta": 1.5}))),
        adjust(json_body(json!({"delta": null}))),
        create(json!({"sku": 5, "name": "New"})),
        create(json!([])),
        rename(json!({"name": ["x"]})),
        count(json_body(json!({"quantity": 1, "expected_version": "v1"}))),
        order(json!({"lines": "all"})),
        // Numbers beyond i64.
        adjust(raw(JSON, r#"{"delta": 1e30}"#)),
        adjust(raw(JSON, r#"{"delta": 99999999999999999999}"#)),
        adjust(raw(JSON, r#"{"delta": -99999999999999999999}"#)),
        count(raw(JSON, r#"{"quantity": 9223372036854775808}"#)),
        // Missing required fields.
        adjust(json_body(json!({}))),
        adjust(json_body(json!({"reason": "sale"}))),
        create(json!({"name": "New"})),
        create(json!({"sku": "NEW-1"})),
        rename(json!({})),
        count(json_body(json!({"expected_version": 0}))),
        order(json!({})),
        order(json!({"lines": [{"product_id": 1}]})),
    ];
    run(app, cases).await;
}

async fn out_of_range_values_are_invalid_value(app: TestApp) {
    let bad = |method: Method, path: &str, body: Value| {
        case(method, path, json_body(body), 422, "invalid_value")
    };
    let create = |sku: &str, name: &str, stock: i64| {
        let body = json!({"sku": sku, "name": name, "stock": stock});
        bad(POST, "/api/products", body)
    };
    let adjust = |body: Value| bad(POST, "/api/products/{id}/adjust", body);
    let count = |body: Value| bad(PUT, "/api/products/{id}/stock", body);
    let rename = |name: &str| bad(PATCH, "/api/products/{id}", json!({"name": name}));
    let order = |body: Value| bad(POST, "/api/orders", body);
    let line = |product_id: i64, quantity: i64| {
        order(json!({"lines": [{"product_id": product_id, "quantity": quantity}]}))
    };
    let long = |chars: usize| "n".repeat(chars);
    #[rustfmt::skip]
    let cases = vec![
        create("NEW-1", "New", -1),
        create("NEW-1", "New", MAX_QUANTITY + 1),
        create("", "New", 1),
        create("has space", "New", 1),
        create("semi;colon", "New", 1),
        create(&long(65), "New", 1),
        create("NEW-1", "", 1),
        create("NEW-1", "   ", 1),
        create("NEW-1", &long(201), 1),
        rename(""),
        rename(" \t "),
        rename(&long(201)),
        adjust(json!({"delta": 0})),
        adjust(json!({"delta": MAX_QUANTITY + 1})),
        adjust(json!({"delta": -MAX_QUANTITY - 1})),
        adjust(json!({"delta": i64::MIN})),
        adjust(json!({"delta": 1, "reason": long(201)})),
        bad(POST, "/api/products/{id}/adjust?strategy=nope", json!({"delta": 1})),
        count(json!({"quantity": -1})),
        count(json!({"quantity": MAX_QUANTITY + 1})),
        count(json!({"quantity": 1, "reason": long(201)})),
        order(json!({"lines": []})),
        line(1, 0),
        line(1, -1),
        line(0, 1),
        line(-1, 1),
        line(1, MAX_QUANTITY + 1),
        order(order_of(1001)),
    ];
    run(app, cases).await;
}

async fn bad_query_strings_are_invalid_query_or_value(app: TestApp) {
    let query = |path: &str| case(GET, path, Body::Empty, 422, "invalid_query");
    let value = |path: &str| case(GET, path, Body::Empty, 422, "invalid_value");
    let adjust = json_body(json!({"delta": 1}));
    #[rustfmt::skip]
    let cases = vec![
        query("/api/products?limit=abc"),
        query("/api/products?limit=1.5"),
        query("/api/products?after=first"),
        query("/api/products?foo=1"),
        query("/api/products/{id}/movements?limit=abc"),
        query("/api/products/{id}/movements?bar=2"),
        case(POST, "/api/products/{id}/adjust?foo=1", adjust, 422, "invalid_query"),
        value("/api/products?limit=0"),
        value("/api/products?limit=1001"),
        value("/api/products?limit=-1"),
        value("/api/products/{id}/movements?limit=0"),
        value("/api/products/{id}/movements?limit=1001"),
    ];
    run(app, cases).await;
}

async fn bad_paths_unknown_routes_and_wrong_methods(app: TestApp) {
    let bare = |method: Method, path: &str, status: u16, code: &'static str| {
        case(method, path, Body::Empty, status, code)
    };
    let adjust = json_body(json!({"delta": 1}));
    let order = json_body(order_of(1));
    #[rustfmt::skip]
    let cases = vec![
        bare(GET, "/api/products/abc", 422, "invalid_path"),
        bare(GET, "/api/products/1.5", 422, "invalid_path"),
        bare(GET, "/api/products/99999999999999999999", 422, "invalid_path"),
        bare(GET, "/api/products/abc/movements", 422, "invalid_path"),
        case(POST, "/api/products/abc/adjust", adjust, 422, "invalid_path"),
        bare(GET, "/api/nope", 404, "not_found"),
        bare(GET, "/api/products/{id}/nope", 404, "not_found"),
        case(POST, "/api/order", order, 404, "not_found"),
        bare(DELETE, "/api/audit", 405, "method_not_allowed"),
        bare(PUT, "/api/products", 405, "method_not_allowed"),
        bare(GET, "/api/products/{id}/adjust", 405, "method_not_allowed"),
        bare(DELETE, "/api/orders", 405, "method_not_allowed"),
        bare(POST, "/healthz", 405, "method_not_allowed"),
        bare(DELETE, "/openapi.json", 405, "method_not_allowed"),
    ];
    run(app, cases).await;
}
