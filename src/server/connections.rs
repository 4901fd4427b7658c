//! What a listener lets a connection hold: how many may be open, how long
//! one may take to say what it wants, and how long it may sit idle.
//!
//! Why it exists: an unauthenticated client must not be able to make the
//! server hold sockets, tasks and memory without end. Before this, hyper ran
//! without a timer, so a client that sent half a request line kept its task
//! forever, and nothing capped how many such clients there were.
//!
//! # The design
//!
//! - **One table per listener** ([`ConnTable`]), each with `max_connections`
//!   slots. The HTTP, HTTPS and LMTP listeners and the two unix sockets count
//!   apart, so ten thousand connections to the public HTTPS port take nothing
//!   from the MTA's LMTP listener or from okapi-admin's local socket.
//! - **Idle connections make room** (HTTP listeners). Every connection has a
//!   [`Tracker`] that knows whether a request is in progress (from the moment
//!   hyper hands the request to the router until the last byte of its response
//!   is written; a parked `notify` long poll is in progress). When a new
//!   connection arrives at a full table, the table tells the connection that has
//!   waited longest *without* a request in progress to close, and admits the new
//!   one. Connections that never sent a complete request go first, then idle
//!   keep-alive connections, oldest first. So an attacker's idle connections
//!   can delay a real client by nothing: the newest connection is the last to
//!   be closed, and it stops being idle as soon as its request arrives. Only
//!   when every connection is busy with a request is a new one refused.
//!   LMTP sessions are never closed for room: the table refuses the newcomer
//!   with `421 4.3.2` and the MTA tries again later.
//! - **Timeouts reap the rest** (HTTP). From its first byte (or from accepting,
//!   for a new connection) a request's line and headers must arrive within
//!   `request_header_timeout`; between requests a connection may wait
//!   `keepalive_timeout` for the next one; the body must arrive within
//!   `request_body_timeout` (enforced where the body is read, in
//!   [`crate::http`]). A request in progress has no time limit here: long polls
//!   end by their own timer. hyper's own header timer starts when a connection
//!   begins waiting for a request, so it would cut idle keep-alive connections
//!   at the header timeout; it is set to the sum of both timeouts, as a backstop
//!   only, and the [`Tracker`] keeps the two phases apart.
//! - **Accept errors back off** ([`AcceptBackoff`]): out of file descriptors
//!   (EMFILE, ENFILE), buffers (ENOBUFS) or memory, an accept loop sleeps 5 ms,
//!   doubling up to a second, and starts from 5 ms again after a success, so a
//!   full descriptor table neither spins a core nor stalls recovery.
//! - **One log line a minute** per listener while it is full, counting the
//!   connections closed for room and refused since the last line.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::config::Config;

/// How often a full listener may say so in the log.
const FULL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// The time limits of one HTTP connection, read from the configuration when
/// it is accepted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// For a request's line and headers.
    pub header: Duration,
    /// Between requests.
    pub keepalive: Duration,
}

impl Timeouts {
    pub(crate) fn from_config(cfg: &Config) -> Timeouts {
        Timeouts {
            header: cfg.request_header_timeout,
            keepalive: cfg.keepalive_timeout,
        }
    }

    /// hyper's header timer runs from the end of one response to the head of
    /// the next, so it can only be a backstop at the sum of both phases.
    pub(crate) fn hyper_backstop(&self) -> Duration {
        self.header.saturating_add(self.keepalive)
    }
}

/// Where one connection stands.
#[derive(Debug)]
struct Phase {
    /// Requests handed to the router whose responses are not yet written.
    requests: usize,
    /// Whether a whole request ever arrived.
    served: bool,
    /// When it was accepted, or when its last response was written.
    idle_since: Instant,
    /// When the first byte of the next request arrived, while idle.
    head_started: Option<Instant>,
    /// Told to close to make room.
    closing: bool,
}

/// The state of one connection, shared by its table, its I/O wrapper, its
/// requests and its watchdog.
#[derive(Debug)]
pub(crate) struct Tracker {
    phase: Mutex<Phase>,
    /// Wakes the watchdog when the phase changes or the table wants room.
    changed: Notify,
}

impl Tracker {
    fn new() -> Tracker {
        Tracker {
            phase: Mutex::new(Phase {
                requests: 0,
                served: false,
                idle_since: Instant::now(),
                head_started: None,
                closing: false,
            }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> MutexGuard<'_, Phase> {
        // The phase is plain data, valid whatever a panicking holder left.
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Notes bytes from the client; while idle, they start the header timer.
    fn saw_bytes(&self) {
        let mut p = self.phase();
        if p.requests == 0 && p.head_started.is_none() {
            p.head_started = Some(Instant::now());
            drop(p);
            self.changed.notify_one();
        }
    }

    /// Marks a request in progress until the returned guard drops.
    pub(crate) fn begin_request(self: &Arc<Self>) -> RequestGuard {
        let mut p = self.phase();
        p.requests += 1;
        p.served = true;
        p.head_started = None;
        drop(p);
        self.changed.notify_one();
        RequestGuard(self.clone())
    }

    fn idle(&self) -> bool {
        let p = self.phase();
        p.requests == 0 && !p.closing
    }

    /// Resolves when the connection should be closed: a timeout passed while
    /// no request was in progress, or its table needs the room.
    pub(crate) async fn expired(&self, limits: Timeouts) -> &'static str {
        loop {
            let deadline = {
                let p = self.phase();
                if p.closing {
                    return "closed to make room for a new connection";
                }
                match (p.requests, p.head_started) {
                    (0, Some(start)) => Some((start + limits.header, "request headers too slow")),
                    (0, None) if p.served => Some((p.idle_since + limits.keepalive, "idle between requests")),
                    (0, None) => Some((p.idle_since + limits.header, "no request after connecting")),
                    _ => None,
                }
            };
            match deadline {
                Some((at, why)) if Instant::now() >= at => return why,
                Some((at, _)) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = self.changed.notified() => {}
                    }
                }
                None => self.changed.notified().await,
            }
        }
    }
}

/// A request in progress; dropping it ends the request.
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<Tracker>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut p = self.0.phase();
        p.requests = p.requests.saturating_sub(1);
        if p.requests == 0 {
            p.idle_since = Instant::now();
        }
        drop(p);
        self.0.changed.notify_one();
    }
}

/// A response body that keeps its request in progress until hyper has
/// written the body's last byte (or the client went away).
pub(crate) struct TrackedBody<B> {
    body: B,
    _request: RequestGuard,
}

impl<B> TrackedBody<B> {
    pub(crate) fn new(body: B, request: RequestGuard) -> TrackedBody<B> {
        TrackedBody {
            body,
            _request: request,
        }
    }
}

impl<B: Body + Unpin> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A connection's socket, telling its tracker when the client sends bytes.
pub(crate) struct Watched<S> {
    io: S,
    tracker: Arc<Tracker>,
}

impl<S> Watched<S> {
    pub(crate) fn new(io: S, tracker: Arc<Tracker>) -> Watched<S> {
        Watched { io, tracker }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.tracker.saw_bytes();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

/// Whether a full table may close an idle connection to admit a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenFull {
    /// HTTP: close the connection idle longest; refuse only if all are busy.
    CloseIdle,
    /// LMTP: refuse the newcomer; sessions in progress are never cut.
    Refuse,
}

/// The open connections of one listener.
#[derive(Debug)]
pub(crate) struct ConnTable {
    listener: String,
    max: usize,
    when_full: WhenFull,
    next_id: AtomicU64,
    inner: Mutex<TableInner>,
}

#[derive(Debug, Default)]
struct TableInner {
    open: HashMap<u64, Arc<Tracker>>,
    /// How many of `open` were told to close and have not gone yet.
    closing: usize,
    closed_for_room: u64,
    refused: u64,
    last_report: Option<Instant>,
}

/// What the table decided about a new connection.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Serve it; the slot frees itself when dropped.
    Admitted(Slot),
    /// The listener is full of connections in the middle of requests.
    Refused,
}

impl ConnTable {
    /// A table for the listener named `listener` (its address, for the log).
    pub(crate) fn new(listener: impl Into<String>, max: usize, when_full: WhenFull) -> Arc<ConnTable> {
        Arc::new(ConnTable {
            listener: listener.into(),
            max: max.max(1),
            when_full,
            next_id: AtomicU64::new(0),
            inner: Mutex::new(TableInner::default()),
        })
    }

    fn inner(&self) -> MutexGuard<'_, TableInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a new connection, making room or refusing it when full.
    pub(crate) fn admit(self: &Arc<Self>) -> Admission {
        let mut t = self.inner();
        // Connections told to close are as good as gone.
        t.closing = t.closing.min(t.open.len());
        if t.open.len() - t.closing >= self.max {
            let victim = match self.when_full {
                WhenFull::CloseIdle => pick_idle(&t.open),
                WhenFull::Refuse => None,
            };
            match victim {
                Some(v) => {
                    v.phase().closing = true;
                    v.changed.notify_one();
                    t.closing += 1;
                    t.closed_for_room += 1;
                }
                None => {
                    t.refused += 1;
                    self.report_full(&mut t);
                    return Admission::Refused;
                }
            }
            self.report_full(&mut t);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracker = Arc::new(Tracker::new());
        t.open.insert(id, tracker.clone());
        Admission::Admitted(Slot {
            table: self.clone(),
            id,
            tracker,
        })
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.inner().open.len()
    }

    fn report_full(&self, t: &mut TableInner) {
        if t.last_report.is_some_and(|at| at.elapsed() < FULL_LOG_INTERVAL) {
            return;
        }
        tracing::warn!(
            okapi_listener = %self.listener,
            closed_idle = t.closed_for_room,
            refused = t.refused,
            "listener {} is at max_connections ({}): {} idle connections closed to make room and {} \
             refused since the last report; if these are real clients, raise max_connections",
            self.listener,
            self.max,
            t.closed_for_room,
            t.refused
        );
        t.closed_for_room = 0;
        t.refused = 0;
        t.last_report = Some(Instant::now());
    }
}

/// The idle connection to close first: one that never completed a request
/// before one that did, and of those the one idle longest.
fn pick_idle(open: &HashMap<u64, Arc<Tracker>>) -> Option<Arc<Tracker>> {
    open.values()
        .filter(|t| t.idle())
        .min_by_key(|t| {
            let p = t.phase();
            (p.served, p.idle_since)
        })
        .cloned()
}

/// A connection's place in its table; dropping it frees the place.
#[derive(Debug)]
pub(crate) struct Slot {
    table: Arc<ConnTable>,
    id: u64,
    /// The connection's tracker.
    pub tracker: Arc<Tracker>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut t = self.table.inner();
        if t.open.remove(&self.id).is_some() && self.tracker.phase().closing {
            t.closing = t.closing.saturating_sub(1);
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit, so
/// `max_connections` is not cut short by the traditional soft limit of 1024
/// (systemd's default; its hard limit is 524288). okapi uses no `select()`,
/// the reason that soft limit stays low. Returns the limit in force.
pub(crate) fn raise_fd_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::warn!(error = %e, soft, hard, "could not raise the open-file limit; connections beyond {soft} will fail");
        return Some(soft);
    }
    Some(hard)
}

/// The pause after a failed accept: 5 ms, doubling to a second, reset by the
/// next success.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    delay: Duration,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const CEILING: Duration = Duration::from_secs(1);

    pub(crate) fn new() -> AcceptBackoff {
        AcceptBackoff { delay: Self::FIRST }
    }

    /// After a successful accept.
    pub(crate) fn reset(&mut self) {
        self.delay = Self::FIRST;
    }

    /// Logs the failure and sleeps before the next try.
    pub(crate) async fn failed(&mut self, listener: &str, e: &io::Error) {
        // At the ceiling this logs once a second at most, which is what an
        // administrator wants to see while descriptors are exhausted.
        tracing::warn!(
            okapi_listener = %listener,
            error = %e,
            "accept failed on {listener}: {e}; trying again in {} ms (raise LimitNOFILE= if out of file descriptors)",
            self.delay.as_millis()
        );
        tokio::time::sleep(self.delay).await;
        self.delay = (self.delay * 2).min(Self::CEILING);
    }

    #[cfg(test)]
    fn delay(&self) -> Duration {
        self.delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(a: Admission) -> Slot {
        match a {
            Admission::Admitted(s) => s,
            Admission::Refused => panic!("refused"),
        }
    }

    fn closing(s: &Slot) -> bool {
        s.tracker.phase().closing
    }

    /// A full HTTP table closes the connection that never sent a request and
    /// waited longest, keeps busy and newer ones, and refuses only when all
    /// are busy.
    #[tokio::test(start_paused = true)]
    async fn a_full_table_closes_the_oldest_idle_connection() {
        let table = ConnTable::new("test", 3, WhenFull::CloseIdle);
        let served = admitted(table.admit());
        let request = served.tracker.begin_request();
        drop(request);
        tokio::time::advance(Duration::from_secs(1)).await;
        let fresh_old = admitted(table.admit());
        tokio::time::advance(Duration::from_secs(1)).await;
        let busy = admitted(table.admit());
        let _busy_request = busy.tracker.begin_request();
        // Full: the fresh connection goes before the older served one.
        let newcomer = admitted(table.admit());
        assert!(closing(&fresh_old));
        assert!(!closing(&served) && !closing(&busy) && !closing(&newcomer));
        drop(fresh_old);
        assert_eq!(table.open(), 3);
        // Next the newcomer (never served) before the served one.
        let second = admitted(table.admit());
        assert!(closing(&newcomer) && !closing(&served));
        let _second_request = second.tracker.begin_request();
        let third = admitted(table.admit());
        assert!(closing(&served));
        let _third_request = third.tracker.begin_request();
        drop((newcomer, served));
        // busy, second, third are all in requests: nothing to close.
        assert!(matches!(table.admit(), Admission::Refused));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_lmtp_table_refuses() {
        let table = ConnTable::new("lmtp", 1, WhenFull::Refuse);
        let first = admitted(table.admit());
        assert!(matches!(table.admit(), Admission::Refused));
        drop(first);
        assert!(matches!(table.admit(), Admission::Admitted(_)));
    }

    /// Fresh connections get the header timeout, idle ones the keep-alive
    /// timeout, started heads the header timeout from their first byte, and
    /// requests in progress none at all.
    #[tokio::test(start_paused = true)]
    async fn timeouts_follow_the_phase() {
        let limits = Timeouts {
            header: Duration::from_secs(10),
            keepalive: Duration::from_secs(100),
        };
        let t = Arc::new(Tracker::new());
        let start = Instant::now();
        assert_eq!(t.expired(limits).await, "no request after connecting");
        assert_eq!(start.elapsed(), Duration::from_secs(10));

        let t = Arc::new(Tracker::new());
        let request = t.begin_request();
        let waiting = tokio::time::timeout(Duration::from_secs(1000), t.expired(limits)).await;
        assert!(waiting.is_err(), "a request in progress has no time limit");
        drop(request);
        let start = Instant::now();
        assert_eq!(t.expired(limits).await, "idle between requests");
        assert_eq!(start.elapsed(), Duration::from_secs(100));

        drop(t.begin_request());
        let t2 = t.clone();
        let watchdog = tokio::spawn(async move { t2.expired(limits).await });
        tokio::time::advance(Duration::from_secs(50)).await;
        t.saw_bytes();
        let start = Instant::now();
        assert_eq!(watchdog.await.unwrap(), "request headers too slow");
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    }

    #[test]
    fn backoff_doubles_to_a_ceiling_and_resets() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        rt.block_on(async {
            let mut b = AcceptBackoff::new();
            let e = io::Error::from_raw_os_error(24);
            let mut seen = Vec::new();
            for _ in 0..10 {
                b.failed("test", &e).await;
                seen.push(b.delay().as_millis());
            }
            assert_eq!(seen, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
            b.reset();
            assert_eq!(b.delay(), AcceptBackoff::FIRST);
        });
    }
}
