//! `stocklab sim` run as a process against `stocklab serve` run as a process, the way a user
//! runs them: the simulator finds the lost updates of `unsafe` and none under the database
//! strategies, sets its exit status accordingly, writes histories `stocklab check` accepts, and
//! says clearly when it cannot run.
//!
//! Every experiment runs on SQLite, and on MariaDB/MySQL too when `STOCKLAB_TEST_MYSQL_URL`
//! names a server (a database is created for the test and dropped afterwards; an unreachable
//! server fails the test rather than skipping it).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_stocklab");
#[path = "support/mysql_database.rs"]
mod mysql_database;

use mysql_database::MysqlDatabase;

/// A `stocklab serve` process on a free port, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(database_url: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--addr", "127.0.0.1:0", "--no-demo-data"])
            .args(["--database-url", database_url])
            .args(extra)
            .env_clear()
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("stocklab serve starts");
        // The pipe is read to its end on a thread of its own, so the server never writes to a
        // closed pipe (which would stop it) nor blocks on a full one.
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let url = receiver
            .iter()
            .find_map(|line| {
                line.split_once("serving on ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_owned)
            })
            .expect("stocklab serve prints the URL it serves on");
        Self { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two tests of one experiment over a database URL: on a fresh SQLite file, and on a fresh
/// MariaDB/MySQL database when `STOCKLAB_TEST_MYSQL_URL` names a server.
macro_rules! on_both_backends {
    ($experiment:ident: $on_sqlite:ident, $on_mysql:ident) => {
        #[test]
        fn $on_sqlite() {
            let dir = tempfile::tempdir().expect("a temporary directory");
            $experiment(&sqlite_url(dir.path()));
        }

        #[test]
        fn $on_mysql() {
            let Some(database) = MysqlDatabase::create_if_configured() else {
                return;
            };
            $experiment(&database.url);
        }
    };
}

/// A fresh SQLite database in the test's directory.
fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("sim.db").display())
}

/// `stocklab sim` with `args` as a process still running, its output piped.
fn spawn_sim(args: &[&str], dir: &Path) -> Child {
    Command::new(BIN)
        .arg("sim")
        .args(args)
        .current_dir(dir)
        .env_clear()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("stocklab sim starts")
}

fn stocklab(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .expect("stocklab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that the process exited with `code`, and returns what it printed.
fn exited_with(output: &Output, code: i32) -> String {
    let stdout = text(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{stdout}{}",
        text(&output.stderr)
    );
    stdout
}

/// The result a run wrote with `--json`.
fn read_json(path: &Path) -> Value {
    let written = std::fs::read(path).expect("--json was written");
    serde_json::from_slice(&written).expect("--json is JSON")
}

/// The lines of a history a run wrote with `--history`, each parsed as JSON.
fn read_history(path: &Path) -> Vec<Value> {
    let history = std::fs::read_to_string(path).expect("--history was written");
    history
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Runs `stocklab sim` with `options` in `dir`, asserts that it completed (exit 0), and returns
/// what it printed and the result it wrote with `--json`.
fn sim_completes(options: &[&str], dir: &Path) -> (String, Value) {
    let args = [&["sim", "--json", "result.json"], options].concat();
    let report = exited_with(&stocklab(&args, dir), 0);
    (report, read_json(&dir.join("result.json")))
}

/// The labels of the strategies in a `--json` result, in the order they ran.
fn labels(result: &Value) -> Vec<&str> {
    result["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["label"].as_str())
        .collect()
}

/// The experiment options every strategy test shares: eight clients, mostly on one hot
/// product, with a race window wide enough that unsafe read-modify-writes overlap.
const HOT_RACE: &[&str] = &[
    "--clients",
    "8",
    "--hot",
    "0.9",
    "--race-window-ms",
    "10",
    "--mix",
    "withdraw=1,receive=1",
    "--seed",
    "7",
    "--quiet",
];

/// The anomaly kinds of each strategy in `--json`'s result, in the order they ran.
fn anomaly_kinds(result: &Value) -> Vec<(String, Vec<String>)> {
    result["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let kinds = r["check"]["anomalies"]
                .as_array()
                .expect("anomalies")
                .iter()
                .map(|a| a["kind"].as_str().expect("a kind").to_owned())
                .collect();
            (r["label"].as_str().expect("a label").to_owned(), kinds)
        })
        .collect()
}

/// `unsafe` loses updates and the database strategies lose none, on the database at `url`.
fn strategies_compared(database_url: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(database_url, &[]);

    let unsafe_run = stocklab(
        &[
            &[
                "sim",
                "--url",
                &server.url,
                "--strategy",
                "unsafe",
                "--ops",
                "200",
            ],
            HOT_RACE,
            &["--expect-consistent", "--history", "unsafe.jsonl"],
        ]
        .concat(),
        dir.path(),
    );
    assert_eq!(
        unsafe_run.status.code(),
        Some(1),
        "anomalies under unsafe fail --expect-consistent:\n{}{}",
        text(&unsafe_run.stdout),
        text(&unsafe_run.stderr)
    );
    let report = text(&unsafe_run.stdout);
    assert!(
        report.contains("verdict: anomalies under unsafe"),
        "{report}"
    );

    let safe_run = stocklab(
        &[
            &[
                "sim",
                "--url",
                &server.url,
                "--strategy",
                "atomic,pessimistic,optimistic",
                "--ops",
                "100",
            ],
            HOT_RACE,
            &["--expect-consistent", "--json", "safe.json"],
        ]
        .concat(),
        dir.path(),
    );
    let report = exited_with(&safe_run, 0);
    let result = read_json(&dir.path().join("safe.json"));
    let kinds = anomaly_kinds(&result);
    assert_eq!(
        kinds,
        vec![
            ("atomic".to_owned(), vec![]),
            ("pessimistic".to_owned(), vec![]),
            ("optimistic".to_owned(), vec![]),
        ],
        "{report}"
    );
    for r in result["results"].as_array().expect("results") {
        assert_eq!(r["summary"]["operations"], 100, "{r}");
        assert!(
            r["summary"]["latency_ms"]["p99"].as_f64() > Some(0.0),
            "{r}"
        );
    }
    assert!(
        report.contains("strategy") && report.contains("anomalies"),
        "the comparison table: {report}"
    );

    // The unsafe history is JSON Lines that `stocklab check` reads and finds the same in.
    let lines = read_history(&dir.path().join("unsafe.jsonl"));
    assert_eq!(lines.first().map(|l| &l["type"]), Some(&"start".into()));
    assert_eq!(lines.last().map(|l| &l["type"]), Some(&"end".into()));
    assert_eq!(lines.len(), 202, "start, 200 operations, end");
    let check = stocklab(&["check", "unsafe.jsonl"], dir.path());
    let checked = exited_with(&check, 1);
    assert!(
        checked.contains("lost_update"),
        "a lost update shows: {checked}"
    );

    // The search for a linearizable order cannot explain the hot product's history either: it
    // proves it has none, or runs out of time, but never calls every product linearizable.
    let searched = stocklab(
        &["check", "--linearizability-ms", "5000", "unsafe.jsonl"],
        dir.path(),
    );
    let searched = text(&searched.stdout);
    let verdicts = searched
        .lines()
        .find_map(|line| line.trim().strip_prefix("linearizability: "))
        .unwrap_or_else(|| panic!("a linearizability line: {searched}"));
    assert!(
        verdicts.contains("products linearizable") && !verdicts.contains(", 0 not, 0 undecided"),
        "{searched}"
    );
}

on_both_backends!(
    strategies_compared:
    on_sqlite_unsafe_loses_updates_and_database_strategies_do_not,
    on_mysql_unsafe_loses_updates_and_database_strategies_do_not
);

/// Clients spread over two instances of one database (`--url` twice): each instance's mutex
/// serializes only its own clients, so the checker finds anomalies under `mutex`, and none
/// under `atomic`, which the database enforces for both.
fn two_instances_with_an_in_process_lock(database_url: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let first = Server::start(database_url, &[]);
    let second = Server::start(database_url, &[]);
    let (report, result) = sim_completes(
        &[
            &[
                "--url",
                &first.url,
                "--url",
                &second.url,
                "--strategy",
                "mutex,atomic",
                "--ops",
                "200",
            ],
            HOT_RACE,
        ]
        .concat(),
        dir.path(),
    );
    assert_eq!(
        result["instances"].as_array().map(Vec::len),
        Some(2),
        "{result}"
    );
    let kinds = anomaly_kinds(&result);
    assert_eq!(kinds.len(), 2, "{report}");
    assert_eq!(kinds[0].0, "mutex");
    assert!(
        !kinds[0].1.is_empty(),
        "mutex loses updates across instances: {report}"
    );
    assert_eq!(kinds[1], ("atomic".to_owned(), vec![]), "{report}");
}

on_both_backends!(
    two_instances_with_an_in_process_lock:
    on_sqlite_two_instances_with_an_in_process_lock_lose_updates,
    on_mysql_two_instances_with_an_in_process_lock_lose_updates
);

/// The data set's options and the strategies in turn: `--products` and `--initial-stock`
/// reset the catalogue through the lab API; `--no-reset` runs on it as the last run left it;
/// `--strategy all` runs every strategy, one after the other, each on the same products.
#[test]
fn the_data_set_options_and_every_strategy_in_turn() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let run = |options: &[&str]| -> Value {
        let args = [&["--url", &server.url, "--quiet"], options].concat();
        sim_completes(&args, dir.path()).1
    };
    let withdrawals = ["--mix", "withdraw=1", "--ops"];

    let reset = run(&[
        &withdrawals[..],
        &["50", "--products", "5", "--initial-stock", "3"],
        &["--strategy", "atomic", "--ramp-up", "200ms"],
    ]
    .concat());
    let summary = &reset["results"][0]["summary"];
    assert_eq!(reset["results"][0]["check"]["products"], 5, "{reset}");
    let ok = summary["ok"].as_u64().expect("an ok count");
    let refused = summary["rejections"]["insufficient_stock"].as_u64();
    assert_eq!(
        Some(50 - ok),
        refused,
        "5 products of 3 cannot cover 50 withdrawals: {summary}"
    );

    let every = run(&[&withdrawals[..], &["40", "--no-reset", "--strategy", "all"]].concat());
    let results = every["results"].as_array().expect("results");
    assert_eq!(
        labels(&every),
        [
            "unsafe",
            "mutex",
            "per-product",
            "semaphore(1)",
            "pessimistic",
            "optimistic",
            "atomic",
            "transaction(repeatable-read)"
        ]
    );
    let ok_after: u64 = results
        .iter()
        .map(|r| r["summary"]["ok"].as_u64().expect("an ok count"))
        .sum();
    assert!(
        ok + ok_after <= 15,
        "without a reset, the 15 units of the first run's reset are all there is: {every}"
    );
    for r in results {
        assert_eq!(r["check"]["products"], 5, "{r}");
    }
}

#[test]
fn an_unreachable_url_is_a_clear_error_before_any_load() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", free.local_addr().expect("its address"));
    drop(free);
    let output = stocklab(&["sim", "--url", &url, "--quiet"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("no stocklab service answers at {url}"))
            && stderr.contains("stocklab serve"),
        "it says what is wrong and how to start a service: {stderr}"
    );
    assert!(!text(&output.stdout).contains("=="), "no load was run");
}

#[test]
fn a_service_without_lab_mode_is_a_clear_error_before_any_load() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let db = sqlite_url(dir.path());
    let server = Server::start(&db, &["--no-lab"]);
    let output = stocklab(&["sim", "--url", &server.url, "--quiet"], dir.path());
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("not in lab mode")
            && stderr.contains("--lab")
            && stderr.contains("--no-reset"),
        "{stderr}"
    );
}

#[test]
fn sim_help_explains_every_option() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = stocklab(&["sim", "--help"], dir.path());
    assert!(output.status.success());
    let help = text(&output.stdout);
    for option in [
        "--url",
        "--products",
        "--initial-stock",
        "--no-reset",
        "--clients",
        "--ops",
        "--duration",
        "--mix",
        "--hot",
        "--zipf",
        "--strategy",
        "--permits",
        "--isolation",
        "--race-window-ms",
        "--seed",
        "--rate",
        "--ramp-up",
        "--timeout",
        "--json",
        "--history",
        "--quiet",
        "--expect-consistent",
        "Exit status",
    ] {
        assert!(
            help.contains(option),
            "`sim --help` mentions {option}:\n{help}"
        );
    }
}

#[test]
fn bad_options_are_usage_errors_that_name_the_problem() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (args, expected) in [
        (&["--mix", "sell=3"][..], "unknown operation kind \"sell\""),
        (&["--strategy", "yolo"], "yolo"),
        (&["--hot", "1.5"], "share from 0 to 1"),
        (&["--url", "https://127.0.0.1:1"], "only http://"),
        (&["--ops", "10", "--duration", "1s"], "cannot be used with"),
    ] {
        let output = stocklab(&[&["sim"], args].concat(), dir.path());
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn at_a_fixed_rate_the_offered_and_achieved_rates_are_both_reported() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let (report, result) = sim_completes(
        &[
            "--url",
            &server.url,
            "--strategy",
            "atomic",
            "--rate",
            "200",
            "--duration",
            "1s",
            "--clients",
            "4",
            "--mix",
            "withdraw=1,read=1",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(report.contains("offered 200/s"), "{report}");
    let summary = &result["results"][0]["summary"];
    assert_eq!(summary["offered_rate"], 200.0);
    // Paced: no more than the 200 due in the second (a closed loop of four clients would run
    // thousands). No lower bound: a slow, shared machine may fall behind, which the achieved
    // rate then reports.
    let operations = summary["operations"].as_u64().expect("operations");
    assert!(
        (1..=220).contains(&operations),
        "at most the 200 operations due in one second: {summary}"
    );
    assert!(
        summary["throughput"]
            .as_f64()
            .is_some_and(|rate| rate > 0.0),
        "the achieved rate is reported: {summary}"
    );
}

/// Ctrl-C (SIGINT) in the middle of a long run stops the load, and the simulator still checks,
/// prints and writes what it measured, then exits with 130.
#[test]
fn ctrl_c_stops_the_load_and_still_reports_what_was_measured() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let json = dir.path().join("interrupted.json");
    let mut sim = spawn_sim(
        &[
            &[
                "--url",
                &server.url,
                "--strategy",
                "atomic",
                "--duration",
                "60s",
            ][..],
            &["--quiet", "--json", "interrupted.json"],
        ]
        .concat(),
        dir.path(),
    );
    let mut stdout = BufReader::new(sim.stdout.take().expect("piped stdout"));
    let mut first_line = String::new();
    stdout
        .read_line(&mut first_line)
        .expect("the experiment is described");
    assert!(first_line.starts_with("stocklab sim:"), "{first_line}");
    // Under load for a moment: the reset and the first operations are done.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let interrupted = Command::new("kill")
        .args(["-INT", &sim.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).expect("the report");
    let status = sim.wait().expect("stocklab sim exits");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(
        rest.contains("interrupted"),
        "it says the run was cut short: {rest}"
    );
    assert!(rest.contains("verdict:"), "the checker still ran: {rest}");
    let result = read_json(&json);
    let checked = result["results"][0]["check"]["operations"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        checked > 0,
        "what was measured before Ctrl-C is in the result: {result}"
    );
}

/// The service goes away after the first of two strategies: the second cannot finish (its end
/// state cannot be read), and the simulator says why and exits with 2, but the first
/// strategy's result is still printed and written, not lost with the second.
#[test]
fn a_service_that_goes_away_mid_plan_loses_none_of_the_strategies_before() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let json = dir.path().join("partial.json");
    let mut sim = spawn_sim(
        &[
            &["--url", &server.url, "--strategy", "atomic,optimistic"][..],
            &[
                "--duration",
                "3s",
                "--timeout",
                "1s",
                "--quiet",
                "--json",
                "partial.json",
            ],
        ]
        .concat(),
        dir.path(),
    );
    let mut stdout = BufReader::new(sim.stdout.take().expect("piped stdout"));
    let mut printed = String::new();
    while !printed.contains("verdict:") {
        let read = stdout.read_line(&mut printed).expect("the report");
        assert!(read > 0, "the first strategy's block is printed: {printed}");
    }
    drop(server); // Killed while `optimistic` runs (or resets).

    let output = sim.wait_with_output().expect("stocklab sim exits");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{printed}{stderr}");
    assert!(stderr.contains("error:"), "it says what failed: {stderr}");
    let result = read_json(&json);
    assert_eq!(labels(&result), ["atomic"], "{result}");
    assert!(result["failed"].is_string(), "{result}");
}

/// Changes that outlast `--timeout` are recorded as `unknown`, not guessed: each may or may not
/// have been applied, and the checker, widening its bounds for them, finds no anomaly in a
/// safe strategy's run, so `--expect-consistent` still exits 0.
#[test]
fn timed_out_changes_are_unknown_outcomes_not_anomalies() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let (report, result) = sim_completes(
        &[
            "--url",
            &server.url,
            "--strategy",
            "pessimistic",
            "--race-window-ms",
            "500",
            "--timeout",
            "100ms",
            "--ops",
            "16",
            "--clients",
            "4",
            "--mix",
            "withdraw=1,receive=1",
            "--quiet",
            "--expect-consistent",
            "--history",
            "timeouts.jsonl",
        ],
        dir.path(),
    );
    let strategy = &result["results"][0];
    assert_eq!(
        strategy["check"]["outcomes"],
        serde_json::json!({"ok": 0, "fail": 0, "unknown": 16}),
        "every change outlasts the timeout: {report}"
    );
    assert_eq!(strategy["summary"]["errors_by_reason"]["timeout"], 16);
    assert_eq!(strategy["check"]["anomalies"], serde_json::json!([]));
    let history = read_history(&dir.path().join("timeouts.jsonl"));
    let unknown = history
        .iter()
        .filter(|line| line["type"] == "op" && line["outcome"] == "unknown")
        .count();
    assert_eq!(unknown, 16, "{history:?}");
}

/// At a fixed rate, latency counts from when an operation was due, not from when a busy client
/// got round to sending it (coordinated omission). One client, five withdrawals due 20 ms
/// apart, each held 200 ms by its race window: the service answers each in about 200 ms, but
/// the last was due at 80 ms and answered at about 1 s, and that is its latency. A slow machine
/// only makes it longer.
#[test]
fn at_a_fixed_rate_latency_counts_from_when_an_operation_was_due() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Server::start(&sqlite_url(dir.path()), &[]);
    let (report, result) = sim_completes(
        &[
            "--url",
            &server.url,
            "--strategy",
            "pessimistic",
            "--race-window-ms",
            "200",
            "--rate",
            "50",
            "--ops",
            "5",
            "--clients",
            "1",
            "--mix",
            "withdraw=1",
            "--quiet",
        ],
        dir.path(),
    );
    assert!(
        report.starts_with("stocklab sim: 1 client against"),
        "{report}"
    );
    let max_ms = result["results"][0]["summary"]["latency_ms"]["max"]
        .as_f64()
        .expect("a max latency");
    assert!(
        max_ms >= 3.0 * 200.0,
        "the last withdrawal waited behind four others: {report}"
    );
}
