//! The demo catalogue: a small hardware and home store, so a fresh `stocklab serve` has
//! something realistic to sell. Stocks vary on purpose: a few items are nearly sold out, so an
//! order or a withdrawal can be refused for lack of stock right away.

use stocklab_domain::NewProduct;

const CATALOGUE: &[(&str, &str, i64)] = &[
    ("HW-HAMMER-16", "Claw hammer, 16 oz", 42),
    ("HW-SCREWDRIVER-SET", "Screwdriver set, 8 pieces", 25),
    ("HW-DRILL-18V", "Cordless drill, 18 V", 12),
    ("HW-DRILL-BITS-HSS", "HSS drill bit set, 19 pieces", 30),
    ("HW-TAPE-5M", "Measuring tape, 5 m", 60),
    ("HW-LEVEL-60", "Spirit level, 60 cm", 18),
    ("HW-PLIERS-COMBI", "Combination pliers, 180 mm", 35),
    ("HW-WRENCH-ADJ-10", "Adjustable wrench, 10 in", 22),
    ("HW-SAW-HAND", "Hand saw, 500 mm", 15),
    ("HW-UTILITY-KNIFE", "Utility knife with 10 blades", 80),
    ("FX-SCREWS-4X40", "Wood screws 4x40 mm, box of 200", 150),
    ("FX-NAILS-50", "Wire nails 50 mm, 1 kg", 95),
    ("FX-ANCHORS-8MM", "Wall anchors 8 mm, pack of 50", 120),
    ("FX-BOLTS-M8", "Hex bolts M8x60, pack of 25", 70),
    ("EL-BULB-LED-E27", "LED bulb E27, 9 W warm white", 200),
    ("EL-EXT-CORD-10M", "Extension cord, 10 m", 28),
    ("EL-POWER-STRIP-6", "Power strip, 6 sockets", 40),
    ("EL-BATTERY-AA-8", "AA batteries, pack of 8", 250),
    ("EL-SMOKE-ALARM", "Smoke alarm, 10-year battery", 3),
    ("PT-PAINT-WHITE-5L", "Interior paint, white, 5 l", 36),
    ("PT-ROLLER-SET", "Paint roller set, 25 cm", 44),
    ("PT-BRUSH-50", "Paint brush, 50 mm", 90),
    ("PT-MASKING-TAPE", "Masking tape, 38 mm x 50 m", 130),
    ("PT-DROP-CLOTH", "Drop cloth, 4 x 5 m", 2),
    ("GD-HOSE-25M", "Garden hose, 25 m", 14),
    ("GD-GLOVES-L", "Gardening gloves, size L", 65),
    ("GD-PRUNER", "Bypass pruner", 27),
    ("GD-SOIL-40L", "Potting soil, 40 l", 48),
    ("GD-WATERING-CAN", "Watering can, 10 l", 1),
    ("PL-TEFLON-TAPE", "PTFE thread seal tape", 140),
    ("PL-SILICONE-CLEAR", "Sanitary silicone, clear, 310 ml", 55),
    ("PL-PLUNGER", "Sink plunger", 19),
    ("SF-GOGGLES", "Safety goggles", 75),
    ("SF-EAR-DEFENDERS", "Ear defenders, SNR 30 dB", 24),
    ("SF-DUST-MASK-FFP2", "FFP2 dust masks, pack of 10", 0),
    ("SF-FIRST-AID-KIT", "First aid kit, workshop", 9),
];

/// The demo products, parsed as any client's input would be.
pub fn catalogue() -> Vec<NewProduct> {
    CATALOGUE
        .iter()
        .map(|&(sku, name, stock)| NewProduct::parse(sku, name, stock))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|error| unreachable!("the demo catalogue is valid: {error}"))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_catalogue_is_valid_and_skus_are_unique() {
        let products = catalogue();
        assert!(products.len() >= 30, "a few dozen products");
        let skus: HashSet<_> = products.iter().map(|p| p.sku.as_str().to_owned()).collect();
        assert_eq!(skus.len(), products.len());
    }
}
