//! One experiment under one strategy: set up the data set, run the clients, read the end state.
//!
//! Each client is a task with its own connection and its own workload generator; it runs one
//! operation at a time and keeps its own log, so the clients share nothing on the hot path but
//! a few atomic counters (the next operation id, the operations left, the progress counts).
//! The logs are merged into one history once every client has stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use stocklab_check::history::{End, History, OpKind, Operation, Outcome, ProductState, Start};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::Api;
use crate::client::Connection;
use crate::error::SimError;
use crate::ops;
use crate::plan::{Arrival, Budget, Plan, StrategyChoice};
use crate::progress::Counters;
use crate::workload::{Intent, Workload};

/// What one experiment recorded.
#[derive(Debug)]
pub struct Run {
    pub choice: StrategyChoice,
    pub history: History,
    /// From the start of the load until the last client stopped.
    pub elapsed: Duration,
    /// The sum of `x-stocklab-retries` over every answer.
    pub retries: u64,
}

/// Runs `choice` as `plan` says, until the budget is spent or `stop` turns true.
pub async fn run(
    plan: &Plan,
    choice: StrategyChoice,
    stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) -> Result<Run, SimError> {
    let mut api = Api::new(&plan.instances[0], plan.timeout);
    let products = if plan.data.reset {
        let ids = api
            .reset(plan.data.products, plan.data.initial_stock)
            .await?;
        api.products(&ids).await?
    } else {
        api.first_products(plan.data.products as usize).await?
    };
    if products.is_empty() {
        return Err(SimError::NoProducts {
            url: plan.instances[0].url.clone(),
        });
    }
    let ids: Vec<i64> = products.iter().map(|state| state.product).collect();

    // Every connection is open before the clock starts, so that setting them up is not load.
    let mut connections = Vec::with_capacity(plan.clients as usize);
    for client in 0..plan.clients {
        let instance = &plan.instances[client as usize % plan.instances.len()];
        let mut connection = Connection::new(&instance.authority, plan.timeout);
        connection
            .connect()
            .await
            .map_err(|source| SimError::Unreachable {
                url: instance.url.clone(),
                source,
            })?;
        connections.push(connection);
    }

    let t0 = Instant::now();
    let shared = Arc::new(Shared {
        t0,
        deadline: match plan.budget {
            Budget::Duration(duration) => Some(t0 + plan.ramp_up + duration),
            Budget::Ops(_) => None,
        },
        ops_left: AtomicU64::new(match plan.budget {
            Budget::Ops(ops) => ops,
            Budget::Duration(_) => u64::MAX,
        }),
        next_id: AtomicU64::new(0),
        query: choice.query(),
        counters,
    });
    let mut tasks = Vec::with_capacity(connections.len());
    for (client, connection) in (0u32..).zip(connections) {
        let workload = Workload::new(plan.seed, client, plan.mix, plan.skew, &ids);
        let pace = Pace::of(plan, client, t0);
        tasks.push(tokio::spawn(run_client(
            Arc::clone(&shared),
            client,
            connection,
            workload,
            pace,
            stop.clone(),
        )));
    }
    let mut ops = Vec::new();
    let mut retries = 0;
    for task in tasks {
        let log = task.await.map_err(|error| SimError::ClientFailed {
            detail: error.to_string(),
        })?;
        ops.extend(log.ops);
        retries += log.retries;
    }
    let elapsed = t0.elapsed();
    // Completion order, as the history format asks; ids break ties.
    ops.sort_unstable_by_key(|op: &Operation| (op.complete_us, op.id));

    let end = End {
        products: api.products(&ids).await?,
        audit_mismatches: api.audit(&ids).await?,
    };
    Ok(Run {
        choice,
        history: History {
            start: Start {
                strategy: choice.strategy.map(|s| s.name().to_owned()),
                race_window_ms: choice.race_window_ms,
                products,
            },
            ops,
            end: Some(end),
        },
        elapsed,
        retries,
    })
}

/// What the clients of one experiment share.
#[derive(Debug)]
struct Shared {
    t0: Instant,
    /// No operation is due after this (`--duration`).
    deadline: Option<Instant>,
    /// `--ops`: each operation takes one before it starts.
    ops_left: AtomicU64,
    /// Operation ids, in invocation order.
    next_id: AtomicU64,
    /// The strategy's query string, for every change.
    query: String,
    counters: Arc<Counters>,
}

impl Shared {
    /// Takes one operation from the budget, if any is left and `due` is before the deadline.
    fn claim(&self, due: Instant) -> bool {
        if self.deadline.is_some_and(|deadline| due >= deadline) {
            return false;
        }
        self.ops_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.t0).as_micros()).unwrap_or(u64::MAX)
    }
}

/// When a client's operations are due.
#[derive(Debug, Clone, Copy)]
struct Pace {
    /// The first operation (after the client's share of the ramp-up).
    first: Instant,
    /// At a fixed rate, the time between two of this client's operations; `None` in a closed
    /// loop, where the next one is due when the previous one is answered.
    interval: Option<Duration>,
}

impl Pace {
    fn of(plan: &Plan, client: u32, t0: Instant) -> Self {
        let share = f64::from(client) / f64::from(plan.clients);
        let ramp = plan.ramp_up.mul_f64(share);
        match plan.arrival {
            Arrival::Closed => Self {
                first: t0 + ramp,
                interval: None,
            },
            Arrival::Rate(per_second) => {
                let interval = Duration::from_secs_f64(f64::from(plan.clients) / per_second);
                // Clients are offset by a fraction of the interval, so that arrivals are
                // spread evenly rather than in bursts of `clients`.
                Self {
                    first: t0 + ramp + interval.mul_f64(share),
                    interval: Some(interval),
                }
            }
        }
    }
}

/// One client's record.
#[derive(Debug, Default)]
struct ClientLog {
    ops: Vec<Operation>,
    retries: u64,
}

async fn run_client(
    shared: Arc<Shared>,
    number: u32,
    mut connection: Connection,
    mut workload: Workload,
    pace: Pace,
    mut stop: watch::Receiver<bool>,
) -> ClientLog {
    let mut log = ClientLog::default();
    let mut client = Client {
        shared: &shared,
        number,
        connection: &mut connection,
        log: &mut log,
    };
    let mut due = pace.first;
    if !wait_until(due, &mut stop).await {
        return log;
    }
    loop {
        let invoke = match pace.interval {
            Some(interval) => {
                let this = due;
                due += interval;
                if !wait_until(this, &mut stop).await {
                    break;
                }
                this
            }
            None => Instant::now(),
        };
        if *stop.borrow() || !shared.claim(invoke) {
            break;
        }
        match workload.next_intent() {
            Intent::Withdraw { product, quantity } => {
                client
                    .perform(OpKind::Withdraw { product, quantity }, invoke)
                    .await;
            }
            Intent::Receive { product, quantity } => {
                client
                    .perform(OpKind::Receive { product, quantity }, invoke)
                    .await;
            }
            Intent::Order { lines } => {
                client.perform(OpKind::Order { lines }, invoke).await;
            }
            Intent::Read { product } => {
                client.perform(OpKind::Read { product }, invoke).await;
            }
            Intent::StockTake {
                product,
                discrepancy,
            } => {
                // A count is made at the version its reader saw: read, then count.
                let Some(read) = client.perform(OpKind::Read { product }, invoke).await else {
                    continue;
                };
                let now = Instant::now();
                if shared.claim(now) {
                    let count = OpKind::StockTake {
                        product,
                        quantity: (read.stock + discrepancy).max(0),
                        expected_version: Some(read.version),
                    };
                    client.perform(count, now).await;
                }
            }
        }
    }
    log
}

/// A client while it runs.
struct Client<'a> {
    shared: &'a Shared,
    number: u32,
    connection: &'a mut Connection,
    log: &'a mut ClientLog,
}

impl Client<'_> {
    /// Sends one operation and records it; returns the first product state it reported, if it
    /// succeeded (what a stock-take counts from).
    async fn perform(&mut self, kind: OpKind, invoke: Instant) -> Option<ProductState> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let call = ops::call(&kind, &self.shared.query);
        let reply = self
            .connection
            .send(call.method, &call.path, call.body)
            .await;
        let complete = Instant::now();
        if let Ok(reply) = &reply {
            self.log.retries += u64::from(reply.retries);
        }
        let outcome = ops::outcome(&kind, &reply);
        self.shared.counters.record(&outcome);
        let returned = match &outcome {
            Outcome::Ok { states } => states.first().copied(),
            _ => None,
        };
        self.log.ops.push(Operation {
            id,
            client: self.number,
            kind,
            invoke_us: self.shared.micros(invoke),
            complete_us: self.shared.micros(complete),
            outcome,
        });
        returned
    }
}

/// Sleeps until `at`; false if `stop` turned true first (or had already).
async fn wait_until(at: Instant, stop: &mut watch::Receiver<bool>) -> bool {
    if at > Instant::now() {
        tokio::select! {
            () = tokio::time::sleep_until(at) => {}
            _ = stop.wait_for(|stopped| *stopped) => return false,
        }
    }
    !*stop.borrow()
}
