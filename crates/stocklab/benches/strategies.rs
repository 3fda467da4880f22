//! Every strategy's throughput and p99 latency with 64 clients, spread over 1,000 products and
//! all on one hot product, on SQLite and, when `STOCKLAB_BENCH_MYSQL_URL` names an existing
//! database (`mysql://root@127.0.0.1:3306/stocklab_bench`), on MariaDB/MySQL too.
//!
//! Run: `cargo bench -p stocklab --bench strategies` (`STOCKLAB_BENCH_SECONDS` per measurement,
//! default 3). The release binary runs as a process of its own in lab mode; before each
//! measurement the lab reset gives a clean data set with a stock of 10^9 per product, so no
//! withdrawal is refused for lack of stock and "refused" counts only what the strategy itself
//! refused (optimistic conflicts, deadlocks, lock timeouts). No race window: this measures
//! what each protection costs, not how it fails. The table goes to stdout and to
//! `target/strategy-bench.md`, with the checks of issue #3:
//! - spread: the fastest safe strategy is at least as fast as `unsafe`;
//! - hot: `atomic` keeps at least 70% of its spread throughput.

mod support;

use std::fmt::Write as _;
use std::time::Duration;

use support::{CLIENTS, Measured, Server, adjust_load, client, reset, verdict};

const STRATEGIES: &[(&str, &str)] = &[
    ("unsafe", "strategy=unsafe"),
    ("mutex", "strategy=mutex"),
    ("per-product", "strategy=per-product"),
    ("semaphore(1)", "strategy=semaphore&permits=1"),
    ("pessimistic", "strategy=pessimistic"),
    ("optimistic", "strategy=optimistic"),
    ("atomic", "strategy=atomic"),
    (
        "transaction(serializable)",
        "strategy=transaction&isolation=serializable",
    ),
];

const WORKLOADS: &[(&str, usize)] = &[("spread", 1000), ("hot", 1)];

struct Row {
    backend: &'static str,
    workload: &'static str,
    strategy: &'static str,
    measured: Measured,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds = support::seconds(3);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut backends = vec![("sqlite", sqlite)];
    if let Ok(mysql) = std::env::var("STOCKLAB_BENCH_MYSQL_URL") {
        backends.push(("mysql", mysql));
    }
    let client = client();
    let mut rows = Vec::new();
    for (backend, url) in &backends {
        let server = Server::start(dir.path(), &["--database-url", url, "--lab"]);
        for &(workload, products) in WORKLOADS {
            for &(strategy, query) in STRATEGIES {
                let ids = reset(&client, &server.base_url, products, 1_000_000_000).await;
                let measured = adjust_load(
                    &client,
                    &server.base_url,
                    &ids,
                    query,
                    Duration::from_secs(seconds),
                )
                .await;
                eprintln!(
                    "{backend} {workload} {strategy}: {:.0}/s",
                    measured.per_second()
                );
                rows.push(Row {
                    backend,
                    workload,
                    strategy,
                    measured,
                });
            }
        }
    }

    let mut report = format!(
        "# Strategies: {CLIENTS} clients, {seconds} s each\n\n\
         | backend | workload | strategy | adjusts/s | p50 ms | p99 ms | refused |\n\
         | --- | --- | --- | ---: | ---: | ---: | ---: |\n"
    );
    for row in &rows {
        let m = &row.measured;
        let _ = writeln!(
            report,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
            row.backend,
            row.workload,
            row.strategy,
            m.per_second(),
            m.latency_ms(0.5),
            m.latency_ms(0.99),
            m.failures
        );
    }
    report.push_str("\n## Checks\n\n");
    for (backend, _) in &backends {
        let rate = |workload: &str, strategy: &str| {
            rows.iter()
                .find(|r| r.backend == *backend && r.workload == workload && r.strategy == strategy)
                .map_or(0.0, |r| r.measured.per_second())
        };
        let (fastest_safe, fastest_rate) = STRATEGIES
            .iter()
            .filter(|(name, _)| *name != "unsafe")
            .map(|(name, _)| (*name, rate("spread", name)))
            .fold(
                ("", 0.0),
                |best, next| if next.1 > best.1 { next } else { best },
            );
        let unsafe_rate = rate("spread", "unsafe");
        let _ = writeln!(
            report,
            "- {backend}, spread: fastest safe strategy ({fastest_safe}, {fastest_rate:.0}/s) >= unsafe ({unsafe_rate:.0}/s): {}",
            verdict(fastest_rate >= unsafe_rate)
        );
        let (hot, spread) = (rate("hot", "atomic"), rate("spread", "atomic"));
        let share = if spread > 0.0 {
            hot / spread * 100.0
        } else {
            0.0
        };
        let _ = writeln!(
            report,
            "- {backend}, hot: atomic keeps {share:.0}% of its spread throughput ({hot:.0}/s of {spread:.0}/s), target >= 70%: {}",
            verdict(share >= 70.0)
        );
    }
    println!("{report}");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/strategy-bench.md"
    );
    if let Err(error) = std::fs::write(path, &report) {
        eprintln!("could not write {path}: {error}");
    }
}
