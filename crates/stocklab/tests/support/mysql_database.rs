//! A MySQL/MariaDB database that exists for one test, shared by the test binaries (included with
//! `#[path]`): created on the server `STOCKLAB_TEST_MYSQL_URL` names, dropped when the value is.
//! When the variable is set and the server cannot be reached, the test fails: it never skips
//! silently.

/// The variable that names the MySQL server tests may create and drop databases on.
pub const MYSQL_URL_VAR: &str = "STOCKLAB_TEST_MYSQL_URL";

/// A fresh database `stocklab_t_<uuid>`, dropped with this value.
#[derive(Debug)]
pub struct MysqlDatabase {
    /// The URL of the fresh database.
    pub url: String,
    server_url: String,
    name: String,
}

impl MysqlDatabase {
    /// A fresh database on the server, or `None` (saying so) when the variable is not set.
    pub fn create_if_configured() -> Option<Self> {
        let Ok(server_url) = std::env::var(MYSQL_URL_VAR) else {
            eprintln!(
                "not run on MySQL: set {MYSQL_URL_VAR}=mysql://root@127.0.0.1:3306/test to run it"
            );
            return None;
        };
        let name = format!("stocklab_t_{}", uuid::Uuid::new_v4().simple());
        execute(&server_url, format!("CREATE DATABASE `{name}`")).unwrap_or_else(|error| {
            panic!("{MYSQL_URL_VAR}={server_url} is set but the server cannot be reached: {error}")
        });
        Some(Self {
            url: with_database(&server_url, &name),
            server_url,
            name,
        })
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        if let Err(error) = execute(&self.server_url, statement) {
            eprintln!("could not drop the test database {}: {error}", self.name);
        }
    }
}

/// Runs one statement on the server, from a runtime of its own on another thread, so that it
/// works in a synchronous test, in an async one, and in `Drop`.
fn execute(server_url: &str, statement: String) -> Result<(), sqlx::Error> {
    let server_url = server_url.to_owned();
    std::thread::spawn(move || {
        use sqlx::{Connection, Executor};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let mut admin = sqlx::MySqlConnection::connect(&server_url).await?;
            admin
                .execute(sqlx::AssertSqlSafe(statement))
                .await
                .map(drop)
        })
    })
    .join()
    .expect("the statement's thread did not panic")
}

/// `mysql://user@host:port/db?params` with the database replaced by `database`.
pub fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_end..].find('/').map(|i| authority_end + i);
    let root = path_start.map_or(base, |i| &base[..i]);
    match query {
        Some(query) => format!("{root}/{database}?{query}"),
        None => format!("{root}/{database}"),
    }
}
