//! The linearizability search: histories it must accept, one it must refuse, one it cannot decide
//! in time.

mod support;

use std::time::Duration;

use stocklab_check::AnomalyKind;
use stocklab_check::report::LinearizabilityVerdict;
use support::{P, Q, Timeline, assert_consistent, kinds};

const ENOUGH: Duration = Duration::from_secs(10);

#[test]
fn overlapping_operations_in_a_possible_order_are_linearizable() {
    // The receipt completes last but took effect after the withdrawal (versions 2 and 1), and the
    // read, concurrent with both, saw them both.
    let mut t = Timeline::new(&[(P, 10, 0), (Q, 5, 0)]);
    t.receive(P, 5, 0..100).ok(13, 2);
    t.withdraw(P, 2, 10..50).ok(8, 1);
    t.read(P, 20..120).ok(13, 2);
    t.order(&[(P, 3), (Q, 1)], 110..130)
        .ok_states(&[(P, 10, 3), (Q, 4, 1)]);
    t.stock_take(Q, 7, Some(1), 125..140).ok(7, 2);
    t.withdraw(Q, 9, 150..160).fail("insufficient_stock");
    t.end(&[(P, 10, 3), (Q, 7, 2)]);
    let report = t.check_linearizability(ENOUGH);
    assert_consistent(&report);
    assert_eq!(
        report.linearizability.verdict,
        LinearizabilityVerdict::Linearizable
    );
    assert_eq!(report.linearizability.products.len(), 2);
}

#[test]
fn unknown_operations_may_take_effect_late_or_never() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 4, 0..10).unknown();
    t.withdraw(P, 1, 20..30).ok(9, 1);
    t.receive(P, 2, 25..26).unknown();
    // The withdrawal of 4 took effect long after its client gave up, the receipt never.
    t.read(P, 100..110).ok(5, 2);
    let report = t.check_linearizability(ENOUGH);
    assert_consistent(&report);
    assert_eq!(
        report.linearizability.verdict,
        LinearizabilityVerdict::Linearizable
    );
}

#[test]
fn reads_that_go_back_in_time_are_not_linearizable() {
    // Each check alone lets this pass: both reads are within the bounds the withdrawal sets. Only
    // the search sees that the second read, invoked after the first had seen the withdrawal,
    // returned the state from before it.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..100).ok(9, 1);
    t.read(P, 10..20).ok(9, 1);
    t.read(P, 30..40).ok(10, 0);
    let report = t.check();
    assert_consistent(&report);
    let report = t.check_linearizability(ENOUGH);
    assert_eq!(kinds(&report), [AnomalyKind::NonLinearizable], "{report}");
    assert_eq!(
        report.linearizability.verdict,
        LinearizabilityVerdict::NotLinearizable
    );
    let anomaly = &report.anomalies[0];
    assert_eq!(
        anomaly.operations[0].id, 3,
        "the second read is where it got stuck"
    );
    assert_eq!(
        (anomaly.values["stock_then"], anomaly.values["version_then"]),
        (9, 1)
    );
}

#[test]
fn a_search_that_runs_out_of_time_is_undecided() {
    // Twenty unknown receipts of distinct powers of two give a distinct state for every subset,
    // and the final read matches none of them: the search would have to try all 2^20 before
    // saying no.
    let mut t = Timeline::new(&[(P, 0, 0)]);
    for i in 0..20 {
        t.receive(P, 1 << i, i..1_000).unknown();
    }
    t.read(P, 2_000..2_010).ok(1 << 20, 20);
    let report = t.check_linearizability(Duration::from_millis(50));
    assert_eq!(
        report.linearizability.verdict,
        LinearizabilityVerdict::Unknown,
        "{report}"
    );
    assert_consistent(&report);
    assert!(report.to_string().contains("1 undecided"), "{report}");
}

#[test]
fn a_zero_time_limit_decides_nothing() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    let report = t.check_linearizability(Duration::ZERO);
    assert_eq!(
        report.linearizability.verdict,
        LinearizabilityVerdict::Unknown
    );
    assert!(report.is_consistent());
}
