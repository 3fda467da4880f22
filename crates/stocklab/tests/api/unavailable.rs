//! The database goes away: requests get 503 `database_unavailable` (with `Retry-After`), never a
//! 500 or a hang, and the service recovers by itself when the database comes back.
//!
//! The outage is real: the service reaches MariaDB through a TCP proxy that the test cuts
//! (closing every open connection and refusing new ones) and later restores. Only the MySQL
//! backend has a network between service and database, so only it is tested here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::helpers::{Backend, TestApp, mysql_configured};

/// A TCP proxy to one upstream that can be cut and restored.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds");
        let addr = listener.local_addr().expect("the proxy's address");
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let (up, connections) = (Arc::clone(&up), Arc::clone(&connections));
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        continue; // Dropping the socket closes it: the database is "down".
                    }
                    let upstream = upstream.clone();
                    connections.lock().await.push(tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
                }
            }
        });
        Self {
            addr,
            up,
            connections,
            accept,
        }
    }

    /// Closes every open connection and refuses new ones.
    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.connections.lock().await.drain(..) {
            connection.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// `host:port` of a `mysql://user:password@host:port/db` URL (port 3306 when absent).
fn authority(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let after_user = after_scheme
        .rsplit_once('@')
        .map_or(after_scheme, |(_, rest)| rest);
    let host_port = after_user.split(['/', '?']).next().unwrap_or(after_user);
    if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:3306")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_is_a_503_and_the_service_recovers() {
    if !mysql_configured() {
        return;
    }
    let server_url = std::env::var(crate::helpers::MYSQL_URL_VAR).expect("checked above");
    let proxy = Proxy::start(authority(&server_url)).await;
    let app = TestApp::spawn_with(Backend::Mysql, |args| {
        args.database_url =
            args.database_url
                .replacen(&authority(&server_url), &proxy.addr.to_string(), 1);
        args.db_acquire_timeout_ms = 1000;
    })
    .await;
    let id = app.create_product("OUTAGE-1", 10).await;

    proxy.cut().await;
    for reply in [
        app.get("/api/products").await,
        app.adjust(id, -1).await,
        app.get("/healthz").await,
    ] {
        reply.assert_error(503, "database_unavailable");
        assert_eq!(reply.header("retry-after"), Some("1"));
    }

    proxy.restore();
    app.adjust(id, -1).await.assert_status(200);
    assert_eq!(
        app.stock_of(id).await,
        9,
        "the withdrawal refused during the outage was not applied"
    );
}

#[test]
fn authority_of_a_mysql_url() {
    assert_eq!(
        authority("mysql://root@127.0.0.1:3306/test"),
        "127.0.0.1:3306"
    );
    assert_eq!(
        authority("mysql://u:p@db/test?ssl-mode=disabled"),
        "db:3306"
    );
}
