//! The `stocklab` command. Parses arguments, sets up logging, and hands over to the library.

use std::io::IsTerminal;

use anyhow::Context;
use clap::Parser;
use stocklab::cli::{Cli, Command};
use stocklab::{Application, ServeArgs};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: under many concurrent requests glibc's malloc
/// spent over a tenth of the service's CPU time in its own bookkeeping (see the benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Logs go to stderr, so stdout carries only what the user is meant to read (the URL).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Some(Command::Serve(args)) => serve(&args).await,
        None => serve(&ServeArgs::defaults()).await,
    }
}

async fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let app = Application::build(args)
        .await
        .context("stocklab could not start")?;
    let addr = app.local_addr().context("cannot read the bound address")?;
    if app.demo_products_added() > 0 {
        tracing::info!(
            products = app.demo_products_added(),
            "loaded the demo catalogue"
        );
    }
    println!(
        "stocklab is serving on http://{addr} ({backend}, {db})\n  API docs: http://{addr}/docs\n  Stop with Ctrl-C.",
        backend = app.backend(),
        db = stocklab_store::redact_password(&args.database_url),
    );
    app.run_until(shutdown_signal())
        .await
        .context("the server failed")?;
    tracing::info!("stopped; requests in flight were completed");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
