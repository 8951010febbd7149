//! The accept loop under [`Registry::serve`](crate::Registry::serve): hyper's HTTP/1.1 on
//! each connection (with upgrades, for the WebSocket), at most
//! [`max_connections`](super::ServerOptions::max_connections) at once, WebSockets
//! included, each closed when a request's head takes longer than
//! [`header_timeout`](super::ServerOptions::header_timeout) to arrive (which also ends a
//! kept-alive connection left idle that long), and a graceful stop.
//!
//! `axum::serve` does neither: it sets no timer on hyper, so hyper's header timeout is
//! off, and it accepts without bound.

use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};

/// How many connections may be open at once, and how long a request's head may take.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) max_connections: usize,
    pub(super) header_timeout: Duration,
}

/// Serves `app` on `listener` until `stop` fires (or its sender is dropped), then waits
/// for the open connections: each finishes the request it is answering and closes.
/// WebSockets are closed by the server's own `closing` signal, not here.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    stop: oneshot::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    // Each connection's task holds a receiver of `stopping`; once it is set, they shut
    // down gracefully, and `stopping.closed()` returns when the last one has ended.
    let (stopping, stop_seen) = watch::channel(false);
    let mut stop = pin!(stop);
    loop {
        let (stream, peer, permit) = tokio::select! {
            biased;
            _ = &mut stop => break,
            accepted = accept(&listener, &permits, limits.max_connections) => accepted,
        };
        let io = TokioIo::new(Counted {
            stream,
            _permit: permit,
        });
        let connection = http
            .serve_connection(io, TowerToHyperService::new(app.clone()))
            .with_upgrades();
        let mut stop_seen = stop_seen.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            let mut stopping = pin!(async move {
                let _ = stop_seen.wait_for(|stop| *stop).await;
                stop_seen
            });
            let mut stopped = false;
            loop {
                tokio::select! {
                    ended = connection.as_mut() => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, error = %e, "an HTTP connection ended with an error");
                        }
                        break;
                    }
                    _ = &mut stopping, if !stopped => {
                        stopped = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    drop(stop_seen);
    stopping.send_replace(true);
    stopping.closed().await;
}

/// The next connection, once one of the `max` places is free. While none is, new
/// connections wait in the kernel's backlog (said once in the log each time the server
/// fills up).
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    max: usize,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = match permits.clone().try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            tracing::warn!(
                max_connections = max,
                "the server has as many connections open as ServerOptions::max_connections \
                 allows: new ones wait until one closes"
            );
            permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed")
        }
    };
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (stream, peer, permit),
            // A client that went away before it was accepted.
            Err(e) if is_connection_error(&e) => continue,
            // Out of file descriptors, or worse: trying again at once would spin.
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; trying again in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A connection that holds its place among the `max_connections` until it is dropped:
/// by hyper when the connection ends, or by the WebSocket it was upgraded to.
struct Counted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
