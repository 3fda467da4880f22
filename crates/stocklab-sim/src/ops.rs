//! One operation over HTTP: the request an [`OpKind`] is sent as, and the [`Outcome`] its
//! reply means.
//!
//! How a reply becomes an outcome is the simulator's one judgement call, made here only:
//!
//! - a 2xx whose body names the product's new stock and version is `ok`;
//! - a 4xx with the service's error body is `fail` with its code: the service refused the
//!   operation and, by its contract, changed nothing;
//! - every 5xx is `unknown`, even with an error body: the service documents that a change
//!   answered with 503 `database_unavailable` may still commit (`README.md`, "Honest notes"),
//!   so the client cannot know;
//! - a timeout, a dropped connection, or a body that cannot be read is `unknown` too.

use std::fmt::Write as _;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use stocklab_check::history::{OpKind, Outcome, ProductState};

use crate::client::{Reply, TransportError};

/// A request, ready to send.
#[derive(Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
}

/// The request for `kind`; `query` is the strategy's query string (`?strategy=...` or empty),
/// which every change carries and a read does not.
pub fn call(kind: &OpKind, query: &str) -> Call {
    let (method, path, body) = match kind {
        OpKind::Withdraw { product, quantity } => (
            Method::POST,
            format!("/api/products/{product}/adjust{query}"),
            Some(format!(r#"{{"delta":{}}}"#, -quantity)),
        ),
        OpKind::Receive { product, quantity } => (
            Method::POST,
            format!("/api/products/{product}/adjust{query}"),
            Some(format!(r#"{{"delta":{quantity}}}"#)),
        ),
        OpKind::StockTake {
            product,
            quantity,
            expected_version,
        } => {
            let body = match expected_version {
                Some(version) => {
                    format!(r#"{{"quantity":{quantity},"expected_version":{version}}}"#)
                }
                None => format!(r#"{{"quantity":{quantity}}}"#),
            };
            (
                Method::PUT,
                format!("/api/products/{product}/stock{query}"),
                Some(body),
            )
        }
        OpKind::Order { lines } => {
            let mut body = String::from(r#"{"lines":["#);
            for (i, line) in lines.iter().enumerate() {
                let comma = if i == 0 { "" } else { "," };
                // Writing to a String cannot fail.
                let _ = write!(
                    body,
                    r#"{comma}{{"product_id":{},"quantity":{}}}"#,
                    line.product, line.quantity
                );
            }
            body.push_str("]}");
            (Method::POST, format!("/api/orders{query}"), Some(body))
        }
        OpKind::Read { product } => (Method::GET, format!("/api/products/{product}"), None),
    };
    Call {
        method,
        path,
        body: body.map(Bytes::from),
    }
}

/// What the reply (or the failure to get one) says about the operation.
pub fn outcome(kind: &OpKind, reply: &Result<Reply, TransportError>) -> Outcome {
    let reply = match reply {
        Ok(reply) => reply,
        Err(error) => return unknown(error.reason()),
    };
    let status = reply.status;
    if status.is_success() {
        return states(kind, &reply.body).map_or_else(
            || unknown("unreadable_response"),
            |states| Outcome::Ok { states },
        );
    }
    let code = serde_json::from_slice::<ErrorBody>(&reply.body)
        .ok()
        .map(|body| body.error.code);
    match code {
        Some(code) if status.is_client_error() => Outcome::Fail {
            code,
            status: status.as_u16(),
        },
        Some(code) => Outcome::Unknown {
            reason: format!("{} {code}", status.as_u16()),
        },
        None => Outcome::Unknown {
            reason: format!("{} unreadable_response", status.as_u16()),
        },
    }
}

fn unknown(reason: &str) -> Outcome {
    Outcome::Unknown {
        reason: reason.to_owned(),
    }
}

/// The product states a successful reply reports, ascending by product.
fn states(kind: &OpKind, body: &[u8]) -> Option<Vec<ProductState>> {
    match kind {
        OpKind::Withdraw { .. } | OpKind::Receive { .. } | OpKind::StockTake { .. } => {
            let change: ChangeBody = serde_json::from_slice(body).ok()?;
            Some(vec![change.product.state()])
        }
        OpKind::Read { .. } => {
            let product: ProductBody = serde_json::from_slice(body).ok()?;
            Some(vec![product.state()])
        }
        OpKind::Order { .. } => {
            let order: OrderBody = serde_json::from_slice(body).ok()?;
            let mut states: Vec<ProductState> = order
                .lines
                .into_iter()
                .map(|line| ProductState {
                    product: line.product_id,
                    stock: line.stock,
                    version: line.version,
                })
                .collect();
            states.sort_by_key(|state| state.product);
            Some(states)
        }
    }
}

/// The fields of a product the simulator needs; serde skips the others.
#[derive(Debug, Deserialize)]
pub(crate) struct ProductBody {
    pub id: i64,
    pub stock: i64,
    pub version: i64,
}

impl ProductBody {
    pub fn state(&self) -> ProductState {
        ProductState {
            product: self.id,
            stock: self.stock,
            version: self.version,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ChangeBody {
    product: ProductBody,
}

#[derive(Debug, Deserialize)]
struct OrderBody {
    lines: Vec<OrderLineBody>,
}

#[derive(Debug, Deserialize)]
struct OrderLineBody {
    product_id: i64,
    stock: i64,
    version: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetail {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use stocklab_check::history::OrderLine;

    use super::*;

    fn reply(status: u16, body: &str) -> Result<Reply, TransportError> {
        Ok(Reply {
            status: StatusCode::from_u16(status).expect("a status"),
            retries: 0,
            body: Bytes::from(body.to_owned()),
        })
    }

    const WITHDRAW: OpKind = OpKind::Withdraw {
        product: 7,
        quantity: 2,
    };

    #[test]
    fn requests_carry_the_strategy_query_on_changes_only() {
        let withdraw = call(&WITHDRAW, "?strategy=unsafe");
        assert_eq!(withdraw.path, "/api/products/7/adjust?strategy=unsafe");
        assert_eq!(withdraw.body.as_deref(), Some(&br#"{"delta":-2}"#[..]));
        let order = call(
            &OpKind::Order {
                lines: vec![
                    OrderLine {
                        product: 1,
                        quantity: 2,
                    },
                    OrderLine {
                        product: 3,
                        quantity: 1,
                    },
                ],
            },
            "",
        );
        assert_eq!(
            order.body.as_deref(),
            Some(
                &br#"{"lines":[{"product_id":1,"quantity":2},{"product_id":3,"quantity":1}]}"#[..]
            )
        );
        let read = call(&OpKind::Read { product: 7 }, "?strategy=unsafe");
        assert_eq!(
            (read.method, read.path.as_str()),
            (Method::GET, "/api/products/7")
        );
    }

    #[test]
    fn replies_become_outcomes() {
        let ok = r#"{"product":{"id":7,"sku":"X","stock":8,"version":3},"movement_id":1}"#;
        assert_eq!(
            outcome(&WITHDRAW, &reply(200, ok)),
            Outcome::Ok {
                states: vec![ProductState {
                    product: 7,
                    stock: 8,
                    version: 3
                }]
            }
        );
        let refused = r#"{"error":{"code":"insufficient_stock","message":"no"}}"#;
        assert_eq!(
            outcome(&WITHDRAW, &reply(409, refused)),
            Outcome::Fail {
                code: "insufficient_stock".into(),
                status: 409
            }
        );
        let unavailable = r#"{"error":{"code":"database_unavailable","message":"busy"}}"#;
        assert_eq!(
            outcome(&WITHDRAW, &reply(503, unavailable)),
            Outcome::Unknown {
                reason: "503 database_unavailable".into()
            }
        );
        assert_eq!(
            outcome(&WITHDRAW, &reply(200, "not json")),
            Outcome::Unknown {
                reason: "unreadable_response".into()
            }
        );
        assert_eq!(
            outcome(
                &WITHDRAW,
                &Err(TransportError::Timeout(std::time::Duration::from_secs(1)))
            ),
            Outcome::Unknown {
                reason: "timeout".into()
            }
        );
    }
}
