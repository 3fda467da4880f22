//! Adjust throughput on SQLite: 64 concurrent clients over 1,000 products.
//!
//! Run: `cargo bench -p stocklab --bench adjust_throughput` (`STOCKLAB_BENCH_SECONDS` sets the
//! measured time, default 10). It starts the release `stocklab` binary as a separate process on
//! a fresh SQLite file, creates 1,000 products through the lab reset, then lets 64 clients (each
//! one keep-alive HTTP connection, closed loop) withdraw or receive one unit of a random product
//! as fast as the service answers. It reports requests per second, latency percentiles and the
//! service's resident memory (sampled from /proc during the run), checks the ledger audit
//! afterwards, and compares against the targets of issue #2: at least 10,000 adjusts/s and under
//! 50 MiB.
//!
//! Client and server share the machine's cores, as they do in the target.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use support::{CLIENTS, Server, adjust_load, client, peak_rss_mib, reset, verdict};

const PRODUCTS: usize = 1000;
const TARGET_PER_SECOND: f64 = 10_000.0;
const TARGET_RSS_MIB: f64 = 50.0;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let seconds = support::seconds(10);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(dir.path(), &[]);
    let client = client();
    let ids = reset(&client, &server.base_url, PRODUCTS, 1_000_000).await;
    drop(adjust_load(&client, &server.base_url, &ids, "", Duration::from_secs(1)).await);

    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(peak_rss_mib(server.pid(), Arc::clone(&sampling)));
    let measured = adjust_load(
        &client,
        &server.base_url,
        &ids,
        "",
        Duration::from_secs(seconds),
    )
    .await;
    sampling.store(false, Ordering::SeqCst);
    let peak_rss = sampler.await.expect("the sampler finished");

    let audit: serde_json::Value = client
        .get(format!("{}/api/audit", server.base_url))
        .send()
        .await
        .expect("audit answers")
        .json()
        .await
        .expect("audit JSON");
    let per_second = measured.per_second();
    println!("adjust throughput: SQLite, {CLIENTS} clients, {PRODUCTS} products, {seconds} s");
    println!("  requests        {:>10}", measured.latencies_us.len());
    println!("  errors          {:>10}", measured.failures);
    println!(
        "  adjusts/s       {per_second:>10.0}   (target >= {TARGET_PER_SECOND:.0}) {}",
        verdict(per_second >= TARGET_PER_SECOND)
    );
    println!("  latency p50     {:>10.2} ms", measured.latency_ms(0.50));
    println!("  latency p99     {:>10.2} ms", measured.latency_ms(0.99));
    println!("  latency max     {:>10.2} ms", measured.latency_ms(1.0));
    println!(
        "  server peak RSS {peak_rss:>10.1} MiB (target < {TARGET_RSS_MIB:.0}) {}",
        verdict(peak_rss < TARGET_RSS_MIB)
    );
    println!("  audit ok        {:>10}", audit["ok"]);
}
