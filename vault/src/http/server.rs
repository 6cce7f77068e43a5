//! Serving the API over HTTP/1.1 with the limits a public service needs, so that slow or idle
//! clients cannot hold the vault's connections or file descriptors:
//!
//! - a request's headers must arrive within `header_timeout` of the connection opening or of the
//!   previous response (so it is also how long a kept-alive connection may sit idle);
//! - a request body may pause at most `body_timeout` between two pieces;
//! - a request is answered within `request_timeout`, or gets 408 (attachment uploads excepted:
//!   they are long by nature, bounded by `body_timeout` between pieces and by the size limit);
//! - at most `max_connections` connections are open at once; more wait in the listen backlog,
//!   and so cannot exhaust the process's file descriptors.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
#[cfg(test)]
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::ApiError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            max_connections: 1_024,
        }
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes; then stops accepting,
/// lets every open connection finish its request in flight, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with(listener, app, limits, None, shutdown).await
}

/// [`serve`], over TLS when `tls` is given: each connection's handshake must finish within
/// `limits.header_timeout`, and a failed handshake only closes that connection.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: ServerLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let app = app
        .layer(axum::middleware::from_fn_with_state(limits.request_timeout, bounded))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(limits.body_timeout));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Each connection holds a receiver: stopping is sent through it, and once every receiver is
    // gone every connection has ended.
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of descriptors or a connection reset before accept: wait, do not spin.
                    tracing::warn!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stopping = stopping.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, peer, app, limits, stopping).await,
                Some(acceptor) => match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => serve_connection(stream, peer, app, limits, stopping).await,
                    Ok(Err(err)) => tracing::debug!(%err, %peer, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
            }
            drop(slot);
        });
    }
    drop(listener);
    stop.send_replace(true);
    drop(stopping);
    stop.closed().await;
    Ok(())
}

/// One connection, plain or TLS, until it closes or the server stops (then its request in
/// flight is answered first).
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    app: Router,
    limits: ServerLimits,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let writer = ParseErrorBodies::new(stream);
    let routed = writer.routed.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
        routed.store(true, std::sync::atomic::Ordering::Release);
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request.map(axum::body::Body::new))
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    let connection = builder.serve_connection(TokioIo::new(writer), service);
    tokio::pin!(connection);
    let stopped = async move {
        let _ = stopping.wait_for(|stopped| *stopped).await;
    };
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stopped => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.as_mut().await;
        }
    }
}

/// Answers 408 in the API's error shape when a request takes longer than the limit to answer.
async fn bounded(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let upload = request.method() == Method::PUT && request.uri().path().ends_with("/attachment");
    if upload {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!("the request was not complete within {} s; send it again", limit.as_secs()),
        )
        .into_response(),
    }
}

/// hyper answers a request it cannot parse (a URI over 64 KiB, a head too large, a malformed
/// request line) itself, with an empty body, before the router sees it. This rewrites such an
/// answer into the API's error shape, `{"error": {"code", "message"}}`, but only while the router
/// has answered nothing on the connection: once it has, any write may be part of a body (an
/// attachment can hold bytes that look exactly like an empty error head), and a body is never
/// touched. A request hyper cannot parse after others on a kept-alive connection gets hyper's
/// own empty-bodied answer.
struct ParseErrorBodies<S> {
    stream: S,
    /// A rewritten response still being written, and the length of what hyper asked to write.
    rewriting: Option<(Vec<u8>, usize, usize)>,
    /// Set once the router has been handed a request on this connection.
    routed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<S: AsyncWrite + Unpin> ParseErrorBodies<S> {
    fn new(stream: S) -> Self {
        Self { stream, rewriting: None, routed: Default::default() }
    }

    /// Whether a write may be one of hyper's own answers (nothing routed on this connection yet).
    fn may_rewrite(&self) -> bool {
        self.rewriting.is_none() && !self.routed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The JSON-bodied replacement for `head`, if it is such an automatic error response.
    fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
        // Cheap tests first: this sees every write, bodies included.
        let error_status = head.starts_with(b"HTTP/1.1 4") || head.starts_with(b"HTTP/1.1 5");
        if !error_status || head.len() > 1024 {
            return None;
        }
        let text = std::str::from_utf8(head).ok()?;
        let status_line = text.strip_prefix("HTTP/1.1 ")?;
        let status: u16 = status_line.get(..3)?.parse().ok()?;
        let empty = text.to_ascii_lowercase().contains("\r\ncontent-length: 0\r\n");
        if !(400..600).contains(&status) || !empty || !text.ends_with("\r\n\r\n") {
            return None;
        }
        let (code, message) = match status {
            414 => ("uri_too_long", "the URI is too long"),
            431 => ("headers_too_large", "the request's headers are too large"),
            _ => ("malformed_request", "the request could not be parsed as HTTP/1.1"),
        };
        let body = serde_json::to_string(&medkey_protocol::api::ErrorBody::new(code, message))
            .expect("an error body serializes");
        let mut out = String::new();
        for line in text.trim_end_matches("\r\n").split("\r\n") {
            if !line.to_ascii_lowercase().starts_with("content-length:") {
                out.push_str(line);
                out.push_str("\r\n");
            }
        }
        out.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
        Some(out.into_bytes())
    }

    /// Writes what is left of a rewritten response; `Ready(Ok(n))` with hyper's length when done.
    fn poll_rewriting(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<usize>> {
        while let Some((bytes, written, reported)) = &mut self.rewriting {
            if *written == bytes.len() {
                let reported = *reported;
                self.rewriting = None;
                return Poll::Ready(Ok(reported));
            }
            let n = std::task::ready!(Pin::new(&mut self.stream).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(0))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ParseErrorBodies<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ParseErrorBodies<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if self.may_rewrite()
            && let Some(replacement) = Self::rewrite(buf)
        {
            self.rewriting = Some((replacement, 0, buf.len()));
        }
        if self.rewriting.is_some() {
            return self.poll_rewriting(cx);
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        // An automatic error response is a head alone: one non-empty slice.
        let mut non_empty = bufs.iter().filter(|b| !b.is_empty());
        if self.may_rewrite()
            && let (Some(only), None) = (non_empty.next(), non_empty.next())
            && let Some(replacement) = Self::rewrite(only)
        {
            self.rewriting = Some((replacement, 0, only.len()));
        }
        if self.rewriting.is_some() {
            return self.poll_rewriting(cx);
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_error_heads_are_rewritten() {
        let head = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Mon, 30 Nov 2026 06:00:00 GMT\r\n\r\n";
        let rewritten = String::from_utf8(ParseErrorBodies::<TcpStream>::rewrite(head).unwrap()).unwrap();
        let (head, body) = rewritten.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 414 URI Too Long\r\n") && head.contains("date: Mon"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], "uri_too_long");
        for untouched in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 52\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{",
        ] {
            assert!(ParseErrorBodies::<TcpStream>::rewrite(untouched).is_none());
        }
    }

    /// A body chunk that looks exactly like an empty error head goes out as it is once the
    /// router has answered on the connection; before that, such a head is hyper's and is shaped.
    #[tokio::test]
    async fn a_body_is_never_rewritten() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let lookalike = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        for routed in [false, true] {
            let (client, server) = tokio::io::duplex(4096);
            let mut writer = ParseErrorBodies::new(server);
            writer.routed.store(routed, std::sync::atomic::Ordering::Release);
            writer.write_all(lookalike).await.unwrap();
            writer.shutdown().await.unwrap();
            drop(writer);
            let mut seen = Vec::new();
            let mut client = client;
            client.read_to_end(&mut seen).await.unwrap();
            if routed {
                assert_eq!(seen, lookalike, "a body was altered");
            } else {
                assert!(String::from_utf8(seen).unwrap().contains("malformed_request"));
            }
        }
    }
}
