//! Bad input, over JSON and SOAP: malformed XML and JSON, unknown operations
//! and fields, wrong types, oversized bodies (with and without
//! Content-Length), forged and expired sessions, bad and foreign entry ids,
//! DTDs, deep nesting, wrong passwords and unknown paths. Each gets its own
//! MAPI error as a JSON error object or a SOAP fault with a sentence, never
//! an empty body or an HTML page, and the server goes on serving the other
//! clients, also while a slow client holds a half-sent request open.
//!
//! Bounds under hostile clients (issue 10): bodies built to cost memory are
//! refused within a fixed RSS budget of a real okapi-server process; half-sent
//! request lines and trickled bodies are cut at their deadlines; 10,000 idle
//! connections lock out neither a logon nor LMTP; parallel wrong logons never
//! run more argon2 hashes at once than the configured threads.

// A test fails by panicking, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Db, TestServer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// ---- helpers -------------------------------------------------------------------

/// A server on SQLite with user alice (password `pw`); `extra` is config.
async fn server(extra: &str) -> TestServer {
    let srv = TestServer::start(Db::Sqlite, extra).await.expect("sqlite server");
    srv.add_user("alice", "pw").await;
    srv
}

/// A SOAP 1.1 envelope around `body`, with `o:` bound to okapi's namespace.
fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:okapi"><soap:Body>{body}</soap:Body></soap:Envelope>"#
    )
}

/// Checks a JSON error response: the HTTP status, a JSON error object with
/// this MAPI name, its code in hex, and a message that is a sentence.
/// Returns the message.
fn assert_json_error(status: u16, body: &str, want_status: u16, mapi: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not a JSON body ({e}): {body:?}"));
    assert_eq!(status, want_status, "{body}");
    assert_eq!(v["error"]["name"], mapi, "{body}");
    assert!(
        v["error"]["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("0x") && c.len() == 10),
        "{body}"
    );
    let message = v["error"]["message"].as_str().unwrap_or_default().to_string();
    assert_sentence(&message);
    message
}

/// Checks a SOAP fault: HTTP 500, a Fault element carrying this MAPI name,
/// and a faultstring that is a sentence. Returns the faultstring.
fn assert_fault(status: u16, body: &str, mapi: &str) -> String {
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("<soap:Fault>"), "not a SOAP fault: {body:?}");
    assert!(body.contains(&format!("<name>{mapi}</name>")), "want {mapi}: {body}");
    let message = text_of(body, "faultstring");
    assert_sentence(&message);
    message
}

/// An error message must be something a person can read: non-empty words.
fn assert_sentence(message: &str) {
    assert!(
        message.len() > 10 && message.contains(' '),
        "not a helpful message: {message:?}"
    );
    assert!(!message.contains("<html") && !message.contains("<HTML"), "{message}");
}

/// POSTs a JSON text (not necessarily valid) to an operation.
async fn post_json(srv: &TestServer, op: &str, body: &str) -> (u16, String) {
    srv.raw(&format!("/api/v1/{op}"), "application/json", body.to_string())
        .await
}

/// POSTs a SOAP body inside an envelope.
async fn post_soap(srv: &TestServer, body: &str) -> (u16, String) {
    srv.raw("/okapi", "text/xml; charset=utf-8", envelope(body)).await
}

/// POSTs a SOAP request that must fail with this MAPI name; returns the faultstring.
async fn soap_fails(srv: &TestServer, body: &str, mapi: &str) -> String {
    let (status, text) = post_soap(srv, body).await;
    assert_fault(status, &text, mapi)
}

/// POSTs a JSON request that must fail with this MAPI name and status; returns the message.
async fn json_fails(srv: &TestServer, op: &str, body: Value, status: u16, mapi: &str) -> String {
    let (got, text) = post_json(srv, op, &body.to_string()).await;
    assert_json_error(got, &text, status, mapi)
}

/// The text of the first `<name>` element (any prefix) in an XML document.
fn text_of(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}> in {xml}")) + open.len();
    let end = xml[start..].find('<').expect("closing tag") + start;
    xml[start..end].to_string()
}

/// Sends raw bytes on a new connection and reads the whole response; returns (status, body). Write errors are ignored: the server may
/// answer and close before it has read everything.
async fn raw_http(srv: &TestServer, request: Vec<u8>) -> (u16, String) {
    let mut conn = TcpStream::connect(srv.base.trim_start_matches("http://"))
        .await
        .expect("connect");
    let (mut rd, mut wr) = conn.split();
    let write = async {
        // No half-close: hyper takes a read EOF as the client gone. The
        // request says `Connection: close`, so the server ends the exchange.
        let _ = wr.write_all(&request).await;
    };
    let mut response = Vec::new();
    let read = async { tokio::time::timeout(Duration::from_secs(20), rd.read_to_end(&mut response)).await };
    let ((), read) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP response ({read:?}): {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{head}"));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        unchunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// Decodes a chunked HTTP body.
fn unchunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

/// A request with a chunked body and no Content-Length.
fn chunked_request(path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut req =
        format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
            .into_bytes();
    for chunk in body.chunks(8 * 1024) {
        req.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        req.extend_from_slice(chunk);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    req
}

/// A normal client: logs on and lists the inbox. Proves the server still serves.
async fn normal_client_works(srv: &TestServer) {
    let s = srv.logon("alice", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].clone();
    let q = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"]}),
        )
        .await;
    assert!(q["total"].is_number(), "{q}");
}

/// A message entry id this server would issue for row `id` (the wire format
/// of src/entryid.rs: version 01, kind 03, 16 hex digits).
fn message_eid(id: u64) -> String {
    format!("0103{id:016x}")
}

// ---- tests ---------------------------------------------------------------------

/// Malformed JSON is MAPI_E_CORRUPT_DATA (400); a body that is JSON but not an
/// object (an array, a string) is MAPI_E_INVALID_PARAMETER; neither is ever
/// answered with an empty body.
#[tokio::test]
async fn malformed_json() {
    let srv = server("").await;
    for body in [
        "{oops",
        "{\"user\": \"alice\",",
        "\u{0}\u{1}binary",
        "{\"user\": \"alice\"} trailing",
    ] {
        let (status, text) = post_json(&srv, "logon", body).await;
        assert_json_error(status, &text, 400, "MAPI_E_CORRUPT_DATA");
    }
    for body in [
        "[1, 2]",
        "[{\"user\": \"alice\", \"password\": \"pw\"}]",
        "\"logon\"",
        "42",
        "null",
    ] {
        let (status, text) = post_json(&srv, "logon", body).await;
        assert_json_error(status, &text, 400, "MAPI_E_INVALID_PARAMETER");
    }
    let (status, text) = srv
        .raw("/api/v1/logon", "application/json", vec![0xff, 0xfe, 0x7b, 0x7d])
        .await;
    assert_json_error(status, &text, 400, "MAPI_E_CORRUPT_DATA");
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// Malformed XML, a document that is not a SOAP envelope, an empty Body, a
/// JSON body sent to the SOAP endpoint: each a Fault with MAPI_E_CORRUPT_DATA.
#[tokio::test]
async fn malformed_soap() {
    let srv = server("").await;
    let bodies = [
        "<soap:Envelope".to_string(),
        "<?xml version=\"1.0\"?><a><b></a>".to_string(),
        "not xml at all".to_string(),
        "{\"user\": \"alice\"}".to_string(),
        "<hello/>".to_string(),
        envelope(""),
        envelope("<o:logon><o:user>alice</o:user>"),
        envelope("<o:logon><o:user>alice &bogus; </o:user></o:logon>"),
    ];
    for body in bodies {
        let (status, text) = srv.raw("/okapi", "text/xml", body.clone()).await;
        let message = assert_fault(status, &text, "MAPI_E_CORRUPT_DATA");
        assert!(!message.is_empty(), "{body}");
    }
    let (status, text) = srv.raw("/okapi", "text/xml", "").await;
    assert_fault(status, &text, "MAPI_E_CORRUPT_DATA");
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A DOCTYPE with entity declarations (the "billion laughs" expansion and an
/// external entity) is refused before anything is expanded.
#[tokio::test]
async fn soap_doctype_and_entities() {
    let srv = server("").await;
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:okapi"><soap:Body>
<o:logon><o:user>&lol4;</o:user><o:password>pw</o:password></o:logon></soap:Body></soap:Envelope>"#;
    let external = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:okapi"><soap:Body>
<o:logon><o:user>&xxe;</o:user><o:password>pw</o:password></o:logon></soap:Body></soap:Envelope>"#;
    for body in [laughs, external] {
        let (status, text) = srv.raw("/okapi", "text/xml", body).await;
        let message = assert_fault(status, &text, "MAPI_E_CORRUPT_DATA");
        assert!(message.contains("DOCTYPE"), "{message}");
        assert!(!text.contains("root:"), "an external entity was read: {text}");
    }
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// An unknown operation is MAPI_E_UNKNOWN_OPERATION: 404 over JSON, a Fault
/// over SOAP; the message points to the WSDL.
#[tokio::test]
async fn unknown_operation() {
    let srv = server("").await;
    let m = json_fails(&srv, "frobnicate", json!({}), 404, "MAPI_E_UNKNOWN_OPERATION").await;
    assert!(m.contains("frobnicate"), "{m}");
    json_fails(
        &srv,
        "Logon",
        json!({"user": "alice", "password": "pw"}),
        404,
        "MAPI_E_UNKNOWN_OPERATION",
    )
    .await;
    let m = soap_fails(
        &srv,
        "<o:frobnicate><o:x>1</o:x></o:frobnicate>",
        "MAPI_E_UNKNOWN_OPERATION",
    )
    .await;
    assert!(m.contains("frobnicate"), "{m}");
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A field the request type does not have is MAPI_E_INVALID_PARAMETER naming it.
#[tokio::test]
async fn unknown_field() {
    let srv = server("").await;
    let m = json_fails(
        &srv,
        "logon",
        json!({"user": "alice", "pasword": "pw"}),
        400,
        "MAPI_E_INVALID_PARAMETER",
    )
    .await;
    assert!(m.contains("pasword"), "{m}");
    let m = soap_fails(
        &srv,
        "<o:logon><o:user>alice</o:user><o:pasword>pw</o:pasword></o:logon>",
        "MAPI_E_INVALID_PARAMETER",
    )
    .await;
    assert!(m.contains("pasword"), "{m}");
    let s = srv.logon("alice", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].clone();
    let m = json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": inbox, "restriction": {"contains": {"tag": "PR_SUBJECT"}}}),
        400,
        "MAPI_E_INVALID_PARAMETER",
    )
    .await;
    assert!(m.contains("contains"), "{m}");
    srv.stop().await;
}

/// Values of the wrong type are MAPI_E_INVALID_PARAMETER with a message that
/// names the field: a string limit, a non-boolean read flag, a number as
/// PR_SUBJECT, bad base64 in an attachment; over JSON and over SOAP.
#[tokio::test]
async fn wrong_types() {
    let srv = server("").await;
    let s = srv.logon("alice", "pw").await;
    let st = srv.store_of(&s).await;
    let inbox = st["inbox"].as_str().unwrap().to_string();
    let msg = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": inbox, "props": {"PR_SUBJECT": "x"}}),
        )
        .await["entryId"]
        .clone();
    let bad = "MAPI_E_INVALID_PARAMETER";
    let cases = [
        (
            "queryRows",
            json!({"session": s, "folder": inbox, "limit": "ten"}),
            "limit",
        ),
        (
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": "PR_SUBJECT"}),
            "columns",
        ),
        (
            "queryRows",
            json!({"session": s, "folder": inbox, "limit": 1e300}),
            "limit",
        ),
        (
            "setReadFlags",
            json!({"session": s, "entryIds": [msg], "read": "maybe"}),
            "read",
        ),
        (
            "setReadFlags",
            json!({"session": s, "entryIds": msg, "read": true}),
            "entryIds",
        ),
        (
            "saveObject",
            json!({"session": s, "folder": inbox, "props": {"PR_SUBJECT": 42}}),
            "PR_SUBJECT",
        ),
        (
            "saveObject",
            json!({"session": s, "folder": inbox, "props": {"PR_IMPORTANCE": "high"}}),
            "PR_IMPORTANCE",
        ),
        (
            "saveObject",
            json!({"session": s, "folder": inbox, "attachments": [{"filename": "a", "data": "***not base64***"}]}),
            "data",
        ),
        (
            "getAttachment",
            json!({"session": s, "entryId": msg, "attachNum": "zero"}),
            "attachNum",
        ),
        ("logon", json!({"user": ["alice"], "password": "pw"}), "user"),
    ];
    for (op, body, field) in cases {
        let m = json_fails(&srv, op, body.clone(), 400, bad).await;
        assert!(m.contains(field), "{op} {body}: the message does not name {field}: {m}");
    }
    let soap_cases = [
        (
            format!(
                "<o:queryRows><o:session>{s}</o:session><o:folder>{inbox}</o:folder><o:limit>ten</o:limit></o:queryRows>"
            ),
            "limit",
        ),
        (
            format!(
                "<o:setReadFlags><o:session>{s}</o:session><o:entryIds>{}</o:entryIds><o:read>maybe</o:read></o:setReadFlags>",
                msg.as_str().unwrap()
            ),
            "read",
        ),
        (
            format!(
                "<o:saveObject><o:session>{s}</o:session><o:folder>{inbox}</o:folder><o:props><o:prop><o:tag>PR_IMPORTANCE</o:tag><o:i>high</o:i></o:prop></o:props></o:saveObject>"
            ),
            "props",
        ),
        (
            format!(
                "<o:saveObject><o:session>{s}</o:session><o:folder>{inbox}</o:folder><o:attachments><o:filename>a</o:filename><o:data>***</o:data></o:attachments></o:saveObject>"
            ),
            "data",
        ),
    ];
    for (body, field) in soap_cases {
        let m = soap_fails(&srv, &body, bad).await;
        assert!(m.contains(field), "{body}: the fault does not name {field}: {m}");
    }
    // Nothing was saved by the refused requests.
    assert_eq!(
        srv.ok("queryRows", json!({"session": s, "folder": inbox})).await["total"],
        1
    );
    srv.stop().await;
}

/// A session id the server never issued is MAPI_E_END_OF_SESSION (401 over
/// JSON, a Fault over SOAP), as is a missing one.
#[tokio::test]
async fn forged_session() {
    let srv = server("").await;
    let s = srv.logon("alice", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].clone();
    let forged = "0123456789abcdef0123456789abcdef";
    for session in [
        json!(forged),
        json!(""),
        json!(format!("{s}x")),
        json!(s.to_uppercase()),
    ] {
        json_fails(
            &srv,
            "queryRows",
            json!({"session": session, "folder": inbox}),
            401,
            "MAPI_E_END_OF_SESSION",
        )
        .await;
    }
    json_fails(&srv, "getStore", json!({}), 401, "MAPI_E_END_OF_SESSION").await;
    soap_fails(
        &srv,
        &format!("<o:getStore><o:session>{forged}</o:session></o:getStore>"),
        "MAPI_E_END_OF_SESSION",
    )
    .await;
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/attachment?entryId={}&attachNum=0",
            srv.base,
            message_eid(1)
        ))
        .header("X-Okapi-Session", forged)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_json_error(status, &r.text().await.unwrap(), 401, "MAPI_E_END_OF_SESSION");
    // Logging off ends a session for good.
    srv.ok("logoff", json!({"session": s})).await;
    json_fails(&srv, "getStore", json!({"session": s}), 401, "MAPI_E_END_OF_SESSION").await;
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A session unused for longer than session_timeout has expired:
/// MAPI_E_END_OF_SESSION over JSON and SOAP; a new logon works.
#[tokio::test]
async fn expired_session() {
    let srv = server("session_timeout = 1").await;
    let s = srv.logon("alice", "pw").await;
    let s2 = srv.logon("alice", "pw").await;
    srv.store_of(&s).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let m = json_fails(&srv, "getStore", json!({"session": s}), 401, "MAPI_E_END_OF_SESSION").await;
    assert!(m.contains("log on again"), "{m}");
    soap_fails(
        &srv,
        &format!("<o:getStore><o:session>{s2}</o:session></o:getStore>"),
        "MAPI_E_END_OF_SESSION",
    )
    .await;
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// Entry ids: malformed is MAPI_E_INVALID_ENTRYID, as is one of the wrong
/// kind (a folder where a message is expected and back); a well-formed id of
/// nothing is MAPI_E_NOT_FOUND; another user's is MAPI_E_NO_ACCESS.
#[tokio::test]
async fn bad_entry_ids() {
    let srv = server("").await;
    srv.add_user("bob", "pw").await;
    let s = srv.logon("alice", "pw").await;
    let bob = srv.logon("bob", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let bob_inbox = srv.store_of(&bob).await["inbox"].as_str().unwrap().to_string();
    let bob_msg = srv
        .ok(
            "saveObject",
            json!({"session": bob, "folder": bob_inbox, "props": {"PR_SUBJECT": "bob's"}}),
        )
        .await["entryId"]
        .clone();
    let invalid = "MAPI_E_INVALID_ENTRYID";
    for eid in [
        "xyz",
        "",
        "01030000000000000001ff",
        "0103000000000000000g",
        "0903000000000000000a",
        "01030000000000000000",
    ] {
        json_fails(&srv, "loadObject", json!({"session": s, "entryId": eid}), 400, invalid).await;
        json_fails(&srv, "queryRows", json!({"session": s, "folder": eid}), 400, invalid).await;
    }
    let m = json_fails(
        &srv,
        "loadObject",
        json!({"session": s, "entryId": inbox}),
        400,
        invalid,
    )
    .await;
    assert!(m.contains("message"), "{m}");
    json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": bob_msg}),
        400,
        invalid,
    )
    .await;
    json_fails(
        &srv,
        "moveObjects",
        json!({"session": s, "entryIds": [inbox], "destFolder": inbox}),
        400,
        invalid,
    )
    .await;
    json_fails(
        &srv,
        "deleteObjects",
        json!({"session": s, "entryIds": [bob_msg, "nope"]}),
        400,
        invalid,
    )
    .await;
    soap_fails(
        &srv,
        &format!("<o:loadObject><o:session>{s}</o:session><o:entryId>{inbox}</o:entryId></o:loadObject>"),
        invalid,
    )
    .await;

    let missing = message_eid(987_654_321);
    json_fails(
        &srv,
        "loadObject",
        json!({"session": s, "entryId": missing}),
        404,
        "MAPI_E_NOT_FOUND",
    )
    .await;
    json_fails(
        &srv,
        "setReadFlags",
        json!({"session": s, "entryIds": [missing], "read": true}),
        404,
        "MAPI_E_NOT_FOUND",
    )
    .await;
    json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": format!("0102{:016x}", 987_654_321u64)}),
        404,
        "MAPI_E_NOT_FOUND",
    )
    .await;
    soap_fails(
        &srv,
        &format!("<o:loadObject><o:session>{s}</o:session><o:entryId>{missing}</o:entryId></o:loadObject>"),
        "MAPI_E_NOT_FOUND",
    )
    .await;

    json_fails(
        &srv,
        "loadObject",
        json!({"session": s, "entryId": bob_msg}),
        403,
        "MAPI_E_NO_ACCESS",
    )
    .await;
    json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": bob_inbox}),
        403,
        "MAPI_E_NO_ACCESS",
    )
    .await;
    soap_fails(
        &srv,
        &format!(
            "<o:loadObject><o:session>{s}</o:session><o:entryId>{}</o:entryId></o:loadObject>",
            bob_msg.as_str().unwrap()
        ),
        "MAPI_E_NO_ACCESS",
    )
    .await;
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A body over max_request_size is MAPI_E_TOO_BIG (413 over JSON, a Fault
/// over SOAP), whether it announces its length or comes chunked without
/// one; a body just under the limit still works.
#[tokio::test]
async fn request_too_big() {
    let srv = server("max_request_size = 64K").await;
    let s = srv.logon("alice", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let big_json = json!({"session": s, "folder": inbox, "props": {"PR_BODY": "x".repeat(100 * 1024)}}).to_string();
    let big_soap = envelope(&format!(
        "<o:saveObject><o:session>{s}</o:session><o:folder>{inbox}</o:folder><o:props><o:prop><o:tag>PR_BODY</o:tag><o:s>{}</o:s></o:prop></o:props></o:saveObject>",
        "x".repeat(100 * 1024)
    ));

    let (status, text) = post_json(&srv, "saveObject", &big_json).await;
    let m = assert_json_error(status, &text, 413, "MAPI_E_TOO_BIG");
    assert!(m.contains("max_request_size"), "{m}");
    let (status, text) = srv.raw("/okapi", "text/xml", big_soap.clone()).await;
    assert_fault(status, &text, "MAPI_E_TOO_BIG");

    let (status, text) = raw_http(
        &srv,
        chunked_request("/api/v1/saveObject", "application/json", big_json.as_bytes()),
    )
    .await;
    assert_json_error(status, &text, 413, "MAPI_E_TOO_BIG");
    let (status, text) = raw_http(&srv, chunked_request("/okapi", "text/xml", big_soap.as_bytes())).await;
    assert_fault(status, &text, "MAPI_E_TOO_BIG");

    // Under the limit, chunked or not, the same request works.
    let small = json!({"session": s, "folder": inbox, "props": {"PR_BODY": "x".repeat(30 * 1024)}}).to_string();
    let (status, text) = raw_http(
        &srv,
        chunked_request("/api/v1/saveObject", "application/json", small.as_bytes()),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = post_json(&srv, "saveObject", &small).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        srv.ok("queryRows", json!({"session": s, "folder": inbox})).await["total"],
        2
    );
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// Restrictions nested deeper than the server allows are
/// MAPI_E_INVALID_PARAMETER over JSON and SOAP below the body depth limit
/// (64 levels); deeper still, the body itself is refused as corrupt. The server
/// survives 100 and 1000 levels of nesting.
#[tokio::test]
async fn deep_restrictions() {
    let srv = server("").await;
    let s = srv.logon("alice", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let nested = |levels: usize| {
        let mut r = json!({"exists": "PR_SUBJECT"});
        for _ in 0..levels {
            r = json!({"not": r});
        }
        r
    };
    // Moderate nesting is fine.
    srv.ok(
        "queryRows",
        json!({"session": s, "folder": inbox, "restriction": nested(10)}),
    )
    .await;
    let m = json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": inbox, "restriction": nested(40)}),
        400,
        "MAPI_E_INVALID_PARAMETER",
    )
    .await;
    assert!(m.contains("nested"), "{m}");
    // Past 64 levels the body itself is refused before it is parsed.
    let m = json_fails(
        &srv,
        "queryRows",
        json!({"session": s, "folder": inbox, "restriction": nested(100)}),
        400,
        "MAPI_E_CORRUPT_DATA",
    )
    .await;
    assert!(m.contains("deeper than 64"), "{m}");
    // 1000 levels: the same, as corrupt data.
    let deep = format!(
        "{{\"session\":\"{s}\",\"folder\":\"{inbox}\",\"restriction\":{}{}{}}}",
        "{\"not\":".repeat(1000),
        "{\"exists\":\"PR_SUBJECT\"}",
        "}".repeat(1000)
    );
    let (status, text) = post_json(&srv, "queryRows", &deep).await;
    assert!(status == 400, "{text}");
    assert!(
        text.contains("MAPI_E_CORRUPT_DATA") || text.contains("MAPI_E_INVALID_PARAMETER"),
        "{text}"
    );

    let soap_nested = |levels: usize| {
        format!(
            "<o:queryRows><o:session>{s}</o:session><o:folder>{inbox}</o:folder><o:restriction>{}<o:exists>PR_SUBJECT</o:exists>{}</o:restriction></o:queryRows>",
            "<o:not>".repeat(levels),
            "</o:not>".repeat(levels)
        )
    };
    let m = soap_fails(&srv, &soap_nested(40), "MAPI_E_INVALID_PARAMETER").await;
    assert!(m.contains("nested"), "{m}");
    soap_fails(&srv, &soap_nested(100), "MAPI_E_CORRUPT_DATA").await;
    soap_fails(&srv, &soap_nested(10_000), "MAPI_E_CORRUPT_DATA").await;
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A wrong password or unknown user is MAPI_E_LOGON_FAILED (401 over JSON, a
/// Fault over SOAP) with the same message for both, so logins cannot be probed.
#[tokio::test]
async fn wrong_logon() {
    let srv = server("").await;
    let wrong = json_fails(
        &srv,
        "logon",
        json!({"user": "alice", "password": "nope"}),
        401,
        "MAPI_E_LOGON_FAILED",
    )
    .await;
    let unknown = json_fails(
        &srv,
        "logon",
        json!({"user": "mallory", "password": "pw"}),
        401,
        "MAPI_E_LOGON_FAILED",
    )
    .await;
    assert_eq!(wrong, unknown);
    json_fails(&srv, "logon", json!({}), 401, "MAPI_E_LOGON_FAILED").await;
    soap_fails(
        &srv,
        "<o:logon><o:user>alice</o:user><o:password>nope</o:password></o:logon>",
        "MAPI_E_LOGON_FAILED",
    )
    .await;
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// Paths and methods the server does not serve get a 404 JSON error, not an
/// HTML page; GET /okapi?wsdl serves the WSDL.
#[tokio::test]
async fn unknown_paths_and_wsdl() {
    let srv = server("").await;
    let client = reqwest::Client::new();
    for path in ["/nothing", "/api/v2/logon", "/okapi/extra", "/api/v1", "/index.html"] {
        let r = client.get(format!("{}{path}", srv.base)).send().await.unwrap();
        let status = r.status().as_u16();
        assert_json_error(status, &r.text().await.unwrap(), 404, "MAPI_E_NOT_FOUND");
    }
    let r = client.get(format!("{}/api/v1/logon", srv.base)).send().await.unwrap();
    let status = r.status().as_u16();
    assert_json_error(status, &r.text().await.unwrap(), 404, "MAPI_E_NOT_FOUND");
    let r = client.delete(format!("{}/okapi", srv.base)).send().await.unwrap();
    let status = r.status().as_u16();
    assert_json_error(status, &r.text().await.unwrap(), 404, "MAPI_E_NOT_FOUND");

    let r = client.get(format!("{}/okapi?wsdl", srv.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/xml"));
    let wsdl = r.text().await.unwrap();
    assert!(wsdl.contains("definitions") && wsdl.contains("queryRows"), "{wsdl}");
    // The attachment download answers its own errors as JSON too.
    let r = client
        .get(format!("{}/api/v1/attachment?session=x", srv.base))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_json_error(status, &r.text().await.unwrap(), 400, "MAPI_E_INVALID_PARAMETER");
    srv.stop().await;
}

/// While a slow client holds a half-sent request open (and another has sent
/// garbage), a normal client logs on and queries as usual; the slow request
/// still completes when its body finally arrives.
#[tokio::test]
async fn slow_client_does_not_block_others() {
    let srv = server("").await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let body = json!({"user": "alice", "password": "pw"}).to_string();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /api/v1/logon HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            body.len(),
            &body[..5]
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut headers_only = TcpStream::connect(&addr).await.unwrap();
    headers_only
        .write_all(b"POST /okapi HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut garbage = TcpStream::connect(&addr).await.unwrap();
    garbage
        .write_all(b"\x16\x03\x01 not http at all\r\n\r\n")
        .await
        .unwrap();

    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(10), normal_client_works(&srv))
            .await
            .expect("a normal client was blocked");
    }

    slow.write_all(&body.as_bytes()[5..]).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("\"session\""), "{text}");
    drop((headers_only, garbage));
    srv.stop().await;
}

/// After a barrage of every kind of bad request, over many connections at
/// once, the server still answers a normal client.
#[tokio::test]
async fn server_keeps_serving_after_bad_input() {
    let srv = std::sync::Arc::new(server("max_request_size = 64K").await);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let srv = srv.clone();
        tasks.push(tokio::spawn(async move {
            let (status, text) = match i % 5 {
                0 => post_json(&srv, "logon", "{oops").await,
                1 => srv.raw("/okapi", "text/xml", "<a><b></a>").await,
                2 => {
                    post_json(
                        &srv,
                        "queryRows",
                        &json!({"session": "forged", "folder": "x"}).to_string(),
                    )
                    .await
                }
                3 => post_json(&srv, "logon", &"x".repeat(100 * 1024)).await,
                _ => post_json(&srv, "nope", "{}").await,
            };
            assert!(status >= 400, "{i}: {status} {text:?}");
            if i % 5 == 1 {
                assert!(text.contains("<soap:Fault>"), "{i}: {text:?}");
            } else {
                let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{i}: {e}: {text:?}"));
                assert_sentence(v["error"]["message"].as_str().unwrap_or_default());
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    normal_client_works(&srv).await;
    if let Ok(srv) = std::sync::Arc::try_unwrap(srv) {
        srv.stop().await;
    }
}

// ---- bounds under hostile clients (issue 10) -----------------------------------

/// okapi-server as its own process, so its memory can be read from /proc.
struct ServerProcess {
    running: common::process::Running,
    base: String,
    _dir: tempfile::TempDir,
}

impl ServerProcess {
    /// Starts the binary on SQLite in a fresh directory; `extra` is config.
    /// Started as root (as in CI) it drops to nobody, who must own the directory.
    async fn start(extra: &str) -> ServerProcess {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let port = common::process::free_port();
        let cfg = dir.path().join("server.cfg");
        std::fs::write(
            &cfg,
            format!(
                "server_listen = 127.0.0.1:{port}\nserver_listen_tls =\nlocal_socket = {d}/server.sock\n\
                 lmtp_listen =\nlmtp_socket = {d}/lmtp.sock\ndatabase_url = sqlite://{d}/okapi.db\n\
                 attachment_path = {d}/blobs\nlog_level = warn\nrun_as_user = nobody\nrun_as_group = nogroup\n{extra}\n",
                d = dir.path().display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_okapi-server"))
            .arg("--config")
            .arg(&cfg)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut running = common::process::Running(child);
        let base = format!("http://127.0.0.1:{port}");
        let health = format!("{base}/health");
        let start = std::time::Instant::now();
        while reqwest::get(&health).await.map(|r| r.status().as_u16()).ok() != Some(200) {
            assert!(running.0.try_wait().unwrap().is_none(), "okapi-server exited");
            assert!(start.elapsed() < Duration::from_secs(30), "okapi-server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ServerProcess {
            running,
            base,
            _dir: dir,
        }
    }

    /// A field of /proc/PID/status in bytes (VmRSS, VmHWM).
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.running.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("no {field} in {status}"));
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }

    /// POSTs a body; returns status and text, failing a request that hangs.
    async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
        let r = tokio::time::timeout(
            Duration::from_secs(60),
            reqwest::Client::new()
                .post(format!("{}{path}", self.base))
                .header("content-type", content_type)
                .body(body)
                .send(),
        )
        .await
        .expect("the server did not answer within a minute")
        .expect("request");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }
}

/// 16 MiB bodies built to cost memory (`<a/>` repeated, bare and inside an
/// envelope; JSON arrays of empty arrays; deep nesting), sent without a
/// session, are each refused with a fault or error naming the limit, and the
/// server's peak RSS grows by less than 64 MB over the whole series.
#[tokio::test]
async fn huge_bodies_are_refused_within_bounded_memory() {
    const SIXTEEN_MIB: usize = 16 << 20;
    let srv = ServerProcess::start("").await;
    // Warm up the allocator and the connection path.
    let (status, text) = srv.post("/api/v1/logon", "application/json", b"{}".to_vec()).await;
    assert_json_error(status, &text, 401, "MAPI_E_LOGON_FAILED");
    let before = srv.memory("VmRSS");

    let tiny = "<a/>".repeat(SIXTEEN_MIB / 4);
    let (status, text) = srv.post("/okapi", "text/xml", tiny.clone().into_bytes()).await;
    assert!(assert_fault(status, &text, "MAPI_E_TOO_BIG").contains("200000 XML elements"));
    let wrapped = envelope(&format!("<o:logon>{tiny}</o:logon>"));
    let (status, text) = srv.post("/okapi", "text/xml", wrapped.into_bytes()).await;
    assert!(assert_fault(status, &text, "MAPI_E_TOO_BIG").contains("200000 XML elements"));
    drop(tiny);

    let arrays = format!("{{\"user\":[{}[]]}}", "[],".repeat(SIXTEEN_MIB / 3));
    let (status, text) = srv.post("/api/v1/logon", "application/json", arrays.into_bytes()).await;
    assert!(assert_json_error(status, &text, 413, "MAPI_E_TOO_BIG").contains("200000 JSON values"));
    let objects = format!("{{\"user\":[{}{{}}]}}", "{},".repeat(SIXTEEN_MIB / 3));
    let (status, text) = srv
        .post("/api/v1/logon", "application/json", objects.into_bytes())
        .await;
    assert_json_error(status, &text, 413, "MAPI_E_TOO_BIG");
    let deep = format!(
        "{{\"user\":{}{}}}",
        "[".repeat(SIXTEEN_MIB / 2),
        "]".repeat(SIXTEEN_MIB / 2)
    );
    let (status, text) = srv.post("/api/v1/logon", "application/json", deep.into_bytes()).await;
    assert!(assert_json_error(status, &text, 400, "MAPI_E_CORRUPT_DATA").contains("deeper than 64"));

    let peak = srv.memory("VmHWM");
    let grown = peak.saturating_sub(before);
    eprintln!("RSS before {} MB, peak {} MB", before >> 20, peak >> 20);
    assert!(grown < 64 << 20, "peak RSS grew by {} MB", grown >> 20);
}

/// A client that sends half a request line, and one that sends nothing, are
/// disconnected within the header timeout; a keep-alive connection waiting
/// between requests is not cut by it, only by the (longer) keep-alive timeout.
#[tokio::test]
async fn half_a_request_line_is_disconnected_within_the_header_timeout() {
    let srv = server("request_header_timeout = 2s\nkeepalive_timeout = 6s").await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"POST /api/v1/lo").await.unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), half.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a half-sent request line held its connection open");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "closed after {took:?}, before the timeout"
    );
    let closed = tokio::time::timeout(Duration::from_secs(20), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "a silent connection was kept open");

    // Keep-alive: a request, then 4 s of quiet (past the header timeout), then another.
    let mut kept = TcpStream::connect(&addr).await.unwrap();
    let get = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    for round in 0..2 {
        kept.write_all(get).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(10), kept.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.starts_with("HTTP/1.1 200"), "round {round}: {text}");
        if round == 0 {
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
    }
    let idle = std::time::Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(20), kept.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "an idle keep-alive connection was kept open");
    assert!(idle.elapsed() >= Duration::from_millis(5500), "{:?}", idle.elapsed());
    normal_client_works(&srv).await;
    srv.stop().await;
}

/// A client that sends its headers and then trickles its body is answered
/// MAPI_E_TIMEOUT at request_body_timeout, and the server serves others
/// meanwhile.
#[tokio::test]
async fn a_trickled_body_is_cut_at_the_body_deadline() {
    let srv = server("request_body_timeout = 2s").await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /api/v1/logon HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"user\":\"")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let trickle = async {
        // One byte every 200 ms: never idle, never done.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"a").await.is_err() {
                break;
            }
        }
    };
    let others = async {
        normal_client_works(&srv).await;
    };
    tokio::join!(trickle, others);
    let took = started.elapsed();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 504"), "{text}");
    assert!(
        text.contains("MAPI_E_TIMEOUT") && text.contains("request_body_timeout"),
        "{text}"
    );
    assert!(took < Duration::from_secs(20), "the trickle went on for {took:?}");
    srv.stop().await;
}

/// Large bodies share request_memory: while one upload holds most of it,
/// another large request is answered MAPI_E_BUSY at once (503, Retry-After),
/// small requests are served as usual, and once the upload is gone the large
/// request gets through to its real answer.
#[tokio::test]
async fn large_bodies_share_request_memory() {
    let srv = server("request_memory = 3M\nmax_request_size = 3M").await;
    let s = srv.logon("alice", "pw").await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut upload = TcpStream::connect(&addr).await.unwrap();
    upload
        .write_all(b"POST /api/v1/saveObject HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2500000\r\n\r\n{")
        .await
        .unwrap();
    let big =
        json!({"session": "not-a-session", "folder": "x", "props": {"PR_BODY": "Grüße ".repeat(300_000)}}).to_string();
    let mut answer = None;
    for _ in 0..50 {
        let (status, text) = post_json(&srv, "saveObject", &big).await;
        if status == 503 {
            answer = Some(text);
            break;
        }
        // The upload's headers may not have been read yet.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = answer.expect("a large request was not told the server is busy");
    let m = assert_json_error(503, &text, 503, "MAPI_E_BUSY");
    assert!(
        m.contains("request_memory") && m.contains("try again in a moment"),
        "{m}"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/saveObject", srv.base))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert_eq!(r.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"1"[..]));
    srv.store_of(&s).await;
    drop(upload);
    let mut last = String::new();
    for _ in 0..50 {
        let (status, text) = post_json(&srv, "saveObject", &big).await;
        if status != 503 {
            assert_json_error(status, &text, 401, "MAPI_E_END_OF_SESSION");
            srv.stop().await;
            return;
        }
        last = text;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request_memory was not given back after the upload went away: {last}");
}

/// Raises this process's open-file limit to its hard limit (the server in
/// the test process and the test's clients share it).
fn raise_open_files() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    hard
}

/// Opens `n` TCP connections to `addr` that send nothing.
async fn idle_connections(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut open = Vec::with_capacity(n);
    while open.len() < n {
        let batch = (n - open.len()).min(500);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..batch {
            let addr = addr.to_string();
            set.spawn(async move { TcpStream::connect(addr).await });
        }
        for c in set.join_all().await {
            open.push(c.expect("open an idle connection"));
        }
    }
    open
}

/// With 10,000 idle TCP connections on the HTTP listener (more than its
/// max_connections), another client still logs on and LMTP still delivers.
async fn idle_connections_lock_nobody_out(db: Db) {
    let hard = raise_open_files();
    assert!(
        hard >= 12_000,
        "the open-file hard limit ({hard}) is too low for this test"
    );
    let Some(srv) = TestServer::start(db, "max_connections = 1000").await else {
        return;
    };
    srv.add_user("alice", "pw").await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let idle = idle_connections(&addr, 10_000).await;

    let s = tokio::time::timeout(Duration::from_secs(30), srv.logon("alice", "pw"))
        .await
        .expect("logon was locked out by idle connections");
    let mut lmtp = common::lmtp::Client::tcp(srv.lmtp).await.unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        lmtp.send(
            "sender@example.net",
            &["alice@example.test"],
            "Subject: Grüße trotz 10.000 Verbindungen\r\n\r\nKalimera! 你好 🎉\r\n".as_bytes(),
        ),
    )
    .await
    .expect("LMTP was locked out by idle connections")
    .unwrap();
    assert_eq!(out.finals[0].code, 250, "{:?}", out.finals);
    lmtp.quit().await;
    let inbox = srv.store_of(&s).await["inbox"].clone();
    let rows = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"]}),
        )
        .await;
    assert_eq!(rows["total"], 1, "{rows}");
    drop(idle);
    srv.stop().await;
}

/// 64 wrong logons at once: never more argon2 hashes at the same moment than
/// password_hash_threads, each caller gets either MAPI_E_LOGON_FAILED or,
/// once the queue is full, a retryable MAPI_E_BUSY (503, Retry-After), and
/// the right password still works afterwards. (The logon throttle is set
/// out of reach: this is about the password threads, tests/logon_protection
/// about the throttle.)
async fn parallel_wrong_logons_are_bounded(db: Db) {
    let config = "password_hash_threads = 2\npassword_hash_queue = 4\n\
                  logon_failures_per_account = 1000\nlogon_failures_per_address = 1000";
    let Some(srv) = TestServer::start(db, config).await else {
        return;
    };
    srv.add_user("alice", "pw").await;
    let client = reqwest::Client::new();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..64 {
        let (client, url) = (client.clone(), format!("{}/api/v1/logon", srv.base));
        set.spawn(async move {
            let r = client
                .post(url)
                .json(&json!({"user": "alice", "password": format!("wrong {i} Ωμέγα")}))
                .send()
                .await
                .unwrap();
            let retry = r.headers().get("retry-after").is_some();
            (r.status().as_u16(), retry, r.text().await.unwrap())
        });
    }
    let (mut failed, mut busy) = (0, 0);
    for (status, retry, text) in set.join_all().await {
        match status {
            401 => {
                assert_json_error(status, &text, 401, "MAPI_E_LOGON_FAILED");
                failed += 1;
            }
            _ => {
                let m = assert_json_error(status, &text, 503, "MAPI_E_BUSY");
                assert!(m.contains("try again in a moment"), "{m}");
                assert!(retry, "a busy answer without Retry-After");
                busy += 1;
            }
        }
    }
    let peak = srv.state.passwords.peak_running();
    assert!(peak <= 2, "{peak} hashes ran at once with password_hash_threads = 2");
    assert!(failed >= 6, "only {failed} logons were checked");
    assert!(busy > 0, "no logon was told the server is busy");
    srv.logon("alice", "pw").await;
    srv.stop().await;
}

on_both_backends!(idle_connections_lock_nobody_out, parallel_wrong_logons_are_bounded);
