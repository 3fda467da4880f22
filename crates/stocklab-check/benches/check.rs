//! How long reading and checking a large history takes: 1,000,000 operations over 1,000 products,
//! without the linearizability search. The target is under 5 s for both together.
//!
//! `cargo bench -p stocklab-check` (add `-- <operations> <products>` for another size). The history
//! is generated from a fixed seed by a model of a correct service, with overlapping operations,
//! refusals and unknown outcomes, written to a temporary file, then read back and checked.
#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use stocklab_check::history::{
    End, OpKind, Operation, OrderLine, Outcome, ProductState, Record, Start,
};
use stocklab_check::{CheckOptions, History, check};

const TARGET: Duration = Duration::from_secs(5);

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let operations: usize = args.next().map_or(1_000_000, |a| a.parse().unwrap());
    let products: usize = args.next().map_or(1_000, |a| a.parse().unwrap());

    let path =
        std::env::temp_dir().join(format!("stocklab-check-bench-{}.jsonl", std::process::id()));
    let generated = Instant::now();
    let records = generate(operations, products, 0x5eed);
    write(&path, &records);
    let size = std::fs::metadata(&path).unwrap().len();
    println!(
        "generated {operations} operations over {products} products ({:.0} MB) in {:.2?}",
        size as f64 / 1e6,
        generated.elapsed()
    );
    drop(records);

    let started = Instant::now();
    let history = History::from_path(&path).unwrap();
    let read = started.elapsed();
    let report = check(&history, &CheckOptions::default());
    let total = started.elapsed();
    std::fs::remove_file(&path).unwrap();

    println!("read:  {read:.2?}");
    println!("check: {:.2?}", total - read);
    println!(
        "total: {total:.2?} ({} the 5 s target)",
        if total < TARGET { "under" } else { "OVER" }
    );
    println!("{}", report.to_string().lines().last().unwrap_or_default());
    assert!(
        report.is_consistent(),
        "a correct service's history must check clean:\n{report}"
    );
}

/// A small, seeded generator (SplitMix64): the same history on every run, with no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A history of a correct service: each operation takes effect at its own moment, one microsecond
/// after the previous one, and its invocation and completion are spread up to 200 µs around it,
/// so that many operations overlap. About 1 in 100 ends unknown, half of those having happened.
fn generate(operations: usize, products: usize, seed: u64) -> Vec<Record> {
    let mut rng = Rng(seed);
    let mut states: Vec<ProductState> = (0..products as i64)
        .map(|product| ProductState {
            product: product + 1,
            stock: 100 + rng.below(100) as i64,
            version: rng.below(5) as i64,
        })
        .collect();
    let start = Start {
        strategy: Some("atomic".to_owned()),
        race_window_ms: 0,
        products: states.clone(),
    };
    let mut ops = Vec::with_capacity(operations);
    for moment in 0..operations as u64 {
        let at = 1_000 + moment;
        let invoke_us = at - rng.below(200);
        let complete_us = at + rng.below(200);
        let unknown = rng.below(100) == 0;
        let happened = !unknown || rng.below(2) == 0;
        let pick = |rng: &mut Rng| rng.below(products as u64) as usize;
        let roll = rng.below(100);
        let mut stale_version = false;
        let (kind, touched): (OpKind, Vec<(usize, i64)>) = match roll {
            0..40 => {
                let i = pick(&mut rng);
                let quantity = 1 + rng.below(5) as i64;
                (
                    OpKind::Withdraw {
                        product: states[i].product,
                        quantity,
                    },
                    vec![(i, -quantity)],
                )
            }
            40..55 => {
                let i = pick(&mut rng);
                let quantity = 1 + rng.below(20) as i64;
                (
                    OpKind::Receive {
                        product: states[i].product,
                        quantity,
                    },
                    vec![(i, quantity)],
                )
            }
            55..60 => {
                let i = pick(&mut rng);
                let quantity = rng.below(200) as i64;
                // Now and then a client expects a version that is already stale.
                let expected_version =
                    (rng.below(2) == 0).then(|| states[i].version - rng.below(2) as i64);
                stale_version = expected_version.is_some_and(|v| v != states[i].version);
                let kind = OpKind::StockTake {
                    product: states[i].product,
                    quantity,
                    expected_version,
                };
                (kind, vec![(i, quantity - states[i].stock)])
            }
            60..70 => {
                let mut lines: Vec<(usize, i64)> = (0..1 + rng.below(3))
                    .map(|_| (pick(&mut rng), 1 + rng.below(3) as i64))
                    .collect();
                let kind = OpKind::Order {
                    lines: lines
                        .iter()
                        .map(|&(i, quantity)| OrderLine {
                            product: states[i].product,
                            quantity,
                        })
                        .collect(),
                };
                lines.sort_unstable();
                lines.dedup_by(|later, kept| {
                    let same = later.0 == kept.0;
                    if same {
                        kept.1 += later.1;
                    }
                    same
                });
                (
                    kind,
                    lines
                        .into_iter()
                        .map(|(i, quantity)| (i, -quantity))
                        .collect(),
                )
            }
            _ => {
                let i = pick(&mut rng);
                (
                    OpKind::Read {
                        product: states[i].product,
                    },
                    Vec::new(),
                )
            }
        };
        let short = touched
            .iter()
            .any(|&(i, delta)| states[i].stock + delta < 0);
        let refused = if stale_version {
            Some("version_mismatch")
        } else {
            short.then_some("insufficient_stock")
        };
        let outcome = if unknown {
            if happened && refused.is_none() {
                apply(&mut states, &touched);
            }
            Outcome::Unknown {
                reason: "timeout".to_owned(),
            }
        } else if let Some(code) = refused {
            Outcome::Fail {
                code: code.to_owned(),
                status: 409,
            }
        } else {
            apply(&mut states, &touched);
            let mut reported: Vec<ProductState> = touched.iter().map(|&(i, _)| states[i]).collect();
            if let OpKind::Read { product } = kind {
                reported.push(states[(product - 1) as usize]);
            }
            Outcome::Ok { states: reported }
        };
        ops.push(Operation {
            id: 0,
            client: rng.below(64) as u32,
            kind,
            invoke_us,
            complete_us,
            outcome,
        });
    }
    // Ids in invocation order, lines in completion order, as the simulator writes them.
    ops.sort_by_key(|op| op.invoke_us);
    for (id, op) in ops.iter_mut().enumerate() {
        op.id = id as u64;
    }
    ops.sort_by_key(|op| op.complete_us);
    let end = End {
        products: states,
        audit_mismatches: Vec::new(),
    };
    std::iter::once(Record::Start(start))
        .chain(ops.into_iter().map(Record::Op))
        .chain(std::iter::once(Record::End(end)))
        .collect()
}

/// Applies each (product index, delta) and bumps its version.
fn apply(states: &mut [ProductState], touched: &[(usize, i64)]) {
    for &(i, delta) in touched {
        states[i].stock += delta;
        states[i].version += 1;
    }
}

fn write(path: &Path, records: &[Record]) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    for record in records {
        serde_json::to_writer(&mut out, record).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
}
