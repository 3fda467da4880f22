//! One client's HTTP/1.1 keep-alive connection to a service instance.
//!
//! Built on hyper's connection-level client rather than a pooled client, because the simulator
//! must not be the bottleneck of what it measures: each simulated client owns exactly one
//! connection and drives it inside its own task (the connection's I/O future is polled next to
//! the request, not spawned), so a request costs no pool lookup and no hand-off between tasks.
//! A connection that failed or timed out is dropped, and the next request opens a new one.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HOST};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// What went wrong between the client and the service, below HTTP.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        authority: String,
        source: std::io::Error,
    },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("the connection failed: {0}")]
    Http(#[from] hyper::Error),
    #[error("the service closed the connection")]
    Closed,
    #[error("cannot build the request: {0}")]
    Request(#[from] http::Error),
}

impl TransportError {
    /// A short, stable reason for histories and tables.
    pub fn reason(&self) -> &'static str {
        match self {
            TransportError::Connect { .. } => "connect_failed",
            TransportError::Timeout(_) => "timeout",
            TransportError::Http(_) | TransportError::Closed => "connection_lost",
            TransportError::Request(_) => "bad_request",
        }
    }
}

/// A whole response: the status, the retries the service reported, and the body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    /// `x-stocklab-retries`, 0 when absent.
    pub retries: u32,
    pub body: Bytes,
}

type Driver = http1::Connection<TokioIo<TcpStream>, Full<Bytes>>;

/// A connection that reconnects lazily.
#[derive(Debug)]
pub struct Connection {
    authority: String,
    timeout: Duration,
    live: Option<Live>,
}

#[derive(Debug)]
struct Live {
    sender: http1::SendRequest<Full<Bytes>>,
    /// The connection's I/O; boxed so that it can be polled by `&mut` across requests.
    driver: Pin<Box<Driver>>,
}

impl Connection {
    /// A connection to `authority` (`host:port`); nothing is opened until the first request.
    pub fn new(authority: &str, timeout: Duration) -> Self {
        Self {
            authority: authority.to_owned(),
            timeout,
            live: None,
        }
    }

    /// Opens the connection now, so that an unreachable service shows before any load.
    pub async fn connect(&mut self) -> Result<(), TransportError> {
        if self.live.is_none() {
            let live = tokio::time::timeout(self.timeout, Live::open(&self.authority))
                .await
                .map_err(|_| TransportError::Timeout(self.timeout))??;
            self.live = Some(live);
        }
        Ok(())
    }

    /// Sends one request (`body` as JSON, if any) and reads the whole response, within the
    /// timeout. On any failure the connection is dropped; the next request reconnects.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, TransportError> {
        let timeout = self.timeout;
        let exchange = async {
            self.drop_if_closed().await;
            self.connect().await?;
            let mut request = Request::builder()
                .method(method)
                .uri(path)
                .header(HOST, self.authority.as_str());
            if body.is_some() {
                request = request.header(CONTENT_TYPE, "application/json");
            }
            let request = request.body(Full::new(body.unwrap_or_default()))?;
            match &mut self.live {
                Some(live) => live.exchange(request).await,
                None => Err(TransportError::Closed),
            }
        };
        let result = tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(TransportError::Timeout(timeout)));
        if result.is_err() {
            self.live = None;
        }
        result
    }

    /// Forgets a connection the service closed while it was idle, so that a request is never
    /// sent on it (and reported as lost when it never left).
    async fn drop_if_closed(&mut self) {
        if let Some(live) = &mut self.live {
            let closed = poll_fn(|cx| Poll::Ready(live.driver.as_mut().poll(cx).is_ready())).await;
            if closed {
                self.live = None;
            }
        }
    }
}

impl Live {
    async fn open(authority: &str) -> Result<Self, TransportError> {
        let connect_error = |source| TransportError::Connect {
            authority: authority.to_owned(),
            source,
        };
        let stream = TcpStream::connect(authority).await.map_err(connect_error)?;
        // Requests are small and answered one at a time: send each at once.
        stream.set_nodelay(true).map_err(connect_error)?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
        Ok(Self {
            sender,
            driver: Box::pin(driver),
        })
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, TransportError> {
        let Live { sender, driver } = self;
        let response = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status();
            let retries = response
                .headers()
                .get("x-stocklab-retries")
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.parse().ok())
                .unwrap_or(0);
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, TransportError>(Reply {
                status,
                retries,
                body,
            })
        };
        // The connection's I/O is driven here, in the client's own task, until the response
        // is read; if it ends first, the service closed the connection mid-request.
        tokio::select! {
            biased;
            reply = response => reply,
            ended = driver.as_mut() => Err(ended.err().map_or(TransportError::Closed, TransportError::Http)),
        }
    }
}
