//! Histories of a correct service, with overlapping operations and unknown outcomes: the checker
//! must find nothing. A false alarm here is worse than a missed anomaly.

mod support;

use std::time::Duration;

use support::{P, Q, Timeline, assert_consistent};

#[test]
fn sequential_changes_of_every_kind_are_consistent() {
    let mut t = Timeline::new(&[(P, 10, 0), (Q, 3, 7)]);
    t.withdraw(P, 4, 0..10).ok(6, 1);
    t.receive(P, 2, 20..30).ok(8, 2);
    t.order(&[(P, 1), (Q, 2), (P, 1)], 40..50)
        .ok_states(&[(P, 6, 3), (Q, 1, 8)]);
    t.read(P, 60..70).ok(6, 3);
    t.stock_take(Q, 10, Some(8), 80..90).ok(10, 9);
    t.withdraw(Q, 20, 100..110).fail("insufficient_stock");
    t.end(&[(P, 6, 3), (Q, 10, 9)]);
    let report = t.check();
    assert_consistent(&report);
    assert_eq!(report.operations, 6);
    assert_eq!(report.outcomes.ok, 5);
    assert_eq!(report.outcomes.fail, 1);
    assert!(
        report
            .to_string()
            .ends_with("verdict: CONSISTENT (no anomaly in 6 operations)"),
        "{report}"
    );
}

#[test]
fn overlapping_changes_in_an_order_other_than_completion_are_consistent() {
    // Three concurrent withdrawals; the last to complete took effect first.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..100).ok(7, 3);
    t.withdraw(P, 2, 5..90).ok(8, 2);
    t.withdraw(P, 0, 10..200).ok(10, 1);
    t.end(&[(P, 7, 3)]);
    assert_consistent(&t.check());
}

#[test]
fn unknown_changes_that_happened_are_consistent() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.withdraw(P, 2, 5..1_000).unknown();
    t.receive(P, 3, 20..30).ok(10, 3);
    t.end(&[(P, 10, 3)]);
    assert_consistent(&t.check());
}

#[test]
fn unknown_changes_that_never_happened_are_consistent() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 2, 0..1_000).unknown();
    t.stock_take(P, 99, None, 0..1_000).unknown();
    t.withdraw(P, 1, 50..60).ok(9, 1);
    t.end(&[(P, 9, 1)]);
    assert_consistent(&t.check());
}

#[test]
fn an_unknown_stock_take_may_have_been_the_last_one() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.stock_take(P, 40, None, 0..10).ok(40, 1);
    t.stock_take(P, 30, None, 5..1_000).unknown();
    t.withdraw(P, 5, 20..30).ok(35, 2);
    // The unknown stock-take landed after the withdrawal.
    t.end(&[(P, 30, 3)]);
    assert_consistent(&t.check());
}

#[test]
fn a_history_without_an_end_is_checked_without_final_states() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    let report = t.check();
    assert_consistent(&report);
    assert!(
        report.notes.iter().any(|n| n.contains("no end record")),
        "{report}"
    );
}

#[test]
fn reads_concurrent_with_changes_may_see_either_side() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 10..50).ok(9, 1);
    t.read(P, 0..20).ok(10, 0);
    t.read(P, 20..30).ok(9, 1);
    t.read(P, 40..60).ok(10, 0);
    t.receive(P, 5, 55..70).ok(14, 2);
    t.read(P, 65..80).ok(9, 1);
    t.read(P, 90..95).ok(14, 2);
    t.end(&[(P, 14, 2)]);
    assert_consistent(&t.check());
}

#[test]
fn reads_may_see_an_unknown_change_or_not() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 3, 0..10).unknown();
    t.read(P, 20..30).ok(7, 1);
    t.receive(P, 1, 5..15).unknown();
    t.read(P, 40..50).ok(8, 2);
    t.withdraw(P, 1, 60..70).ok(7, 3);
    t.end(&[(P, 7, 3)]);
    assert_consistent(&t.check());
}

#[test]
fn versions_that_follow_each_other_through_overlap_reads_and_unknowns_are_consistent() {
    // Each change builds on the version before its own, whichever report pins that version: a
    // change, a read, or nothing at all when only an unknown change can have made it.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 2, 0..100).ok(8, 1);
    t.receive(P, 5, 10..90).ok(13, 2);
    t.read(P, 20..95).ok(13, 2);
    t.withdraw(P, 1, 30..200).unknown();
    t.read(P, 150..160).ok(12, 3);
    t.order(&[(P, 2)], 140..300).ok_states(&[(P, 10, 4)]);
    t.withdraw(P, 50, 305..308).fail("insufficient_stock");
    t.stock_take(P, 50, Some(4), 310..320).ok(50, 5);
    t.receive(P, 1, 325..400).unknown();
    t.withdraw(P, 5, 330..340).ok(46, 7);
    t.end(&[(P, 46, 7)]);
    // The search agrees that a correct service can produce it.
    assert_consistent(&t.check_linearizability(Duration::from_secs(10)));
}

#[test]
fn a_stock_take_without_an_expected_version_may_follow_any_change() {
    // A blind count replaces whatever was there: it builds on the version before it by design.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..100).ok(9, 1);
    t.stock_take(P, 20, None, 10..30).ok(20, 2);
    t.end(&[(P, 20, 2)]);
    assert_consistent(&t.check());
}
