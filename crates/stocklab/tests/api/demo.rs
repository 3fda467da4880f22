//! The demo catalogue at start-up: all of it or none, and safe when two instances start on one
//! empty database at the same moment.

use std::time::Duration;

use sqlx::Connection;
use stocklab::{Application, ServeArgs};

use crate::helpers::{Backend, TestDatabase, mysql_configured};

const OTHER_INSTANCES_SKU: &str = "HW-HAMMER-16";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_start_up_waits_for_an_instance_that_is_seeding() {
    start_up_waits_for_an_instance_that_is_seeding(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_start_up_waits_for_an_instance_that_is_seeding() {
    if mysql_configured() {
        start_up_waits_for_an_instance_that_is_seeding(Backend::Mysql).await;
    }
}

/// Another instance is in the middle of seeding (its first demo product is inserted but not
/// committed) when this one starts with demo data. This one must neither fail on the duplicate
/// SKU nor add a second catalogue: it finds the other instance's products and adds none.
async fn start_up_waits_for_an_instance_that_is_seeding(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let args = |demo_data: bool| {
        let mut args = ServeArgs::defaults();
        args.addr = "127.0.0.1:0".parse().expect("an address");
        args.database_url = database.url.clone();
        args.no_demo_data = !demo_data;
        args
    };
    drop(
        Application::build(&args(false))
            .await
            .expect("the schema is migrated"),
    );

    let mut other_instance = OtherInstance::begin_seeding(backend, &database.url).await;
    let starting = tokio::spawn({
        let args = args(true);
        async move {
            Application::build(&args)
                .await
                .map(|app| app.demo_products_added())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    other_instance.commit().await;

    let added = starting.await.expect("start-up did not panic");
    assert_eq!(
        added.expect("start-up succeeds"),
        0,
        "the other instance's catalogue stands"
    );
    assert_eq!(other_instance.product_count().await, 1);
}

/// A raw connection playing another instance that has begun seeding.
enum OtherInstance {
    Sqlite(sqlx::SqliteConnection),
    Mysql(sqlx::MySqlConnection),
}

const INSERT: &str = "INSERT INTO products (sku, name, stock, initial_stock, version, created_at, updated_at) \
     VALUES (?, 'Claw hammer, 16 oz', 42, 42, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')";

impl OtherInstance {
    async fn begin_seeding(backend: Backend, url: &str) -> Self {
        match backend {
            Backend::Sqlite => {
                let mut connection = sqlx::SqliteConnection::connect(url)
                    .await
                    .expect("sqlite opens");
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut connection)
                    .await
                    .expect("begin");
                sqlx::query(INSERT)
                    .bind(OTHER_INSTANCES_SKU)
                    .execute(&mut connection)
                    .await
                    .expect("insert");
                Self::Sqlite(connection)
            }
            Backend::Mysql => {
                let mut connection = sqlx::MySqlConnection::connect(url)
                    .await
                    .expect("mysql connects");
                sqlx::query("BEGIN")
                    .execute(&mut connection)
                    .await
                    .expect("begin");
                sqlx::query(INSERT)
                    .bind(OTHER_INSTANCES_SKU)
                    .execute(&mut connection)
                    .await
                    .expect("insert");
                Self::Mysql(connection)
            }
        }
    }

    async fn commit(&mut self) {
        match self {
            Self::Sqlite(connection) => sqlx::query("COMMIT").execute(connection).await.map(drop),
            Self::Mysql(connection) => sqlx::query("COMMIT").execute(connection).await.map(drop),
        }
        .expect("commit");
    }

    async fn product_count(&mut self) -> i64 {
        let count = "SELECT COUNT(*) FROM products";
        match self {
            Self::Sqlite(connection) => sqlx::query_scalar(count).fetch_one(connection).await,
            Self::Mysql(connection) => sqlx::query_scalar(count).fetch_one(connection).await,
        }
        .expect("a count")
    }
}
