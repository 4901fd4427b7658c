//! Socket activation: the listeners systemd opened for us, by
//! `FileDescriptorName=`.
//!
//! Names: `http`, `https`, `lmtp` (TCP), `local`, `lmtp-local` (unix). A
//! listener kind systemd passes replaces what the configuration says for that
//! kind; kinds it does not pass are bound from the configuration as usual.

use std::io;
use std::net::TcpListener;
use std::os::unix::net::UnixListener;

/// The names okapi understands.
pub const NAMES: [&str; 5] = ["http", "https", "lmtp", "local", "lmtp-local"];

/// Listeners received from the service manager.
#[derive(Debug, Default)]
pub struct Activated {
    /// `http`
    pub http: Vec<TcpListener>,
    /// `https`
    pub https: Vec<TcpListener>,
    /// `lmtp`
    pub lmtp: Vec<TcpListener>,
    /// `local`
    pub local: Option<UnixListener>,
    /// `lmtp-local`
    pub lmtp_local: Option<UnixListener>,
}

impl Activated {
    /// True if nothing was passed.
    pub fn is_empty(&self) -> bool {
        self.http.is_empty()
            && self.https.is_empty()
            && self.lmtp.is_empty()
            && self.local.is_none()
            && self.lmtp_local.is_none()
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Takes the sockets passed in `LISTEN_FDS`, sorted by name. Without socket
/// activation the result is empty.
pub fn from_environment() -> io::Result<Activated> {
    let names: Vec<String> = sd_notify::listen_fds_with_names()?.map(|(_, name)| name).collect();
    let mut fds = listenfd::ListenFd::from_env();
    let mut out = Activated::default();
    for (idx, name) in names.iter().enumerate() {
        let tcp = |fds: &mut listenfd::ListenFd| -> io::Result<TcpListener> {
            let l = fds
                .take_tcp_listener(idx)?
                .ok_or_else(|| bad(format!("socket {idx} ({name}) is not a TCP listening socket")))?;
            l.set_nonblocking(true)?;
            Ok(l)
        };
        let unix = |fds: &mut listenfd::ListenFd| -> io::Result<UnixListener> {
            let l = fds
                .take_unix_listener(idx)?
                .ok_or_else(|| bad(format!("socket {idx} ({name}) is not a unix listening socket")))?;
            l.set_nonblocking(true)?;
            Ok(l)
        };
        match name.as_str() {
            "http" => out.http.push(tcp(&mut fds)?),
            "https" => out.https.push(tcp(&mut fds)?),
            "lmtp" => out.lmtp.push(tcp(&mut fds)?),
            "local" => out.local = Some(unix(&mut fds)?),
            "lmtp-local" => out.lmtp_local = Some(unix(&mut fds)?),
            other => {
                return Err(bad(format!(
                    "systemd passed a socket named {other:?}; set FileDescriptorName= to one of {}",
                    NAMES.join(", ")
                )));
            }
        }
    }
    Ok(out)
}
