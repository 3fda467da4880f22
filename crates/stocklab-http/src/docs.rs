//! The API's contract: `/openapi.json` (OpenAPI 3.1, generated from the handlers' annotations)
//! and `/docs`, Swagger UI rendering it. Swagger UI is embedded in the binary (vendored from the
//! npm package `swagger-ui-dist`) so the docs work on a machine without internet access.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};

/// Adds the error responses every operation can give to each one that does not list its own.
///
/// Listing 500 and 503 on every route, and 400/413/415/422 on every route with a body, by hand
/// would be noise that drifts; the error mapping is one piece of code, so is this.
pub fn add_common_errors(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let has_body = operation.request_body.is_some();
            let takes_a_strategy = operation.parameters.iter().flatten().any(|parameter| {
                matches!(parameter, utoipa::openapi::RefOr::T(p) if p.name == "strategy")
            });
            let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let mut add = |status: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error_response(description).into());
            };
            if has_body {
                add("400", "`malformed_json`: the body is not valid JSON");
                add("413", "`payload_too_large`: the body is over 64 KiB");
                add(
                    "415",
                    "`unsupported_media_type`: the body is not `application/json`",
                );
            }
            if has_body || has_params {
                add(
                    "422",
                    "`invalid_value`, `invalid_body`, `invalid_query`, `invalid_path`: \
                     a value is out of range, of the wrong type, or unknown",
                );
            }
            if takes_a_strategy {
                add(
                    "403",
                    "`lab_disabled`: a lab-only option (unsafe, a race window, ...) without lab mode",
                );
            }
            add(
                "500",
                "`internal_error`: a bug; the server log has the details",
            );
            add(
                "503",
                "`database_unavailable`: the database cannot be reached; retry later",
            );
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.patch.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn error_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}

const SWAGGER_UI_JS: &str = include_str!("../assets/vendor/swagger-ui/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &str = include_str!("../assets/vendor/swagger-ui/swagger-ui.css");
const DOCS_PAGE: &str = include_str!("../assets/docs.html");

/// `/openapi.json`, `/docs` and the Swagger UI assets the page loads; `/` leads to the docs.
pub fn router<S: Clone + Send + Sync + 'static>(openapi: Arc<OpenApi>) -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::temporary("/docs") }))
        .route(
            "/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .route("/docs", get(|| async { Html(DOCS_PAGE) }))
        .route(
            "/docs/swagger-ui-bundle.js",
            get(|| async { static_asset("text/javascript; charset=utf-8", SWAGGER_UI_JS) }),
        )
        .route(
            "/docs/swagger-ui.css",
            get(|| async { static_asset("text/css; charset=utf-8", SWAGGER_UI_CSS) }),
        )
}

fn static_asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}
