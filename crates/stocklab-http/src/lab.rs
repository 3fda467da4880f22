//! `/api/stats` (every strategy's counters) and `/api/lab/reset` (a clean data set for an
//! experiment, lab mode only).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stocklab_domain::Quantity;
use stocklab_service::{Inventory, StatsSnapshot};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, bounded};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stats))
        .routes(routes!(reset))
}

/// Every strategy's counters since start-up or the last lab reset.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub since: DateTime<Utc>,
    /// Changes paused at their race point (a race window or a rendezvous) at this moment.
    pub paused_at_race_point: usize,
    /// Only the strategies that were used, from `unsafe` to `atomic`.
    pub strategies: Vec<StrategyStatsView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StrategyStatsView {
    #[schema(example = "optimistic")]
    pub strategy: &'static str,
    /// Stock changes asked for under this strategy.
    pub attempts: u64,
    pub successes: u64,
    /// Refused or failed changes by error code, e.g. `{"insufficient_stock": 3}`.
    pub rejections: BTreeMap<&'static str, u64>,
    /// Optimistic retries (version changed between the read and the write).
    pub retries: u64,
    /// Changes that found their in-process lock or semaphore permit taken and waited.
    pub lock_waits: u64,
    /// The total time those waits took, in milliseconds.
    pub lock_wait_ms: f64,
}

impl StatsView {
    fn new(snapshot: StatsSnapshot, paused_at_race_point: usize) -> Self {
        Self {
            since: snapshot.since,
            paused_at_race_point,
            strategies: snapshot
                .strategies
                .into_iter()
                .map(|(strategy, stats)| StrategyStatsView {
                    strategy: strategy.name(),
                    attempts: stats.attempts,
                    successes: stats.successes,
                    rejections: stats.rejections,
                    retries: stats.retries,
                    lock_waits: stats.lock_waits,
                    lock_wait_ms: stats.lock_wait_total.as_secs_f64() * 1000.0,
                })
                .collect(),
        }
    }
}

/// Per strategy: attempts, successes, rejections by code, retries and in-process lock waits; and
/// how many changes are paused at their race point now.
#[utoipa::path(
    get, path = "/api/stats", tag = "lab",
    responses((status = 200, description = "The counters", body = StatsView)),
)]
async fn stats(State(state): State<AppState>) -> Json<StatsView> {
    let inventory = &state.inventory;
    Json(StatsView::new(
        inventory.stats(),
        inventory.paused_at_race_point(),
    ))
}

/// `POST /api/lab/reset`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// How many products to create, 1 to 10,000.
    #[schema(example = 100)]
    pub products: i64,
    /// Each product's stock, 0 to 10^15.
    #[schema(example = 100)]
    pub initial_stock: i64,
}

/// The new data set.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetView {
    pub initial_stock: i64,
    /// The new products' ids, in SKU order (`LAB-00001`, ...).
    pub ids: Vec<i64>,
}

/// Lab only: deletes every product, movement and order, creates `products` products of
/// `initial_stock` each, and restarts the stats.
#[utoipa::path(
    post, path = "/api/lab/reset", tag = "lab",
    request_body = ResetRequest,
    responses(
        (status = 200, description = "The new data set", body = ResetView),
        (status = 403, description = "`lab_disabled`: the server runs without --lab", body = ErrorBody),
    ),
)]
async fn reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<Json<ResetView>, AppError> {
    let max = i64::from(Inventory::MAX_LAB_PRODUCTS);
    let products = bounded("products", body.products, 1, max)?;
    let initial_stock = Quantity::parse("initial_stock", body.initial_stock)?;
    let ids = state.inventory.reset_lab(products, initial_stock).await?;
    Ok(Json(ResetView {
        initial_stock: initial_stock.get(),
        ids,
    }))
}
