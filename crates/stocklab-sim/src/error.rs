//! Why an experiment could not run. Each message says what to do about it.

use std::path::PathBuf;

use crate::client::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "no stocklab service answers at {url}: {source}\n  Start one with `stocklab serve` (it serves http://127.0.0.1:8000; `--addr` picks another address), or point --url at a running one."
    )]
    Unreachable { url: String, source: TransportError },
    #[error(
        "{url} is not in lab mode, which {what} needs.\n  Start the service with `stocklab serve --lab` (lab mode is on by default on a loopback address such as 127.0.0.1), or run on the products it has with --no-reset and a safe strategy."
    )]
    LabDisabled { url: String, what: &'static str },
    #[error("{url}{path} answered {status}: {message}")]
    Service {
        url: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{url}{path} failed: {source}")]
    Transport {
        url: String,
        path: String,
        source: TransportError,
    },
    #[error("{url}{path} sent a body the simulator cannot read: {detail}")]
    Unreadable {
        url: String,
        path: String,
        detail: String,
    },
    #[error("{url} has no products to run on; drop --no-reset to let the simulator create them")]
    NoProducts { url: String },
    #[error("a simulated client stopped unexpectedly: {detail}")]
    ClientFailed { detail: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
