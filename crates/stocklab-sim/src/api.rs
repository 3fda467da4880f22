//! The service calls around an experiment: is the instance up, reset the data set, read every
//! product's stock and version, and the ledger audit. The operations themselves are in `ops`.

use std::collections::HashSet;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use stocklab_check::history::{AuditMismatch, ProductState};

use crate::client::{Connection, TransportError};
use crate::error::SimError;
use crate::ops::{ErrorBody, ProductBody};
use crate::plan::Instance;

/// `GET /healthz`, the fields the simulator uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Health {
    pub backend: String,
    #[serde(default)]
    pub database_version: String,
    pub lab: bool,
}

/// A connection to one instance, for the calls around an experiment.
#[derive(Debug)]
pub struct Api {
    url: String,
    conn: Connection,
}

impl Api {
    pub fn new(instance: &Instance, timeout: std::time::Duration) -> Self {
        Self {
            url: instance.url.clone(),
            conn: Connection::new(&instance.authority, timeout),
        }
    }

    /// Connects and asks `/healthz`; a refused connection is the "start a server" error.
    pub async fn health(&mut self) -> Result<Health, SimError> {
        self.conn
            .connect()
            .await
            .map_err(|source| SimError::Unreachable {
                url: self.url.clone(),
                source,
            })?;
        self.call(Method::GET, "/healthz", None).await
    }

    /// Replaces the data set with `products` products of `initial_stock` each; their ids.
    pub async fn reset(&mut self, products: u32, initial_stock: i64) -> Result<Vec<i64>, SimError> {
        #[derive(Deserialize)]
        struct Reset {
            ids: Vec<i64>,
        }
        let body = format!(r#"{{"products":{products},"initial_stock":{initial_stock}}}"#);
        let reset: Reset = self
            .call(Method::POST, "/api/lab/reset", Some(body))
            .await
            .map_err(|error| match error {
                SimError::Service { status: 403, .. } => SimError::LabDisabled {
                    url: self.url.clone(),
                    what: "the data set reset (POST /api/lab/reset)",
                },
                other => other,
            })?;
        Ok(reset.ids)
    }

    /// The first `limit` products, ascending by id.
    pub async fn first_products(&mut self, limit: usize) -> Result<Vec<ProductState>, SimError> {
        let mut found = Vec::new();
        self.each_page(|page| {
            found.extend(page.iter().take(limit - found.len().min(limit)));
            found.len() < limit
        })
        .await?;
        Ok(found)
    }

    /// The current state of the products `ids`, ascending by id.
    pub async fn products(&mut self, ids: &[i64]) -> Result<Vec<ProductState>, SimError> {
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        let mut found = Vec::with_capacity(ids.len());
        self.each_page(|page| {
            found.extend(page.iter().filter(|state| wanted.contains(&state.product)));
            true
        })
        .await?;
        Ok(found)
    }

    /// `GET /api/audit`'s mismatches among the products `ids`.
    pub async fn audit(&mut self, ids: &[i64]) -> Result<Vec<AuditMismatch>, SimError> {
        #[derive(Deserialize)]
        struct Audit {
            mismatches: Vec<Mismatch>,
        }
        #[derive(Deserialize)]
        struct Mismatch {
            id: i64,
            stock: i64,
            ledger_stock: i64,
        }
        let audit: Audit = self.call(Method::GET, "/api/audit", None).await?;
        let wanted: HashSet<i64> = ids.iter().copied().collect();
        Ok(audit
            .mismatches
            .into_iter()
            .filter(|m| wanted.contains(&m.id))
            .map(|m| AuditMismatch {
                product: m.id,
                stock: m.stock,
                ledger_stock: m.ledger_stock,
            })
            .collect())
    }

    /// Reads the product list page by page (keyset paging), while `each` returns true.
    async fn each_page(
        &mut self,
        mut each: impl FnMut(&[ProductState]) -> bool,
    ) -> Result<(), SimError> {
        #[derive(Deserialize)]
        struct Page {
            items: Vec<ProductBody>,
            next_after: Option<i64>,
        }
        let mut after = None;
        loop {
            let path = match after {
                Some(after) => format!("/api/products?limit=1000&after={after}"),
                None => "/api/products?limit=1000".to_owned(),
            };
            let page: Page = self.call(Method::GET, &path, None).await?;
            let states: Vec<ProductState> = page.items.iter().map(ProductBody::state).collect();
            if !each(&states) || page.next_after.is_none() {
                return Ok(());
            }
            after = page.next_after;
        }
    }

    /// One call whose 2xx body is `T`; any other answer is an error that quotes the service.
    async fn call<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<T, SimError> {
        let reply = self
            .conn
            .send(method, path, body.map(Bytes::from))
            .await
            .map_err(|source| self.transport(path, source))?;
        if !reply.status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&reply.body).map_or_else(
                |_| String::from_utf8_lossy(&reply.body).into_owned(),
                |body| format!("{} ({})", body.error.message, body.error.code),
            );
            return Err(SimError::Service {
                url: self.url.clone(),
                path: path.to_owned(),
                status: reply.status.as_u16(),
                message,
            });
        }
        serde_json::from_slice(&reply.body).map_err(|error| SimError::Unreadable {
            url: self.url.clone(),
            path: path.to_owned(),
            detail: error.to_string(),
        })
    }

    fn transport(&self, path: &str, source: TransportError) -> SimError {
        SimError::Transport {
            url: self.url.clone(),
            path: path.to_owned(),
            source,
        }
    }
}
