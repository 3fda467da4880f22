//! The `stocklab` binary run as a process, the way a user runs it.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_stocklab");

/// A `stocklab` process with its working directory, stopped (killed) when dropped.
struct Running {
    child: Child,
    base_url: String,
    stderr_lines: mpsc::Receiver<String>,
}

impl Running {
    /// Starts `stocklab ARGS` in `dir` on a free port and waits for the URL it prints.
    fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("STOCKLAB_ADDR", "127.0.0.1:0")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("stocklab starts");
        let stdout_lines = forward_lines(child.stdout.take().expect("piped stdout"));
        let base_url = stdout_lines
            .iter()
            .find_map(|line| {
                line.split_once("serving on ")
                    .and_then(|(_, rest)| rest.split_whitespace().next())
                    .map(str::to_owned)
            })
            .expect("stocklab prints the URL it serves on");
        let stderr_lines = forward_lines(child.stderr.take().expect("piped stderr"));
        Self {
            child,
            base_url,
            stderr_lines,
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        http("GET", &format!("{}{path}", self.base_url), None)
    }

    /// Sends SIGTERM, as `docker stop` and systemd do.
    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }

    /// Waits for the process to exit; panics after a minute.
    fn wait(&mut self) -> std::process::ExitStatus {
        for _ in 0..600 {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the process can be waited for")
            {
                return status;
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("stocklab did not exit within a minute");
    }

    /// Waits until a line of the log contains `needle`; panics after a minute.
    fn wait_for_log(&self, needle: &str) {
        loop {
            match self.stderr_lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(needle) => return,
                Ok(_) => {}
                Err(error) => panic!("no log line containing {needle:?}: {error}"),
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads a pipe to its end on a thread of its own, so the process never blocks on a full pipe,
/// and hands over its lines.
fn forward_lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    receiver
}

/// One blocking HTTP/1.1 request over std's TcpStream, enough for these tests, and it keeps
/// the process tests free of an async HTTP client. Returns the status and the JSON body.
fn http(method: &str, url: &str, body: Option<&str>) -> (u16, Value) {
    use std::io::Write;
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = std::net::TcpStream::connect(authority).expect("the server accepts");
    let body = body.unwrap_or_default();
    write!(
        stream,
        "{} {} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        method,
        if path.is_empty() { "/" } else { path },
        body.len()
    )
    .expect("the request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("the response is read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let json = response
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .output()
        .expect("stocklab runs")
}

#[test]
fn serve_help_explains_every_option() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run(&["serve", "--help"], dir.path());
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for option in [
        "--addr",
        "--database-url",
        "DATABASE_URL",
        "--strategy",
        "atomic",
        "--no-demo-data",
        "--db-max-connections",
        "--db-acquire-timeout-ms",
        "--lock-timeout-ms",
        "--sqlite-synchronous",
    ] {
        assert!(
            help.contains(option),
            "`serve --help` mentions {option}:\n{help}"
        );
    }
}

#[test]
fn with_no_arguments_it_serves_demo_data_from_stocklab_db_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut server = Running::start(dir.path(), &[], &[]);
    assert!(
        dir.path().join("stocklab.db").exists(),
        "the SQLite file is in the working directory"
    );

    let (status, page) = server.get("/api/products?limit=1000");
    assert_eq!(status, 200);
    let products = page["items"].as_array().expect("items");
    assert!(
        products.len() >= 30,
        "a few dozen demo products, got {}",
        products.len()
    );
    assert_eq!(server.get("/healthz").0, 200);

    server.terminate();
    assert!(server.wait().success(), "a clean exit on SIGTERM");
    for leftover in ["stocklab.db-wal", "stocklab.db-shm"] {
        assert!(
            !dir.path().join(leftover).exists(),
            "{leftover} was removed on shutdown"
        );
    }
}

#[test]
fn sigterm_lets_a_request_in_flight_finish() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = Running::start(
        dir.path(),
        &["serve"],
        &[("RUST_LOG", "info,tower_http=debug")],
    );
    let adjust_url = format!("{}/api/products/1/adjust", server.base_url);

    // Hold SQLite's write lock from outside, so the next withdrawal waits inside the server.
    let blocker = sqlite_write_lock(&dir.path().join("stocklab.db"));
    let in_flight = thread::spawn(move || http("POST", &adjust_url, Some(r#"{"delta": -1}"#)));
    server.wait_for_log("started processing request");

    server.terminate();
    server.wait_for_log("shutting down");
    drop(blocker); // The database frees up only after the shutdown began.

    let (status, change) = in_flight.join().expect("the client thread did not panic");
    assert_eq!(status, 200, "the request in flight completed: {change}");
    assert_eq!(change["product"]["version"], 1);
    let mut server = server;
    assert!(server.wait().success());
}

/// Takes SQLite's write lock on `path` with the sqlite3 library, in a thread of its own, until
/// the returned guard is dropped.
fn sqlite_write_lock(path: &Path) -> impl Drop + use<> {
    struct Release(Option<mpsc::Sender<()>>, Option<thread::JoinHandle<()>>);
    impl Drop for Release {
        fn drop(&mut self) {
            drop(self.0.take());
            if let Some(holder) = self.1.take() {
                let _ = holder.join();
            }
        }
    }
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let url = format!("sqlite://{}", path.display());
    let holder = thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            use sqlx::Connection;
            let mut connection = sqlx::SqliteConnection::connect(&url)
                .await
                .expect("sqlite opens");
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut connection)
                .await
                .expect("the write lock is taken");
            locked_tx.send(()).expect("the test waits for the lock");
            let _ = tokio::task::spawn_blocking(move || release_rx.recv()).await;
            sqlx::query("ROLLBACK")
                .execute(&mut connection)
                .await
                .expect("rollback");
        });
    });
    locked_rx.recv().expect("the lock was taken");
    Release(Some(release_tx), Some(holder))
}

#[test]
fn an_unsupported_database_url_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run(
        &["serve", "--database-url", "postgres://localhost/x"],
        dir.path(),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database url"), "{stderr}");
    assert!(
        stderr.contains("sqlite://"),
        "it says what is supported: {stderr}"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = taken.local_addr().expect("its address").to_string();
    let output = run(&["serve", "--addr", &addr], dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

#[test]
fn an_unknown_strategy_lists_the_known_ones() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run(&["serve", "--strategy", "yolo"], dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("yolo") && stderr.contains("atomic"),
        "{stderr}"
    );
}

#[test]
fn a_lab_only_default_without_lab_mode_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let output = run(&["serve", "--strategy", "unsafe", "--no-lab"], dir.path());
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only lab mode allows") && stderr.contains("--lab"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("stocklab.db").exists(),
        "refused before touching the database"
    );
}
