//! Extractors whose rejections speak the API's error shape instead of axum's plain text, and
//! the query parameters that several routes share.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use serde::Deserialize;
use std::time::Duration;

use stocklab_domain::{Strategy, ValidationError};
use stocklab_service::ChangeOptions;
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

/// How a stock change is protected: `?strategy=` and the lab's options. Whatever a request does
/// not name comes from the server's defaults (`--strategy`, `--race-window-ms`).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// The synchronization strategy: unsafe, mutex, per-product, semaphore, pessimistic,
    /// optimistic, atomic or transaction (unsafe: lab only).
    pub strategy: Option<String>,
    /// The semaphore's permits, 1 to 1000 (default 1, a lock; more: lab only).
    #[param(minimum = 1, maximum = 1000)]
    pub permits: Option<i64>,
    /// Lab only: pause this long (0 to 1000 ms) between the read and the write of a
    /// read-modify-write, so that concurrent requests read the same stock.
    #[param(minimum = 0, maximum = 1000)]
    pub race_window_ms: Option<i64>,
    /// Lab only: wait at the race point until this many requests (2 to 64) on the same product
    /// are there, at most the race window (1000 ms when none is given). Makes a race happen on
    /// demand.
    #[param(minimum = 2, maximum = 64)]
    pub rendezvous: Option<i64>,
    /// Orders only, lab only: `request` locks the rows in the order the request names them
    /// instead of ascending id, which lets two orders deadlock.
    pub lock_order: Option<String>,
    /// With `strategy=transaction`: read-committed, repeatable-read (the default) or
    /// serializable (the first two: lab only).
    pub isolation: Option<String>,
}

impl ChangeQuery {
    pub const MAX_RACE_WINDOW_MS: u64 = 1000;

    /// The options of a change of one product, starting from the server's `defaults`.
    pub fn options(&self, defaults: ChangeOptions) -> Result<ChangeOptions, ValidationError> {
        if self.lock_order.is_some() {
            return Err(ValidationError::new("lock_order", "applies to orders only"));
        }
        self.any_options(defaults)
    }

    /// The options of an order, which may also choose the lock order.
    pub fn order_options(&self, defaults: ChangeOptions) -> Result<ChangeOptions, ValidationError> {
        let mut options = self.any_options(defaults)?;
        if let Some(order) = &self.lock_order {
            options.lock_order = order.parse()?;
        }
        Ok(options)
    }

    fn any_options(&self, defaults: ChangeOptions) -> Result<ChangeOptions, ValidationError> {
        let mut options = defaults;
        if let Some(strategy) = &self.strategy {
            options.strategy = strategy.parse()?;
        }
        if let Some(permits) = self.permits {
            options.permits = bounded("permits", permits, 1, 1000)?;
        }
        if let Some(isolation) = &self.isolation {
            if options.strategy != Strategy::Transaction {
                return Err(ValidationError::new(
                    "isolation",
                    "applies to the transaction strategy only",
                ));
            }
            options.isolation = isolation.parse()?;
        }
        if let Some(window) = self.race_window_ms {
            let window = bounded("race_window_ms", window, 0, Self::MAX_RACE_WINDOW_MS as i64)?;
            options.race_window = Duration::from_millis(window.into());
        }
        if let Some(size) = self.rendezvous {
            options.rendezvous = Some(bounded("rendezvous", size, 2, 64)?);
            if options.race_window.is_zero() {
                options.race_window = Duration::from_millis(Self::MAX_RACE_WINDOW_MS);
            }
        }
        Ok(options)
    }
}

/// `value` as a `u32`, if it lies within `min..=max`.
pub(crate) fn bounded(
    field: &'static str,
    value: i64,
    min: i64,
    max: i64,
) -> Result<u32, ValidationError> {
    u32::try_from(value)
        .ok()
        .filter(|_| (min..=max).contains(&value))
        .ok_or_else(|| {
            ValidationError::new(
                field,
                format!("must be between {min} and {max}, got {value}"),
            )
        })
}
