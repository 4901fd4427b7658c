//! Listeners and the accept loop.
//!
//! [`run`] takes listeners that are already open (bound from the
//! configuration, or later handed over by systemd) and a shutdown future; it
//! serves every connection until that future completes, then stops accepting,
//! lets connections finish their current request, and returns once they have
//! drained or the drain timeout passed. The spooler and periodic chores run
//! beside the listeners and stop with them. Tests call it with listeners on
//! `127.0.0.1:0`.
//!
//! What each listener lets a connection hold (how many, how long) is
//! [`connections`]'s business; its doc comment explains the design.

mod connections;

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::connections::{AcceptBackoff, Admission, ConnTable, Slot, Timeouts, TrackedBody, Watched, WhenFull};
use crate::config::{Config, TlsVersion};
use crate::http::{ConnInfo, handle_guarded};
use crate::ops::{Peer, State};

/// How long a shutdown waits for open connections.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Open listening sockets.
#[derive(Debug, Default)]
pub struct Listeners {
    /// Plain HTTP (SOAP/JSON).
    pub http: Vec<TcpListener>,
    /// HTTP over TLS.
    pub https: Vec<TcpListener>,
    /// HTTP on the local unix socket, with peer-credential trust.
    pub local: Option<UnixListener>,
    /// LMTP over TCP, for the MTA.
    pub lmtp: Vec<TcpListener>,
    /// LMTP on a unix socket, for okapi-dagent and a local MTA.
    pub lmtp_local: Option<UnixListener>,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A listener could not be opened.
    #[error("cannot listen on {what}: {source}{hint}")]
    Bind {
        /// Address or path.
        what: String,
        /// The error.
        source: std::io::Error,
        /// A next step.
        hint: &'static str,
    },
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
}

fn bind_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need root or systemd socket activation; or choose another port in server_listen)"
        }
        std::io::ErrorKind::AddrInUse => " (another process listens there; stop it or change the address)",
        _ => "",
    }
}

async fn bind_tcp(addr: &str) -> Result<TcpListener, StartError> {
    let err = |source: std::io::Error| StartError::Bind {
        what: addr.to_string(),
        hint: bind_hint(&source),
        source,
    };
    // `[::]:236` binds dual-stack on Linux by default, which is what we want.
    TcpListener::bind(addr).await.map_err(err)
}

/// Binds a unix socket, replacing a stale socket file but never a live one.
pub fn bind_unix(path: &Path) -> Result<UnixListener, StartError> {
    bind_unix_with_mode(path, None)
}

/// [`bind_unix`], the socket file created with `mode` when one is given. The mode comes from
/// the umask at bind time, not from a `chmod` afterwards: started as root, a `chmod` by name in
/// a directory the okapi user can write would follow whatever that user put there.
fn bind_unix_with_mode(path: &Path, mode: Option<u32>) -> Result<UnixListener, StartError> {
    let err = |source: std::io::Error| StartError::Bind {
        what: path.display().to_string(),
        hint: bind_hint(&source),
        source,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "a server is already listening on this socket",
            )));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let Some(mode) = mode else {
        return UnixListener::bind(path).map_err(err);
    };
    use nix::sys::stat::{Mode, umask};
    // The umask is the process's: set only for this bind, during start-up, and put back.
    let previous = umask(Mode::from_bits_truncate(!mode & 0o777));
    let bound = UnixListener::bind(path);
    umask(previous);
    bound.map_err(err)
}

/// Opens every listener: those systemd passed, and for the kinds it did not
/// pass, what the configuration names.
pub async fn open_listeners(cfg: &Config, a: crate::linux::activation::Activated) -> Result<Listeners, StartError> {
    if a.is_empty() {
        return bind_from_config(cfg).await;
    }
    let err = |what: &str, source: std::io::Error| StartError::Bind {
        what: what.into(),
        source,
        hint: "",
    };
    let tcp = |v: Vec<std::net::TcpListener>, what: &str| -> Result<Vec<TcpListener>, StartError> {
        v.into_iter()
            .map(|l| TcpListener::from_std(l).map_err(|e| err(what, e)))
            .collect()
    };
    let unix = |l: Option<std::os::unix::net::UnixListener>, what: &str| -> Result<Option<UnixListener>, StartError> {
        l.map(|l| UnixListener::from_std(l).map_err(|e| err(what, e)))
            .transpose()
    };
    let mut l = Listeners {
        http: tcp(a.http, "systemd socket http")?,
        https: tcp(a.https, "systemd socket https")?,
        lmtp: tcp(a.lmtp, "systemd socket lmtp")?,
        local: unix(a.local, "systemd socket local")?,
        lmtp_local: unix(a.lmtp_local, "systemd socket lmtp-local")?,
    };
    // Bind only the kinds systemd left out.
    let mut rest = cfg.clone();
    if !l.http.is_empty() {
        rest.server_listen.clear();
    }
    if !l.https.is_empty() {
        rest.server_listen_tls.clear();
    }
    if !l.lmtp.is_empty() {
        rest.lmtp_listen.clear();
    }
    if l.local.is_some() {
        rest.local_socket = PathBuf::new();
    }
    if l.lmtp_local.is_some() {
        rest.lmtp_socket = PathBuf::new();
    }
    let extra = bind_from_config(&rest).await?;
    l.http.extend(extra.http);
    l.https.extend(extra.https);
    l.lmtp.extend(extra.lmtp);
    l.local = l.local.or(extra.local);
    l.lmtp_local = l.lmtp_local.or(extra.lmtp_local);
    Ok(l)
}

/// Opens every listener the configuration names.
pub async fn bind_from_config(cfg: &Config) -> Result<Listeners, StartError> {
    let mut l = Listeners::default();
    for a in &cfg.server_listen {
        l.http.push(bind_tcp(a).await?);
    }
    if cfg.tls_enabled() {
        for a in &cfg.server_listen_tls {
            l.https.push(bind_tcp(a).await?);
        }
    }
    if !cfg.local_socket.as_os_str().is_empty() {
        // Open to all as under systemd (okapi-server-local.socket): trust comes from the
        // peer's credentials, and Apache connects as its own user.
        l.local = Some(bind_unix_with_mode(&cfg.local_socket, Some(0o666))?);
    }
    for a in &cfg.lmtp_listen {
        l.lmtp.push(bind_tcp(a).await?);
    }
    if !cfg.lmtp_socket.as_os_str().is_empty() {
        // The MTA and okapi-dagent (run as the delivering user) connect as other users; why
        // this stays open to all is said in systemd/okapi-server-lmtp-local.socket.
        l.lmtp_local = Some(bind_unix_with_mode(&cfg.lmtp_socket, Some(0o666))?);
    }
    Ok(l)
}

/// Builds the rustls server configuration from the certificate and key files.
pub fn tls_config(cfg: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, StartError> {
    let (Some(cert), Some(key)) = (&cfg.tls_cert_file, &cfg.tls_key_file) else {
        return Ok(None);
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| StartError::Tls(format!("cannot read {}: {e}", p.display())));
    let cert_pem = read(cert)?;
    // systemd's LoadCredential=tls-key:… keeps the key out of the service's reach otherwise.
    let key = &std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|d| PathBuf::from(d).join("tls-key"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| key.clone());
    refuse_key_others_may_read(key)?;
    let key_pem = read(key)?;
    let certs = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartError::Tls(format!("{}: not a PEM certificate: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(StartError::Tls(format!("{} holds no certificate", cert.display())));
    }
    let key_der = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| StartError::Tls(format!("{}: not a PEM key: {e}", key.display())))?
        .ok_or_else(|| StartError::Tls(format!("{} holds no private key", key.display())))?;
    let versions: &[&rustls::SupportedProtocolVersion] = match cfg.tls_min_protocol {
        TlsVersion::V1_2 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::V1_3 => &[&rustls::version::TLS13],
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let sc = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| StartError::Tls(format!("certificate and key do not fit together: {e}")))?;
    Ok(Some(Arc::new(sc)))
}

/// A private key that every local user may read is no longer private: the
/// server refuses it, with the fix, rather than serve TLS that anyone on the
/// host could impersonate (the same rule as for `database_password_file`).
fn refuse_key_others_may_read(key: &Path) -> Result<(), StartError> {
    let meta = std::fs::metadata(key).map_err(|e| StartError::Tls(format!("cannot read {}: {e}", key.display())))?;
    if let Some(mode) = crate::config::open_to_others(&meta) {
        let shown = key.display();
        return Err(StartError::Tls(format!(
            "refusing the private key {shown}: others may read or write it (mode {mode:04o}); \
             fix it with: chown root:okapi {shown} && chmod 0640 {shown}"
        )));
    }
    Ok(())
}

/// Addresses the listeners ended up on (for logs and tests).
pub fn local_addrs(l: &Listeners) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    (
        l.http.iter().filter_map(|x| x.local_addr().ok()).collect(),
        l.https.iter().filter_map(|x| x.local_addr().ok()).collect(),
    )
}

/// Serves one HTTP connection until it closes, times out (see
/// [`connections`]), is closed to make room, or the server stops.
async fn serve<S>(state: Arc<State>, io: S, info: ConnInfo, slot: Slot, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = Timeouts::from_config(&state.config());
    let tracker = slot.tracker.clone();
    let svc = {
        let tracker = tracker.clone();
        service_fn(move |req| {
            let request = tracker.begin_request();
            let answer = handle_guarded(state.clone(), info.clone(), req);
            async move {
                let response = answer.await?;
                Ok::<_, std::convert::Infallible>(response.map(|body| TrackedBody::new(body, request)))
            }
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.hyper_backstop())
        .keep_alive(true)
        .serve_connection(TokioIo::new(Watched::new(io, tracker.clone())), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => { if let Err(e) = r { tracing::debug!(error = %e, "connection ended with an error") } }
        why = tracker.expired(limits) => tracing::debug!(reason = why, "connection closed"),
        _ = stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
    drop(slot);
}

/// The table of a listener, sized from the configuration.
fn table(state: &State, listener: &str, when_full: WhenFull) -> Arc<ConnTable> {
    ConnTable::new(listener, state.config().max_connections, when_full)
}

/// Serves until `shutdown` completes, then drains.
pub async fn run(
    state: Arc<State>,
    listeners: Listeners,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
) {
    let stop_rx = state.stop.subscribe();
    if let Some(files) = connections::raise_fd_limit() {
        tracing::debug!(open_files = files, "open-file limit");
    }
    if tls.is_some()
        && let Ok(mut slot) = state.tls.write()
    {
        *slot = tls;
    }
    let mut acceptors = JoinSet::new();
    let conns = Arc::new(tokio::sync::Mutex::new(JoinSet::new()));
    for l in listeners.http {
        let (state, stop, conns) = (state.clone(), stop_rx.clone(), conns.clone());
        acceptors.spawn(accept_tcp(state, l, false, stop, conns));
    }
    if state.tls().is_some() {
        for l in listeners.https {
            let (state, stop, conns) = (state.clone(), stop_rx.clone(), conns.clone());
            acceptors.spawn(accept_tcp(state, l, true, stop, conns));
        }
    } else if !listeners.https.is_empty() {
        tracing::warn!("TLS listeners are open but no certificate is configured; they stay unused");
    }
    if let Some(l) = listeners.local {
        let (state, stop, conns) = (state.clone(), stop_rx.clone(), conns.clone());
        acceptors.spawn(accept_unix(state, l, stop, conns));
    }
    let lmtp = Arc::new(LmtpContext {
        mailbox: Arc::new(crate::delivery::StoreMailbox::new(state.clone())),
        state: state.clone(),
    });
    for l in listeners.lmtp {
        acceptors.spawn(accept_lmtp_tcp(lmtp.clone(), l, stop_rx.clone(), conns.clone()));
    }
    if let Some(l) = listeners.lmtp_local {
        acceptors.spawn(accept_lmtp_unix(lmtp.clone(), l, stop_rx.clone(), conns.clone()));
    }
    let spooler = tokio::spawn(crate::spooler::run(state.clone(), stop_rx.clone()));
    let housekeeping = tokio::spawn(housekeeping(state.clone(), stop_rx.clone()));
    shutdown.await;
    tracing::info!("stopping: no new connections; letting open ones finish");
    state.stop.send_replace(true);
    if spooler.await.is_err() {
        tracing::error!("the spooler ended abnormally");
    }
    let _ = housekeeping.await;
    while acceptors.join_next().await.is_some() {}
    let mut open = std::mem::take(&mut *conns.lock().await);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async { while open.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

/// Periodic chores: expiring idle and too old sessions, refreshing the STATUS= line.
async fn housekeeping(state: Arc<State>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = stopped(&mut stop) => return,
        }
        let left = state.sessions.expire(state.session_lifetimes());
        tracing::debug!(sessions = left, "expired idle sessions");
        crate::linux::notify::status(&crate::linux::notify::status_line(&state).await);
    }
}

type Conns = Arc<tokio::sync::Mutex<JoinSet<()>>>;

async fn accept_tcp(state: Arc<State>, l: TcpListener, tls: bool, mut stop: watch::Receiver<bool>, conns: Conns) {
    let name = listener_name(&l, if tls { "https" } else { "http" });
    let table = table(&state, &name, WhenFull::CloseIdle);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = stopped(&mut stop) => return,
        };
        let (stream, addr) = match accepted {
            Ok(x) => x,
            Err(e) => {
                backoff.failed(&name, &e).await;
                continue;
            }
        };
        backoff.reset();
        let Admission::Admitted(slot) = table.admit() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let info = ConnInfo {
            peer: Peer::Network(addr),
            tls,
        };
        let (state, stop) = (state.clone(), stop.clone());
        let mut set = conns.lock().await;
        while set.try_join_next().is_some() {}
        // The certificate is looked up per connection, so a reload takes effect at once.
        match tls.then(|| state.tls()).flatten() {
            None if tls => tracing::warn!(peer = %addr, "TLS connection refused: no certificate configured"),
            None => {
                set.spawn(serve(state, stream, info, slot, stop));
            }
            Some(config) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(config);
                let handshake_limit = state.config().request_header_timeout;
                set.spawn(async move {
                    match tokio::time::timeout(handshake_limit, acceptor.accept(stream)).await {
                        Ok(Ok(tls_stream)) => serve(state, tls_stream, info, slot, stop).await,
                        Ok(Err(e)) => tracing::debug!(peer = %addr, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(peer = %addr, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

async fn accept_unix(state: Arc<State>, l: UnixListener, mut stop: watch::Receiver<bool>, conns: Conns) {
    let own_uid = own_uid();
    let name = unix_listener_name(&l, "local");
    let table = table(&state, &name, WhenFull::CloseIdle);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = stopped(&mut stop) => return,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(e) => {
                backoff.failed(&name, &e).await;
                continue;
            }
        };
        backoff.reset();
        let Admission::Admitted(slot) = table.admit() else {
            continue;
        };
        let uid = stream.peer_cred().ok().map(|c| c.uid());
        let trusted = uid.is_some_and(|u| u == 0 || Some(u) == own_uid);
        let info = ConnInfo {
            peer: Peer::Local { uid, trusted },
            tls: false,
        };
        let mut set = conns.lock().await;
        while set.try_join_next().is_some() {}
        set.spawn(serve(state.clone(), stream, info, slot, stop.clone()));
    }
}

/// What every LMTP session shares.
struct LmtpContext {
    mailbox: Arc<crate::delivery::StoreMailbox>,
    state: Arc<State>,
}

async fn lmtp_session<S>(ctx: Arc<LmtpContext>, stream: S, peer: String, slot: Slot, stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // The slot is held for the session's lifetime.
    let _slot = slot;
    // Limits and name are read per session, so a reload applies to new sessions.
    let cfg = ctx.state.config();
    let limits = crate::delivery::lmtp::LmtpLimits {
        max_message_size: cfg.max_message_size,
        ..Default::default()
    };
    let hostname = crate::spooler::mail_name(&cfg);
    // One session is one unit of work (see `crate::panics`). Deliveries catch
    // their own panics and answer 451; a panic elsewhere in the session ends
    // it without an answer, which the MTA takes as a temporary failure of the
    // transaction in flight (nothing of it was acknowledged).
    let session = crate::delivery::lmtp::serve_lmtp_until(stream, &*ctx.mailbox, &limits, &hostname, stop);
    match crate::panics::guard(session).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(peer = %peer, error = %e, "LMTP session ended with an error"),
        Err(panic) => panic.log(crate::panics::Unit {
            operation: "lmtp session",
            remote: Some(&peer),
            ..Default::default()
        }),
    }
}

async fn accept_lmtp_tcp(ctx: Arc<LmtpContext>, l: TcpListener, mut stop: watch::Receiver<bool>, conns: Conns) {
    let name = listener_name(&l, "lmtp");
    let table = table(&ctx.state, &name, WhenFull::Refuse);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = stopped(&mut stop) => return,
        };
        match accepted {
            Ok((stream, addr)) => {
                backoff.reset();
                let Admission::Admitted(slot) = table.admit() else {
                    let _ = stream.try_write(LMTP_FULL);
                    continue;
                };
                let mut set = conns.lock().await;
                while set.try_join_next().is_some() {}
                set.spawn(lmtp_session(ctx.clone(), stream, addr.to_string(), slot, stop.clone()));
            }
            Err(e) => backoff.failed(&name, &e).await,
        }
    }
}

/// The greeting of a full LMTP listener; the MTA keeps the mail and tries later.
const LMTP_FULL: &[u8] = b"421 4.3.2 too many connections, try again later\r\n";

/// A TCP listener's name for the log: kind and address.
fn listener_name(l: &TcpListener, kind: &str) -> String {
    match l.local_addr() {
        Ok(a) => format!("{kind} {a}"),
        Err(_) => kind.to_string(),
    }
}

/// A unix listener's name for the log: kind and path.
fn unix_listener_name(l: &UnixListener, kind: &str) -> String {
    match l
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
    {
        Some(p) => format!("{kind} {p}"),
        None => kind.to_string(),
    }
}

async fn accept_lmtp_unix(ctx: Arc<LmtpContext>, l: UnixListener, mut stop: watch::Receiver<bool>, conns: Conns) {
    let name = unix_listener_name(&l, "lmtp-local");
    let table = table(&ctx.state, &name, WhenFull::Refuse);
    let mut backoff = AcceptBackoff::new();
    loop {
        let accepted = tokio::select! {
            a = l.accept() => a,
            _ = stopped(&mut stop) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                backoff.reset();
                let Admission::Admitted(slot) = table.admit() else {
                    let _ = stream.try_write(LMTP_FULL);
                    continue;
                };
                let mut set = conns.lock().await;
                while set.try_join_next().is_some() {}
                set.spawn(lmtp_session(ctx.clone(), stream, "local".into(), slot, stop.clone()));
            }
            Err(e) => backoff.failed(&name, &e).await,
        }
    }
}

/// The effective uid of this process. (Not the owner of `/proc/self`: after a switch from root
/// to the okapi user the kernel may keep the process's /proc entries root's, as it does for a
/// process that is not dumpable.)
pub fn own_uid() -> Option<u32> {
    Some(nix::unistd::geteuid().as_raw())
}

/// Resolves once the stop flag is set (or its sender is gone).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TLS key others may read is refused with the chmod that fixes it; one
    /// only its owner and group read gets as far as being parsed.
    #[test]
    fn a_tls_key_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("okapi.key");
        std::fs::write(&key, "not a key").unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = refuse_key_others_may_read(&key).unwrap_err().to_string();
        assert!(err.contains("others may read") && err.contains("chmod 0640"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(refuse_key_others_may_read(&key).is_ok());
    }

    /// The socket file gets its mode at bind, whatever the umask (usually 022, which alone would
    /// give 0644), with no chmod afterwards.
    #[tokio::test]
    async fn unix_sockets_are_created_with_their_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o666, 0o660] {
            let path = dir.path().join(format!("lmtp-{mode:o}.sock"));
            let _l = bind_unix_with_mode(&path, Some(mode)).unwrap();
            let got = std::fs::symlink_metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{}", path.display());
        }
    }

    /// Trust for the local socket compares against the effective uid, not /proc's owner.
    #[test]
    fn own_uid_is_the_effective_uid() {
        assert_eq!(own_uid(), Some(nix::unistd::geteuid().as_raw()));
    }
}
