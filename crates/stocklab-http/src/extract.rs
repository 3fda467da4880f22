//! Extractors whose rejections speak the API's error shape instead of axum's plain text, and
//! the query parameters that several routes share.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;
use stocklab_domain::{Strategy, ValidationError};
use tower_http::request_id::RequestId;
use utoipa::IntoParams;

use crate::error::AppError;

/// `axum::Json`, with rejections as [`AppError`] (400, 413, 415 or 422).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query`, with rejections as [`AppError`] (422).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path`, with rejections as [`AppError`] (422).
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// The request's id (`x-request-id`, given by the client or made up by the server).
#[derive(Debug, Clone)]
pub struct RequestIdText(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestIdText {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let id = parts
            .extensions
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .map(str::to_owned);
        Ok(Self(id))
    }
}

/// Keyset paging: `?limit=` (1 to 1000, default 100) and `?after=` (the previous page's
/// `next_after`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return: 1 to 1000, default 100.
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
    /// Return the items after this cursor: the `next_after` of the previous page.
    pub after: Option<i64>,
}

impl PageQuery {
    pub const MAX_LIMIT: i64 = 1000;
    pub const DEFAULT_LIMIT: u32 = 100;

    /// The validated page size.
    pub fn limit(&self) -> Result<u32, ValidationError> {
        match self.limit {
            None => Ok(Self::DEFAULT_LIMIT),
            Some(limit) => u32::try_from(limit)
                .ok()
                .filter(|&limit| (1..=Self::MAX_LIMIT).contains(&i64::from(limit)))
                .ok_or_else(|| {
                    ValidationError::new(
                        "limit",
                        format!("must be between 1 and {}, got {limit}", Self::MAX_LIMIT),
                    )
                }),
        }
    }
}

/// How a stock change is protected: `?strategy=` (default: the server's `--strategy`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// The synchronization strategy for this request, e.g. `atomic`.
    pub strategy: Option<String>,
}

impl ChangeQuery {
    pub fn strategy(&self) -> Result<Option<Strategy>, ValidationError> {
        self.strategy.as_deref().map(str::parse).transpose()
    }
}
