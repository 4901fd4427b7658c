//! The whole life of a message through the API, over JSON and over SOAP, on
//! SQLite and MariaDB: log on, list the hierarchy, create a folder, save a
//! message with recipients and an attachment, find it with a sorted,
//! restricted, paged queryRows, load it back byte-exact, move it, mark it
//! read, see it in getChanges, receive a notify event, delete it.

// Tests fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Db, TestServer};
use serde_json::json;

/// Bytes that exercise every octet value, so base64 and blob handling are checked.
fn attachment_bytes() -> Vec<u8> {
    (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect()
}

async fn json_flow(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    let s = srv.logon("alice", "alice-pw").await;
    let st = srv.store_of(&s).await;
    let root = st["root"].as_str().unwrap();
    let inbox = st["inbox"].as_str().unwrap();

    // Hierarchy: the ten standard folders with their container classes.
    let h = srv.ok("getHierarchy", json!({"session": s, "folder": root})).await;
    let names: Vec<&str> = h["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["displayName"].as_str().unwrap())
        .collect();
    for want in [
        "Inbox",
        "Outbox",
        "Sent Items",
        "Deleted Items",
        "Drafts",
        "Junk E-mail",
        "Calendar",
        "Contacts",
        "Tasks",
        "Notes",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let cal = h["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["displayName"] == "Calendar")
        .unwrap();
    assert_eq!(cal["containerClass"], "IPF.Appointment");

    // Create a folder below the inbox.
    let projects = srv
        .ok(
            "createFolder",
            json!({"session": s, "parent": inbox, "name": "Projects"}),
        )
        .await["entryId"]
        .as_str()
        .unwrap()
        .to_string();
    srv.fails(
        "createFolder",
        json!({"session": s, "parent": inbox, "name": "projects"}),
        "MAPI_E_COLLISION",
    )
    .await;

    // Save a few messages; one has recipients and an attachment.
    let data = attachment_bytes();
    for (i, subject) in ["alpha report", "beta notes", "gamma report", "delta"]
        .iter()
        .enumerate()
    {
        let mut req = json!({
            "session": s, "folder": inbox,
            "props": {
                "PR_SUBJECT": subject,
                "PR_BODY": format!("body of {subject}"),
                "PR_SENDER_NAME": "Bob Sender",
                "PR_SENDER_EMAIL_ADDRESS": "bob@example.test",
                "PR_MESSAGE_DELIVERY_TIME": format!("2024-01-0{}T10:00:00Z", i + 1),
                "PR_IMPORTANCE": 1,
                "0x8001001F": "a named-range string"
            }
        });
        if *subject == "gamma report" {
            req["recipients"] = json!([
                {"recipientType": 1, "displayName": "Carol", "address": "carol@example.test"},
                {"recipientType": 2, "displayName": "Dave", "address": "dave@example.test"}
            ]);
            req["attachments"] =
                json!([{"filename": "data.bin", "mimeType": "application/octet-stream", "data": B64.encode(&data)}]);
        }
        srv.ok("saveObject", req).await;
    }

    // queryRows: restricted to "report", sorted newest first, paged by one.
    let q = |offset: i64| {
        json!({
            "session": s, "folder": inbox,
            "columns": ["PR_SUBJECT", "PR_MESSAGE_DELIVERY_TIME", "PR_HASATTACH", "PR_BODY"],
            "sort": [{"tag": "PR_MESSAGE_DELIVERY_TIME", "descending": true}],
            "restriction": {"and": [
                {"content": {"tag": "PR_SUBJECT", "value": "REPORT"}},
                {"compare": {"tag": "PR_MESSAGE_DELIVERY_TIME", "op": ">=", "value": "2024-01-01T00:00:00Z"}}
            ]},
            "offset": offset, "limit": 1
        })
    };
    let page1 = srv.ok("queryRows", q(0)).await;
    assert_eq!(page1["total"], 2);
    assert_eq!(page1["rows"].as_array().unwrap().len(), 1);
    assert_eq!(page1["rows"][0]["props"]["PR_SUBJECT"], "gamma report");
    assert_eq!(page1["rows"][0]["props"]["PR_HASATTACH"], true);
    assert_eq!(page1["rows"][0]["props"]["PR_BODY"], "body of gamma report");
    let page2 = srv.ok("queryRows", q(1)).await;
    assert_eq!(page2["rows"][0]["props"]["PR_SUBJECT"], "alpha report");

    // A restriction on a property kept in the bag (PR_BODY) takes the other path.
    let bag = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"],
                   "sort": [{"tag": "PR_SUBJECT"}],
                   "restriction": {"or": [
                       {"content": {"tag": "PR_BODY", "value": "beta", "mode": "substring"}},
                       {"content": {"tag": "PR_SUBJECT", "value": "del", "mode": "prefix"}}]}}),
        )
        .await;
    let subjects: Vec<&str> = bag["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["props"]["PR_SUBJECT"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["beta notes", "delta"]);

    // Several sort keys and NOT / exists / bitmask.
    let unread = srv
        .ok(
            "queryRows",
            json!({"session": s, "folder": inbox, "columns": ["PR_SUBJECT"],
                   "sort": [{"tag": "PR_IMPORTANCE", "descending": true}, {"tag": "PR_SUBJECT"}],
                   "restriction": {"and": [
                       {"bitmask": {"tag": "PR_MESSAGE_FLAGS", "mask": 1, "zero": true}},
                       {"exists": "PR_SUBJECT"},
                       {"not": {"compare": {"tag": "PR_SUBJECT", "op": "=", "value": "delta"}}}]}}),
        )
        .await;
    assert_eq!(unread["total"], 3);
    assert_eq!(unread["rows"][0]["props"]["PR_SUBJECT"], "alpha report");

    // Load it back, attachment byte-exact both ways.
    let gamma = page1["rows"][0]["entryId"].as_str().unwrap().to_string();
    let m = srv.ok("loadObject", json!({"session": s, "entryId": gamma})).await;
    assert_eq!(m["props"]["PR_SUBJECT"], "gamma report");
    assert_eq!(m["props"]["0x8001001F"], "a named-range string");
    assert_eq!(m["recipients"].as_array().unwrap().len(), 2);
    assert_eq!(m["recipients"][1]["address"], "dave@example.test");
    assert_eq!(m["recipients"][1]["recipientType"], 2);
    assert_eq!(m["attachments"][0]["filename"], "data.bin");
    assert_eq!(m["attachments"][0]["size"], data.len());
    let att = srv
        .ok("getAttachment", json!({"session": s, "entryId": gamma, "attachNum": 0}))
        .await;
    assert_eq!(B64.decode(att["data"].as_str().unwrap()).unwrap(), data);
    let streamed = reqwest::Client::new()
        .get(format!("{}/api/v1/attachment?entryId={gamma}&attachNum=0", srv.base))
        .header("X-Okapi-Session", s.as_str())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(streamed.to_vec(), data);

    // Sync state before the changes below.
    let first = srv.ok("getChanges", json!({"session": s, "folder": projects})).await;
    assert_eq!(first["created"].as_array().unwrap().len(), 0);
    let state = first["syncState"].as_str().unwrap().to_string();
    srv.ok("notify", json!({"session": s})).await; // drain earlier events

    // Move it, mark it read; the entry id stays.
    let moved = srv
        .ok(
            "moveObjects",
            json!({"session": s, "entryIds": [gamma], "destFolder": projects}),
        )
        .await;
    assert_eq!(moved["entryIds"][0], gamma.as_str());
    srv.ok("setReadFlags", json!({"session": s, "entryIds": [gamma], "read": true}))
        .await;
    let m = srv.ok("loadObject", json!({"session": s, "entryId": gamma})).await;
    assert_eq!(m["folder"], projects.as_str());
    assert_eq!(m["props"]["PR_MESSAGE_FLAGS"].as_i64().unwrap() & 1, 1);
    let h = srv.ok("getHierarchy", json!({"session": s, "folder": inbox})).await;
    assert_eq!(h["folders"][0]["contentCount"], 1);
    assert_eq!(h["folders"][0]["unreadCount"], 0);

    let ch = srv
        .ok(
            "getChanges",
            json!({"session": s, "folder": projects, "syncState": state}),
        )
        .await;
    assert_eq!(ch["created"], json!([gamma]));
    let inbox_changes = srv.ok("getChanges", json!({"session": s, "folder": inbox})).await;
    assert_eq!(inbox_changes["created"].as_array().unwrap().len(), 3);

    // notify saw the move.
    let ev = srv.ok("notify", json!({"session": s, "timeoutSeconds": 2})).await;
    let kinds: Vec<&str> = ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"objectMoved"), "{ev}");
    assert!(kinds.contains(&"objectModified"), "{ev}");

    // Delete it: soft into Deleted Items, then for good.
    srv.ok("deleteObjects", json!({"session": s, "entryIds": [gamma]}))
        .await;
    let m = srv.ok("loadObject", json!({"session": s, "entryId": gamma})).await;
    assert_eq!(m["folder"], st["deletedItems"]);
    srv.ok(
        "deleteObjects",
        json!({"session": s, "entryIds": [gamma], "hard": true}),
    )
    .await;
    srv.fails(
        "loadObject",
        json!({"session": s, "entryId": gamma}),
        "MAPI_E_NOT_FOUND",
    )
    .await;
    let ch = srv
        .ok(
            "getChanges",
            json!({"session": s, "folder": projects, "syncState": state}),
        )
        .await;
    assert_eq!(ch["created"], json!([]), "created and gone again since the state: {ch}");
    let later = ch["syncState"].as_str().unwrap();
    srv.ok(
        "saveObject",
        json!({"session": s, "folder": projects, "props": {"PR_SUBJECT": "x"}}),
    )
    .await;
    let ch2 = srv
        .ok(
            "getChanges",
            json!({"session": s, "folder": projects, "syncState": later}),
        )
        .await;
    assert_eq!(ch2["created"].as_array().unwrap().len(), 1);
    srv.fails(
        "getChanges",
        json!({"session": s, "folder": inbox, "syncState": later}),
        "SYNC_E_INVALID_SYNC_STATE",
    )
    .await;
    srv.stop().await;
}

/// A long-polling notify returns as soon as an event arrives.
async fn notify_long_poll(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("erin", "pw").await;
    let s = srv.logon("erin", "pw").await;
    let inbox = srv.store_of(&s).await["inbox"].as_str().unwrap().to_string();
    let srv = std::sync::Arc::new(srv);
    let waiter = {
        let (srv, s) = (srv.clone(), s.clone());
        tokio::spawn(async move {
            let t = std::time::Instant::now();
            let v = srv.ok("notify", json!({"session": s, "timeoutSeconds": 30})).await;
            (v, t.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let id = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": inbox, "props": {"PR_SUBJECT": "hi"}}),
        )
        .await;
    let (v, waited) = waiter.await.unwrap();
    assert!(waited < std::time::Duration::from_secs(20), "notify did not wake up");
    assert_eq!(v["events"][0]["kind"], "objectCreated");
    assert_eq!(v["events"][0]["entryId"], id["entryId"]);
    assert_eq!(v["events"][0]["folder"], inbox.as_str());
    if let Ok(srv) = std::sync::Arc::try_unwrap(srv) {
        srv.stop().await;
    }
}

/// Folder operations: rename, move, soft and hard delete, empty.
async fn folder_operations(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("frank", "pw").await;
    let s = srv.logon("frank", "pw").await;
    let st = srv.store_of(&s).await;
    let (root, inbox, deleted) = (
        st["root"].as_str().unwrap(),
        st["inbox"].as_str().unwrap(),
        st["deletedItems"].as_str().unwrap(),
    );
    let a = srv
        .ok(
            "createFolder",
            json!({"session": s, "parent": root, "name": "A", "containerClass": "IPF.Task"}),
        )
        .await["entryId"]
        .clone();
    let b = srv
        .ok("createFolder", json!({"session": s, "parent": a, "name": "B"}))
        .await["entryId"]
        .clone();
    srv.ok("renameFolder", json!({"session": s, "folder": b, "name": "B2"}))
        .await;
    srv.ok("moveFolder", json!({"session": s, "folder": b, "newParent": inbox}))
        .await;
    srv.fails(
        "moveFolder",
        json!({"session": s, "folder": a, "newParent": a}),
        "MAPI_E_INVALID_PARAMETER",
    )
    .await;
    srv.fails(
        "deleteFolder",
        json!({"session": s, "folder": inbox}),
        "MAPI_E_NO_ACCESS",
    )
    .await;
    srv.fails(
        "renameFolder",
        json!({"session": s, "folder": inbox, "name": "x"}),
        "MAPI_E_NO_ACCESS",
    )
    .await;
    let h = srv
        .ok("getHierarchy", json!({"session": s, "folder": root, "depth": 0}))
        .await;
    let b2 = h["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["displayName"] == "B2")
        .unwrap();
    assert_eq!(b2["parentEntryId"], inbox);
    assert_eq!(b2["depth"], 2);
    let ah = h["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["displayName"] == "A")
        .unwrap();
    assert_eq!(ah["containerClass"], "IPF.Task");

    srv.ok(
        "saveObject",
        json!({"session": s, "folder": b, "props": {"PR_SUBJECT": "in b"}}),
    )
    .await;
    srv.ok("deleteFolder", json!({"session": s, "folder": b})).await;
    let dh = srv.ok("getHierarchy", json!({"session": s, "folder": deleted})).await;
    assert_eq!(dh["folders"][0]["displayName"], "B2");
    assert_eq!(dh["folders"][0]["contentCount"], 1);
    srv.ok("deleteFolder", json!({"session": s, "folder": b})).await; // second time: for good
    srv.fails("getHierarchy", json!({"session": s, "folder": b}), "MAPI_E_NOT_FOUND")
        .await;

    for i in 0..3 {
        srv.ok(
            "saveObject",
            json!({"session": s, "folder": a, "props": {"PR_SUBJECT": format!("m{i}")}}),
        )
        .await;
    }
    srv.ok("emptyFolder", json!({"session": s, "folder": a})).await;
    let q = srv.ok("queryRows", json!({"session": s, "folder": a})).await;
    assert_eq!(q["total"], 0);
    let q = srv.ok("queryRows", json!({"session": s, "folder": deleted})).await;
    assert_eq!(q["total"], 3);
    srv.ok("emptyFolder", json!({"session": s, "folder": deleted, "hard": true}))
        .await;
    assert_eq!(
        srv.ok("queryRows", json!({"session": s, "folder": deleted})).await["total"],
        0
    );
    srv.ok("deleteFolder", json!({"session": s, "folder": a, "hard": true}))
        .await;
    srv.fails("queryRows", json!({"session": s, "folder": a}), "MAPI_E_NOT_FOUND")
        .await;
    srv.stop().await;
}

/// Updating a message: merging properties, replacing recipients, adding and
/// removing attachments; copying keeps blobs shared.
async fn update_and_copy(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("gina", "pw").await;
    let s = srv.logon("gina", "pw").await;
    let st = srv.store_of(&s).await;
    let drafts = st["drafts"].as_str().unwrap();
    let id = srv
        .ok(
            "saveObject",
            json!({"session": s, "folder": drafts, "props": {"PR_SUBJECT": "draft", "PR_BODY": "v1"},
                   "attachments": [{"filename": "a.txt", "data": B64.encode("first")}]}),
        )
        .await["entryId"]
        .clone();
    srv.ok(
        "saveObject",
        json!({"session": s, "entryId": id, "props": {"PR_BODY": "v2"}, "deleteProps": ["PR_SUBJECT"],
               "recipients": [{"recipientType": 1, "displayName": "X", "address": "x@example.test"}],
               "attachments": [{"filename": "b.txt", "mimeType": "text/plain", "data": B64.encode("second")}],
               "deleteAttachments": [0]}),
    )
    .await;
    let m = srv.ok("loadObject", json!({"session": s, "entryId": id})).await;
    assert_eq!(m["props"]["PR_BODY"], "v2");
    assert!(m["props"].get("PR_SUBJECT").is_none(), "{m}");
    assert_eq!(m["recipients"].as_array().unwrap().len(), 1);
    let atts = m["attachments"].as_array().unwrap();
    assert_eq!(atts.len(), 1);
    assert_eq!(atts[0]["filename"], "b.txt");
    assert_eq!(atts[0]["attachNum"], 1);
    let copy = srv
        .ok(
            "copyObjects",
            json!({"session": s, "entryIds": [id], "destFolder": st["inbox"]}),
        )
        .await;
    let cid = copy["entryIds"][0].clone();
    assert_ne!(cid, id);
    let c = srv
        .ok("getAttachment", json!({"session": s, "entryId": cid, "attachNum": 1}))
        .await;
    assert_eq!(B64.decode(c["data"].as_str().unwrap()).unwrap(), b"second");
    srv.ok("deleteObjects", json!({"session": s, "entryIds": [id], "hard": true}))
        .await;
    let c = srv
        .ok("getAttachment", json!({"session": s, "entryId": cid, "attachNum": 1}))
        .await;
    assert_eq!(
        B64.decode(c["data"].as_str().unwrap()).unwrap(),
        b"second",
        "the copy's blob survived"
    );
    let r = srv.ok("resolveNames", json!({"session": s, "names": ["gin"]})).await;
    assert_eq!(r["entries"][0]["address"], "gina@example.test");
    srv.stop().await;
}

/// SOAP: the same flow through XML envelopes.
async fn soap_flow(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("henry", "pw").await;
    let env = |body: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:okapi"><soap:Body>{body}</soap:Body></soap:Envelope>"#
        )
    };
    let call = |body: String| {
        let srv = &srv;
        async move {
            let (status, text) = srv.raw("/okapi", "text/xml; charset=utf-8", env(&body)).await;
            assert_eq!(status, 200, "{body}\n=> {text}");
            text
        }
    };
    let logon = call("<o:logon><o:user>henry</o:user><o:password>pw</o:password></o:logon>".into()).await;
    let s = text_of(&logon, "session");
    let st = call(format!("<o:getStore><o:session>{s}</o:session></o:getStore>")).await;
    let inbox = text_of(&st, "inbox");
    let root = text_of(&st, "root");
    let h = call(format!(
        "<o:getHierarchy><o:session>{s}</o:session><o:folder>{root}</o:folder></o:getHierarchy>"
    ))
    .await;
    assert!(h.contains("<displayName>Inbox</displayName>"), "{h}");
    let f = call(format!(
        "<o:createFolder><o:session>{s}</o:session><o:parent>{inbox}</o:parent><o:name>Soap</o:name></o:createFolder>"
    ))
    .await;
    let folder = text_of(&f, "entryId");
    let data = attachment_bytes();
    let saved = call(format!(
        "<o:saveObject><o:session>{s}</o:session><o:folder>{folder}</o:folder>\
         <o:props><o:prop><o:tag>PR_SUBJECT</o:tag><o:s>Über SOAP &amp; XML</o:s></o:prop>\
         <o:prop><o:tag>0x0E060040</o:tag><o:t>2024-02-03T04:05:06Z</o:t></o:prop></o:props>\
         <o:recipients><o:recipientType>1</o:recipientType><o:displayName>Ida</o:displayName><o:address>ida@example.test</o:address></o:recipients>\
         <o:attachments><o:filename>x.bin</o:filename><o:data>{}</o:data></o:attachments></o:saveObject>",
        B64.encode(&data)
    ))
    .await;
    let id = text_of(&saved, "entryId");
    let q = call(format!(
        "<o:queryRows><o:session>{s}</o:session><o:folder>{folder}</o:folder><o:columns>PR_SUBJECT</o:columns>\
         <o:sort><o:tag>PR_MESSAGE_DELIVERY_TIME</o:tag><o:descending>true</o:descending></o:sort>\
         <o:restriction><o:content><o:tag>PR_SUBJECT</o:tag><o:value>über</o:value></o:content></o:restriction>\
         <o:offset>0</o:offset><o:limit>10</o:limit></o:queryRows>"
    ))
    .await;
    assert_eq!(text_of(&q, "total"), "1");
    assert!(q.contains("<s>Über SOAP &amp; XML</s>"), "{q}");
    let att = call(format!("<o:getAttachment><o:session>{s}</o:session><o:entryId>{id}</o:entryId><o:attachNum>0</o:attachNum></o:getAttachment>")).await;
    assert_eq!(B64.decode(text_of(&att, "data")).unwrap(), data);
    let loaded = call(format!(
        "<o:loadObject><o:session>{s}</o:session><o:entryId>{id}</o:entryId></o:loadObject>"
    ))
    .await;
    assert!(loaded.contains("<address>ida@example.test</address>"), "{loaded}");
    let st2 = call(format!(
        "<o:getChanges><o:session>{s}</o:session><o:folder>{inbox}</o:folder></o:getChanges>"
    ))
    .await;
    assert!(st2.contains("<syncState>"), "{st2}");
    call(format!("<o:moveObjects><o:session>{s}</o:session><o:entryIds>{id}</o:entryIds><o:destFolder>{inbox}</o:destFolder></o:moveObjects>")).await;
    call(format!(
        "<o:setReadFlags><o:session>{s}</o:session><o:entryIds>{id}</o:entryIds><o:read>true</o:read></o:setReadFlags>"
    ))
    .await;
    let ch = call(format!(
        "<o:getChanges><o:session>{s}</o:session><o:folder>{inbox}</o:folder></o:getChanges>"
    ))
    .await;
    assert!(ch.contains(&format!("<created>{id}</created>")), "{ch}");
    let ev = call(format!(
        "<o:notify><o:session>{s}</o:session><o:timeoutSeconds>1</o:timeoutSeconds></o:notify>"
    ))
    .await;
    assert!(ev.contains("<kind>objectMoved</kind>"), "{ev}");
    call(format!("<o:deleteObjects><o:session>{s}</o:session><o:entryIds>{id}</o:entryIds><o:hard>true</o:hard></o:deleteObjects>")).await;
    let (status, fault) = srv
        .raw(
            "/okapi",
            "text/xml",
            env(&format!(
                "<o:loadObject><o:session>{s}</o:session><o:entryId>{id}</o:entryId></o:loadObject>"
            )),
        )
        .await;
    assert_eq!(status, 500);
    assert!(
        fault.contains("MAPI_E_NOT_FOUND") && fault.contains("0x8004010F"),
        "{fault}"
    );
    srv.stop().await;
}

/// The text of the first `<name>` element (any prefix) in an XML document.
fn text_of(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}> in {xml}")) + open.len();
    let end = xml[start..].find('<').unwrap() + start;
    xml[start..end].to_string()
}

on_both_backends!(
    json_flow,
    notify_long_poll,
    folder_operations,
    update_and_copy,
    soap_flow
);
