//! The `stocklab` command. Parses arguments, sets up logging, and hands over to the library.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use stocklab::cli::{CheckArgs, Cli, Command};
use stocklab::{Application, ServeArgs};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of the system allocator: under many concurrent requests glibc's malloc
/// spent over a tenth of the service's CPU time in its own bookkeeping (see the benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
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
        Some(Command::Serve(args)) => serve(&args).await.map(|()| ExitCode::SUCCESS),
        Some(Command::Sim(args)) => Ok(sim(&args).await),
        Some(Command::Check(args)) => Ok(check(&args)),
        None => serve(&ServeArgs::defaults())
            .await
            .map(|()| ExitCode::SUCCESS),
    }
}

/// `stocklab sim`: exit 0 when the run completed, 1 with `--expect-consistent` and an anomaly,
/// 2 when it could not run or a strategy's run failed (what ran before it is still reported and
/// written), 130 after Ctrl-C.
async fn sim(args: &stocklab_sim::SimArgs) -> ExitCode {
    use stocklab_sim::{files, report};
    let plan = args.plan();
    println!("{}", report::describe(&plan));
    let experiment = stocklab_sim::run(
        &plan,
        async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        },
        |result| print!("\n{}", report::strategy_block(result)),
    )
    .await;
    let written = experiment.and_then(|experiment| {
        if let Some(path) = &plan.outputs.history {
            for result in &experiment.results {
                let path = files::history_path(path, result, plan.strategies.len());
                files::write_history(&path, &result.history)?;
            }
        }
        if let Some(path) = &plan.outputs.json {
            files::write_json(path, &experiment)?;
        }
        Ok(experiment)
    });
    match written {
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Ok(experiment) => {
            if experiment.results.len() > 1 {
                println!("{}", report::comparison(&experiment));
            }
            println!("{}", report::Closing(&experiment));
            if let Some(failure) = &experiment.failed {
                eprintln!("error: {failure}");
                ExitCode::from(2)
            } else if plan.outputs.expect_consistent && !experiment.is_consistent() {
                ExitCode::from(1)
            } else if experiment.interrupted {
                ExitCode::from(130)
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}

/// `stocklab check HISTORY`: exit 0 consistent, 1 anomalies, 2 unreadable.
fn check(args: &CheckArgs) -> ExitCode {
    let history = match stocklab_check::History::from_path(&args.history) {
        Ok(history) => history,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let options = stocklab_check::CheckOptions {
        linearizability: args.linearizability_ms.map(Duration::from_millis),
    };
    let report = stocklab_check::check(&history, &options);
    println!("{report}");
    if report.is_consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
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
