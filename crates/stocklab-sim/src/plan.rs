//! The experiment as one validated value.
//!
//! The command line is parsed into a [`Plan`] once (see `args`); everything after that (the
//! runner, the statistics, the printers) reads the plan and never re-checks an option. The
//! pieces that have a textual form of their own (`--mix`, `--url`, durations) parse here, with
//! error messages meant for the person who typed them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use stocklab_domain::{Isolation, Strategy};

/// Everything an experiment needs, validated.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The service instances; client `c` talks to `instances[c % len]`.
    pub instances: Vec<Instance>,
    pub data: DataSet,
    pub clients: u32,
    pub budget: Budget,
    pub arrival: Arrival,
    /// Client `c` starts `ramp_up * c / clients` after the experiment begins.
    pub ramp_up: Duration,
    pub mix: Mix,
    pub skew: Skew,
    /// Run one after the other, each on a fresh data set (unless `data.reset` is off).
    pub strategies: Vec<StrategyChoice>,
    pub seed: u64,
    /// How long a client waits for one answer before it records the outcome as unknown.
    pub timeout: Duration,
    /// Passed to the checker: how long to search each product's history for a linearizable
    /// order before answering "unknown"; `None` skips the search.
    pub linearizability: Option<Duration>,
    pub outputs: Outputs,
}

/// The products an experiment runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSet {
    pub products: u32,
    pub initial_stock: i64,
    /// Replace the data set through `POST /api/lab/reset` before each strategy; without it the
    /// experiment runs on the first `products` products the service lists.
    pub reset: bool,
}

/// When the load stops (besides Ctrl-C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// This many operations in all, shared by the clients.
    Ops(u64),
    /// No operation starts after this long.
    Duration(Duration),
}

/// How clients pace their operations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Each client sends its next operation as soon as the previous one is answered.
    Closed,
    /// Operations are due at this many per second in all, spread evenly over the clients; a
    /// late operation's latency is counted from when it was due (no coordinated omission).
    Rate(f64),
}

/// Where the operations fall among the products.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Skew {
    Uniform,
    /// This share (0 to 1) of the picks go to the first product; the rest spread evenly.
    Hot(f64),
    /// The product of rank `k` is picked with weight `1 / k^s`.
    Zipf(f64),
}

/// What the simulator writes besides its report on stdout.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub history: Option<PathBuf>,
    /// No progress bar.
    pub quiet: bool,
    /// Exit non-zero when the checker finds an anomaly.
    pub expect_consistent: bool,
}

impl Plan {
    /// Whether the service must be in lab mode for this plan.
    pub fn needs_lab(&self) -> Option<&'static str> {
        if self.data.reset {
            return Some("the data set reset (POST /api/lab/reset)");
        }
        self.strategies.iter().find_map(StrategyChoice::lab_only)
    }
}

/// One service instance, as given to `--url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// As the user wrote it, without a trailing slash: what messages show.
    pub url: String,
    /// `host:port`, sent as the `Host` header and resolved to connect.
    pub authority: String,
}

impl FromStr for Instance {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let uri: http::Uri = raw
            .parse()
            .map_err(|error| format!("{raw:?} is not a URL: {error}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "{raw:?}: only http:// URLs are supported (e.g. http://127.0.0.1:8000)"
            ));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(format!(
                "{raw:?}: give the instance's base URL only, without a path (e.g. http://127.0.0.1:8000)"
            ));
        }
        let authority = uri
            .authority()
            .ok_or_else(|| format!("{raw:?}: the URL names no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        Ok(Self {
            url: format!("http://{authority}"),
            authority: format!("{}:{port}", authority.host()),
        })
    }
}

/// The kinds of operation a client can pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpClass {
    Withdraw,
    Receive,
    StockTake,
    Order,
    Read,
}

impl OpClass {
    pub const ALL: [OpClass; 5] = [
        OpClass::Withdraw,
        OpClass::Receive,
        OpClass::StockTake,
        OpClass::Order,
        OpClass::Read,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpClass::Withdraw => "withdraw",
            OpClass::Receive => "receive",
            OpClass::StockTake => "stock-take",
            OpClass::Order => "order",
            OpClass::Read => "read",
        }
    }
}

/// The relative weights of the operation kinds (`--mix withdraw=5,receive=2,read=3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mix {
    /// Indexed like [`OpClass::ALL`].
    weights: [u32; 5],
    total: u32,
}

impl Mix {
    pub fn weight(&self, class: OpClass) -> u32 {
        self.weights[class as usize]
    }

    /// Picks a kind with probability proportional to its weight.
    pub fn pick(&self, rng: &mut impl Rng) -> OpClass {
        let mut ticket = rng.random_range(0..self.total);
        for class in OpClass::ALL {
            let weight = self.weight(class);
            if ticket < weight {
                return class;
            }
            ticket -= weight;
        }
        unreachable!("the ticket is below the sum of the weights")
    }
}

impl Default for Mix {
    /// Mostly changes, some of every other kind.
    fn default() -> Self {
        "withdraw=4,receive=3,stock-take=1,order=1,read=1"
            .parse()
            .unwrap_or_else(|_| unreachable!("the default mix parses"))
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let known = || {
            OpClass::ALL
                .iter()
                .map(|class| class.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut weights = [0u32; 5];
        for part in raw
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
        {
            let (name, weight) = part.split_once('=').ok_or_else(|| {
                format!(
                    "{part:?}: write KIND=WEIGHT, e.g. withdraw=5,read=3 (kinds: {})",
                    known()
                )
            })?;
            let class = OpClass::ALL
                .into_iter()
                .find(|class| class.name() == name.trim())
                .ok_or_else(|| format!("unknown operation kind {name:?}; known: {}", known()))?;
            weights[class as usize] = weight.trim().parse().map_err(|_| {
                format!("{part:?}: the weight must be a whole number from 0 to 1000000")
            })?;
            if weights[class as usize] > 1_000_000 {
                return Err(format!("{part:?}: a weight may be at most 1000000"));
            }
        }
        let total = weights.iter().sum();
        if total == 0 {
            return Err(format!(
                "{raw:?}: give at least one kind a weight above 0 (kinds: {})",
                known()
            ));
        }
        Ok(Self { weights, total })
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = OpClass::ALL
            .iter()
            .filter(|class| self.weight(**class) > 0)
            .map(|class| format!("{}={}", class.name(), self.weight(*class)))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// The strategy an experiment's changes ask for, with the options that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StrategyChoice {
    /// `None`: send no `?strategy=`, so the server's default applies.
    pub strategy: Option<Strategy>,
    /// The semaphore's permits (sent only with `semaphore`).
    pub permits: u32,
    /// The transaction's isolation level (sent only with `transaction`).
    pub isolation: Isolation,
    pub race_window_ms: u64,
}

impl StrategyChoice {
    /// The name shown in reports: the strategy, and its permits or isolation level.
    pub fn label(&self) -> String {
        match self.strategy {
            None => "server default".to_owned(),
            Some(Strategy::Semaphore) => format!("semaphore({})", self.permits),
            Some(Strategy::Transaction) => format!("transaction({})", self.isolation.name()),
            Some(strategy) => strategy.name().to_owned(),
        }
    }

    /// The query string every change of the experiment carries, with its leading `?` (or
    /// empty).
    pub fn query(&self) -> String {
        let mut params = Vec::new();
        if let Some(strategy) = self.strategy {
            params.push(format!("strategy={}", strategy.name()));
            match strategy {
                Strategy::Semaphore => params.push(format!("permits={}", self.permits)),
                Strategy::Transaction => {
                    params.push(format!("isolation={}", self.isolation.name()));
                }
                _ => {}
            }
        }
        if self.race_window_ms > 0 {
            params.push(format!("race_window_ms={}", self.race_window_ms));
        }
        if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        }
    }

    /// Which of this choice's options only lab mode allows, if any.
    pub fn lab_only(&self) -> Option<&'static str> {
        match self.strategy {
            Some(Strategy::Unsafe) => Some("the unsafe strategy"),
            Some(Strategy::Semaphore) if self.permits > 1 => {
                Some("a semaphore with more than one permit")
            }
            Some(Strategy::Transaction) if self.isolation != Isolation::Serializable => {
                Some("a transaction below serializable")
            }
            _ if self.race_window_ms > 0 => Some("a race window"),
            _ => None,
        }
    }
}

/// Parses `10s`, `500ms`, `2m` or a plain number of seconds (`1.5`).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, unit) = match raw.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration; write e.g. 10s, 500ms or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{raw:?}: unknown unit {unit:?}; use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds)
        .map_err(|_| format!("{raw:?} is not a duration of zero or more"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_names_the_kinds_it_weighs_and_leaves_the_others_at_zero() {
        let mix: Mix = "withdraw=5, receive=2,read=3".parse().expect("a mix");
        assert_eq!(mix.weight(OpClass::Withdraw), 5);
        assert_eq!(mix.weight(OpClass::Receive), 2);
        assert_eq!(mix.weight(OpClass::Read), 3);
        assert_eq!(mix.weight(OpClass::Order), 0);
        assert_eq!(mix.to_string(), "withdraw=5,receive=2,read=3");
    }

    #[test]
    fn a_bad_mix_says_what_is_wrong() {
        for (raw, expected) in [
            ("withdraw", "KIND=WEIGHT"),
            ("sell=3", "unknown operation kind \"sell\""),
            ("withdraw=-1", "whole number"),
            ("withdraw=0,read=0", "at least one kind"),
            ("", "at least one kind"),
        ] {
            let error = raw.parse::<Mix>().expect_err(raw);
            assert!(error.contains(expected), "{raw:?}: {error}");
        }
    }

    #[test]
    fn a_mix_picks_each_kind_in_proportion_to_its_weight() {
        use rand::SeedableRng;
        let mix: Mix = "withdraw=3,read=1".parse().expect("a mix");
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let withdrawals = (0..10_000)
            .filter(|_| mix.pick(&mut rng) == OpClass::Withdraw)
            .count();
        assert!((7_200..7_800).contains(&withdrawals), "{withdrawals}");
    }

    #[test]
    fn instance_urls_are_base_urls_over_http() {
        let instance: Instance = "http://127.0.0.1:8000/".parse().expect("a URL");
        assert_eq!(instance.url, "http://127.0.0.1:8000");
        assert_eq!(instance.authority, "127.0.0.1:8000");
        let instance: Instance = "http://localhost".parse().expect("a URL");
        assert_eq!(instance.authority, "localhost:80");
        for raw in [
            "https://127.0.0.1",
            "127.0.0.1:8000",
            "http://h/api",
            "nonsense url",
        ] {
            assert!(raw.parse::<Instance>().is_err(), "{raw}");
        }
    }

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("10 parsecs").is_err());
    }

    #[test]
    fn a_strategy_choice_sends_only_the_options_its_strategy_takes() {
        let choice = StrategyChoice {
            strategy: Some(Strategy::Semaphore),
            permits: 4,
            isolation: Isolation::Serializable,
            race_window_ms: 20,
        };
        assert_eq!(
            choice.query(),
            "?strategy=semaphore&permits=4&race_window_ms=20"
        );
        assert_eq!(choice.label(), "semaphore(4)");
        assert!(choice.lab_only().is_some());
        let atomic = StrategyChoice {
            strategy: Some(Strategy::Atomic),
            race_window_ms: 0,
            ..choice
        };
        assert_eq!(atomic.query(), "?strategy=atomic");
        assert_eq!(atomic.lab_only(), None);
    }
}
