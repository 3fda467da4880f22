//! The HTTP contract, driven the way a client drives it: real requests to a real server on a
//! random port, each test on a fresh database, on SQLite and (with `STOCKLAB_TEST_MYSQL_URL`)
//! on MariaDB/MySQL. One test binary, one module per feature.

mod helpers;
#[path = "../support/mysql_database.rs"]
mod mysql_database;

mod audit;
mod bad_input;
mod combining;
mod concurrency;
mod demo;
mod docs;
mod health;
mod instances;
mod lab;
mod order_strategies;
mod orders;
mod products;
mod stock;
mod unavailable;
