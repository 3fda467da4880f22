//! Adjust throughput on SQLite: 64 concurrent clients over 1,000 products.
//!
//! Run: `cargo bench -p stocklab --bench adjust_throughput` (`STOCKLAB_BENCH_SECONDS` sets the
//! measured time, default 10). It starts the release `stocklab` binary as a separate process on
//! a fresh SQLite file, creates 1,000 products, then lets 64 clients (each one keep-alive HTTP
//! connection, closed loop) withdraw or receive one unit of a random product as fast as the
//! service answers. It reports requests per second, latency percentiles and the service's
//! resident memory (sampled from /proc during the run), checks the ledger audit afterwards, and
//! compares against the targets of issue #2: at least 10,000 adjusts/s and under 50 MiB.
//!
//! Client and server share the machine's cores, as they do in the target; a faster
//! client leaves more CPU to the server.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::json;

const CLIENTS: usize = 64;
const PRODUCTS: usize = 1000;
const TARGET_PER_SECOND: f64 = 10_000.0;
const TARGET_RSS_MIB: f64 = 50.0;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds: u64 = std::env::var("STOCKLAB_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut server = Server::start(dir.path());
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .expect("a client");

    let ids = create_products(&client, &server.base_url).await;
    let warm_up = run_clients(&client, &server.base_url, &ids, Duration::from_secs(1)).await;
    drop(warm_up);

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_peak_rss(server.pid(), Arc::clone(&sampling)));
    let started = Instant::now();
    let result = run_clients(
        &client,
        &server.base_url,
        &ids,
        Duration::from_secs(seconds),
    )
    .await;
    let elapsed = started.elapsed();
    sampling.store(false, Ordering::SeqCst);
    let peak_rss_mib = sampler.await.expect("the sampler finished") as f64 / 1024.0;

    let audit: serde_json::Value = client
        .get(format!("{}/api/audit", server.base_url))
        .send()
        .await
        .expect("audit answers")
        .json()
        .await
        .expect("audit JSON");
    server.stop();

    let mut latencies = result.latencies_us;
    latencies.sort_unstable();
    let per_second = latencies.len() as f64 / elapsed.as_secs_f64();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!("adjust throughput: SQLite, {CLIENTS} clients, {PRODUCTS} products, {seconds} s");
    println!("  requests        {:>10}", latencies.len());
    println!("  errors          {:>10}", result.errors);
    println!(
        "  adjusts/s       {per_second:>10.0}   (target >= {TARGET_PER_SECOND:.0}) {}",
        verdict(per_second >= TARGET_PER_SECOND)
    );
    println!("  latency p50     {:>10.2} ms", percentile(0.50));
    println!("  latency p99     {:>10.2} ms", percentile(0.99));
    println!("  latency max     {:>10.2} ms", percentile(1.0));
    println!(
        "  server peak RSS {peak_rss_mib:>10.1} MiB (target < {TARGET_RSS_MIB:.0}) {}",
        verdict(peak_rss_mib < TARGET_RSS_MIB)
    );
    println!("  audit ok        {:>10}", audit["ok"]);
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT MET" }
}

struct Server {
    child: Child,
    base_url: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stocklab"))
            .args(["serve", "--addr", "127.0.0.1:0", "--no-demo-data"])
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

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn create_products(client: &reqwest::Client, base_url: &str) -> Vec<i64> {
    let mut ids = Vec::with_capacity(PRODUCTS);
    for n in 0..PRODUCTS {
        let product: serde_json::Value = client
            .post(format!("{base_url}/api/products"))
            .json(&json!({"sku": format!("BENCH-{n:04}"), "name": format!("Bench product {n}"), "stock": 1_000_000}))
            .send()
            .await
            .expect("create answers")
            .json()
            .await
            .expect("a product");
        ids.push(product["id"].as_i64().expect("an id"));
    }
    ids
}

#[derive(Default)]
struct RunResult {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// Runs the closed-loop clients for `duration`; each keeps one request outstanding.
async fn run_clients(
    client: &reqwest::Client,
    base_url: &str,
    ids: &[i64],
    duration: Duration,
) -> RunResult {
    let deadline = Instant::now() + duration;
    let ids = Arc::new(ids.to_vec());
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (client, ids, base_url) = (client.clone(), Arc::clone(&ids), base_url.to_owned());
            tokio::spawn(async move {
                let mut result = RunResult::default();
                let mut rng = rand::rngs::SmallRng::from_rng(&mut rand::rng());
                while Instant::now() < deadline {
                    let id = ids[rng.random_range(0..ids.len())];
                    let delta = if rng.random_bool(0.5) { 1 } else { -1 };
                    let sent = Instant::now();
                    let ok = client
                        .post(format!("{base_url}/api/products/{id}/adjust"))
                        .json(&json!({"delta": delta}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        let micros = sent.elapsed().as_micros();
                        result
                            .latencies_us
                            .push(u32::try_from(micros).unwrap_or(u32::MAX));
                    } else {
                        result.errors += 1;
                    }
                }
                result
            })
        })
        .collect();
    let mut total = RunResult::default();
    for worker in workers {
        let result = worker.await.expect("a client did not panic");
        total.latencies_us.extend(result.latencies_us);
        total.errors += result.errors;
    }
    total
}

/// The highest resident set size of `pid`, in KiB, sampled every 50 ms while `running`.
async fn sample_peak_rss(pid: u32, running: Arc<AtomicBool>) -> u64 {
    let mut peak = 0;
    while running.load(Ordering::SeqCst) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        peak = peak.max(rss_kib);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    peak
}
