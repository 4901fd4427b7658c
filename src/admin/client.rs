//! okapi-admin's side of the wire: HTTP/1.1 over the server's local socket.
//!
//! Each call opens a connection to the unix socket, POSTs one JSON object to
//! `/api/v1/<operation>` and reads the answer. A success is handed back as
//! JSON; an error body (`{"error":{"code":…,"name":…,"message":…}}`) becomes a
//! [`ServerError`]. Everything else that can go wrong (no socket, no
//! permission, a broken connection, a reply that is not the API's) has its own
//! [`ClientError`] variant, so that `mod.rs` can pick the exit status from the
//! kind alone. Deciding what to ask and how to print the answer is left to
//! `commands.rs`.
//!
//! The rest of okapi-admin is synchronous: the [`Client`] owns a
//! current-thread Tokio runtime and blocks on each call.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::net::UnixStream;

/// How long one call may take before okapi-admin gives up. Generous: listing
/// the users of a large installation visits every store.
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// A connection factory for one server socket.
pub(crate) struct Client {
    socket: PathBuf,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client for the server listening on `socket`. Nothing is connected yet.
    pub(crate) fn new(socket: PathBuf) -> Result<Client, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(ClientError::Runtime)?;
        Ok(Client { socket, runtime })
    }

    /// Calls one operation: `request` is sent as the JSON body, the answer comes
    /// back as JSON.
    pub(crate) fn call(&self, op: &str, request: &impl Serialize) -> Result<Json, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Encode {
            op: op.to_string(),
            message: e.to_string(),
        })?;
        // The timer needs the runtime, so it is made inside the future.
        let call = async { tokio::time::timeout(CALL_TIMEOUT, self.post(op, body)).await };
        match self.runtime.block_on(call) {
            Ok(answer) => answer,
            Err(_) => Err(ClientError::Timeout {
                socket: self.socket.clone(),
                after: CALL_TIMEOUT,
            }),
        }
    }

    async fn post(&self, op: &str, body: Vec<u8>) -> Result<Json, ClientError> {
        let stream = UnixStream::connect(&self.socket).await.map_err(|source| {
            if source.kind() == io::ErrorKind::PermissionDenied {
                ClientError::Forbidden {
                    socket: self.socket.clone(),
                    source,
                }
            } else {
                ClientError::Unreachable {
                    socket: self.socket.clone(),
                    source,
                }
            }
        })?;
        let broken = |e: hyper::Error| ClientError::Connection {
            socket: self.socket.clone(),
            message: e.to_string(),
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(broken)?;
        // The connection future does the actual reading and writing; it ends
        // when the sender is dropped or the server closes the socket.
        let driver = tokio::spawn(connection);
        let request = Request::post(format!("/api/v1/{op}"))
            .header(HOST, "localhost")
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Encode {
                op: op.to_string(),
                message: e.to_string(),
            })?;
        let response = sender.send_request(request).await.map_err(broken)?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(broken)?.to_bytes();
        drop(sender);
        // The answer is complete; how the connection ended no longer matters.
        let _ = driver.await;
        decode_answer(op, status.as_u16(), &body)
    }
}

/// Turns a status and body into the answer or the server's error.
fn decode_answer(op: &str, status: u16, body: &[u8]) -> Result<Json, ClientError> {
    let bad = |detail: String| ClientError::BadReply {
        op: op.to_string(),
        status,
        detail,
    };
    let json: Result<Json, _> = serde_json::from_slice(body);
    if (200..300).contains(&status) {
        return json.map_err(|e| bad(format!("the body is not JSON: {e}")));
    }
    let Ok(json) = json else {
        return Err(bad(snippet(body)));
    };
    let error = &json["error"];
    match (error["name"].as_str(), error["message"].as_str()) {
        (Some(name), Some(message)) => Err(ClientError::Refused(ServerError {
            status,
            code: error["code"].as_str().unwrap_or_default().to_string(),
            name: name.to_string(),
            message: message.to_string(),
        })),
        _ => Err(bad(snippet(body))),
    }
}

/// The start of a body, for a message about an answer okapi-admin did not expect.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "an empty body".to_string(),
        None => text.to_string(),
    }
}

/// Decodes the JSON of a successful answer into its response type.
pub(crate) fn decode<T: DeserializeOwned>(op: &str, answer: Json) -> Result<T, ClientError> {
    serde_json::from_value(answer).map_err(|e| ClientError::BadReply {
        op: op.to_string(),
        status: 200,
        detail: e.to_string(),
    })
}

/// An error the server answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerError {
    /// HTTP status of the answer.
    pub status: u16,
    /// The MAPI code as hex text, `0x8004010F`.
    pub code: String,
    /// The MAPI name, `MAPI_E_NOT_FOUND`.
    pub name: String,
    /// The server's sentence.
    pub message: String,
}

impl ServerError {
    /// True when the server refused because it does not trust the caller:
    /// okapi-admin never sends a session, so a request for one (or a plain
    /// "no access") means the peer credentials were not good enough.
    pub(crate) fn is_untrusted(&self) -> bool {
        matches!(self.name.as_str(), "MAPI_E_END_OF_SESSION" | "MAPI_E_NO_ACCESS")
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.name)
    }
}

/// Why a call did not return an answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    /// No server at the socket: no such file, or nobody listening on it.
    #[error("cannot reach okapi-server at {}: {}. Is it running? (systemctl status okapi-server)", socket.display(), os_message(source))]
    Unreachable {
        /// The socket tried.
        socket: PathBuf,
        /// What connect(2) said.
        source: io::Error,
    },
    /// The socket exists but this user may not connect to it.
    #[error(
        "cannot connect to okapi-server at {}: {}. Run okapi-admin as root or as the okapi user",
        socket.display(),
        os_message(source)
    )]
    Forbidden {
        /// The socket tried.
        socket: PathBuf,
        /// What connect(2) said.
        source: io::Error,
    },
    /// The connection broke before the answer was complete.
    #[error(
        "the connection to okapi-server at {} failed: {message}; see the server's log (journalctl -u okapi-server)",
        socket.display()
    )]
    Connection {
        /// The socket used.
        socket: PathBuf,
        /// What hyper said.
        message: String,
    },
    /// The server took too long.
    #[error(
        "okapi-server at {} did not answer within {} seconds; see its log (journalctl -u okapi-server)",
        socket.display(),
        after.as_secs()
    )]
    Timeout {
        /// The socket used.
        socket: PathBuf,
        /// How long okapi-admin waited.
        after: Duration,
    },
    /// The server refused the request.
    #[error("{0}")]
    Refused(ServerError),
    /// The answer is not what the API promises.
    #[error(
        "okapi-server answered {op} with something okapi-admin does not understand (HTTP {status}: {detail}); \
         are okapi-admin and okapi-server the same version?"
    )]
    BadReply {
        /// The operation called.
        op: String,
        /// HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
    /// The request could not be built (a bug in okapi-admin).
    #[error("cannot encode the {op} request: {message}; this is a bug in okapi-admin")]
    Encode {
        /// The operation.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// The async runtime could not start (out of threads or file descriptors).
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
}

/// An OS error's text without the "(os error N)" suffix, so that the sentence
/// around it reads well: "No such file or directory".
fn os_message(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_server_errors() {
        let body = br#"{"error":{"code":"0x8004010F","name":"MAPI_E_NOT_FOUND","message":"there is no user \"x\""}}"#;
        let Err(ClientError::Refused(e)) = decode_answer("userShow", 404, body) else {
            panic!("not a refusal");
        };
        assert_eq!(e.code, "0x8004010F");
        assert_eq!(e.to_string(), "there is no user \"x\" (MAPI_E_NOT_FOUND)");
        assert!(!e.is_untrusted());
    }

    #[test]
    fn answers_and_odd_replies() {
        assert_eq!(decode_answer("x", 200, b"{}").unwrap(), serde_json::json!({}));
        assert!(matches!(
            decode_answer("x", 502, b"Bad Gateway"),
            Err(ClientError::BadReply { status: 502, .. })
        ));
        assert!(matches!(
            decode_answer("x", 200, b"<html>"),
            Err(ClientError::BadReply { .. })
        ));
        assert!(matches!(
            decode_answer("x", 500, b""),
            Err(ClientError::BadReply { .. })
        ));
    }

    #[test]
    fn untrusted_callers_are_recognised() {
        let e = ServerError {
            status: 401,
            code: "0x80040113".into(),
            name: "MAPI_E_END_OF_SESSION".into(),
            message: "administration needs an admin session".into(),
        };
        assert!(e.is_untrusted());
    }

    #[test]
    fn unreachable_names_socket_and_next_step() {
        let e = ClientError::Unreachable {
            socket: PathBuf::from("/run/okapi/server.sock"),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(
            e.to_string(),
            "cannot reach okapi-server at /run/okapi/server.sock: No such file or directory. \
             Is it running? (systemctl status okapi-server)"
        );
    }
}
