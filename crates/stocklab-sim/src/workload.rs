//! What each client asks for, drawn from a seeded random generator.
//!
//! Every client has a generator of its own, seeded from the experiment's seed and the client's
//! number, so a seed gives the same sequence of intents per client whatever the interleaving.
//! Products are drawn as indices into the experiment's product list (so the same seed picks the
//! same products after a reset gave them new ids). Only what depends on the service's answers
//! (a stock-take's counted quantity and expected version, taken from the read before it) is
//! decided later, by the runner.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Zipf};
use stocklab_check::history::OrderLine;

use crate::plan::{Mix, OpClass, Skew};

/// One thing a client means to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Withdraw {
        product: i64,
        quantity: i64,
    },
    Receive {
        product: i64,
        quantity: i64,
    },
    /// Read the product, then count it at the version read: the stock read plus `discrepancy`
    /// (what a real count finds), but not below 0.
    StockTake {
        product: i64,
        discrepancy: i64,
    },
    /// One to three lines on distinct products.
    Order {
        lines: Vec<OrderLine>,
    },
    Read {
        product: i64,
    },
}

/// A client's source of intents.
#[derive(Debug, Clone)]
pub struct Workload {
    rng: SmallRng,
    mix: Mix,
    picker: Picker,
}

impl Workload {
    /// The generator of client `client` in an experiment seeded with `seed`.
    pub fn new(seed: u64, client: u32, mix: Mix, skew: Skew, products: &[i64]) -> Self {
        // A different, well-spread seed per client: the golden-ratio step keeps neighbouring
        // client numbers far apart before SmallRng's own seeding mixes them further.
        let client_seed = seed ^ u64::from(client).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self {
            rng: SmallRng::seed_from_u64(client_seed),
            mix,
            picker: Picker::new(skew, products.to_vec()),
        }
    }

    pub fn next_intent(&mut self) -> Intent {
        let rng = &mut self.rng;
        match self.mix.pick(rng) {
            OpClass::Withdraw => Intent::Withdraw {
                product: self.picker.pick(rng),
                quantity: rng.random_range(1..=3),
            },
            OpClass::Receive => Intent::Receive {
                product: self.picker.pick(rng),
                quantity: rng.random_range(1..=3),
            },
            OpClass::StockTake => Intent::StockTake {
                product: self.picker.pick(rng),
                discrepancy: rng.random_range(-2..=2),
            },
            OpClass::Order => {
                let wanted = rng.random_range(1..=3).min(self.picker.len());
                let mut lines: Vec<OrderLine> = Vec::with_capacity(wanted);
                // Bounded, so that a very skewed pick cannot loop for long: an order may end
                // up with fewer lines than drawn.
                for _ in 0..wanted * 4 {
                    if lines.len() == wanted {
                        break;
                    }
                    let product = self.picker.pick(rng);
                    if lines.iter().all(|line| line.product != product) {
                        lines.push(OrderLine {
                            product,
                            quantity: rng.random_range(1..=2),
                        });
                    }
                }
                Intent::Order { lines }
            }
            OpClass::Read => Intent::Read {
                product: self.picker.pick(rng),
            },
        }
    }
}

/// Picks a product id according to the skew.
#[derive(Debug, Clone)]
struct Picker {
    products: Vec<i64>,
    how: Pick,
}

#[derive(Debug, Clone)]
enum Pick {
    Uniform,
    Hot(f64),
    Zipf(Zipf<f64>),
}

impl Picker {
    /// `products` is never empty: the runner refuses an experiment without products.
    fn new(skew: Skew, products: Vec<i64>) -> Self {
        let how = match skew {
            Skew::Uniform => Pick::Uniform,
            Skew::Hot(share) => Pick::Hot(share),
            // `args` accepts only exponents the distribution takes; fall back to uniform
            // rather than fail deep inside a client if that ever changes.
            Skew::Zipf(exponent) => {
                Zipf::new(products.len() as f64, exponent).map_or(Pick::Uniform, Pick::Zipf)
            }
        };
        Self { products, how }
    }

    fn len(&self) -> usize {
        self.products.len()
    }

    fn pick(&self, rng: &mut SmallRng) -> i64 {
        let n = self.products.len();
        let index = match &self.how {
            Pick::Uniform => rng.random_range(0..n),
            Pick::Hot(share) => {
                if n == 1 || rng.random_bool(*share) {
                    0
                } else {
                    rng.random_range(1..n)
                }
            }
            // Zipf draws a rank from 1 to n, as a float.
            Pick::Zipf(zipf) => (zipf.sample(rng) as usize).clamp(1, n) - 1,
        };
        self.products[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intents(seed: u64, client: u32, skew: Skew, n: usize) -> Vec<Intent> {
        let products: Vec<i64> = (101..=110).collect();
        let mut workload = Workload::new(seed, client, Mix::default(), skew, &products);
        (0..n).map(|_| workload.next_intent()).collect()
    }

    fn product_of(intent: &Intent) -> i64 {
        match intent {
            Intent::Withdraw { product, .. }
            | Intent::Receive { product, .. }
            | Intent::StockTake { product, .. }
            | Intent::Read { product } => *product,
            Intent::Order { lines } => lines[0].product,
        }
    }

    #[test]
    fn a_seed_gives_each_client_the_same_intents_every_time() {
        assert_eq!(
            intents(42, 3, Skew::Uniform, 200),
            intents(42, 3, Skew::Uniform, 200)
        );
        assert_ne!(
            intents(42, 3, Skew::Uniform, 200),
            intents(42, 4, Skew::Uniform, 200),
            "clients differ"
        );
        assert_ne!(
            intents(42, 3, Skew::Uniform, 200),
            intents(43, 3, Skew::Uniform, 200),
            "seeds differ"
        );
    }

    #[test]
    fn the_hot_share_goes_to_the_first_product() {
        let picks = intents(1, 0, Skew::Hot(0.8), 10_000);
        let hot = picks.iter().filter(|i| product_of(i) == 101).count();
        assert!(
            (7_700..8_300).contains(&hot),
            "{hot} of 10000 on the hot product"
        );
        let all_hot = intents(1, 0, Skew::Hot(1.0), 500);
        assert!(all_hot.iter().all(|i| product_of(i) == 101));
    }

    #[test]
    fn zipf_favours_the_first_ranks() {
        let picks = intents(5, 0, Skew::Zipf(1.2), 10_000);
        let count = |id| picks.iter().filter(|i| product_of(i) == id).count();
        assert!(count(101) > count(102) && count(102) > count(110));
        assert!(picks.iter().all(|i| (101..=110).contains(&product_of(i))));
    }

    #[test]
    fn orders_name_each_product_once_and_every_kind_appears() {
        let picks = intents(9, 1, Skew::Hot(0.5), 2_000);
        for intent in &picks {
            if let Intent::Order { lines } = intent {
                assert!(!lines.is_empty() && lines.len() <= 3);
                let mut ids: Vec<i64> = lines.iter().map(|l| l.product).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), lines.len(), "{lines:?}");
            }
        }
        for kind in ["Withdraw", "Receive", "StockTake", "Order", "Read"] {
            assert!(
                picks.iter().any(|i| format!("{i:?}").starts_with(kind)),
                "{kind} appears"
            );
        }
    }
}
