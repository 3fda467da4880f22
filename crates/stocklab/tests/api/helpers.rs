//! The test harness: a real `stocklab` application on a random port over a fresh database, and
//! a client that speaks to it over real HTTP.
//!
//! Every contract test runs on SQLite, and on MariaDB/MySQL when `STOCKLAB_TEST_MYSQL_URL` names
//! a server (`mysql://root@127.0.0.1:3306/test`); each test gets a database of its own, created
//! on that server and dropped afterwards. When the variable is set and the server cannot be
//! reached the tests fail: they never skip silently.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use stocklab::{Application, ServeArgs};
use tokio::sync::oneshot;

pub use crate::mysql_database::{MYSQL_URL_VAR, MysqlDatabase};

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Mysql,
}

/// Runs each named `async fn(TestApp)` once per backend, as `sqlite::NAME` and `mysql::NAME`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    super::$name(app).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if !$crate::helpers::mysql_configured() {
                        return;
                    }
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Mysql).await;
                    super::$name(app).await;
                }
            )*
        }
    };
}
pub(crate) use backend_tests;

/// True when MySQL tests should run; says so once per test when they will not.
pub fn mysql_configured() -> bool {
    let configured = std::env::var_os(MYSQL_URL_VAR).is_some();
    if !configured {
        eprintln!(
            "not run on MySQL: set {MYSQL_URL_VAR}=mysql://root@127.0.0.1:3306/test to run it"
        );
    }
    configured
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON, or `Value::Null` when it is empty or not JSON.
    pub json: Value,
}

impl Reply {
    /// Asserts an error response with this status and code; returns the error object.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            (self.status, self.json["error"]["code"].as_str()),
            (status, Some(code)),
            "unexpected response: {self:#?}"
        );
        let message = self.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "an error says what is wrong: {self:#?}"
        );
        &self.json["error"]
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected response: {self:#?}");
        &self.json
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Asserts that of two concurrent requests (`what`), one was applied with status `ok` and the
/// other refused with 409 `code`, in either order.
#[track_caller]
pub fn assert_one_applied_one_refused(replies: &[Reply], what: &str, ok: u16, code: &str) {
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [ok, 409], "{what}: {replies:?}");
    let refused = replies.iter().find(|r| r.status == 409).expect("a refusal");
    refused.assert_error(409, code);
}

/// A running application and a client for it. Dropping it stops the server; the database is
/// removed when the last server on it (see [`TestApp::another_instance`]) is dropped.
#[derive(Debug)]
pub struct TestApp {
    pub backend: Backend,
    pub base_url: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    /// Shared by every instance on this database. A field drops after `Drop::drop` has run, so
    /// the database goes only once this server has been told to stop, and only when no other
    /// instance still uses it.
    database: Arc<TestDatabase>,
}

impl TestApp {
    /// A server without demo data, on a fresh database.
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    /// A server whose arguments `configure` may change first.
    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut ServeArgs)) -> Self {
        let database = Arc::new(TestDatabase::create(backend).await);
        Self::serve_on(backend, database, configure).await
    }

    /// A second service instance on this app's database: another server, with its own
    /// in-process state (locks, rendezvous), as another process would have, sharing only the
    /// database. The database stays until both are dropped.
    pub async fn another_instance(&self) -> Self {
        Self::serve_on(self.backend, Arc::clone(&self.database), |_| {}).await
    }

    async fn serve_on(
        backend: Backend,
        database: Arc<TestDatabase>,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> Self {
        let mut args = ServeArgs::defaults();
        args.addr = "127.0.0.1:0".parse().expect("a valid address");
        args.database_url = database.url.clone();
        args.no_demo_data = true;
        configure(&mut args);
        Self::serve(backend, args, database).await
    }

    async fn serve(backend: Backend, args: ServeArgs, database: Arc<TestDatabase>) -> Self {
        let app = Application::build(&args)
            .await
            .expect("the application starts");
        let addr = app.local_addr().expect("a bound address");
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stop.await;
        }));
        Self {
            backend,
            base_url: format!("http://{addr}"),
            client: client(),
            shutdown: Some(shutdown),
            database,
        }
    }

    /// The database this app (and any other instance on it) uses.
    pub fn database_url(&self) -> &str {
        &self.database.url
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends a request with an optional JSON body and reads the whole reply.
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// Creates a product and returns its id.
    pub async fn create_product(&self, sku: &str, stock: i64) -> i64 {
        let reply = self
            .post(
                "/api/products",
                json!({"sku": sku, "name": format!("Product {sku}"), "stock": stock}),
            )
            .await;
        reply.assert_status(201)["id"]
            .as_i64()
            .expect("a product id")
    }

    /// Withdraws or receives `delta` units.
    pub async fn adjust(&self, id: i64, delta: i64) -> Reply {
        self.post(
            &format!("/api/products/{id}/adjust"),
            json!({"delta": delta}),
        )
        .await
    }

    pub async fn stock_of(&self, id: i64) -> i64 {
        let reply = self.get(&format!("/api/products/{id}")).await;
        reply.assert_status(200)["stock"].as_i64().expect("a stock")
    }

    /// Waits until `count` changes are paused at their race point: from then on each holds
    /// whatever lock its strategy takes before the read. How a test orders a second request
    /// after the first has its lock, whatever the machine's speed.
    pub async fn until_paused_at_race_point(&self, count: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let stats = self.get("/api/stats").await;
            if stats.assert_status(200)["paused_at_race_point"].as_u64() >= Some(count) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{count} changes never paused at the race point: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Asserts that the ledger explains every product's stock.
    pub async fn assert_audit_ok(&self) {
        let reply = self.get("/api/audit").await;
        assert_eq!(
            reply.assert_status(200)["ok"],
            json!(true),
            "audit: {reply:#?}"
        );
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// A client that never goes through a proxy: tests talk to 127.0.0.1 only.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("a reqwest client")
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a readable body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        json,
    }
}

/// A database that exists for one test: a SQLite file in a temporary directory, or a database
/// created on the MySQL server and dropped when the test ends.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    _mysql: Option<MysqlDatabase>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                let url = format!("sqlite://{}", dir.path().join("stocklab.db").display());
                Self {
                    url,
                    _dir: Some(dir),
                    _mysql: None,
                }
            }
            Backend::Mysql => {
                let database = MysqlDatabase::create_if_configured()
                    .unwrap_or_else(|| panic!("{MYSQL_URL_VAR} must be set for MySQL tests"));
                Self {
                    url: database.url.clone(),
                    _dir: None,
                    _mysql: Some(database),
                }
            }
        }
    }
}
