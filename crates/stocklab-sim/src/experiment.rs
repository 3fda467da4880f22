//! The whole experiment: check the instances, then each strategy in turn (run, summarize,
//! check), stopping early on Ctrl-C.

use std::future::Future;
use std::time::Duration;

use serde::Serialize;
use stocklab_check::{CheckOptions, History, Report};
use tokio::sync::watch;

use crate::api::{Api, Health};
use crate::error::SimError;
use crate::plan::{Plan, StrategyChoice};
use crate::progress::Progress;
use crate::runner;
use crate::stats::Summary;

/// What one strategy's experiment came to.
#[derive(Debug, Clone, Serialize)]
pub struct StrategyResult {
    /// The strategy and its options, as reports name it.
    pub label: String,
    #[serde(skip)]
    pub choice: StrategyChoice,
    pub summary: Summary,
    /// The checker's findings on the history.
    pub check: Report,
    #[serde(skip)]
    pub history: History,
}

impl StrategyResult {
    pub fn is_consistent(&self) -> bool {
        self.check.is_consistent()
    }
}

/// Every strategy's result, and how the experiment ended.
#[derive(Debug, Clone, Serialize)]
pub struct Experiment {
    /// Each instance's URL and what its `/healthz` reported.
    pub instances: Vec<InstanceInfo>,
    pub results: Vec<StrategyResult>,
    /// Ctrl-C stopped the load before the plan was done.
    pub interrupted: bool,
    /// Why a strategy's run failed (an instance went away, say), ending the plan there: the
    /// strategies before it are still reported and written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceInfo {
    pub url: String,
    pub backend: String,
    pub database_version: String,
    pub lab: bool,
}

impl Experiment {
    pub fn is_consistent(&self) -> bool {
        self.results.iter().all(StrategyResult::is_consistent)
    }
}

/// Runs the plan. `interrupt` resolving (Ctrl-C) stops the load; what was measured until then
/// is still checked and returned, as it is when a strategy's run fails. Only an instance that
/// fails the checks before any load is an `Err`. `on_result` sees each strategy's result as
/// soon as it is in.
pub async fn run(
    plan: &Plan,
    interrupt: impl Future<Output = ()> + Send + 'static,
    mut on_result: impl FnMut(&StrategyResult),
) -> Result<Experiment, SimError> {
    let instances = preflight(plan).await?;
    let (stop_sender, stop) = watch::channel(false);
    let interrupter = tokio::spawn(async move {
        interrupt.await;
        let _ = stop_sender.send(true);
    });
    let mut results = Vec::with_capacity(plan.strategies.len());
    let mut failed = None;
    for choice in &plan.strategies {
        if *stop.borrow() {
            break;
        }
        let progress = Progress::start(choice.label(), plan.budget, plan.outputs.quiet);
        let run = runner::run(plan, *choice, stop.clone(), progress.counters()).await;
        progress.finish();
        let run = match run {
            Ok(run) => run,
            Err(error) => {
                failed = Some(error.to_string());
                break;
            }
        };
        let check = stocklab_check::check(
            &run.history,
            &CheckOptions {
                linearizability: plan.linearizability,
            },
        );
        let result = StrategyResult {
            label: choice.label(),
            choice: *choice,
            summary: Summary::of(&run, plan.arrival),
            check,
            history: run.history,
        };
        on_result(&result);
        results.push(result);
    }
    let interrupted = *stop.borrow();
    interrupter.abort();
    Ok(Experiment {
        instances,
        results,
        interrupted,
        failed,
    })
}

/// Every instance answers, and is in lab mode if the plan needs it: checked before any load.
async fn preflight(plan: &Plan) -> Result<Vec<InstanceInfo>, SimError> {
    // A health check should be quick even when the operations' timeout is long.
    let timeout = plan.timeout.min(Duration::from_secs(5));
    let mut instances = Vec::with_capacity(plan.instances.len());
    for instance in &plan.instances {
        let Health {
            backend,
            database_version,
            lab,
        } = Api::new(instance, timeout).health().await?;
        if let Some(what) = plan.needs_lab()
            && !lab
        {
            return Err(SimError::LabDisabled {
                url: instance.url.clone(),
                what,
            });
        }
        instances.push(InstanceInfo {
            url: instance.url.clone(),
            backend,
            database_version,
            lab,
        });
    }
    Ok(instances)
}
