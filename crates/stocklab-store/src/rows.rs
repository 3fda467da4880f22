//! Row types that both backends decode into, and what both do with them once the SQL has run:
//! turning rows into domain records and cutting a page.

use chrono::{DateTime, Utc};
use stocklab_domain::{Movement, Page, Product};

/// The columns every product query selects, as a literal so that `concat!` can build whole
/// statements from it: sqlx 0.9 takes only `&'static str` SQL without an explicit assertion.
macro_rules! product_columns {
    () => {
        "id, sku, name, stock, version, updated_at"
    };
}
pub(crate) use product_columns;

/// The columns every movement query selects (see [`product_columns`]).
macro_rules! movement_columns {
    () => {
        "id, product_id, delta, stock_after, version, reason, request_id, order_id, created_at"
    };
}
pub(crate) use movement_columns;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ProductRow {
    id: i64,
    sku: String,
    name: String,
    stock: i64,
    version: i64,
    updated_at: DateTime<Utc>,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Product {
            id: row.id,
            sku: row.sku,
            name: row.name,
            stock: row.stock,
            version: row.version,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MovementRow {
    id: i64,
    product_id: i64,
    delta: i64,
    stock_after: i64,
    version: i64,
    reason: Option<String>,
    request_id: Option<String>,
    order_id: Option<i64>,
    created_at: DateTime<Utc>,
}

impl From<MovementRow> for Movement {
    fn from(row: MovementRow) -> Self {
        Movement {
            id: row.id,
            product_id: row.product_id,
            delta: row.delta,
            stock_after: row.stock_after,
            version: row.version,
            reason: row.reason,
            request_id: row.request_id,
            order_id: row.order_id,
            created_at: row.created_at,
        }
    }
}

/// Cuts a page from rows fetched with `limit + 1`: the extra row only proves there is a next page.
pub(crate) fn page<R, T: From<R>>(rows: Vec<R>, limit: u32, id_of: impl Fn(&T) -> i64) -> Page<T> {
    let limit = limit as usize;
    let has_more = rows.len() > limit;
    let items: Vec<T> = rows.into_iter().take(limit).map(T::from).collect();
    let next_after = if has_more {
        items.last().map(id_of)
    } else {
        None
    };
    Page { items, next_after }
}
