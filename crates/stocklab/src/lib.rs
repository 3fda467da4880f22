//! # stocklab
//!
//! The `stocklab` binary's library half: the command line ([`cli`]) and the wiring that turns a
//! configuration into a running service ([`Application`]). `main.rs` only parses arguments, sets
//! up logging and waits for a shutdown signal; tests call [`Application::build`] directly and
//! serve the real application on a random port.
//!
//! ## Where to start reading
//! `ARCHITECTURE.md` at the repository root has the bird's-eye view. In code, top-down:
//! [`Application`] → `stocklab_http::app` (routes) → `stocklab_service::Inventory` (use cases)
//! → `stocklab_store::Store` (SQL) → `stocklab_domain` (types).

pub mod cli;

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use stocklab_service::{Inventory, ServiceError};
use stocklab_store::StoreError;
use tokio::net::TcpListener;

pub use cli::ServeArgs;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "cannot listen on {addr}: {source} (is another stocklab running? choose another port with --addr)"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot open the database {url}: {source}")]
    Database {
        url: String,
        #[source]
        source: StoreError,
    },
    #[error("cannot load the demo data: {0}")]
    DemoData(#[source] ServiceError),
    #[error(
        "the server's defaults ask for {0}, which only lab mode allows: add --lab, or change --strategy / --race-window-ms"
    )]
    LabRequired(String),
}

/// A service that is bound to its address and connected to its database, ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    inventory: Inventory,
    demo_products_added: usize,
}

impl Application {
    /// Binds the listening socket, connects to the database (running its migrations) and loads
    /// the demo data into an empty database when asked to.
    pub async fn build(args: &ServeArgs) -> Result<Self, StartupError> {
        let defaults = args.change_defaults();
        let lab = args.lab_enabled();
        if let Some(feature) = defaults.lab_only_feature().filter(|_| !lab) {
            return Err(StartupError::LabRequired(feature));
        }
        // Bind first: a taken port is reported at once, before any database work.
        let listener = TcpListener::bind(args.addr)
            .await
            .map_err(|source| StartupError::Bind {
                addr: args.addr,
                source,
            })?;
        let store = stocklab_store::connect(&args.database_url, &args.store_options())
            .await
            .map_err(|source| StartupError::Database {
                url: stocklab_store::redact_password(&args.database_url),
                source,
            })?;
        let lock_timeout = args.store_options().lock_timeout;
        let inventory = Inventory::new(store, defaults, lab, lock_timeout);
        let demo_products_added = if args.demo_data() {
            inventory
                .seed_demo_data_if_empty()
                .await
                .map_err(StartupError::DemoData)?
        } else {
            0
        };
        Ok(Self {
            listener,
            inventory,
            demo_products_added,
        })
    }

    /// The address actually bound (with `--addr 127.0.0.1:0`, the port the system chose).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// How many demo products start-up added (0 when the database already had products).
    pub fn demo_products_added(&self) -> usize {
        self.demo_products_added
    }

    /// Which database the service uses.
    pub fn backend(&self) -> stocklab_store::Backend {
        self.inventory.backend()
    }

    /// Serves until `shutdown` completes, then stops accepting connections, lets the requests in
    /// flight finish, and closes the database connections.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let served = axum::serve(self.listener, stocklab_http::app(self.inventory.clone()))
            .with_graceful_shutdown(shutdown)
            .await;
        self.inventory.close().await;
        served
    }
}
