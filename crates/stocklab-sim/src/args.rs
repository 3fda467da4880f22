//! `stocklab sim`'s options, and how they become a [`Plan`].
//!
//! Every option is checked by its value parser, so a bad value is a usage error that names the
//! option before anything is sent; [`SimArgs::plan`] then only assembles.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser;
use stocklab_domain::{Isolation, Strategy};

use crate::plan::{
    Arrival, Budget, DataSet, Instance, Mix, Outputs, Plan, Skew, StrategyChoice, parse_duration,
};

/// Options of `stocklab sim`.
#[derive(Debug, Clone, Args)]
#[command(after_help = AFTER_HELP)]
pub struct SimArgs {
    /// A running service instance. Repeat it to spread the clients over several instances
    /// (client N talks to instance N mod count); the data set is reset and read through the
    /// first one.
    #[arg(
        long = "url",
        value_name = "URL",
        default_value = "http://127.0.0.1:8000"
    )]
    pub urls: Vec<Instance>,

    /// How many products the experiment runs on.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub products: u32,

    /// The stock every product starts with (after the reset).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(0..=1_000_000_000_000_000))]
    pub initial_stock: i64,

    /// Do not reset the data set (POST /api/lab/reset, lab mode only) before each strategy: run
    /// on the first --products products the service lists, as they are.
    #[arg(long)]
    pub no_reset: bool,

    /// Concurrent clients, each with one keep-alive connection and one operation at a time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub clients: u32,

    /// Operations in all, per strategy (a stock-take counts two: its read and its count).
    #[arg(long, default_value_t = 2000, conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub ops: u64,

    /// Run each strategy for this long instead of a number of operations (10s, 500ms, 2m).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Weights of the operation kinds: withdraw, receive, stock-take (read the product, then
    /// count it at that version), order (one to three lines), read. Kinds left out weigh 0.
    #[arg(long, default_value_t = Mix::default())]
    pub mix: Mix,

    /// Send this share (0 to 1) of the operations to one hot product (the first); the rest are
    /// spread evenly. Without --hot or --zipf every product is equally likely.
    #[arg(long, value_name = "SHARE", conflicts_with = "zipf", value_parser = share)]
    pub hot: Option<f64>,

    /// Pick products with a Zipf skew of this exponent (1.0 is classic Zipf; higher is more
    /// skewed).
    #[arg(long, value_name = "EXPONENT", value_parser = positive)]
    pub zipf: Option<f64>,

    /// The strategy (or a comma-separated list, or `all`) every change asks for; each runs in
    /// turn on a fresh data set, then one table compares them. Without it the server's default
    /// applies.
    #[arg(long = "strategy", value_name = "STRATEGY", value_delimiter = ',', value_parser = strategy_or_all())]
    pub strategies: Vec<StrategyArg>,

    /// Permits of the semaphore strategy; more than one is lab only, and shows that a
    /// semaphore is not a lock.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub permits: u32,

    /// Isolation level of the transaction strategy: read-committed, repeatable-read (below
    /// serializable: lab only) or serializable.
    #[arg(long, default_value = "repeatable-read", value_parser = isolation_parser())]
    pub isolation: Isolation,

    /// Lab mode: the service pauses this long between the read and the write of every
    /// read-modify-write, so that races show. At most 1000.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=1000))]
    pub race_window_ms: u64,

    /// Seed of the workload: the same seed gives every client the same sequence of operations
    /// (a random one is picked, and printed, when absent).
    #[arg(long)]
    pub seed: Option<u64>,

    /// Open loop: operations are due at this many per second in all, whatever the answers;
    /// latency counts from when each was due. Without it each client sends its next operation
    /// when the previous one is answered (closed loop).
    #[arg(long, value_name = "PER_SECOND", value_parser = positive)]
    pub rate: Option<f64>,

    /// Start the clients one after another over this long instead of all at once.
    #[arg(long, value_parser = parse_duration, default_value = "0s")]
    pub ramp_up: Duration,

    /// How long a client waits for an answer before it records the outcome as unknown and
    /// reconnects.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub timeout: Duration,

    /// Also search each product's history for a linearizable order, for at most this long in
    /// all.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub linearizability_ms: Option<u64>,

    /// Write the whole result (per strategy: numbers, rejections, the checker's report) as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write every operation as JSON Lines, a history `stocklab check` reads. With several
    /// strategies, one file each: FILE's name with the strategy before the extension.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,

    /// No progress bar (it is hidden anyway when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,

    /// Exit with status 1 when the checker finds an anomaly under any strategy.
    #[arg(long)]
    pub expect_consistent: bool,
}

const AFTER_HELP: &str = "\
Exit status: 0 when the run completed; 1 with --expect-consistent when an anomaly was found; \
2 when the experiment could not run (an instance does not answer, bad options); 130 after Ctrl-C.

Example (a lost update): stocklab sim --strategy unsafe,atomic --race-window-ms 20 --hot 0.9";

/// One `--strategy` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyArg {
    All,
    One(Strategy),
}

impl SimArgs {
    /// The validated plan.
    pub fn plan(&self) -> Plan {
        let choice = |strategy| StrategyChoice {
            strategy,
            permits: self.permits,
            isolation: self.isolation,
            race_window_ms: self.race_window_ms,
        };
        let mut strategies: Vec<StrategyChoice> = Vec::new();
        for arg in &self.strategies {
            let named: Vec<Strategy> = match arg {
                StrategyArg::All => Strategy::ALL.to_vec(),
                StrategyArg::One(strategy) => vec![*strategy],
            };
            for strategy in named {
                if strategies.iter().all(|c| c.strategy != Some(strategy)) {
                    strategies.push(choice(Some(strategy)));
                }
            }
        }
        if strategies.is_empty() {
            strategies.push(choice(None));
        }
        Plan {
            instances: self.urls.clone(),
            data: DataSet {
                products: self.products,
                initial_stock: self.initial_stock,
                reset: !self.no_reset,
            },
            clients: self.clients,
            budget: match self.duration {
                Some(duration) => Budget::Duration(duration),
                None => Budget::Ops(self.ops),
            },
            arrival: self.rate.map_or(Arrival::Closed, Arrival::Rate),
            ramp_up: self.ramp_up,
            mix: self.mix,
            skew: match (self.hot, self.zipf) {
                (Some(share), _) => Skew::Hot(share),
                (None, Some(exponent)) => Skew::Zipf(exponent),
                (None, None) => Skew::Uniform,
            },
            strategies,
            seed: self.seed.unwrap_or_else(rand::random),
            timeout: self.timeout,
            linearizability: self.linearizability_ms.map(Duration::from_millis),
            outputs: Outputs {
                json: self.json.clone(),
                history: self.history.clone(),
                quiet: self.quiet,
                expect_consistent: self.expect_consistent,
            },
        }
    }
}

fn strategy_or_all() -> impl TypedValueParser<Value = StrategyArg> {
    let names = std::iter::once("all").chain(Strategy::ALL.iter().map(|s| s.name()));
    clap::builder::PossibleValuesParser::new(names).try_map(|name| match name.as_str() {
        "all" => Ok(StrategyArg::All),
        name => name.parse().map(StrategyArg::One),
    })
}

fn isolation_parser() -> impl TypedValueParser<Value = Isolation> {
    clap::builder::PossibleValuesParser::new(["read-committed", "repeatable-read", "serializable"])
        .try_map(|name| name.parse::<Isolation>())
}

fn share(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("{raw:?} is not a share from 0 to 1 (e.g. 0.9)")),
    }
}

fn positive(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if value > 0.0 && value.is_finite() => Ok(value),
        _ => Err(format!("{raw:?} is not a number above 0")),
    }
}
