//! `GET /healthz`. Tests listen on 127.0.0.1, where lab mode is on by default.

use serde_json::json;

use crate::helpers::{TestApp, backend_tests};

backend_tests!(reports_ok_with_the_backend_and_default_strategy);

async fn reports_ok_with_the_backend_and_default_strategy(app: TestApp) {
    let reply = app.get("/healthz").await;
    let backend = match app.backend {
        crate::helpers::Backend::Sqlite => "sqlite",
        crate::helpers::Backend::Mysql => "mysql",
    };
    assert_eq!(
        reply.assert_status(200),
        &json!({"status": "ok", "backend": backend, "default_strategy": "atomic", "lab": true})
    );
}
