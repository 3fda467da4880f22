//! `GET /healthz`. Tests listen on 127.0.0.1, where lab mode is on by default.

use serde_json::json;

use crate::helpers::{Backend, TestApp, backend_tests};

backend_tests!(reports_ok_with_the_backend_its_version_and_the_defaults);

async fn reports_ok_with_the_backend_its_version_and_the_defaults(app: TestApp) {
    let reply = app.get("/healthz").await;
    let mut health = reply.assert_status(200).clone();
    let version = health["database_version"].take();
    let version = version.as_str().expect("a database version");
    let (backend, looks_right) = match app.backend {
        Backend::Sqlite => ("sqlite", version.starts_with("3.")),
        Backend::Mysql => (
            "mysql",
            version.contains("MariaDB") || version.starts_with('8'),
        ),
    };
    assert!(looks_right, "{backend} reports its version: {version:?}");
    assert_eq!(
        health,
        json!({"status": "ok", "backend": backend, "database_version": null, "default_strategy": "atomic", "lab": true})
    );
}
