//! How a stock change is protected against concurrent changes. The service takes a strategy as
//! a value with each request; handlers never differ by strategy.

use std::fmt;
use std::str::FromStr;

use crate::ValidationError;

/// A synchronization strategy (DESIGN.md, "Strategies").
///
/// `Atomic` is the safe default: one conditional `UPDATE ... WHERE stock + delta >= 0`, with the
/// ledger row written in the same transaction. The lab's other strategies join this enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Strategy {
    #[default]
    Atomic,
}

impl Strategy {
    /// Every strategy, in the order the lab presents them.
    pub const ALL: &'static [Strategy] = &[Strategy::Atomic];

    /// The name used on the command line, in `?strategy=` and in responses.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::Atomic => "atomic",
        }
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
}
