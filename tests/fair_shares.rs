//! What users share, shared fairly, on SQLite and MariaDB (issue 11): every
//! write path (saveObject creating and updating, attachments added,
//! copyObjects, moveObjects into another store) stops at the target store's
//! hard quota with MAPI_E_STORE_FULL, while deleting, marking read and
//! shrinking stay possible; the public store has a quota of its own and only
//! administrators' grants let users create there; no user can fill the
//! named-property table; and a failing database or blob file does not tell
//! the client its details (nor `/health` anyone who asks).

// A test fails by panicking, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Db, TestServer};
use okapi::store::UserUpdate;
use serde_json::{Value, json};

const STORE_FULL: &str = "MAPI_E_STORE_FULL";
const ATTACHMENT: usize = 10_000;
/// A PSETID_Appointment name (PidLidAppointmentStartWhole), one MAPI defines.
const APPOINTMENT: &str = "00062002-0000-0000-C000-000000000046";
const PS_PUBLIC_STRINGS: &str = "00020329-0000-0000-C000-000000000046";

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

/// A message with a subject from the whole world and an attachment of
/// [`ATTACHMENT`] bytes.
fn big_message(session: &str, folder: &str, subject: &str) -> Value {
    json!({"session": session, "folder": folder,
           "props": {"PR_SUBJECT": subject, "PR_BODY": "Grüße, Ahoj, Γειά σου, 你好, مرحبا 😀"},
           "attachments": [{"filename": "Bericht für Jürgen 😀.bin", "data": B64.encode(vec![7u8; ATTACHMENT])}]})
}

async fn used(srv: &TestServer, session: &str, login: &str) -> i64 {
    srv.ok("quotaShow", json!({"session": session, "name": login})).await["used"]
        .as_i64()
        .unwrap()
}

async fn total(srv: &TestServer, session: &str, folder: &str) -> i64 {
    srv.ok(
        "queryRows",
        json!({"session": session, "folder": folder, "columns": []}),
    )
    .await["total"]
        .as_i64()
        .unwrap()
}

async fn set_hard_quota(srv: &TestServer, login: &str, bytes: i64) {
    let u = srv.store.user_by_login(login).await.unwrap().unwrap();
    let up = UserUpdate {
        quota_hard: Some(Some(bytes)),
        ..UserUpdate::default()
    };
    srv.store.update_user(u.id, &up).await.unwrap();
}

/// Refused with MAPI_E_STORE_FULL and a sentence that says what to do.
async fn full(srv: &TestServer, op: &str, body: Value) {
    let v = srv.fails(op, body, STORE_FULL).await;
    let message = s(&v["error"]["message"]);
    assert!(message.contains("quota") && message.contains("delete"), "{message}");
    assert_eq!(v["error"]["code"], "0x8004060C", "{v}");
}

/// Alice's store goes over her hard quota; then each write that would grow
/// it is refused and nothing of it is stored, while the writes that keep
/// or shrink it still work.
async fn each_write_path_refuses_at_the_hard_quota(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    let st = srv.store_of(&alice).await;
    let (inbox, drafts) = (s(&st["inbox"]), s(&st["drafts"]));
    let a = s(&srv.ok("saveObject", big_message(&alice, &inbox, "Größe eins")).await["entryId"]);
    let b = s(&srv.ok("saveObject", big_message(&alice, &inbox, "Velikost dvě")).await["entryId"]);
    let at_start = used(&srv, &alice, "alice").await;
    assert!(at_start > 2 * ATTACHMENT as i64, "{at_start}");
    set_hard_quota(&srv, "alice", at_start - 1).await;

    full(
        &srv,
        "saveObject",
        json!({"session": alice, "folder": inbox, "props": {"PR_SUBJECT": "ein Wort"}}),
    )
    .await;
    full(
        &srv,
        "saveObject",
        json!({"session": alice, "entryId": a,
               "attachments": [{"filename": "χ.txt", "data": B64.encode("Γειά σου κόσμε")}]}),
    )
    .await;
    full(
        &srv,
        "saveObject",
        json!({"session": alice, "entryId": a, "props": {"PR_BODY": "你好 ".repeat(2_000)}}),
    )
    .await;
    full(
        &srv,
        "copyObjects",
        json!({"session": alice, "entryIds": [a], "destFolder": drafts}),
    )
    .await;
    assert_eq!(
        used(&srv, &alice, "alice").await,
        at_start,
        "a refused write stored nothing"
    );
    assert_eq!(total(&srv, &alice, &inbox).await, 2);
    assert_eq!(total(&srv, &alice, &drafts).await, 0);
    let loaded = srv.ok("loadObject", json!({"session": alice, "entryId": a})).await;
    assert_eq!(loaded["attachments"].as_array().unwrap().len(), 1, "{loaded}");

    // Over quota, a user can still tidy up.
    srv.ok("setReadFlags", json!({"session": alice, "entryIds": [a], "read": true}))
        .await;
    srv.ok(
        "moveObjects",
        json!({"session": alice, "entryIds": [b], "destFolder": drafts}),
    )
    .await;
    assert_eq!(
        used(&srv, &alice, "alice").await,
        at_start,
        "a move inside one store changes no usage"
    );
    srv.ok(
        "saveObject",
        json!({"session": alice, "entryId": a, "deleteAttachments": [0]}),
    )
    .await;
    let after_shrink = used(&srv, &alice, "alice").await;
    assert!(after_shrink < at_start - ATTACHMENT as i64 + 100, "{after_shrink}");
    srv.ok(
        "deleteObjects",
        json!({"session": alice, "entryIds": [b], "hard": true}),
    )
    .await;

    // With room again, the same writes pass, up to the limit.
    srv.ok("saveObject", big_message(&alice, &inbox, "Größe drei")).await;
    full(&srv, "saveObject", big_message(&alice, &inbox, "one too many")).await;
    srv.stop().await;
}

/// Moving and copying into another user's full store is refused (that
/// store's quota counts, not the mover's), and the message stays where it was.
async fn moving_into_another_full_store_is_refused(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    srv.add_user("bob", "bob-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    let bob = srv.logon("bob", "bob-pw").await;
    let alice_inbox = s(&srv.store_of(&alice).await["inbox"]);
    let bob_inbox = s(&srv.store_of(&bob).await["inbox"]);
    srv.ok(
        "setPermissions",
        json!({"session": bob, "folder": bob_inbox, "permissions": [{"member": "alice", "rights": 0x403}]}),
    )
    .await;
    let m = s(&srv.ok("saveObject", big_message(&alice, &alice_inbox, "für Bob")).await["entryId"]);
    set_hard_quota(&srv, "bob", ATTACHMENT as i64).await;
    let alice_before = used(&srv, &alice, "alice").await;

    full(
        &srv,
        "moveObjects",
        json!({"session": alice, "entryIds": [m], "destFolder": bob_inbox}),
    )
    .await;
    full(
        &srv,
        "copyObjects",
        json!({"session": alice, "entryIds": [m], "destFolder": bob_inbox}),
    )
    .await;
    assert_eq!(total(&srv, &alice, &alice_inbox).await, 1);
    assert_eq!(total(&srv, &bob, &bob_inbox).await, 0);
    assert_eq!(used(&srv, &bob, "bob").await, 0);
    assert_eq!(used(&srv, &alice, "alice").await, alice_before);

    // With room, the move carries the size from one store to the other.
    set_hard_quota(&srv, "bob", 0).await;
    srv.ok(
        "moveObjects",
        json!({"session": alice, "entryIds": [m], "destFolder": bob_inbox}),
    )
    .await;
    assert_eq!(used(&srv, &bob, "bob").await, alice_before);
    assert_eq!(used(&srv, &alice, "alice").await, 0);
    srv.stop().await;
}

/// The public store: users only read its top level until an administrator
/// grants more, and `public_store_quota` bounds what all of them put there.
async fn public_store_has_a_quota_and_creating_needs_a_grant(db: Db) {
    let limit = 2 * ATTACHMENT + ATTACHMENT / 2;
    let Some(srv) = TestServer::start(db, &format!("public_store_quota = {limit}")).await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    srv.add_user("admin", "admin-pw").await;
    let admin_id = srv.store.user_by_login("admin").await.unwrap().unwrap().id;
    let up = UserUpdate {
        is_admin: Some(true),
        ..UserUpdate::default()
    };
    srv.store.update_user(admin_id, &up).await.unwrap();
    let alice = srv.logon("alice", "alice-pw").await;
    let admin = srv.logon("admin", "admin-pw").await;
    let root = s(&srv.ok("getStore", json!({"session": alice, "user": "public"})).await["root"]);

    srv.ok("getHierarchy", json!({"session": alice, "folder": root})).await;
    srv.fails(
        "createFolder",
        json!({"session": alice, "parent": root, "name": "Ankündigungen"}),
        "MAPI_E_NO_ACCESS",
    )
    .await;
    srv.fails(
        "saveObject",
        json!({"session": alice, "folder": root, "props": {"PR_SUBJECT": "Werbung"}}),
        "MAPI_E_NO_ACCESS",
    )
    .await;

    srv.ok(
        "setPermissions",
        json!({"session": admin, "folder": root, "permissions": [{"member": "alice", "rights": 0x483}]}),
    )
    .await;
    let news = s(&srv
        .ok(
            "createFolder",
            json!({"session": alice, "parent": root, "name": "Ankündigungen 📢"}),
        )
        .await["entryId"]);
    srv.ok("saveObject", big_message(&alice, &news, "první")).await;
    srv.ok("saveObject", big_message(&alice, &news, "δεύτερο")).await;
    full(&srv, "saveObject", big_message(&alice, &news, "第三")).await;
    assert_eq!(total(&srv, &alice, &news).await, 2);
    srv.stop().await;
}

fn names(guid: &str, ids: std::ops::Range<i64>) -> Value {
    Value::Array(ids.map(|id| json!({"guid": guid, "id": id, "propType": 31})).collect())
}

/// A user may create only `named_props_per_day` new names a day; names
/// that exist are still answered, other users keep their own allowance,
/// and the reserve at the top of the table is kept for MAPI's own sets.
async fn no_user_can_fill_the_named_property_table(db: Db) {
    let Some(srv) = TestServer::start(db, "named_props_per_day = 5").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    srv.add_user("bob", "bob-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    let bob = srv.logon("bob", "bob-pw").await;
    let guid = "12345678-9abc-def0-1234-56789abcdef0";

    let first = srv
        .ok("getIdsFromNames", json!({"session": alice, "names": names(guid, 0..5)}))
        .await;
    let v = srv
        .fails(
            "getIdsFromNames",
            json!({"session": alice, "names": names(guid, 5..6)}),
            "MAPI_E_TOO_BIG",
        )
        .await;
    let message = s(&v["error"]["message"]);
    assert!(
        message.contains("24 hours") && message.contains("named_props_per_day"),
        "{message}"
    );
    srv.fails(
        "getIdsFromNames",
        json!({"session": alice, "names": names(guid, 1000..1256)}),
        "MAPI_E_TOO_BIG",
    )
    .await;
    assert_eq!(
        srv.ok("getIdsFromNames", json!({"session": alice, "names": names(guid, 0..5)}))
            .await,
        first,
        "names that exist are answered whatever the allowance"
    );
    srv.ok("getIdsFromNames", json!({"session": bob, "names": names(guid, 5..6)}))
        .await;

    // Fill the table up to its reserve, as many users over many days could.
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&srv.db_url).await.unwrap();
        sqlx::query("INSERT INTO named_props (id, guid, kind, lid, name) VALUES (?, ?, 0, 1, '')")
            .bind(0xFFFE_i64 - 1024)
            .bind("ffffffff-ffff-ffff-ffff-ffffffffffff")
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let v = srv
        .fails(
            "getIdsFromNames",
            json!({"session": bob, "names": [{"guid": PS_PUBLIC_STRINGS, "name": "urn:x-Straße", "propType": 31}]}),
            "MAPI_E_TOO_BIG",
        )
        .await;
    assert!(s(&v["error"]["message"]).contains("kept for MAPI"), "{v}");
    let tags = srv
        .ok(
            "getIdsFromNames",
            json!({"session": bob, "names": [{"guid": APPOINTMENT, "id": 0x820D, "propType": 64}]}),
        )
        .await;
    assert_eq!(
        tags["tags"],
        json!([format!("0x{:04X}0040", 0xFFFE - 1024 + 1)]),
        "{tags}"
    );
    srv.stop().await;
}

/// A database failure reaches the client as a sentence without the
/// driver's text (here: a table that is gone).
async fn database_errors_do_not_reach_the_client(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    {
        use sqlx::Connection as _;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&srv.db_url).await.unwrap();
        sqlx::query("DROP TABLE named_props").execute(&mut c).await.unwrap();
        c.close().await.unwrap();
    }
    let v = srv
        .fails(
            "getIdsFromNames",
            json!({"session": alice, "names": names(APPOINTMENT, 0x8200..0x8201)}),
            "MAPI_E_CALL_FAILED",
        )
        .await;
    let message = s(&v["error"]["message"]);
    assert!(message.contains("administrator's log"), "{message}");
    for detail in ["named_props", "table", "SQL", "sqlite", "okapi_test"] {
        assert!(!message.contains(detail), "{detail:?} reached the client: {message}");
    }
    srv.stop().await;
}

/// A blob file that cannot be read: the client does not learn its path.
async fn blob_file_errors_do_not_reach_the_client(db: Db) {
    if db != Db::Sqlite {
        return; // The harness keeps blobs in files only with SQLite.
    }
    let Some(srv) = TestServer::start(db, "attachment_inline_max = 0").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    let inbox = s(&srv.store_of(&alice).await["inbox"]);
    let m = s(&srv.ok("saveObject", big_message(&alice, &inbox, "Anhang")).await["entryId"]);
    let blobs = srv.dir.path().join("blobs");
    std::fs::remove_dir_all(&blobs).unwrap();
    let v = srv
        .fails(
            "getAttachment",
            json!({"session": alice, "entryId": m, "attachNum": 0}),
            "MAPI_E_CALL_FAILED",
        )
        .await;
    let message = s(&v["error"]["message"]);
    assert!(message.contains("administrator's log"), "{message}");
    for detail in [
        blobs.display().to_string().as_str(),
        "blobs",
        "No such file",
        "os error",
    ] {
        assert!(!message.contains(detail), "{detail:?} reached the client: {message}");
    }
    srv.stop().await;
}

/// With the database gone, `/health` (which anyone may ask) says only
/// `unavailable`, and an operation gets a sentence without the driver's text.
async fn health_and_operations_say_only_unavailable(db: Db) {
    let Some(srv) = TestServer::start(db, "").await else {
        return;
    };
    srv.add_user("alice", "alice-pw").await;
    let alice = srv.logon("alice", "alice-pw").await;
    let health = format!("{}/health", srv.base);
    let r = reqwest::get(&health).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (200, "ok\n".to_string())
    );

    srv.store.close().await;
    let r = reqwest::get(&health).await.unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().await.unwrap()),
        (503, "unavailable\n".to_string())
    );
    let v = srv
        .fails("getStore", json!({"session": alice}), "MAPI_E_NETWORK_ERROR")
        .await;
    let message = s(&v["error"]["message"]);
    assert!(message.contains("administrator's log"), "{message}");
    assert!(!message.to_lowercase().contains("pool"), "{message}");
    srv.stop().await;
}

on_both_backends!(
    health_and_operations_say_only_unavailable,
    each_write_path_refuses_at_the_hard_quota,
    moving_into_another_full_store_is_refused,
    public_store_has_a_quota_and_creating_needs_a_grant,
    no_user_can_fill_the_named_property_table,
    database_errors_do_not_reach_the_client,
    blob_file_errors_do_not_reach_the_client,
);
