//! # stocklab-http
//!
//! The HTTP API (axum): routing, JSON shapes, the one error mapping, OpenAPI and the docs page.
//! [`app`] builds the whole router from an [`Inventory`]; tests and the binary both serve it.
//!
//! Architecture invariant: this is the only crate that knows JSON shapes and status codes.
//! Handlers parse input into domain types at the edge, call the service, and convert the result
//! into a view; they never contain SQL or business rules.
//!
//! ## Layout
//! - One router per resource: [`products`] (catalogue, adjustments, stock-takes, ledger),
//!   [`orders`], [`audit`], [`health`], [`lab`] (stats and reset); [`docs`] serves the contract.
//! - [`error`]: `AppError`, the only place a failure becomes a status code.
//! - [`extract`]: extractors that reject with the same error shape; shared query parameters.
//! - [`views`]: request and response bodies, with their OpenAPI schemas.

pub mod audit;
pub mod docs;
pub mod error;
pub mod extract;
pub mod health;
pub mod lab;
pub mod orders;
pub mod products;
pub mod views;

use std::any::Any;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, Method, Uri};
use axum::middleware::map_request;
use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use stocklab_domain::Strategy;
use stocklab_service::{Applied, ChangeOptions, Inventory};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{AppError, BODY_LIMIT, ErrorBody};
use crate::extract::ChangeQuery;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub inventory: Inventory,
}

impl AppState {
    /// The change options a request asked for, on top of the server's defaults.
    fn change_options(&self, query: &ChangeQuery) -> Result<ChangeOptions, AppError> {
        Ok(query.options(self.inventory.default_options())?)
    }

    /// The same for an order, which may also choose its lock order.
    fn order_options(&self, query: &ChangeQuery) -> Result<ChangeOptions, AppError> {
        Ok(query.order_options(self.inventory.default_options())?)
    }
}

/// The response header that names the strategy which protected a change.
pub const STRATEGY_HEADER: HeaderName = HeaderName::from_static("x-stocklab-strategy");

/// The request id header: taken from the client when usable, made up otherwise, echoed back,
/// logged with every line about the request and stored on its ledger rows.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-chosen request id kept; a longer one is replaced by a fresh one.
const MAX_REQUEST_ID_LEN: usize = 64;

/// The response header that says how many times `optimistic` retried.
pub const RETRIES_HEADER: HeaderName = HeaderName::from_static("x-stocklab-retries");

/// Sets [`STRATEGY_HEADER`] and [`RETRIES_HEADER`] on a response.
#[derive(Debug, Clone, Copy)]
pub struct HowApplied {
    pub strategy: Strategy,
    pub retries: u32,
}

impl<T> From<&Applied<T>> for HowApplied {
    fn from(applied: &Applied<T>) -> Self {
        Self {
            strategy: applied.strategy,
            retries: applied.retries,
        }
    }
}

impl IntoResponseParts for HowApplied {
    type Error = Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Self::Error> {
        let headers = parts.headers_mut();
        headers.insert(
            STRATEGY_HEADER,
            HeaderValue::from_static(self.strategy.name()),
        );
        headers.insert(RETRIES_HEADER, HeaderValue::from(self.retries));
        Ok(parts)
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "stocklab",
        description = "A concurrent inventory service, and the lab that shows what goes wrong \
            when many clients change the same stock at once. Every error is \
            `{\"error\": {\"code\", \"message\", \"details\"?}}`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    components(schemas(ErrorBody)),
    tags(
        (name = "products", description = "The catalogue"),
        (name = "stock", description = "Stock changes and the ledger"),
        (name = "orders", description = "Multi-line withdrawals, all or nothing"),
        (name = "audit", description = "Stock against ledger"),
        (name = "health", description = "Liveness and database reachability"),
        (name = "lab", description = "The concurrency lab: counters per strategy, clean data sets"),
    ),
)]
struct ApiDoc;

/// The API routes and the OpenAPI document generated from the same handlers, so neither can
/// list a route the other lacks.
fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(products::router())
        .merge(orders::router())
        .merge(audit::router())
        .merge(health::router())
        .merge(lab::router())
        .split_for_parts();
    docs::add_common_errors(&mut openapi);
    (router, openapi)
}

/// The OpenAPI document of the API, as `/openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().1
}

/// The whole HTTP application over `inventory`.
pub fn app(inventory: Inventory) -> Router {
    let (api, openapi) = api();
    let middleware = ServiceBuilder::new()
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(map_request(drop_unusable_request_id))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        // Failures are logged once, by `AppError`, with their cause; not again here.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER));
    api.merge(docs::router(Arc::new(openapi)))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware)
        .with_state(AppState { inventory })
}

/// Drops a client's `x-request-id` that is empty, too long or not visible ASCII, so that what is
/// echoed, logged and stored is always a short, printable id.
async fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = |value: &HeaderValue| {
        !value.is_empty()
            && value.len() <= MAX_REQUEST_ID_LEN
            && value.as_bytes().iter().all(|b| b.is_ascii_graphic())
    };
    if request
        .headers()
        .get(REQUEST_ID_HEADER)
        .is_some_and(|v| !usable(v))
    {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    request
}

fn request_span(request: &Request) -> tracing::Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %request.uri(),
        request_id = %request_id,
    )
}

async fn route_not_found(method: Method, uri: Uri) -> AppError {
    AppError::RouteNotFound {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}

/// A handler that panicked is a bug; the client still gets the usual JSON error, not a dropped
/// connection.
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    AppError::Internal(format!("a request handler panicked: {message}")).into_response()
}
