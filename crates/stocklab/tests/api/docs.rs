//! The contract as served: `/openapi.json` (OpenAPI 3.1, exactly the API's routes, the common
//! error responses on every operation, the named schemas), `/docs` (Swagger UI and its embedded
//! assets) and the redirect from `/`. None of this touches the database, so SQLite alone serves.

use std::collections::BTreeSet;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn openapi(app: &TestApp) -> Value {
    app.get("/openapi.json").await.assert_status(200).clone()
}

/// Every operation in the document as `(path, method, operation)`.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for method in HTTP_METHODS {
            if let Some(operation) = item.get(method) {
                operations.push((path.clone(), method.to_owned(), operation.clone()));
            }
        }
    }
    operations
}

/// A body served as text, with its content type.
async fn fetch_text(app: &TestApp, path: &str) -> (u16, String, String) {
    let response = app
        .client
        .get(app.url(path))
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.expect("a text body");
    (status, content_type, body)
}

#[tokio::test]
async fn openapi_is_version_3_1_and_lists_exactly_the_api() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = openapi(&app).await;
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI {version}");
    let listed: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(path, method, _)| (path, method))
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("/api/products", "get"),
        ("/api/products", "post"),
        ("/api/products/{id}", "get"),
        ("/api/products/{id}", "patch"),
        ("/api/products/{id}", "delete"),
        ("/api/products/{id}/adjust", "post"),
        ("/api/products/{id}/stock", "put"),
        ("/api/products/{id}/movements", "get"),
        ("/api/orders", "post"),
        ("/api/audit", "get"),
        ("/api/stats", "get"),
        ("/api/lab/reset", "post"),
        ("/healthz", "get"),
    ]
    .into_iter()
    .map(|(path, method)| (path.to_owned(), method.to_owned()))
    .collect();
    assert_eq!(listed, expected);
}

#[tokio::test]
async fn every_operation_documents_the_common_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = openapi(&app).await;
    let mut with_body = BTreeSet::new();
    for (path, method, operation) in operations(&doc) {
        let mut statuses = vec!["500", "503"];
        if operation.get("requestBody").is_some() {
            with_body.insert(format!("{method} {path}"));
            statuses.extend(["400", "413", "415", "422"]);
        }
        for status in statuses {
            let schema = &operation["responses"][status]["content"]["application/json"]["schema"];
            assert_eq!(
                schema["$ref"].as_str(),
                Some("#/components/schemas/ErrorBody"),
                "{method} {path} documents {status} with the ErrorBody schema"
            );
        }
    }
    let expected: BTreeSet<String> = [
        "post /api/products",
        "patch /api/products/{id}",
        "post /api/products/{id}/adjust",
        "put /api/products/{id}/stock",
        "post /api/orders",
        "post /api/lab/reset",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(with_body, expected, "the operations that take a body");
    let adjust = &doc["paths"]["/api/products/{id}/adjust"]["post"]["responses"]["403"];
    assert!(
        adjust["description"]
            .as_str()
            .is_some_and(|d| d.contains("lab_disabled")),
        "a route that takes ?strategy= documents 403 lab_disabled: {adjust}"
    );
}

#[tokio::test]
async fn components_name_the_api_schemas() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = openapi(&app).await;
    let schemas = doc["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    for name in [
        "ErrorBody",
        "ProductView",
        "ChangeView",
        "OrderView",
        "AuditView",
        "MovementPage",
        "ProductPage",
    ] {
        assert!(
            schemas.contains_key(name),
            "schema {name} missing; have {:?}",
            schemas.keys().collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn docs_page_loads_swagger_ui_and_the_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, content_type, page) = fetch_text(&app, "/docs").await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    for reference in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/openapi.json",
    ] {
        assert!(page.contains(reference), "the page refers to {reference}");
    }
}

#[tokio::test]
async fn swagger_ui_assets_are_served_with_their_types() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (path, expected_type, marker) in [
        (
            "/docs/swagger-ui-bundle.js",
            "text/javascript",
            "SwaggerUIBundle",
        ),
        ("/docs/swagger-ui.css", "text/css", ".swagger-ui"),
    ] {
        let (status, content_type, body) = fetch_text(&app, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            content_type.starts_with(expected_type),
            "{path}: {content_type}"
        );
        assert!(body.contains(marker), "{path} is the real asset");
    }
}

#[tokio::test]
async fn root_redirects_to_the_docs() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client");
    let response = client
        .get(app.url("/"))
        .send()
        .await
        .expect("the server answers");
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok());
    assert_eq!(location, Some("/docs"));

    // A client that follows redirects lands on the docs page.
    let followed = app
        .client
        .get(app.url("/"))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(
        (followed.status().as_u16(), followed.url().path()),
        (200, "/docs")
    );
}
