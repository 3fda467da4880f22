//! `/api/products`: the catalogue, stock changes (adjustments and stock-takes) and the ledger.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use stocklab_domain::{ChangeMeta, Delta, NewProduct, ProductName, Quantity, Reason};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{AppError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, ChangeQuery, PageQuery, RequestIdText};
use crate::views::{
    AdjustRequest, ChangeView, CountRequest, CreateProduct, MovementPage, PatchProduct,
    ProductPage, ProductView,
};
use crate::{AppState, HowApplied};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, patch_product, delete_product))
        .routes(routes!(adjust_stock))
        .routes(routes!(count_stock))
        .routes(routes!(list_movements))
}

/// Products, ascending by id, one keyset page at a time.
#[utoipa::path(
    get, path = "/api/products", tag = "products",
    params(PageQuery),
    responses((status = 200, description = "One page of products", body = ProductPage)),
)]
async fn list_products(
    State(state): State<AppState>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ProductPage>, AppError> {
    let limit = page.limit()?;
    Ok(Json(
        state
            .inventory
            .list_products(page.after, limit)
            .await?
            .into(),
    ))
}

/// Creates a product.
#[utoipa::path(
    post, path = "/api/products", tag = "products",
    request_body = CreateProduct,
    responses(
        (status = 201, description = "Created", body = ProductView),
        (status = 409, description = "`duplicate_sku`: the sku is taken", body = ErrorBody),
    ),
)]
async fn create_product(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateProduct>,
) -> Result<(StatusCode, Json<ProductView>), AppError> {
    let new = NewProduct::parse(&body.sku, &body.name, body.stock)?;
    let product = state.inventory.create_product(&new).await?;
    Ok((StatusCode::CREATED, Json(product.into())))
}

/// One product.
#[utoipa::path(
    get, path = "/api/products/{id}", tag = "products",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductView),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
    ),
)]
async fn get_product(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ProductView>, AppError> {
    Ok(Json(state.inventory.get_product(id).await?.into()))
}

/// Renames a product. Its stock changes only through adjustments, stock-takes and orders.
#[utoipa::path(
    patch, path = "/api/products/{id}", tag = "products",
    params(("id" = i64, Path, description = "Product id")),
    request_body = PatchProduct,
    responses(
        (status = 200, description = "The renamed product", body = ProductView),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
    ),
)]
async fn patch_product(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PatchProduct>,
) -> Result<Json<ProductView>, AppError> {
    let name = ProductName::parse(&body.name)?;
    Ok(Json(
        state.inventory.rename_product(id, &name).await?.into(),
    ))
}

/// Deletes a product and its ledger.
#[utoipa::path(
    delete, path = "/api/products/{id}", tag = "products",
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
    ),
)]
async fn delete_product(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, AppError> {
    state.inventory.delete_product(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds a signed `delta` to the stock: negative withdraws, positive receives.
///
/// The response's `x-stocklab-strategy` header names the strategy that protected the change.
#[utoipa::path(
    post, path = "/api/products/{id}/adjust", tag = "stock",
    params(("id" = i64, Path, description = "Product id"), ChangeQuery),
    request_body = AdjustRequest,
    responses(
        (status = 200, description = "Applied", body = ChangeView,
            headers(
                ("x-stocklab-strategy" = String, description = "The strategy that ran"),
                ("x-stocklab-retries" = u32, description = "Optimistic retries it took"),
            )),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
        (status = 409, description = "`insufficient_stock` (details name the shortage), \
            `conflict` (optimistic gave up), `lock_timeout` or `deadlock`", body = ErrorBody),
    ),
)]
async fn adjust_stock(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ChangeQuery>,
    RequestIdText(request_id): RequestIdText,
    ApiJson(body): ApiJson<AdjustRequest>,
) -> Result<(HowApplied, Json<ChangeView>), AppError> {
    let delta = Delta::parse(body.delta)?;
    let meta = change_meta(body.reason.as_deref(), request_id)?;
    let options = state.change_options(&query)?;
    let applied = state.inventory.adjust(id, delta, &options, &meta).await?;
    Ok((HowApplied::from(&applied), Json(applied.value.into())))
}

/// Sets the stock to a counted quantity (a stock-take).
///
/// With `expected_version`, the count is refused with 409 `version_mismatch` when the product has
/// changed since the counter read it: a count must not overwrite a change it did not see.
#[utoipa::path(
    put, path = "/api/products/{id}/stock", tag = "stock",
    params(("id" = i64, Path, description = "Product id"), ChangeQuery),
    request_body = CountRequest,
    responses(
        (status = 200, description = "Counted", body = ChangeView,
            headers(
                ("x-stocklab-strategy" = String, description = "The strategy that ran"),
                ("x-stocklab-retries" = u32, description = "Optimistic retries it took"),
            )),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
        (status = 409, description = "`version_mismatch`, `conflict`, `lock_timeout` or `deadlock`", body = ErrorBody),
    ),
)]
async fn count_stock(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<ChangeQuery>,
    RequestIdText(request_id): RequestIdText,
    ApiJson(body): ApiJson<CountRequest>,
) -> Result<(HowApplied, Json<ChangeView>), AppError> {
    let quantity = Quantity::parse("quantity", body.quantity)?;
    let meta = change_meta(body.reason.as_deref(), request_id)?;
    let options = state.change_options(&query)?;
    let applied = state
        .inventory
        .count_stock(id, quantity, body.expected_version, &options, &meta)
        .await?;
    Ok((HowApplied::from(&applied), Json(applied.value.into())))
}

/// A product's stock ledger, newest first.
#[utoipa::path(
    get, path = "/api/products/{id}/movements", tag = "stock",
    params(("id" = i64, Path, description = "Product id"), PageQuery),
    responses(
        (status = 200, description = "One page of the ledger", body = MovementPage),
        (status = 404, description = "`product_not_found`", body = ErrorBody),
    ),
)]
async fn list_movements(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<MovementPage>, AppError> {
    let limit = page.limit()?;
    Ok(Json(
        state
            .inventory
            .list_movements(id, page.after, limit)
            .await?
            .into(),
    ))
}

/// The ledger facts of a change: the caller's reason, parsed, and the request's id.
fn change_meta(reason: Option<&str>, request_id: Option<String>) -> Result<ChangeMeta, AppError> {
    Ok(ChangeMeta {
        reason: reason.map(Reason::parse).transpose()?,
        request_id,
    })
}
