//! [`StoreError`], and [`classify`], the one place that decides what a database error means for
//! the caller: the database is unreachable, a lock could not be had in time, a deadlock was
//! broken, or something unexpected happened.

use sqlx::error::ErrorKind;
use sqlx::mysql::MySqlDatabaseError;
use stocklab_domain::StockError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The change is valid but the stock as it is now refuses it.
    #[error(transparent)]
    Rejected(#[from] StockError),
    /// No connection could be had or kept: the server is down, unreachable, or saturated.
    #[error("the database is unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A row or database lock was not granted within the lock timeout.
    #[error("gave up waiting for a database lock: {0}")]
    LockTimeout(#[source] sqlx::Error),
    /// The database broke a deadlock by rolling this transaction back.
    #[error("the database broke a deadlock by rolling back this transaction: {0}")]
    Deadlock(#[source] sqlx::Error),
    #[error("the database schema could not be brought up to date: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Another instance kept migrating the same database for longer than we would wait.
    #[error("another instance held the migration lock for over {seconds} s")]
    MigrationLockTimeout { seconds: u32 },
    #[error("invalid database url {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("unsupported database url {0:?}: expected sqlite://FILE or mysql://USER@HOST/DATABASE")]
    UnsupportedUrl(String),
    /// Anything else: a bug or a database in a state stocklab does not expect.
    #[error("unexpected database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        classify(error)
    }
}

/// MySQL/MariaDB: `innodb_lock_wait_timeout` expired (ER_LOCK_WAIT_TIMEOUT).
const MYSQL_LOCK_WAIT_TIMEOUT: u16 = 1205;
/// MySQL/MariaDB: the transaction was chosen as a deadlock victim (ER_LOCK_DEADLOCK).
const MYSQL_DEADLOCK: u16 = 1213;
/// SQLite primary result codes (the low byte of an extended code): the database file is locked
/// by another connection (`SQLITE_BUSY`, after the busy timeout) or by this one (`SQLITE_LOCKED`).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;

/// Sorts a database error into the kinds callers act on differently.
pub fn classify(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(error),
        sqlx::Error::Database(db) => {
            if let Some(mysql) = db.try_downcast_ref::<MySqlDatabaseError>() {
                match mysql.number() {
                    MYSQL_LOCK_WAIT_TIMEOUT => return StoreError::LockTimeout(error),
                    MYSQL_DEADLOCK => return StoreError::Deadlock(error),
                    _ => {}
                }
            } else if let Some(code) = db.code().and_then(|code| code.parse::<i64>().ok()) {
                // Only SQLite reports a numeric result code here; MySQL's `code` is a SQLSTATE.
                if matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED) {
                    return StoreError::LockTimeout(error);
                }
            }
            StoreError::Database(error)
        }
        _ => StoreError::Database(error),
    }
}

/// True when the error is a unique-constraint violation (a duplicate SKU, in this schema).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|db| db.kind() == ErrorKind::UniqueViolation)
}
