//! # stocklab-domain
//!
//! The vocabulary of stocklab (see `shared/DESIGN.md`) as types that cannot hold a bad value:
//! a [`Sku`], a [`Quantity`], a [`Delta`], a [`ProductName`], merged [`OrderLines`], and the
//! records the store hands back ([`Product`], [`Movement`]). Values are parsed once, at the edge
//! (the HTTP layer), so nothing below it re-validates.
//!
//! Architecture invariant: this crate does no I/O and knows nothing of HTTP, SQL or tokio. Its
//! only dependencies are `chrono` for time stamps and `thiserror`: JSON shapes belong to the HTTP
//! layer, SQL to the store.
//!
//! ## Layout
//! - [`values`]: the validated scalars (`Sku`, `ProductName`, `Quantity`, `Delta`, `Reason`).
//! - [`records`]: what the store returns (`Product`, `Movement`, pages, the audit report).
//! - [`order`]: an order's lines, merged per product and sorted by id, ready to lock in order.
//! - [`strategy`]: how a stock change is protected against concurrent changes.
//! - [`error`]: why input is invalid, and why a valid change was refused.

pub mod error;
pub mod order;
pub mod records;
pub mod strategy;
pub mod values;

pub use error::{Shortage, StockError, ValidationError};
pub use order::{LockOrder, OrderLine, OrderLines, OrderWrite, withdraw_all};
pub use records::{
    AuditMismatch, AuditReport, Change, ChangeMeta, Movement, NewProduct, Page, PlacedOrder,
    PlacedOrderLine, Product, StockChange, StockLevel,
};
pub use strategy::{Isolation, Strategy};
pub use values::{Delta, MAX_QUANTITY, ProductName, Quantity, Reason, Sku};

/// Identifies a product. Ids are assigned by the store and never reused.
pub type ProductId = i64;
