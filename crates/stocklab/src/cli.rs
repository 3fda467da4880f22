//! The command line. One configuration struct per subcommand, each option also settable from an
//! environment variable, and passed explicitly to whatever needs it: there are no globals.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::{BoolishValueParser, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use stocklab_domain::Strategy;
use stocklab_service::ChangeOptions;
use stocklab_sim::SimArgs;
use stocklab_store::{SqliteDurability, StoreOptions};

/// stocklab: a concurrent inventory service, and a lab for what goes wrong when many clients
/// change the same stock at once.
#[derive(Debug, Parser)]
#[command(name = "stocklab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service: the HTTP API and its docs (the default when no command is given).
    Serve(ServeArgs),
    /// Run an experiment against running instances: concurrent clients, a history of every
    /// operation, throughput and latency, and the anomalies the checker finds.
    Sim(Box<SimArgs>),
    /// Check a history that `stocklab sim --history` wrote, and report its anomalies.
    Check(CheckArgs),
}

/// Options of `stocklab check`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit status: 0 when the history is consistent, 1 when it has anomalies, 2 when it cannot be read."
)]
pub struct CheckArgs {
    /// The history file (JSON Lines, as `stocklab sim --history` writes it).
    pub history: PathBuf,

    /// Also search each product's history for a linearizable order, for at most this long in
    /// all.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub linearizability_ms: Option<u64>,
}

/// Options of `stocklab serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on. Use 127.0.0.1:0 to let the system pick a free port.
    #[arg(long, env = "STOCKLAB_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// Where stock lives: sqlite://FILE (created if missing) or mysql://USER:PASSWORD@HOST:PORT/DB
    /// (MySQL 8 or MariaDB 10.11; mariadb:// works too). The schema is migrated at start-up.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://stocklab.db")]
    pub database_url: String,

    /// How stock changes are protected when a request does not say (?strategy=).
    #[arg(
        long,
        env = "STOCKLAB_STRATEGY",
        default_value = "atomic",
        value_parser = strategy_parser(),
    )]
    pub strategy: Strategy,

    /// Lab mode: allow the unsafe strategy, semaphores with more than one permit, race windows
    /// and rendezvous, which exist to show races. On by default when listening on a loopback
    /// address, off otherwise.
    #[arg(long, overrides_with = "no_lab")]
    pub lab: bool,

    /// Refuse the lab's unsafe options (403 lab_disabled), even on a loopback address.
    #[arg(long, overrides_with = "lab")]
    pub no_lab: bool,

    /// Lab mode: pause this long between the read and the write of every read-modify-write
    /// (requests can override it with ?race_window_ms=). At most 1000.
    #[arg(long, env = "STOCKLAB_RACE_WINDOW_MS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub race_window_ms: u64,

    /// Do not load the demo catalogue into an empty database. The environment variable takes
    /// true/false, yes/no, on/off or 1/0.
    #[arg(long, env = "STOCKLAB_NO_DEMO_DATA", value_parser = BoolishValueParser::new())]
    pub no_demo_data: bool,

    /// The most database connections to open (for SQLite: readers; writes always use one).
    #[arg(long, env = "STOCKLAB_DB_MAX_CONNECTIONS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,

    /// How long a request may wait for a database connection before it fails with 503.
    #[arg(long, env = "STOCKLAB_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub db_acquire_timeout_ms: u64,

    /// How long a change may wait for a row or database lock before it fails with 409
    /// lock_timeout. MySQL counts whole seconds (rounded up).
    #[arg(long, env = "STOCKLAB_LOCK_TIMEOUT_MS", default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub lock_timeout_ms: u64,

    /// SQLite durability. normal: a commit survives a crash of the service, but the last commits
    /// may be lost on power loss (fast). full: every commit is on disk before it is acknowledged.
    #[arg(long, env = "STOCKLAB_SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSynchronousArg::Normal)]
    pub sqlite_synchronous: SqliteSynchronousArg,
}

/// `--sqlite-synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSynchronousArg {
    Normal,
    Full,
}

impl ServeArgs {
    /// Serve arguments with every default, as `stocklab serve` with no options has them.
    pub fn defaults() -> Self {
        Cli::parse_from(["stocklab", "serve"])
            .command
            .and_then(|command| match command {
                Command::Serve(args) => Some(args),
                _ => None,
            })
            .unwrap_or_else(|| unreachable!("the serve subcommand was given"))
    }

    /// Whether lab mode is on: as asked, or else when the address is a loopback one (the lab's
    /// races cannot hurt anyone else's stock there).
    pub fn lab_enabled(&self) -> bool {
        if self.lab {
            true
        } else if self.no_lab {
            false
        } else {
            self.addr.ip().is_loopback()
        }
    }

    /// The change options every request starts from.
    pub fn change_defaults(&self) -> ChangeOptions {
        ChangeOptions {
            race_window: Duration::from_millis(self.race_window_ms),
            ..ChangeOptions::new(self.strategy)
        }
    }

    pub fn demo_data(&self) -> bool {
        !self.no_demo_data
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms),
            lock_timeout: Duration::from_millis(self.lock_timeout_ms),
            sqlite_durability: match self.sqlite_synchronous {
                SqliteSynchronousArg::Normal => SqliteDurability::Normal,
                SqliteSynchronousArg::Full => SqliteDurability::Full,
            },
        }
    }
}

/// Accepts exactly the strategy names, and lists them in `--help` and in errors.
fn strategy_parser() -> impl TypedValueParser<Value = Strategy> {
    PossibleValuesParser::new(Strategy::ALL.iter().map(|s| s.name()))
        .try_map(|name| name.parse::<Strategy>())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_args(extra: &[&str]) -> ServeArgs {
        let argv = ["stocklab", "serve"]
            .into_iter()
            .chain(extra.iter().copied());
        match Cli::parse_from(argv).command {
            Some(Command::Serve(args)) => args,
            _ => unreachable!("the serve subcommand was given"),
        }
    }

    #[test]
    fn lab_mode_is_on_by_default_only_on_loopback_addresses() {
        assert!(serve_args(&["--addr", "127.0.0.1:8000"]).lab_enabled());
        assert!(serve_args(&["--addr", "[::1]:8000"]).lab_enabled());
        assert!(!serve_args(&["--addr", "0.0.0.0:8000"]).lab_enabled());
        assert!(serve_args(&["--addr", "0.0.0.0:8000", "--lab"]).lab_enabled());
        assert!(!serve_args(&["--addr", "127.0.0.1:8000", "--no-lab"]).lab_enabled());
        assert!(
            serve_args(&["--no-lab", "--lab"]).lab_enabled(),
            "the last one wins"
        );
    }
}
