//! The JSON shapes of the API, request and response, with their OpenAPI schemas. Requests
//! refuse unknown fields, so a typo (`"detla"`) is a 422 instead of a silently ignored field.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use stocklab_domain::{AuditReport, Change, Movement, Page, PlacedOrder, PlacedOrderLine, Product};
use utoipa::ToSchema;

/// A product.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub id: i64,
    #[schema(example = "HW-HAMMER-16")]
    pub sku: String,
    #[schema(example = "Claw hammer, 16 oz")]
    pub name: String,
    /// Units on hand.
    pub stock: i64,
    /// Grows by one with every committed stock change.
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        Self {
            id: p.id,
            sku: p.sku,
            name: p.name,
            stock: p.stock,
            version: p.version,
            updated_at: p.updated_at,
        }
    }
}

/// One page of products, ascending by id.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub items: Vec<ProductView>,
    /// Pass as `?after=` for the next page; `null` on the last page.
    pub next_after: Option<i64>,
}

impl From<Page<Product>> for ProductPage {
    fn from(page: Page<Product>) -> Self {
        Self {
            items: page.items.into_iter().map(ProductView::from).collect(),
            next_after: page.next_after,
        }
    }
}

/// One row of the stock ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub id: i64,
    pub product_id: i64,
    /// The change: negative withdrew, positive received.
    pub delta: i64,
    /// The stock right after this change.
    pub stock_after: i64,
    /// The product's version right after this change.
    pub version: i64,
    pub reason: Option<String>,
    /// The `x-request-id` of the request that made the change.
    pub request_id: Option<String>,
    /// The order this change belongs to, if any.
    pub order_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

impl From<Movement> for MovementView {
    fn from(m: Movement) -> Self {
        Self {
            id: m.id,
            product_id: m.product_id,
            delta: m.delta,
            stock_after: m.stock_after,
            version: m.version,
            reason: m.reason,
            request_id: m.request_id,
            order_id: m.order_id,
            created_at: m.created_at,
        }
    }
}

/// One page of a product's ledger, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovementPage {
    pub items: Vec<MovementView>,
    /// Pass as `?after=` for the next (older) page; `null` on the last page.
    pub next_after: Option<i64>,
}

impl From<Page<Movement>> for MovementPage {
    fn from(page: Page<Movement>) -> Self {
        Self {
            items: page.items.into_iter().map(MovementView::from).collect(),
            next_after: page.next_after,
        }
    }
}

/// A committed stock change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub product: ProductView,
    /// The ledger row that records the change.
    pub movement_id: i64,
}

impl From<Change> for ChangeView {
    fn from(change: Change) -> Self {
        Self {
            product: change.product.into(),
            movement_id: change.movement_id,
        }
    }
}

/// A placed order: every line was withdrawn.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: i64,
    /// One line per product (repeated lines merged), ascending by product id.
    pub lines: Vec<OrderLineView>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    pub product_id: i64,
    pub quantity: i64,
    /// The product's stock after the order.
    pub stock: i64,
    /// The product's version after the order.
    pub version: i64,
    pub movement_id: i64,
}

impl From<PlacedOrder> for OrderView {
    fn from(order: PlacedOrder) -> Self {
        Self {
            id: order.id,
            lines: order.lines.into_iter().map(OrderLineView::from).collect(),
            created_at: order.created_at,
        }
    }
}

impl From<PlacedOrderLine> for OrderLineView {
    fn from(line: PlacedOrderLine) -> Self {
        Self {
            product_id: line.product_id,
            quantity: line.quantity,
            stock: line.stock,
            version: line.version,
            movement_id: line.movement_id,
        }
    }
}

/// Each product's stock checked against its initial stock plus the sum of its ledger.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    /// True when every product's stock is explained by its ledger.
    pub ok: bool,
    pub products_checked: u64,
    pub mismatches: Vec<MismatchView>,
}

/// A product whose stock its ledger does not explain: an update was lost (or invented).
#[derive(Debug, Serialize, ToSchema)]
pub struct MismatchView {
    pub id: i64,
    pub stock: i64,
    /// Initial stock plus the sum of the ledger's deltas.
    pub ledger_stock: i64,
}

impl From<AuditReport> for AuditView {
    fn from(report: AuditReport) -> Self {
        Self {
            ok: report.ok(),
            products_checked: report.products_checked,
            mismatches: report
                .mismatches
                .into_iter()
                .map(|m| MismatchView {
                    id: m.id,
                    stock: m.stock,
                    ledger_stock: m.ledger_stock,
                })
                .collect(),
        }
    }
}

/// `POST /api/products`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProduct {
    /// 1 to 64 characters: ASCII letters, digits, `-`, `_`, `.`; unique, case-sensitive.
    #[schema(example = "HW-HAMMER-16")]
    pub sku: String,
    /// 1 to 200 characters.
    #[schema(example = "Claw hammer, 16 oz")]
    pub name: String,
    /// The initial stock, 0 to 10^15; 0 when absent.
    #[serde(default)]
    pub stock: i64,
}

/// `PATCH /api/products/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProduct {
    /// The new name, 1 to 200 characters.
    pub name: String,
}

/// `POST /api/products/{id}/adjust`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustRequest {
    /// Negative withdraws, positive receives; never 0; at most 10^15 either way.
    #[schema(example = -1)]
    pub delta: i64,
    /// Why, recorded in the ledger (at most 200 characters).
    #[schema(example = "sale")]
    pub reason: Option<String>,
}

/// `PUT /api/products/{id}/stock`: a stock-take.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CountRequest {
    /// The counted stock, 0 to 10^15.
    pub quantity: i64,
    /// The version the counter saw; the count is refused (409) if the product has changed since.
    pub expected_version: Option<i64>,
    /// Why, recorded in the ledger (at most 200 characters).
    pub reason: Option<String>,
}

/// `POST /api/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderRequest {
    /// 1 to 1000 lines; lines of the same product are merged.
    pub lines: Vec<OrderLineRequest>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderLineRequest {
    pub product_id: i64,
    /// At least 1.
    pub quantity: i64,
}
