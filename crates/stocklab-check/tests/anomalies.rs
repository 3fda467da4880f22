//! One history per kind of anomaly, each the smallest timeline that shows it.

mod support;

use stocklab_check::AnomalyKind;
use support::{P, Q, Timeline, kinds};

#[test]
fn two_withdrawals_that_report_the_same_version_are_a_lost_update() {
    // The unsafe strategy: both read 10 at version 4, both write 9 at version 5.
    let mut t = Timeline::new(&[(P, 10, 4)]);
    t.withdraw(P, 1, 0..100).ok(9, 5);
    t.withdraw(P, 1, 10..110).ok(9, 5);
    t.end(&[(P, 9, 5)]);
    let report = t.check();
    assert_eq!(
        kinds(&report),
        [AnomalyKind::LostUpdate, AnomalyKind::Conservation],
        "{report}"
    );
    let lost = &report.anomalies[0];
    assert_eq!(lost.product, P);
    let ids: Vec<u64> = lost.operations.iter().map(|o| o.id).collect();
    assert_eq!(ids, [1, 2]);
    assert_eq!(lost.operations[1].invoke_us, 10);
    assert_eq!(lost.operations[1].version, Some(5));
    assert_eq!(lost.values["version"], 5);
    assert!(
        report
            .to_string()
            .ends_with("verdict: 2 anomalies: 1 lost update, 1 conservation violation"),
        "{report}"
    );
}

#[test]
fn reads_after_a_lost_update_are_judged_by_reported_versions_not_counts() {
    // The lost update is reported once; the reads that follow it see what was written.
    let mut t = Timeline::new(&[(P, 10, 4)]);
    t.withdraw(P, 1, 0..100).ok(9, 5);
    t.withdraw(P, 1, 10..110).ok(9, 5);
    t.read(P, 200..210).ok(9, 5);
    t.read(P, 300..310).ok(9, 5);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::LostUpdate], "{report}");
}

#[test]
fn a_withdrawal_that_did_not_build_on_the_version_before_its_own_is_a_lost_update() {
    // The unsafe strategy, with the version bumped in SQL: both read 10 at version 4 and both
    // write 9, at versions 5 and 6. Version 6 should have stock 8.
    let mut t = Timeline::new(&[(P, 10, 4)]);
    t.withdraw(P, 1, 0..100).ok(9, 5);
    t.withdraw(P, 1, 10..110).ok(9, 6);
    t.end(&[(P, 9, 6)]);
    let report = t.check();
    assert_eq!(
        kinds(&report),
        [AnomalyKind::LostUpdate, AnomalyKind::Conservation],
        "{report}"
    );
    let lost = &report.anomalies[0];
    let ids: Vec<u64> = lost.operations.iter().map(|o| o.id).collect();
    assert_eq!(
        ids,
        [2, 1],
        "the change that overwrote, then the one it overwrote"
    );
    assert_eq!(
        (lost.operations[0].delta, lost.operations[0].version),
        (Some(-1), Some(6))
    );
    assert_eq!(lost.operations[1].version, Some(5));
    assert_eq!(lost.values["version"], 6);
    assert_eq!(lost.values["previous_version"], 5);
    assert_eq!(lost.values["previous_stock"], 9);
    assert_eq!(lost.values["expected_stock"], 8);
    assert_eq!(lost.values["reported_stock"], 9);
    assert!(
        lost.message
            .starts_with("withdrawal 2 made version 6 with stock 9, but version 5")
            && lost
                .message
                .ends_with("it wrote over the change that made version 5, which it never saw"),
        "{}",
        lost.message
    );
}

#[test]
fn a_stock_take_applied_past_its_expected_version_is_a_lost_update() {
    // The counter saw version 0; the withdrawal made version 1 before the count was written
    // without a version check, so the unit it took is counted back in.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 10..20).ok(9, 1);
    t.stock_take(P, 10, Some(0), 0..30).ok(10, 2);
    t.end(&[(P, 10, 2)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::LostUpdate], "{report}");
    let lost = &report.anomalies[0];
    let ids: Vec<u64> = lost.operations.iter().map(|o| o.id).collect();
    assert_eq!(
        ids,
        [2, 1],
        "the stock-take, then the withdrawal it overwrote"
    );
    assert_eq!(lost.operations[0].set_to, Some(10));
    assert_eq!(lost.values["expected_version"], 0);
    assert_eq!(lost.values["version"], 2);
    assert_eq!(lost.values["lost_changes"], 1);
}

#[test]
fn an_order_line_that_did_not_build_on_the_version_before_its_own_is_a_lost_update() {
    // The order read P at 10 before the withdrawal of 2 wrote 8, then wrote 10 - 1.
    let mut t = Timeline::new(&[(P, 10, 0), (Q, 5, 0)]);
    t.withdraw(P, 2, 0..100).ok(8, 1);
    t.order(&[(P, 1), (Q, 1)], 10..110)
        .ok_states(&[(P, 9, 2), (Q, 4, 1)]);
    t.end(&[(P, 9, 2), (Q, 4, 1)]);
    let report = t.check();
    assert_eq!(
        kinds(&report),
        [AnomalyKind::LostUpdate, AnomalyKind::Conservation],
        "{report}"
    );
    let lost = &report.anomalies[0];
    assert_eq!(lost.product, P);
    let ids: Vec<u64> = lost.operations.iter().map(|o| o.id).collect();
    assert_eq!(ids, [2, 1]);
    assert_eq!(
        (lost.operations[0].kind, lost.operations[0].delta),
        ("order", Some(-1))
    );
    assert_eq!(lost.values["expected_stock"], 7);
    assert_eq!(lost.values["reported_stock"], 9);
}

#[test]
fn a_read_can_pin_the_version_an_unknown_change_made() {
    // Only the read shows what the unknown withdrawal left; the next change ignored it. Nothing
    // else sees it: the withdrawal of 3 may never have happened, as far as the totals go.
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 3, 0..1_000).unknown();
    t.read(P, 20..30).ok(7, 1);
    t.withdraw(P, 1, 40..50).ok(9, 2);
    t.end(&[(P, 9, 2)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::LostUpdate], "{report}");
    let lost = &report.anomalies[0];
    let ids: Vec<u64> = lost.operations.iter().map(|o| o.id).collect();
    assert_eq!(
        ids,
        [3, 2],
        "the withdrawal, then the read that pinned version 1"
    );
    assert_eq!(lost.values["previous_stock"], 7);
    assert!(
        lost.message.contains("(as read 2 returned)"),
        "{}",
        lost.message
    );
}

#[test]
fn a_lost_change_is_reported_once_when_the_final_version_falls_short_too() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.receive(P, 5, 0..10).ok(15, 1);
    t.receive(P, 5, 5..20).ok(15, 2);
    t.end(&[(P, 15, 1)]);
    let report = t.check();
    assert_eq!(
        kinds(&report),
        [AnomalyKind::LostUpdate, AnomalyKind::Conservation],
        "{report}"
    );
    assert_eq!(report.anomalies[0].values["previous_version"], 1);
}

#[test]
fn a_final_version_below_the_acknowledged_changes_is_a_lost_update() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.receive(P, 5, 0..10).ok(15, 1);
    t.receive(P, 5, 20..30).ok(20, 2);
    t.end(&[(P, 20, 1)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::LostUpdate], "{report}");
    assert_eq!(report.anomalies[0].values["final_version"], 1);
}

#[test]
fn a_final_stock_the_changes_do_not_explain_breaks_conservation() {
    let mut t = Timeline::new(&[(P, 10, 0), (Q, 5, 0)]);
    t.withdraw(P, 3, 0..10).ok(7, 1);
    t.receive(Q, 2, 0..10).ok(7, 1);
    t.end(&[(P, 8, 1), (Q, 7, 1)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::Conservation], "{report}");
    let anomaly = &report.anomalies[0];
    assert_eq!(anomaly.product, P);
    assert_eq!(anomaly.values["final_stock"], 8);
    assert_eq!(anomaly.values["expected_min"], 7);
    assert_eq!(anomaly.values["expected_max"], 7);
}

#[test]
fn unknown_changes_widen_conservation_but_not_beyond_their_deltas() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 2, 0..10).unknown();
    t.receive(P, 5, 0..10).unknown();
    // Anything in 8..=15 is explained; 16 is not.
    t.end(&[(P, 16, 2)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::Conservation], "{report}");
    assert_eq!(report.anomalies[0].values["expected_min"], 8);
    assert_eq!(report.anomalies[0].values["expected_max"], 15);
}

#[test]
fn conservation_counts_from_the_last_acknowledged_stock_take() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.stock_take(P, 50, Some(1), 20..30).ok(50, 2);
    t.withdraw(P, 5, 40..50).ok(45, 3);
    t.end(&[(P, 46, 3)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::Conservation], "{report}");
    let anomaly = &report.anomalies[0];
    assert_eq!(anomaly.values["baseline_stock"], 50);
    assert_eq!(anomaly.values["expected_min"], 45);
    assert_eq!(anomaly.operations[0].id, 2);
}

#[test]
fn missing_versions_without_unknown_changes_are_a_version_gap() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.withdraw(P, 1, 20..30).ok(8, 4);
    t.end(&[(P, 8, 4)]);
    let report = t.check();
    assert!(
        kinds(&report).contains(&AnomalyKind::VersionGap),
        "{report}"
    );
    let gap = &report.anomalies[0];
    assert_eq!(gap.kind, AnomalyKind::VersionGap);
    assert_eq!(
        (gap.values["missing_from"], gap.values["missing_to"]),
        (2, 3)
    );
}

#[test]
fn an_unknown_change_invoked_after_the_gap_closed_cannot_fill_it() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.withdraw(P, 1, 20..30).ok(7, 3);
    // Invoked after the change that reports version 3 completed: it cannot be version 2.
    t.withdraw(P, 1, 40..50).unknown();
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::VersionGap], "{report}");
    assert_eq!(report.anomalies[0].values["unknown_changes_in_time"], 0);
}

#[test]
fn a_final_version_beyond_every_change_is_a_version_gap() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.end(&[(P, 9, 3)]);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::VersionGap], "{report}");
}

#[test]
fn every_audit_mismatch_is_a_ledger_mismatch() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.end(&[(P, 9, 1)]).audit_mismatch(P, 9, 8);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::LedgerMismatch], "{report}");
    let mismatch = &report.anomalies[0];
    assert_eq!(mismatch.values["stock"], 9);
    assert_eq!(mismatch.values["ledger_stock"], 8);
}

#[test]
fn anomalies_serialize_with_snake_case_kinds_and_their_evidence() {
    let mut t = Timeline::new(&[(P, 10, 4)]);
    t.withdraw(P, 1, 0..100).ok(9, 5);
    t.withdraw(P, 1, 10..110).ok(9, 5);
    let json = serde_json::to_value(t.check()).expect("a report serializes");
    let anomaly = &json["anomalies"][0];
    assert_eq!(anomaly["kind"], "lost_update");
    assert_eq!(anomaly["product"], P);
    assert_eq!(anomaly["operations"][0]["id"], 1);
    assert_eq!(anomaly["operations"][0]["delta"], -1);
    assert_eq!(anomaly["operations"][0]["complete_us"], 100);
    assert_eq!(json["linearizability"]["verdict"], "skipped");
}

#[test]
fn two_withdrawals_of_the_last_unit_are_an_oversell() {
    // The unsafe strategy with a stock of 1: both read 1, both write 0.
    let mut t = Timeline::new(&[(P, 1, 0)]);
    t.withdraw(P, 1, 0..100).ok(0, 1);
    t.withdraw(P, 1, 10..110).ok(0, 1);
    t.end(&[(P, 0, 1)]);
    let report = t.check();
    assert!(kinds(&report).contains(&AnomalyKind::Oversell), "{report}");
    let oversell = report
        .anomalies
        .iter()
        .find(|a| a.kind == AnomalyKind::Oversell)
        .expect("an oversell");
    assert_eq!(oversell.values["withdrawn"], 2);
    assert_eq!(oversell.values["supply"], 1);
    assert_eq!(
        oversell.operations[0].id, 2,
        "the withdrawal that crossed the supply"
    );
}

#[test]
fn receipts_and_stock_takes_that_may_have_happened_count_as_supply() {
    let mut t = Timeline::new(&[(P, 1, 0)]);
    t.receive(P, 2, 0..1_000).unknown();
    t.stock_take(P, 1, None, 0..1_000).unknown();
    t.withdraw(P, 2, 10..20).ok(1, 2);
    t.withdraw(P, 2, 30..40).ok(0, 3);
    // 4 withdrawn, at most 1 + 2 + 1 = 4 available: not an oversell.
    assert!(!kinds(&t.check()).contains(&AnomalyKind::Oversell));
    t.withdraw(P, 1, 50..60).ok(0, 4);
    assert!(kinds(&t.check()).contains(&AnomalyKind::Oversell));
}

#[test]
fn a_reported_stock_below_zero_is_negative_stock() {
    let mut t = Timeline::new(&[(P, 1, 0)]);
    t.withdraw(P, 2, 0..10).ok(-1, 1);
    t.read(P, 20..30).ok(-1, 1);
    let report = t.check();
    assert_eq!(
        kinds(&report),
        [AnomalyKind::NegativeStock, AnomalyKind::Oversell],
        "{report}"
    );
    let negative = &report.anomalies[0];
    assert_eq!(negative.values["lowest_stock"], -1);
    assert_eq!(negative.values["operations_reporting"], 2);
    let ids: Vec<u64> = negative.operations.iter().map(|o| o.id).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_read_older_than_a_completed_change_is_stale() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.read(P, 20..30).ok(10, 0);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::StaleRead], "{report}");
    let stale = &report.anomalies[0];
    let ids: Vec<u64> = stale.operations.iter().map(|o| o.id).collect();
    assert_eq!(ids, [2, 1], "the read, then the change it missed");
    assert_eq!(stale.values["at_least_version"], 1);
}

#[test]
fn a_read_of_a_version_made_after_it_completed_is_stale() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.read(P, 0..10).ok(9, 1);
    t.withdraw(P, 1, 20..30).ok(9, 1);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::StaleRead], "{report}");
    assert_eq!(report.anomalies[0].values["below_version"], 1);
}

#[test]
fn a_read_of_a_version_no_change_could_have_made_yet_is_stale() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.read(P, 0..10).ok(8, 2);
    t.withdraw(P, 1, 5..30).unknown();
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::StaleRead], "{report}");
    assert_eq!(report.anomalies[0].values["possible_changes"], 1);
}

#[test]
fn a_read_whose_stock_is_not_that_of_its_version_is_out_of_bounds() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.read(P, 20..30).ok(7, 1);
    let report = t.check();
    assert_eq!(kinds(&report), [AnomalyKind::StaleRead], "{report}");
    assert_eq!(report.anomalies[0].values["stock_at_version"], 9);
}
