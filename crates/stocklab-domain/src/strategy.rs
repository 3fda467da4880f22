//! How a stock change is protected against concurrent changes. The service takes a strategy as
//! a value with each request; handlers never differ by strategy.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

/// A synchronization strategy (DESIGN.md, "Strategies").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    /// Read, (race window), compute, write back: no protection at all. Lab only.
    Unsafe,
    /// One process-wide lock around the read-modify-write.
    Mutex,
    /// One lock per product (striped), so different products proceed in parallel.
    PerProduct,
    /// A semaphore with N permits around the read-modify-write: a lock when N = 1, and with
    /// N > 1 (lab only) a limit on concurrency that is not mutual exclusion.
    Semaphore,
    /// A database transaction that locks the row before reading it.
    Pessimistic,
    /// Read with the version, write only if the version is unchanged, retry on conflict.
    Optimistic,
    /// One conditional statement: `stock = stock + delta WHERE stock + delta >= 0`.
    #[default]
    Atomic,
    /// The read-modify-write inside one database transaction at a chosen [`Isolation`] level,
    /// with a plain (non-locking) read: whether it loses updates is up to the isolation level
    /// and the database.
    Transaction,
}

/// A transaction isolation level, for the `transaction` strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Isolation {
    ReadCommitted,
    /// MySQL's and MariaDB's default.
    #[default]
    RepeatableRead,
    Serializable,
}

impl Isolation {
    pub fn name(self) -> &'static str {
        match self {
            Isolation::ReadCommitted => "read-committed",
            Isolation::RepeatableRead => "repeatable-read",
            Isolation::Serializable => "serializable",
        }
    }
}

impl FromStr for Isolation {
    type Err = ValidationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        [
            Isolation::ReadCommitted,
            Isolation::RepeatableRead,
            Isolation::Serializable,
        ]
        .into_iter()
        .find(|level| level.name() == raw)
        .ok_or_else(|| {
            ValidationError::new(
                "isolation",
                format!("must be read-committed, repeatable-read or serializable, got {raw:?}"),
            )
        })
    }
}

impl Strategy {
    /// Every strategy, in the order the lab presents them: from no protection to the default.
    pub const ALL: &'static [Strategy] = &[
        Strategy::Unsafe,
        Strategy::Mutex,
        Strategy::PerProduct,
        Strategy::Semaphore,
        Strategy::Pessimistic,
        Strategy::Optimistic,
        Strategy::Atomic,
        Strategy::Transaction,
    ];

    /// The name used on the command line, in `?strategy=` and in responses.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Unsafe => "unsafe",
            Strategy::Mutex => "mutex",
            Strategy::PerProduct => "per-product",
            Strategy::Semaphore => "semaphore",
            Strategy::Pessimistic => "pessimistic",
            Strategy::Optimistic => "optimistic",
            Strategy::Atomic => "atomic",
            Strategy::Transaction => "transaction",
        }
    }

    /// True for strategies that protect a change even when several service instances share
    /// one database: the protection is the database's, not a lock in one process.
    pub fn protects_across_instances(self) -> bool {
        matches!(
            self,
            Strategy::Pessimistic | Strategy::Optimistic | Strategy::Atomic
        )
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Strategy {
    type Err = ValidationError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .iter()
            .copied()
            .find(|strategy| strategy.name() == raw)
            .ok_or_else(|| {
                let known: Vec<&str> = Strategy::ALL.iter().map(|s| s.name()).collect();
                ValidationError::new(
                    "strategy",
                    format!("unknown strategy {raw:?}; known: {}", known.join(", ")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for &strategy in Strategy::ALL {
            assert_eq!(strategy.name().parse::<Strategy>(), Ok(strategy));
        }
        assert!("nope".parse::<Strategy>().is_err());
    }

    #[test]
    fn only_database_strategies_protect_across_instances() {
        let across: Vec<&str> = Strategy::ALL
            .iter()
            .filter(|s| s.protects_across_instances())
            .map(|s| s.name())
            .collect();
        assert_eq!(across, ["pessimistic", "optimistic", "atomic"]);
    }
}
