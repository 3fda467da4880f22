//! What a person reads on stdout: one block per strategy as it finishes, then, when several
//! strategies ran, one table that compares them.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::experiment::{Experiment, StrategyResult};
use crate::plan::{Arrival, Budget, Plan, Skew};

/// The experiment's set-up, printed once before any load.
pub fn describe(plan: &Plan) -> String {
    let urls: Vec<&str> = plan.instances.iter().map(|i| i.url.as_str()).collect();
    let budget = match plan.budget {
        Budget::Ops(ops) => format!("{ops} operations"),
        Budget::Duration(duration) => format!("{:.1} s", duration.as_secs_f64()),
    };
    let arrival = match plan.arrival {
        Arrival::Closed => "closed loop".to_owned(),
        Arrival::Rate(rate) => format!("{rate:.0} ops/s offered"),
    };
    let skew = match plan.skew {
        Skew::Uniform => "uniform".to_owned(),
        Skew::Hot(share) => format!("{:.0}% on one hot product", share * 100.0),
        Skew::Zipf(exponent) => format!("zipf {exponent}"),
    };
    let data = if plan.data.reset {
        format!(
            "{} products reset to {} each",
            plan.data.products, plan.data.initial_stock
        )
    } else {
        format!("the first {} products as they are", plan.data.products)
    };
    let clients = match plan.clients {
        1 => "1 client".to_owned(),
        n => format!("{n} clients"),
    };
    format!(
        "stocklab sim: {clients} against {}; {budget}, {arrival}; mix {}; {skew}; {data}; seed {}",
        urls.join(", "),
        plan.mix,
        plan.seed
    )
}

/// One strategy's block: numbers, the checker's findings and its verdict.
pub fn strategy_block(result: &StrategyResult) -> String {
    let s = &result.summary;
    let mut out = String::new();
    let window = match result.choice.race_window_ms {
        0 => String::new(),
        ms => format!(" (race window {ms} ms)"),
    };
    let rate = match s.offered_rate {
        Some(offered) => format!(", offered {offered:.0}/s"),
        None => String::new(),
    };
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "== {}{window}: {} operations in {:.2} s = {:.0} ops/s{rate}",
        result.label, s.operations, s.elapsed_s, s.throughput
    );
    let l = s.latency_ms;
    let _ = writeln!(
        out,
        "   latency ms  p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        l.p50, l.p90, l.p99, l.p999, l.max
    );
    let _ = writeln!(
        out,
        "   ok {}  rejected {}{}  errors {}{}  retries {}",
        s.ok,
        s.rejected(),
        breakdown(&s.rejections),
        s.errors,
        breakdown(&s.errors_by_reason),
        s.retries
    );
    for line in result.check.to_string().lines() {
        let _ = writeln!(out, "   {line}");
    }
    out
}

/// ` (a 3, b 1)`, or nothing when empty.
fn breakdown(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(" ({})", parts.join(", "))
}

/// The comparison table of every strategy that ran.
pub fn comparison(experiment: &Experiment) -> String {
    let mut out = String::new();
    let header = [
        "strategy",
        "ops/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "ok",
        "rejected",
        "errors",
        "retries",
        "anomalies",
    ];
    let rows: Vec<[String; 10]> = experiment
        .results
        .iter()
        .map(|r| {
            let s = &r.summary;
            [
                r.label.clone(),
                format!("{:.0}", s.throughput),
                format!("{:.2}", s.latency_ms.p50),
                format!("{:.2}", s.latency_ms.p99),
                format!("{:.2}", s.latency_ms.max),
                s.ok.to_string(),
                s.rejected().to_string(),
                s.errors.to_string(),
                s.retries.to_string(),
                anomalies(r),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            // The first and last columns are text, left-aligned; the numbers align right.
            let _ = if i == 0 || i == cells.len() - 1 {
                write!(text, "{cell:<width$}  ", width = widths[i])
            } else {
                write!(text, "{cell:>width$}  ", width = widths[i])
            };
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(&header);
    for row in &rows {
        line(&row.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// `none`, or the anomalies by kind: `lost_update 4, ledger_mismatch 1`.
fn anomalies(result: &StrategyResult) -> String {
    let counts = result.check.anomaly_counts();
    if counts.is_empty() {
        return "none".to_owned();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(kind, n)| format!("{} {n}", kind.as_str()))
        .collect();
    parts.join(", ")
}

/// The closing line.
#[derive(Debug)]
pub struct Closing<'a>(pub &'a Experiment);

impl fmt::Display for Closing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let experiment = self.0;
        if experiment.interrupted {
            writeln!(
                f,
                "interrupted: the figures above cover the load until Ctrl-C"
            )?;
        }
        let inconsistent: Vec<&str> = experiment
            .results
            .iter()
            .filter(|r| !r.is_consistent())
            .map(|r| r.label.as_str())
            .collect();
        if inconsistent.is_empty() {
            write!(f, "verdict: no anomaly under any strategy that ran")
        } else {
            write!(f, "verdict: anomalies under {}", inconsistent.join(", "))
        }
    }
}
