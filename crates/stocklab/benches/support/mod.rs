//! What the benchmarks share: the release `stocklab` binary started as a process of its own,
//! closed-loop HTTP clients, latency percentiles and the server's resident memory.

#![allow(dead_code)] // Each benchmark uses the part it needs.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

/// Concurrent clients, as the issues' targets state them.
pub const CLIENTS: usize = 64;

/// How long each measurement runs: `STOCKLAB_BENCH_SECONDS`, or `default`.
pub fn seconds(default: u64) -> u64 {
    std::env::var("STOCKLAB_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// A `stocklab serve` process, killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
}

impl Server {
    /// Starts `stocklab serve --addr 127.0.0.1:0 --no-demo-data ARGS` in `dir`, with an empty
    /// environment but for `RUST_LOG=warn`, and waits for the URL it prints.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stocklab"))
            .args(["serve", "--addr", "127.0.0.1:0", "--no-demo-data"])
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("stocklab starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base_url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split_once("serving on ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_owned)
            })
            .expect("stocklab prints its URL");
        // Keep draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, base_url }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client that keeps up to [`CLIENTS`] connections alive and never uses a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("a client")
}

/// Replaces the data set with `products` products of `stock` each (lab reset); their ids.
pub async fn reset(
    client: &reqwest::Client,
    base_url: &str,
    products: usize,
    stock: i64,
) -> Vec<i64> {
    let reply: Value = client
        .post(format!("{base_url}/api/lab/reset"))
        .json(&json!({"products": products, "initial_stock": stock}))
        .send()
        .await
        .expect("reset answers")
        .json()
        .await
        .expect("reset JSON");
    reply["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| id.as_i64().expect("an id"))
        .collect()
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Measured {
    /// Latencies of the successful requests, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Requests that did not succeed (refusals such as 409 conflict count here).
    pub failures: u64,
    pub elapsed: Duration,
}

impl Measured {
    pub fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0.0 to 1.0), in milliseconds.
    pub fn latency_ms(&self, q: f64) -> f64 {
        let last = self.latencies_us.len().saturating_sub(1);
        let index = ((self.latencies_us.len() as f64 * q) as usize).min(last);
        self.latencies_us
            .get(index)
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    }
}

/// Runs [`CLIENTS`] closed-loop clients for `duration`, each withdrawing or receiving one unit
/// of a random product of `ids` at `POST /api/products/{id}/adjust?{query}`.
pub async fn adjust_load(
    client: &reqwest::Client,
    base_url: &str,
    ids: &[i64],
    query: &str,
    duration: Duration,
) -> Measured {
    let started = Instant::now();
    let deadline = started + duration;
    let ids = Arc::new(ids.to_vec());
    let workers: Vec<_> = (0..CLIENTS)
        .map(|worker| {
            let (client, ids) = (client.clone(), Arc::clone(&ids));
            let (base_url, query) = (base_url.to_owned(), query.to_owned());
            tokio::spawn(async move {
                let mut measured = Measured::default();
                let mut rng = rand::rngs::SmallRng::seed_from_u64(worker as u64);
                while Instant::now() < deadline {
                    let id = ids[rng.random_range(0..ids.len())];
                    let delta = if rng.random_bool(0.5) { 1 } else { -1 };
                    let sent = Instant::now();
                    let ok = client
                        .post(format!("{base_url}/api/products/{id}/adjust?{query}"))
                        .json(&json!({"delta": delta}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        let micros = sent.elapsed().as_micros();
                        measured
                            .latencies_us
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                    } else {
                        measured.failures += 1;
                    }
                }
                measured
            })
        })
        .collect();
    let mut total = Measured::default();
    for worker in workers {
        let measured = worker.await.expect("a client did not panic");
        total.latencies_us.extend(measured.latencies_us);
        total.failures += measured.failures;
    }
    total.elapsed = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// Samples the resident set size of `pid` every 50 ms until `running` is cleared; the peak in
/// MiB.
pub async fn peak_rss_mib(pid: u32, running: Arc<AtomicBool>) -> f64 {
    let mut peak_kib: u64 = 0;
    while running.load(Ordering::SeqCst) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        peak_kib = peak_kib.max(rss_kib);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peak_kib as f64 / 1024.0
}

/// "met" or "NOT MET".
pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}
