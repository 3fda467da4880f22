//! `/api/orders`: several lines withdrawn all or nothing.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stocklab_domain::{ChangeMeta, OrderLines};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, ChangeQuery, RequestIdText};
use crate::views::{OrderRequest, OrderView};
use crate::{AppState, HowApplied};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(place_order))
}

/// Places an order: every line is withdrawn, or none is.
///
/// Lines of the same product are merged before the stock check, and rows are locked in
/// ascending product id, so concurrent orders cannot deadlock each other. Runs under any
/// strategy, like a single change (`?strategy=`).
#[utoipa::path(
    post, path = "/api/orders", tag = "orders",
    params(ChangeQuery),
    request_body = OrderRequest,
    responses(
        (status = 201, description = "Placed", body = OrderView,
            headers(
                ("x-stocklab-strategy" = String, description = "The strategy that ran"),
                ("x-stocklab-retries" = u32, description = "Optimistic retries it took"),
            )),
        (status = 404, description = "`product_not_found`: a line names no product", body = ErrorBody),
        (status = 409, description = "`insufficient_stock`: `details.shortages` names every line \
            that lacks stock; or `lock_timeout`, `deadlock`, `conflict`", body = ErrorBody),
        (status = 422, description = "`invalid_value` and the like", body = ErrorBody),
    ),
)]
async fn place_order(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ChangeQuery>,
    RequestIdText(request_id): RequestIdText,
    ApiJson(body): ApiJson<OrderRequest>,
) -> Result<(StatusCode, HowApplied, Json<OrderView>), AppError> {
    let raw: Vec<(i64, i64)> = body
        .lines
        .iter()
        .map(|l| (l.product_id, l.quantity))
        .collect();
    let lines = OrderLines::parse(&raw)?;
    let options = state.order_options(&query)?;
    let meta = ChangeMeta {
        reason: None,
        request_id,
    };
    let applied = state.inventory.place_order(&lines, &options, &meta).await?;
    Ok((
        StatusCode::CREATED,
        HowApplied::from(&applied),
        Json(applied.value.into()),
    ))
}
