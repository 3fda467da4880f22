//! `/api/audit`: does every product's stock agree with its ledger?

use axum::Json;
use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::AppError;
use crate::views::AuditView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit))
}

/// Compares each product's stock with its initial stock plus the sum of its ledger.
///
/// Under a safe strategy `ok` is always true. A mismatch means a change was lost: the ledger
/// recorded a delta that the stock does not reflect.
#[utoipa::path(
    get, path = "/api/audit", tag = "audit",
    responses((status = 200, description = "The audit report", body = AuditView)),
)]
async fn audit(State(state): State<AppState>) -> Result<Json<AuditView>, AppError> {
    Ok(Json(state.inventory.audit().await?.into()))
}
