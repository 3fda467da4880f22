//! [`AppError`]: every way a request can fail, and the one mapping from each to an HTTP status
//! and the JSON body `{"error": {"code", "message", "details"?}}`.
//!
//! Client mistakes are 4xx with a message that says what is wrong. A 5xx is logged in full here
//! and shown to the client as a short, safe message: database errors can carry SQL and schema
//! details that are none of the client's business.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use stocklab_domain::{StockError, ValidationError};
use stocklab_service::ServiceError;
use stocklab_store::StoreError;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, snake_case code to branch on, e.g. `insufficient_stock`.
    #[schema(example = "insufficient_stock")]
    pub code: &'static str,
    /// What is wrong, for people.
    pub message: String,
    /// Structured facts about the error where there are any, e.g. the `shortages` of an order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{0}")]
    InvalidBody(String),
    #[error("expected a request body with content-type application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("invalid path: {0}")]
    InvalidPath(String),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// A bug, such as a handler that panicked. Logged; the client sees a generic message.
    #[error("{0}")]
    Internal(String),
    /// A request that could not be read for a reason other than those above.
    #[error("the request could not be read: {0}")]
    BadRequest(String),
}

/// The request body limit, in bytes (64 KiB): larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

impl AppError {
    /// The HTTP status and the stable error code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            AppError::InvalidBody(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            AppError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            }
            AppError::InvalidQuery(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_query"),
            AppError::InvalidPath(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_path"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value"),
            AppError::RouteNotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed { .. } => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
            }
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            AppError::Service(service) => (service_status(service), service.code()),
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            AppError::Invalid(error) => Some(serde_json::json!({ "field": error.field })),
            AppError::Service(ServiceError::Store(StoreError::Rejected(rejected))) => {
                match rejected {
                    StockError::InsufficientStock(shortages) => Some(serde_json::json!({
                        "shortages": shortages
                            .iter()
                            .map(|s| serde_json::json!({
                                "product_id": s.product_id,
                                "requested": s.requested,
                                "available": s.available,
                            }))
                            .collect::<Vec<_>>(),
                    })),
                    StockError::VersionMismatch {
                        product_id,
                        expected,
                        actual,
                    } => Some(serde_json::json!({
                        "product_id": product_id,
                        "expected_version": expected,
                        "actual_version": actual,
                    })),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// The HTTP status of a service failure; its code is [`ServiceError::code`].
fn service_status(error: &ServiceError) -> StatusCode {
    match error {
        ServiceError::Store(store) => match store {
            StoreError::Rejected(rejected) => match rejected {
                StockError::ProductNotFound(_) => StatusCode::NOT_FOUND,
                StockError::StockOverflow { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                StockError::DuplicateSku(_)
                | StockError::InsufficientStock(_)
                | StockError::VersionMismatch { .. } => StatusCode::CONFLICT,
            },
            StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            StoreError::LockTimeout(_) | StoreError::Deadlock(_) => StatusCode::CONFLICT,
            StoreError::Migrate(_)
            | StoreError::MigrationLockTimeout { .. }
            | StoreError::UnsupportedUrl(_)
            | StoreError::InvalidUrl { .. }
            | StoreError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        },
        ServiceError::LabDisabled(_) => StatusCode::FORBIDDEN,
        ServiceError::Conflict { .. } | ServiceError::LockTimeout { .. } => StatusCode::CONFLICT,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = if status.is_server_error() {
            tracing::error!(error = %self, code, "request failed");
            match code {
                "database_unavailable" => "the database is unavailable; try again shortly",
                _ => "internal error; the server log has the details",
            }
            .to_owned()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details: self.details(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(error) => AppError::InvalidBody(error.body_text()),
            JsonRejection::JsonSyntaxError(error) => AppError::MalformedJson(error.body_text()),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge { limit: BODY_LIMIT }
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::InvalidQuery(rejection.body_text())
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::InvalidPath(rejection.body_text())
    }
}
