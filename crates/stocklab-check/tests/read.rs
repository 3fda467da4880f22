//! Reading histories: a file the simulator wrote comes back equal, and each broken line is named.

mod support;

use std::io::Write as _;

use stocklab_check::history::Record;
use stocklab_check::{History, HistoryError, LineProblem};
use support::{P, Timeline};

const START: &str = r#"{"type":"start","strategy":null,"race_window_ms":0,"products":[{"product":1,"stock":10,"version":0}]}"#;

fn withdraw(id: u64, product: i64, invoke_us: u64, complete_us: u64) -> String {
    format!(
        r#"{{"type":"op","id":{id},"client":1,"kind":"withdraw","product":{product},"quantity":1,"invoke_us":{invoke_us},"complete_us":{complete_us},"outcome":"ok","states":[{{"product":{product},"stock":9,"version":1}}]}}"#
    )
}

/// The line number and problem of reading `lines` as a history.
fn error_of(lines: &[&str]) -> (usize, LineProblem) {
    match History::from_reader(lines.join("\n").as_bytes()) {
        Err(HistoryError::Line { line, problem }) => (line, problem),
        other => panic!("expected a line error, got {other:?}"),
    }
}

#[test]
fn a_written_history_reads_back_equal() {
    let mut t = Timeline::new(&[(P, 10, 0), (2, 4, 1)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.order(&[(P, 2), (2, 1)], 5..20)
        .ok_states(&[(P, 7, 2), (2, 3, 2)]);
    t.stock_take(2, 8, Some(2), 30..40).fail("version_mismatch");
    t.receive(P, 1, 30..50).unknown();
    t.read(P, 60..70).ok(7, 2);
    t.end(&[(P, 7, 2), (2, 3, 2)]).audit_mismatch(2, 3, 2);
    let history = t.history;

    let path = std::env::temp_dir().join(format!("stocklab-check-{}.jsonl", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("a temporary file");
    let mut records = vec![Record::Start(history.start.clone())];
    records.extend(history.ops.iter().cloned().map(Record::Op));
    records.extend(history.end.clone().map(Record::End));
    for record in &records {
        let line = serde_json::to_string(record).expect("a record serializes");
        writeln!(file, "{line}").expect("the file is writable");
    }
    writeln!(file).expect("a trailing blank line is allowed");

    drop(file);
    let read = History::from_path(&path);
    std::fs::remove_file(&path).expect("the temporary file is removable");
    assert_eq!(read.expect("the history reads back"), history);
}

#[test]
fn a_missing_file_is_an_open_error() {
    let error = History::from_path("/nonexistent/history.jsonl".as_ref())
        .expect_err("the file does not exist");
    assert!(matches!(error, HistoryError::Open { .. }), "{error}");
    assert!(
        error.to_string().contains("/nonexistent/history.jsonl"),
        "{error}"
    );
}

#[test]
fn an_empty_history_has_no_start() {
    assert!(matches!(error_of(&[]), (1, LineProblem::MissingStart)));
}

#[test]
fn a_history_must_begin_with_its_start() {
    assert!(matches!(
        error_of(&[&withdraw(1, 1, 0, 10), START]),
        (1, LineProblem::MissingStart)
    ));
}

#[test]
fn malformed_json_names_its_line() {
    let (line, problem) = error_of(&[START, &withdraw(1, 1, 0, 10), "{\"type\":\"op\",", ""]);
    assert_eq!(line, 3);
    assert!(matches!(problem, LineProblem::Json(_)), "{problem}");
    let message = HistoryError::Line { line, problem }.to_string();
    assert!(
        message.starts_with("line 3 of the history: malformed record"),
        "{message}"
    );
}

#[test]
fn an_unknown_kind_is_malformed() {
    let line = withdraw(1, 1, 0, 10).replace("withdraw", "steal");
    assert!(matches!(
        error_of(&[START, &line]),
        (2, LineProblem::Json(_))
    ));
}

#[test]
fn a_repeated_operation_id_names_the_first_line() {
    let (line, problem) = error_of(&[START, &withdraw(7, 1, 0, 10), "", &withdraw(7, 1, 5, 20)]);
    assert_eq!(line, 4);
    assert!(
        matches!(
            problem,
            LineProblem::DuplicateId {
                id: 7,
                first_line: 2
            }
        ),
        "{problem}"
    );
}

#[test]
fn an_operation_on_a_product_not_in_the_start_is_refused() {
    let (line, problem) = error_of(&[START, &withdraw(1, 42, 0, 10)]);
    assert_eq!(line, 2);
    assert!(
        matches!(
            problem,
            LineProblem::OpOnUnknownProduct { id: 1, product: 42 }
        ),
        "{problem}"
    );
}

#[test]
fn an_operation_cannot_complete_before_it_is_invoked() {
    let (line, problem) = error_of(&[START, &withdraw(1, 1, 50, 10)]);
    assert_eq!(line, 2);
    assert!(
        matches!(
            problem,
            LineProblem::CompleteBeforeInvoke {
                id: 1,
                invoke_us: 50,
                complete_us: 10
            }
        ),
        "{problem}"
    );
}

#[test]
fn a_success_must_report_every_product_it_touched() {
    let line = withdraw(1, 1, 0, 10).replace(
        r#""states":[{"product":1,"stock":9,"version":1}]"#,
        r#""states":[]"#,
    );
    assert!(matches!(
        error_of(&[START, &line]),
        (2, LineProblem::MissingState { id: 1, product: 1 })
    ));
}

#[test]
fn a_second_start_and_a_record_after_the_end_are_refused() {
    let end = r#"{"type":"end","products":[],"audit_mismatches":[]}"#;
    assert!(matches!(
        error_of(&[START, START]),
        (2, LineProblem::SecondStart)
    ));
    assert!(matches!(
        error_of(&[START, end, &withdraw(1, 1, 0, 10)]),
        (3, LineProblem::AfterEnd)
    ));
}

#[test]
fn validate_names_the_line_a_record_would_have_in_a_file() {
    let mut t = Timeline::new(&[(P, 10, 0)]);
    t.withdraw(P, 1, 0..10).ok(9, 1);
    t.withdraw(P, 1, 20..30).ok(8, 2);
    t.history.ops[1].id = 1;
    match t.history.validate() {
        Err(HistoryError::Line {
            line: 3,
            problem:
                LineProblem::DuplicateId {
                    id: 1,
                    first_line: 2,
                },
        }) => {}
        other => panic!("expected the duplicate on line 3, got {other:?}"),
    }
}
