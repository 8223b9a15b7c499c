//! The HTTP server loop: accepts connections and serves the application on each, with the
//! limits that keep a flood of connections from taking the service down: a cap on open
//! connections (the idlest is closed to make room, and when every one is busy a newcomer is
//! refused at once), a deadline for a request's headers, and one for idle keep-alive.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// Connection limits, from the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest time from a request's first byte to the end of its headers.
    pub header_timeout: Duration,
    /// Longest time a kept-alive connection may sit with no request.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1000,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// What a connection is doing, kept up to date by its socket and its requests.
#[derive(Debug)]
struct Activity {
    /// Requests being answered.
    in_flight: u32,
    /// Last byte read or written, or request finished.
    last: Instant,
    /// When the first byte of a request not yet dispatched arrived.
    head_started: Option<Instant>,
}

/// One open connection as the accept loop sees it.
#[derive(Debug)]
struct Conn {
    activity: Mutex<Activity>,
    evict: tokio::sync::Notify,
    evicted: AtomicBool,
}

impl Conn {
    fn new() -> Conn {
        Conn {
            activity: Mutex::new(Activity {
                in_flight: 0,
                last: Instant::now(),
                head_started: None,
            }),
            evict: tokio::sync::Notify::new(),
            evicted: AtomicBool::new(false),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Activity) -> T) -> T {
        let mut a = self
            .activity
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut a)
    }

    fn read(&self) {
        self.with(|a| {
            a.last = Instant::now();
            if a.in_flight == 0 && a.head_started.is_none() {
                a.head_started = Some(a.last);
            }
        });
    }

    fn wrote(&self) {
        self.with(|a| a.last = Instant::now());
    }

    fn request_started(&self) {
        self.with(|a| {
            a.in_flight += 1;
            a.head_started = None;
        });
    }

    fn request_finished(&self) {
        self.with(|a| {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.last = Instant::now();
        });
    }

    /// When the connection must close if nothing changes: `None` while a request runs.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        self.with(|a| match (a.in_flight, a.head_started) {
            (0, Some(first_byte)) => Some(first_byte + limits.header_timeout),
            (0, None) => Some(a.last + limits.idle_timeout),
            _ => None,
        })
    }

    /// The instant of last activity, if the connection may be closed to make room.
    fn evictable_since(&self) -> Option<Instant> {
        if self.evicted.load(Ordering::Acquire) {
            return None;
        }
        self.with(|a| (a.in_flight == 0).then_some(a.last))
    }
}

/// Resolves when the connection has been silent past its deadline.
async fn watchdog(conn: &Conn, limits: &Limits) {
    loop {
        match conn.deadline(limits) {
            Some(at) if Instant::now() >= at => return,
            Some(at) => tokio::time::sleep_until(at).await,
            // A request is running: its own time-out bounds it; look again later.
            None => tokio::time::sleep(limits.header_timeout.min(limits.idle_timeout)).await,
        }
    }
}

/// The socket, telling its connection about every byte that passes.
struct Tracked {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.conn.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.conn.wrote();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The open connections, for the cap and for shutdown.
#[derive(Default)]
struct Registry {
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    next: AtomicU64,
    drained: tokio::sync::Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more connection: true when there is room, possibly after asking
    /// the connection idle the longest to close; false when every connection is busy.
    fn make_room(&self, max: usize) -> bool {
        let conns = self.lock();
        let closing = conns
            .values()
            .filter(|c| c.evicted.load(Ordering::Acquire))
            .count();
        if conns.len() - closing < max {
            return true;
        }
        let victim = conns
            .values()
            .filter_map(|c| c.evictable_since().map(|t| (t, c)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, c)| c.clone());
        match victim {
            Some(c) => {
                c.evicted.store(true, Ordering::Release);
                c.evict.notify_one();
                true
            }
            None => false,
        }
    }

    fn add(&self) -> (u64, Arc<Conn>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new());
        self.lock().insert(id, conn.clone());
        (id, conn)
    }

    fn remove(&self, id: u64) {
        let mut conns = self.lock();
        conns.remove(&id);
        if conns.is_empty() {
            self.drained.notify_waiters();
        }
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// What a connection refused for want of room is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
retry-after: 5\r\nconnection: close\r\ncontent-length: 43\r\n\r\nThe service is busy. Try again in a moment.";

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// requests in flight finish (waiting at most `drain`) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
    drain: Duration,
) {
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was taken:
                    // pause briefly rather than spin, then carry on.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if !registry.make_room(limits.max_connections) {
            // Refused at once with a short answer; the write never waits.
            let _ = stream.try_write(BUSY);
            tracing::debug!("connection refused: every connection is busy");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let (id, conn) = registry.add();
        let (registry, app, stop) = (registry.clone(), app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            serve_connection(stream, peer, app, conn, limits, stop).await;
            registry.remove(id);
        });
    }
    let _ = stop_tx.send(true);
    let drained = registry.drained.notified();
    tokio::pin!(drained);
    drained.as_mut().enable();
    if registry.len() > 0 && tokio::time::timeout(drain, drained).await.is_err() {
        tracing::warn!(
            open = registry.len(),
            "connections still open after the drain period"
        );
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    conn: Arc<Conn>,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        stream,
        conn: conn.clone(),
    });
    let counted = conn.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        counted.request_started();
        let (app, counted) = (app.clone(), counted.clone());
        async move {
            let res = app.oneshot(req.map(axum::body::Body::new)).await;
            counted.request_finished();
            res
        }
    });
    let serving = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        // Header and idle deadlines are this module's watchdog's, which tells the two apart.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(serving);
    tokio::select! {
        _ = serving.as_mut() => return,
        _ = watchdog(&conn, &limits) => {
            tracing::debug!("connection closed: headers too slow or idle too long");
            return;
        }
        _ = conn.evict.notified() => {
            tracing::debug!("idle connection closed to make room");
            return;
        }
        _ = stop.wait_for(|s| *s) => {}
    }
    serving.as_mut().graceful_shutdown();
    let _ = serving.await;
}

/// The soft limit on open files, when the system tells it.
pub fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
