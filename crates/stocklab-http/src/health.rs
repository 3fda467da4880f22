//! `/healthz`: is the service up, and can it reach its database?

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{AppError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `mysql`.
    pub backend: &'static str,
    /// The database server's own version, e.g. `10.11.19-MariaDB-0+deb12u1`: which server
    /// answers matters to the lab (newer MariaDB releases can refuse lost updates that 10.11
    /// lets through).
    pub database_version: String,
    /// The strategy used when a request names none.
    pub default_strategy: &'static str,
    /// Whether lab mode (unsafe strategies, race windows) is on.
    pub lab: bool,
}

/// Healthy when the database answers; 503 `database_unavailable` when it does not.
#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "`database_unavailable`", body = ErrorBody),
    ),
)]
async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    let database_version = state.inventory.database_version().await?;
    Ok(Json(Health {
        status: "ok",
        backend: state.inventory.backend().name(),
        database_version,
        default_strategy: state.inventory.default_options().strategy.name(),
        lab: state.inventory.lab_enabled(),
    }))
}
