//! The HTTP front: routes a request to the SOAP or JSON codec, enforces
//! `max_request_size`, `request_body_timeout` and `request_memory` while it
//! reads a body, and answers every failure in the encoding the client spoke
//! (a SOAP Fault or a JSON error), never a bare 500.
//!
//! Routes:
//! - `POST /okapi`: SOAP 1.1; `GET /okapi?wsdl`: the WSDL
//! - `POST /api/v1/<operation>`: JSON
//! - `GET /api/v1/attachment?entryId=…&attachNum=…` with the session in the
//!   `X-Okapi-Session` header (or the web app's cookie): an attachment's
//!   bytes, streamed; `session=` in the URL is refused
//! - `/webapp/…` and `/api/web/…`: the web app and its cookie sessions (see [`crate::web`])
//! - `GET /health`: 200 `ok` when the database answers, 503 `unavailable` otherwise (no detail)

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Frame, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use crate::codec::{json, soap, wsdl};
use crate::error::{ApiError, MapiCode};
use crate::ops::{self, Ctx, Peer, State};
use crate::web;

/// Response body: whole or streamed.
pub enum ResponseBody {
    /// All bytes at once.
    Full(Full<Bytes>),
    /// Chunks from a producer task.
    Stream(tokio::sync::mpsc::Receiver<Result<Bytes, std::io::Error>>),
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            ResponseBody::Full(f) => Pin::new(f).poll_frame(cx).map_err(|never| match never {}),
            ResponseBody::Stream(rx) => rx.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    // A whole body has a known length, so clients get Content-Length rather
    // than chunked encoding.
    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            ResponseBody::Full(f) => f.size_hint(),
            ResponseBody::Stream(_) => hyper::body::SizeHint::default(),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ResponseBody::Full(f) => f.is_end_stream(),
            ResponseBody::Stream(_) => false,
        }
    }
}

/// How a connection reached the server.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Who is on the other end.
    pub peer: Peer,
    /// True on a TLS listener.
    pub tls: bool,
}

pub(crate) fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    let mut r = Response::new(ResponseBody::Full(Full::new(body.into())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

fn json_error(err: &ApiError) -> Response<ResponseBody> {
    let status = StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    retry_after(err, respond(status, "application/json", json::encode_error(err)))
}

fn soap_fault(err: &ApiError) -> Response<ResponseBody> {
    retry_after(
        err,
        respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/xml; charset=utf-8",
            soap::encode_fault(err),
        ),
    )
}

/// Tells HTTP clients and proxies when an answer is worth retrying: the
/// error says so where it is made ([`ApiError::retry_after`]).
fn retry_after(err: &ApiError, mut r: Response<ResponseBody>) -> Response<ResponseBody> {
    if let Some(secs) = err.retry_after_secs {
        r.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// Bodies up to this size do not count against `request_memory`.
const SMALL_BODY: usize = 1 << 20;

/// A request body and its share of `request_memory`, given back on drop.
struct HeldBody {
    bytes: Bytes,
    _room: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl std::ops::Deref for HeldBody {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// Takes `request_memory` room for `bytes` more bytes of body, or says the
/// server is busy.
fn take_room(
    state: &State,
    held: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    bytes: usize,
) -> Result<(), ApiError> {
    let kib = u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX);
    match state.request_memory.clone().try_acquire_many_owned(kib) {
        Ok(p) => {
            match held {
                Some(h) => h.merge(p),
                None => *held = Some(p),
            }
            Ok(())
        }
        Err(_) => Err(ApiError::new(
            MapiCode::Busy,
            "the server is receiving too many large requests at once (request_memory); try again in a moment",
        )
        .retry_after(1)),
    }
}

/// Reads the whole body, refusing more than `limit` bytes, and giving up when
/// it has not all arrived within `request_body_timeout` (so a client that
/// trickles a body holds neither memory nor a task for long). A body over
/// 1 MiB holds room in `request_memory` while it lives.
async fn read_body(req: Request<Incoming>, state: &State) -> Result<HeldBody, ApiError> {
    let cfg = state.config();
    let deadline = cfg.request_body_timeout;
    tokio::time::timeout(deadline, read_body_limited(req, cfg.max_request_size, state))
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::new(
                MapiCode::Timeout,
                format!(
                    "the request body did not arrive within request_body_timeout ({}s); send it faster or in smaller pieces",
                    deadline.as_secs()
                ),
            ))
        })
}

/// Reads the body into one buffer, sized from Content-Length when there is
/// one, so a body is held once (collecting chunks and joining them held it
/// twice).
async fn read_body_limited(req: Request<Incoming>, limit: u64, state: &State) -> Result<HeldBody, ApiError> {
    let too_big = || {
        ApiError::new(
            MapiCode::TooBig,
            format!("the request is larger than max_request_size ({limit} bytes)"),
        )
    };
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit) {
        return Err(too_big());
    }
    let announced = usize::try_from(announced.unwrap_or(0)).unwrap_or(usize::MAX);
    let mut room = None;
    // Room for an announced large body is taken before any of it is read.
    let mut covered = 0;
    if announced > SMALL_BODY {
        take_room(state, &mut room, announced)?;
        covered = announced;
    }
    let mut body = req.into_body();
    let mut buf = BytesMut::with_capacity(announced);
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::new(MapiCode::Corrupt, format!("could not read the request body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            let len = buf.len() + data.len();
            if len as u64 > limit {
                return Err(too_big());
            }
            // A chunked body takes its room as it grows past the small size.
            if len > SMALL_BODY && len > covered {
                let more = (len - covered).max(SMALL_BODY);
                take_room(state, &mut room, more)?;
                covered += more;
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(HeldBody {
        bytes: buf.freeze(),
        _room: room,
    })
}

/// Serves one request.
pub async fn handle(
    state: Arc<State>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let method = req.method().clone();
    let headers = req.headers().clone();
    let ctx = Ctx {
        state: state.clone(),
        peer: conn.peer.clone(),
    };
    let resp = match (&method, path.as_str()) {
        (&Method::GET, "/okapi" | "/okapi/") if query.eq_ignore_ascii_case("wsdl") => {
            let host = req
                .headers()
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost:236")
                .to_string();
            let scheme = if conn.tls { "https" } else { "http" };
            respond(
                StatusCode::OK,
                "text/xml; charset=utf-8",
                wsdl::wsdl(ops::OPERATIONS, &format!("{scheme}://{host}/okapi")),
            )
        }
        (&Method::POST, "/okapi" | "/okapi/") => match read_body(req, &state).await {
            Err(e) => soap_fault(&e),
            Ok(body) => match soap::decode_request(&body, ops::find) {
                Err(e) => soap_fault(&e),
                Ok((op, request)) => match ops::dispatch(&ctx, op, request).await {
                    Ok(v) => respond(StatusCode::OK, "text/xml; charset=utf-8", soap::encode_response(op, &v)),
                    Err(e) => {
                        log_failure(op.name, &conn.peer, &e);
                        soap_fault(&e)
                    }
                },
            },
        },
        (&Method::GET, "/api/v1/attachment") => download(&ctx, &headers, &query)
            .await
            .unwrap_or_else(|e| json_error(&e)),
        (&Method::GET | &Method::HEAD, p) if p == "/webapp" || p.starts_with("/webapp/") => {
            web::assets::serve(state.config().webapp_dir.as_deref(), p).await
        }
        (&Method::POST, "/api/web/login") => match read_body(req, &state).await {
            Ok(body) => web::login(&ctx, &conn, &headers, &body).await,
            Err(e) => Err(e),
        }
        .unwrap_or_else(|e| json_error(&e)),
        (&Method::GET, "/api/web/session") => web::current(&ctx, &headers).await.unwrap_or_else(|e| json_error(&e)),
        (&Method::POST, "/api/web/logout") => web::logout(&ctx, &conn, &headers)
            .await
            .unwrap_or_else(|e| json_error(&e)),
        (&Method::GET, "/api/web/body") => web::body(&ctx, &headers, &query)
            .await
            .unwrap_or_else(|e| json_error(&e)),
        (&Method::POST, p) if p.starts_with("/api/v1/") => {
            let name = &p["/api/v1/".len()..];
            match ops::find(name) {
                None => json_error(&ApiError::new(
                    MapiCode::UnknownOperation,
                    format!("there is no operation {name:?}; the WSDL at /okapi?wsdl lists them all"),
                )),
                Some(op) => match read_body(req, &state)
                    .await
                    .and_then(|b| json::decode_request(&b))
                    .and_then(|mut r| web::attach_cookie_session(&ctx, &headers, &mut r).map(|()| r))
                {
                    Err(e) => json_error(&e),
                    Ok(request) => match ops::dispatch(&ctx, op, request).await {
                        Ok(v) => respond(StatusCode::OK, "application/json", v.to_string()),
                        Err(e) => {
                            log_failure(op.name, &conn.peer, &e);
                            json_error(&e)
                        }
                    },
                },
            }
        }
        // Anyone may ask, without logging on: the answer is only ok or
        // unavailable; why the database failed is for the log.
        (&Method::GET, "/health") => match state.store.ping().await {
            Ok(()) => respond(StatusCode::OK, "text/plain", "ok\n"),
            Err(e) => {
                tracing::warn!(error = %e, "health check: the database is not answering");
                respond(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "unavailable\n")
            }
        },
        (&Method::GET, "/") => respond(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            format!(
                "okapi-server {}\nSOAP: POST /okapi (WSDL: GET /okapi?wsdl)\nJSON: POST /api/v1/<operation>\n",
                env!("CARGO_PKG_VERSION")
            ),
        ),
        _ => json_error(&ApiError::new(
            MapiCode::NotFound,
            format!("nothing at {method} {path}; the API is at POST /okapi (SOAP) and POST /api/v1/<operation> (JSON)"),
        )),
    };
    Ok(resp)
}

/// Serves one request as one unit of work (see [`crate::panics`]): a panic
/// while serving it answers this request alone, with 500 and
/// `MAPI_E_CALL_FAILED` in the encoding the client spoke, and the server
/// goes on serving everyone else.
pub async fn handle_guarded(
    state: Arc<State>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    // The path only: a query string may carry a session id, which no log may hold.
    let operation = format!("{} {}", req.method(), req.uri().path());
    let conn = ConnInfo {
        peer: crate::forwarded::client_peer(&conn.peer, req.headers(), &state.config().trusted_proxies),
        ..conn
    };
    let soap = matches!(req.uri().path(), "/okapi" | "/okapi/");
    let peer = conn.peer.clone();
    match crate::panics::guard(handle(state.clone(), conn, req)).await {
        Ok(response) => response,
        Err(panic) => {
            panic.log(crate::panics::Unit {
                operation: &operation,
                remote: Some(&peer),
                ..Default::default()
            });
            if state.shared_state_poisoned() {
                crate::panics::abort_shared_state_corrupt("the session table", &panic);
            }
            let e = ApiError::new(
                MapiCode::CallFailed,
                "the server failed on this request with an internal error (logged, with details for a bug \
                 report); other requests are not affected, so trying again may work",
            );
            Ok(if soap { soap_fault(&e) } else { json_error(&e) })
        }
    }
}

fn log_failure(op: &str, peer: &Peer, e: &ApiError) {
    match e.code {
        MapiCode::CallFailed | MapiCode::NetworkError => {
            tracing::warn!(okapi_operation = op, okapi_remote = %peer, error = %e, "operation failed")
        }
        _ => tracing::debug!(okapi_operation = op, okapi_remote = %peer, error = %e, "operation refused"),
    }
}

pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Streams an attachment's bytes in chunks, so a large one never sits in a
/// response buffer twice.
async fn download(ctx: &Ctx, headers: &hyper::HeaderMap, query: &str) -> Result<Response<ResponseBody>, ApiError> {
    let need = |k: &str| query_param(query, k).ok_or_else(|| ApiError::invalid(format!("the query needs {k}=")));
    // Reading needs no CSRF token: SameSite=Strict keeps the cookie off other sites' requests.
    let session = web::get_route_session(headers, query)?;
    let inline = query_param(query, "inline").as_deref() == Some("1");
    let entry_id = need("entryId")?;
    let num: i32 = need("attachNum")?
        .parse()
        .map_err(|_| ApiError::invalid("attachNum must be a number"))?;
    let att = ops::attachment_for_download(ctx, &session, &entry_id, num).await?;
    let data = match &att.blob_hash {
        Some(h) => ctx.store().blob_get(h).await?,
        None => Vec::new(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for chunk in data.chunks(64 * 1024) {
            if tx.send(Ok(Bytes::copy_from_slice(chunk))).await.is_err() {
                break;
            }
        }
    });
    let mut r = Response::new(ResponseBody::Stream(rx));
    let mime = HeaderValue::from_str(&att.mime_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    r.headers_mut().insert(CONTENT_TYPE, mime);
    r.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(att.size.max(0) as u64));
    r.headers_mut()
        .insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let safe_name: String = att
        .filename
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    // Only image types that cannot carry script are ever shown in place;
    // anything else is a download, and runs nothing even if opened directly.
    let disposition = if inline && web::sanitize::is_safe_image_type(&att.mime_type) {
        "inline"
    } else {
        "attachment"
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{disposition}; filename=\"{safe_name}\"")) {
        r.headers_mut().insert("content-disposition", v);
    }
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        assert_eq!(
            query_param("a=1&entryId=ab%2Fc&x=y+z", "entryId").as_deref(),
            Some("ab/c")
        );
        assert_eq!(query_param("x=y+z", "x").as_deref(), Some("y z"));
        assert_eq!(query_param("a=%", "a").as_deref(), Some("%"));
        assert_eq!(query_param("a=1", "b"), None);
    }
}
