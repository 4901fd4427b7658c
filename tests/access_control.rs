//! Access control between two users, on SQLite and MariaDB: nothing alice
//! owns is visible to or changeable by bob until an ACL grants it, tested for
//! each operation; then each right, granted alone, is checked for what it
//! allows and what it still refuses; grants to groups and to `default`,
//! removing a grant, events, and the public store.

// A test fails by panicking, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use common::{Db, TestServer};
use serde_json::{Value, json};

const NO_ACCESS: &str = "MAPI_E_NO_ACCESS";

/// MAPI rights bits, as the API documents them.
mod rights {
    pub const READ: i32 = 0x1;
    pub const CREATE: i32 = 0x2;
    pub const EDIT_OWN: i32 = 0x8;
    pub const DELETE_OWN: i32 = 0x10;
    pub const EDIT_ALL: i32 = 0x20;
    pub const DELETE_ALL: i32 = 0x40;
    pub const CREATE_SUBFOLDER: i32 = 0x80;
    pub const FOLDER_OWNER: i32 = 0x100;
    pub const FOLDER_VISIBLE: i32 = 0x400;
}

const SECRET_SUBJECT: &str = "secret plans";
const SECRET_ATTACHMENT: &[u8] = b"the attachment only alice may read";

/// Alice with a message (with an attachment) in her inbox and a subfolder
/// `Sub` below it; bob with a folder and a message of his own.
struct World {
    srv: TestServer,
    /// Alice's session.
    alice: String,
    /// Bob's session.
    bob: String,
    alice_root: String,
    alice_inbox: String,
    /// Alice's subfolder of her inbox.
    alice_sub: String,
    /// Alice's message in her inbox.
    alice_msg: String,
    bob_root: String,
    bob_inbox: String,
    /// Bob's folder below his root.
    bob_folder: String,
    /// Bob's message in his inbox.
    bob_msg: String,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_string()
}

impl World {
    async fn new(db: Db) -> Option<World> {
        let srv = TestServer::start(db, "").await?;
        srv.add_user("alice", "alice-pw").await;
        srv.add_user("bob", "bob-pw").await;
        let alice = srv.logon("alice", "alice-pw").await;
        let bob = srv.logon("bob", "bob-pw").await;
        let ast = srv.store_of(&alice).await;
        let bst = srv.store_of(&bob).await;
        let alice_inbox = s(&ast["inbox"]);
        let alice_sub = s(&srv
            .ok(
                "createFolder",
                json!({"session": alice, "parent": alice_inbox, "name": "Sub"}),
            )
            .await["entryId"]);
        let alice_msg = s(&srv
            .ok(
                "saveObject",
                json!({"session": alice, "folder": alice_inbox,
                       "props": {"PR_SUBJECT": SECRET_SUBJECT, "PR_BODY": "for alice only"},
                       "attachments": [{"filename": "plan.txt", "data": B64.encode(SECRET_ATTACHMENT)}]}),
            )
            .await["entryId"]);
        let bob_inbox = s(&bst["inbox"]);
        let bob_root = s(&bst["root"]);
        let bob_folder = s(&srv
            .ok(
                "createFolder",
                json!({"session": bob, "parent": bob_root, "name": "Bobs"}),
            )
            .await["entryId"]);
        let bob_msg = s(&srv
            .ok(
                "saveObject",
                json!({"session": bob, "folder": bob_inbox, "props": {"PR_SUBJECT": "bob's own"}}),
            )
            .await["entryId"]);
        Some(World {
            alice_root: s(&ast["root"]),
            alice_inbox,
            alice_sub,
            alice_msg,
            bob_root,
            bob_inbox,
            bob_folder,
            bob_msg,
            alice,
            bob,
            srv,
        })
    }

    /// Alice grants `rights` on `folder` to `member` (replacing what it had).
    async fn grant(&self, folder: &str, member: &str, rights: i32) {
        self.srv
            .ok(
                "setPermissions",
                json!({"session": self.alice, "folder": folder, "permissions": [{"member": member, "rights": rights}]}),
            )
            .await;
    }

    /// Bob calls `op` with `body` (his session added) and must succeed.
    async fn bob_ok(&self, op: &str, mut body: Value) -> Value {
        body["session"] = json!(self.bob);
        self.srv.ok(op, body).await
    }

    /// Bob calls `op` with `body` (his session added) and must be refused
    /// with MAPI_E_NO_ACCESS; afterwards alice's data must be as it was.
    async fn bob_refused(&self, op: &str, mut body: Value) {
        body["session"] = json!(self.bob);
        self.srv.fails(op, body, NO_ACCESS).await;
        self.assert_alice_intact().await;
    }

    /// Alice's message is still in her inbox, unread, with its subject and
    /// attachment; her subfolder is still `Sub` below the inbox.
    async fn assert_alice_intact(&self) {
        let m = self
            .srv
            .ok("loadObject", json!({"session": self.alice, "entryId": self.alice_msg}))
            .await;
        assert_eq!(m["folder"], self.alice_inbox.as_str(), "alice's message moved: {m}");
        assert_eq!(m["props"]["PR_SUBJECT"], SECRET_SUBJECT, "alice's message changed: {m}");
        assert_eq!(
            m["props"]["PR_MESSAGE_FLAGS"].as_i64().unwrap_or(0) & 1,
            0,
            "alice's message was marked read: {m}"
        );
        assert_eq!(m["attachments"].as_array().map(Vec::len), Some(1), "{m}");
        let h = self
            .srv
            .ok(
                "getHierarchy",
                json!({"session": self.alice, "folder": self.alice_inbox}),
            )
            .await;
        let sub = h["folders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["entryId"] == self.alice_sub.as_str());
        let sub = sub.unwrap_or_else(|| panic!("alice's subfolder left her inbox: {h}"));
        assert_eq!(sub["displayName"], "Sub", "{h}");
    }

    /// The subjects in a folder as alice sees them.
    async fn alice_subjects(&self, folder: &str) -> Vec<String> {
        let q = self
            .srv
            .ok(
                "queryRows",
                json!({"session": self.alice, "folder": folder, "columns": ["PR_SUBJECT"]}),
            )
            .await;
        q["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| s(&r["props"]["PR_SUBJECT"]))
            .collect()
    }

    /// Bob creates a message in alice's inbox (needs the create right).
    async fn bob_creates_in_alice_inbox(&self, subject: &str) -> String {
        s(&self
            .bob_ok(
                "saveObject",
                json!({"folder": self.alice_inbox, "props": {"PR_SUBJECT": subject}}),
            )
            .await["entryId"])
    }

    /// GET of the streaming attachment URL as bob; returns (status, body).
    async fn bob_download(&self, entry_id: &str) -> (u16, Vec<u8>) {
        let r = reqwest::Client::new()
            .get(format!(
                "{}/api/v1/attachment?entryId={entry_id}&attachNum=0",
                self.srv.base
            ))
            .header("X-Okapi-Session", &self.bob)
            .send()
            .await
            .expect("download");
        (r.status().as_u16(), r.bytes().await.expect("body").to_vec())
    }

    /// Drains bob's pending events and returns them.
    async fn bob_events(&self, wait: i32) -> Vec<Value> {
        let v = self.bob_ok("notify", json!({"timeoutSeconds": wait})).await;
        v["events"].as_array().unwrap().clone()
    }
}

/// Without any grant, bob is refused with MAPI_E_NO_ACCESS by every
/// operation that names one of alice's folders or messages, the streaming
/// download answers 403, and alice's data is untouched after each attempt.
async fn nothing_is_shared_by_default(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (root, inbox, sub, msg) = (&w.alice_root, &w.alice_inbox, &w.alice_sub, &w.alice_msg);
    w.assert_alice_intact().await;

    w.bob_refused("getStore", json!({"user": "alice"})).await;
    w.bob_refused("getHierarchy", json!({"folder": root})).await;
    w.bob_refused("getHierarchy", json!({"folder": inbox, "depth": 0}))
        .await;
    w.bob_refused("createFolder", json!({"parent": inbox, "name": "Intruder"}))
        .await;
    w.bob_refused("renameFolder", json!({"folder": sub, "name": "Mine now"}))
        .await;
    w.bob_refused("moveFolder", json!({"folder": sub, "newParent": w.bob_root}))
        .await;
    w.bob_refused("moveFolder", json!({"folder": w.bob_folder, "newParent": inbox}))
        .await;
    w.bob_refused("deleteFolder", json!({"folder": sub})).await;
    w.bob_refused("deleteFolder", json!({"folder": sub, "hard": true}))
        .await;
    w.bob_refused("emptyFolder", json!({"folder": inbox})).await;
    w.bob_refused("emptyFolder", json!({"folder": inbox, "hard": true}))
        .await;
    w.bob_refused("getPermissions", json!({"folder": inbox})).await;
    w.bob_refused(
        "setPermissions",
        json!({"folder": inbox, "permissions": [{"member": "bob", "rights": 0x5FB}]}),
    )
    .await;
    w.bob_refused(
        "setPermissions",
        json!({"folder": inbox, "permissions": [{"member": "default", "rights": 0x1}]}),
    )
    .await;
    w.bob_refused("queryRows", json!({"folder": inbox, "columns": ["PR_SUBJECT"]}))
        .await;
    w.bob_refused("loadObject", json!({"entryId": msg})).await;
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_SUBJECT": "defaced"}}),
    )
    .await;
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "deleteProps": ["PR_SUBJECT"], "deleteAttachments": [0]}),
    )
    .await;
    w.bob_refused("getAttachment", json!({"entryId": msg, "attachNum": 0}))
        .await;
    w.bob_refused("deleteObjects", json!({"entryIds": [msg]})).await;
    w.bob_refused("deleteObjects", json!({"entryIds": [msg], "hard": true}))
        .await;
    w.bob_refused("deleteObjects", json!({"entryIds": [w.bob_msg, msg], "hard": true}))
        .await;
    w.bob_refused("moveObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    w.bob_refused("moveObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    w.bob_refused("copyObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    w.bob_refused("copyObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    w.bob_refused("setReadFlags", json!({"entryIds": [msg], "read": true}))
        .await;
    w.bob_refused("getChanges", json!({"folder": inbox})).await;
    w.bob_refused("getChanges", json!({"folder": sub})).await;

    // The streaming download is refused too, with a JSON error and 403.
    let (status, body) = w.bob_download(msg).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let err: Value = serde_json::from_slice(&body).expect("a JSON error body");
    assert_eq!(err["error"]["name"], NO_ACCESS, "{err}");
    assert!(!body.windows(SECRET_ATTACHMENT.len()).any(|w| w == SECRET_ATTACHMENT));

    // Bob's own things were not touched by the refused mixed requests either.
    let bm = w.bob_ok("loadObject", json!({"entryId": w.bob_msg})).await;
    assert_eq!(bm["folder"], w.bob_inbox.as_str());
    assert_eq!(w.alice_subjects(inbox).await, [SECRET_SUBJECT]);
    let perms = w
        .srv
        .ok("getPermissions", json!({"session": w.alice, "folder": inbox}))
        .await;
    assert_eq!(
        perms["permissions"],
        json!([]),
        "bob's setPermissions left a trace: {perms}"
    );
    w.srv.stop().await;
}

/// Bob's notify carries no events about alice's folders, while it does carry
/// events about his own.
async fn events_stay_private(db: Db) {
    let Some(w) = World::new(db).await else { return };
    w.bob_events(0).await;
    w.srv
        .ok(
            "saveObject",
            json!({"session": w.alice, "folder": w.alice_inbox, "props": {"PR_SUBJECT": "new"}}),
        )
        .await;
    w.srv
        .ok(
            "setReadFlags",
            json!({"session": w.alice, "entryIds": [w.alice_msg], "read": true}),
        )
        .await;
    w.srv
        .ok(
            "createFolder",
            json!({"session": w.alice, "parent": w.alice_inbox, "name": "Another"}),
        )
        .await;
    w.srv
        .ok(
            "renameFolder",
            json!({"session": w.alice, "folder": w.alice_sub, "name": "Renamed"}),
        )
        .await;
    w.srv
        .ok("deleteObjects", json!({"session": w.alice, "entryIds": [w.alice_msg]}))
        .await;
    // Bob's own change, so the check below is not trivially empty.
    w.bob_ok(
        "saveObject",
        json!({"folder": w.bob_inbox, "props": {"PR_SUBJECT": "mine"}}),
    )
    .await;
    let events = w.bob_events(1).await;
    assert!(!events.is_empty(), "bob saw no event of his own");
    for e in &events {
        assert_eq!(
            e["folder"],
            w.bob_inbox.as_str(),
            "bob heard of something outside his inbox: {e}"
        );
    }
    w.srv.stop().await;
}

/// "Folder visible" (0x400) lets bob list the inbox's subfolders and open
/// alice's store, but not read the inbox's contents or anything else.
async fn folder_visible_grant(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, msg) = (&w.alice_inbox, &w.alice_msg);
    w.grant(inbox, "bob", rights::FOLDER_VISIBLE).await;

    let st = w.bob_ok("getStore", json!({"user": "alice"})).await;
    assert_eq!(st["inbox"], inbox.as_str());
    let h = w.bob_ok("getHierarchy", json!({"folder": inbox})).await;
    assert_eq!(
        h["folders"],
        json!([]),
        "Sub has no grant of its own, so bob does not see it: {h}"
    );
    w.grant(&w.alice_sub, "bob", rights::FOLDER_VISIBLE).await;
    let h = w.bob_ok("getHierarchy", json!({"folder": inbox})).await;
    assert_eq!(h["folders"][0]["displayName"], "Sub", "{h}");

    w.bob_refused("getHierarchy", json!({"folder": w.alice_root})).await;
    w.bob_refused("queryRows", json!({"folder": inbox})).await;
    w.bob_refused("loadObject", json!({"entryId": msg})).await;
    w.bob_refused("getAttachment", json!({"entryId": msg, "attachNum": 0}))
        .await;
    w.bob_refused("getChanges", json!({"folder": inbox})).await;
    w.bob_refused("setReadFlags", json!({"entryIds": [msg], "read": true}))
        .await;
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_refused("createFolder", json!({"parent": inbox, "name": "Intruder"}))
        .await;
    w.bob_refused("renameFolder", json!({"folder": w.alice_sub, "name": "x"}))
        .await;
    w.bob_refused("getPermissions", json!({"folder": inbox})).await;
    assert_eq!(w.bob_download(msg).await.0, 403);
    w.srv.stop().await;
}

/// "Read" (0x1) lets bob list, load, download, sync, copy out and mark read,
/// and see events about new messages; it does not let him create, change,
/// delete or move anything.
async fn read_grant(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, msg) = (&w.alice_inbox, &w.alice_msg);
    w.bob_refused("getStore", json!({"user": "alice"})).await;
    w.grant(inbox, "bob", rights::READ).await;
    w.bob_ok("getStore", json!({"user": "alice"})).await;

    let q = w
        .bob_ok("queryRows", json!({"folder": inbox, "columns": ["PR_SUBJECT"]}))
        .await;
    assert_eq!(q["total"], 1);
    assert_eq!(q["rows"][0]["props"]["PR_SUBJECT"], SECRET_SUBJECT);
    let m = w.bob_ok("loadObject", json!({"entryId": msg})).await;
    assert_eq!(m["props"]["PR_BODY"], "for alice only");
    let a = w.bob_ok("getAttachment", json!({"entryId": msg, "attachNum": 0})).await;
    assert_eq!(B64.decode(s(&a["data"])).unwrap(), SECRET_ATTACHMENT);
    assert_eq!(w.bob_download(msg).await, (200, SECRET_ATTACHMENT.to_vec()));
    let ch = w.bob_ok("getChanges", json!({"folder": inbox})).await;
    assert_eq!(ch["created"], json!([msg]));
    let state = s(&ch["syncState"]);
    let h = w.bob_ok("getHierarchy", json!({"folder": inbox})).await;
    assert_eq!(h["folders"], json!([]), "{h}");

    // Refused: everything that writes to alice's folder.
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_SUBJECT": "defaced"}}),
    )
    .await;
    w.bob_refused("deleteObjects", json!({"entryIds": [msg]})).await;
    w.bob_refused("deleteObjects", json!({"entryIds": [msg], "hard": true}))
        .await;
    w.bob_refused("moveObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    w.bob_refused("moveObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    w.bob_refused("copyObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    w.bob_refused("emptyFolder", json!({"folder": inbox, "hard": true}))
        .await;
    w.bob_refused("createFolder", json!({"parent": inbox, "name": "Intruder"}))
        .await;
    w.bob_refused("getPermissions", json!({"folder": inbox})).await;
    w.bob_refused("queryRows", json!({"folder": w.alice_sub})).await;

    // Copying out into his own inbox reads only; alice keeps the original.
    let copy = w
        .bob_ok("copyObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    let c = w.bob_ok("loadObject", json!({"entryId": copy["entryIds"][0]})).await;
    assert_eq!(c["props"]["PR_SUBJECT"], SECRET_SUBJECT);
    w.assert_alice_intact().await;

    // Events: bob hears of alice's new message in the shared folder.
    w.bob_events(0).await;
    let new = w
        .srv
        .ok(
            "saveObject",
            json!({"session": w.alice, "folder": inbox, "props": {"PR_SUBJECT": "for both"}}),
        )
        .await["entryId"]
        .clone();
    let events = w.bob_events(2).await;
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "objectCreated" && e["entryId"] == new && e["folder"] == inbox.as_str()),
        "bob missed alice's new message: {events:?}"
    );
    let ch = w
        .bob_ok("getChanges", json!({"folder": inbox, "syncState": state}))
        .await;
    assert_eq!(ch["created"], json!([new]));

    // Read also means marking read.
    w.bob_ok("setReadFlags", json!({"entryIds": [msg], "read": true})).await;
    let m = w
        .srv
        .ok("loadObject", json!({"session": w.alice, "entryId": msg}))
        .await;
    assert_eq!(m["props"]["PR_MESSAGE_FLAGS"].as_i64().unwrap() & 1, 1);
    w.srv.stop().await;
}

/// "Create" (0x2) lets bob put new messages into alice's inbox but not
/// change hers or even his own; "edit own" (0x8) adds changing his own;
/// "delete own" (0x10) adds deleting his own. Alice's message stays out of
/// his reach throughout.
async fn create_and_own_items(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, msg) = (&w.alice_inbox, &w.alice_msg);
    w.grant(inbox, "bob", rights::CREATE).await;
    let his = w.bob_creates_in_alice_inbox("from bob").await;
    let mut subjects = w.alice_subjects(inbox).await;
    subjects.sort();
    assert_eq!(subjects, ["from bob", SECRET_SUBJECT]);
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_SUBJECT": "defaced"}}),
    )
    .await;
    w.bob_refused("saveObject", json!({"entryId": his, "props": {"PR_SUBJECT": "edited"}}))
        .await;
    w.bob_refused("loadObject", json!({"entryId": msg})).await;
    w.bob_refused("queryRows", json!({"folder": inbox})).await;
    w.bob_refused("deleteObjects", json!({"entryIds": [his]})).await;

    // Moving and copying his own message in only needs create here.
    let copied = w
        .bob_ok("copyObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    assert_eq!(copied["entryIds"].as_array().unwrap().len(), 1);

    w.grant(inbox, "bob", rights::CREATE | rights::EDIT_OWN).await;
    w.bob_ok(
        "saveObject",
        json!({"entryId": his, "props": {"PR_SUBJECT": "edited by bob"}}),
    )
    .await;
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_SUBJECT": "defaced"}}),
    )
    .await;
    w.bob_refused("saveObject", json!({"entryId": msg, "deleteAttachments": [0]}))
        .await;
    w.bob_refused("deleteObjects", json!({"entryIds": [his], "hard": true}))
        .await;
    assert!(w.alice_subjects(inbox).await.contains(&"edited by bob".to_string()));

    w.grant(inbox, "bob", rights::CREATE | rights::EDIT_OWN | rights::DELETE_OWN)
        .await;
    w.bob_refused("deleteObjects", json!({"entryIds": [msg]})).await;
    w.bob_refused("deleteObjects", json!({"entryIds": [his, msg], "hard": true}))
        .await;
    assert!(
        w.alice_subjects(inbox).await.contains(&"edited by bob".to_string()),
        "a refused batch deleted part"
    );
    w.bob_refused("moveObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    w.bob_ok("deleteObjects", json!({"entryIds": [his], "hard": true}))
        .await;
    assert!(!w.alice_subjects(inbox).await.contains(&"edited by bob".to_string()));
    w.bob_refused("emptyFolder", json!({"folder": inbox, "hard": true}))
        .await;
    w.srv.stop().await;
}

/// "Edit all" (0x20) lets bob change alice's message but not delete it;
/// "delete all" (0x40) lets him delete and move it away and empty the folder,
/// but not touch her subfolder, on which he has no rights.
async fn edit_and_delete_all(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, msg) = (&w.alice_inbox, &w.alice_msg);
    w.grant(inbox, "bob", rights::EDIT_ALL).await;
    w.bob_ok(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_BODY": "edited by bob"}}),
    )
    .await;
    let m = w
        .srv
        .ok("loadObject", json!({"session": w.alice, "entryId": msg}))
        .await;
    assert_eq!(m["props"]["PR_BODY"], "edited by bob");
    w.bob_refused("deleteObjects", json!({"entryIds": [msg]})).await;
    w.bob_refused("moveObjects", json!({"entryIds": [msg], "destFolder": w.bob_inbox}))
        .await;
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_refused("emptyFolder", json!({"folder": inbox})).await;

    w.grant(inbox, "bob", rights::DELETE_ALL).await;
    w.bob_refused(
        "saveObject",
        json!({"entryId": msg, "props": {"PR_SUBJECT": "defaced"}}),
    )
    .await;
    w.bob_refused("moveObjects", json!({"entryIds": [w.bob_msg], "destFolder": inbox}))
        .await;
    w.bob_refused("deleteFolder", json!({"folder": w.alice_sub})).await;
    let second = s(&w
        .srv
        .ok(
            "saveObject",
            json!({"session": w.alice, "folder": inbox, "props": {"PR_SUBJECT": "second"}}),
        )
        .await["entryId"]);
    // Moving away needs delete on the source and create on the target (his own inbox).
    w.bob_ok("moveObjects", json!({"entryIds": [second], "destFolder": w.bob_inbox}))
        .await;
    let moved = w.bob_ok("loadObject", json!({"entryId": second})).await;
    assert_eq!(moved["folder"], w.bob_inbox.as_str());
    w.bob_ok("deleteObjects", json!({"entryIds": [msg]})).await;
    assert_eq!(w.alice_subjects(inbox).await, Vec::<String>::new());

    // Emptying deletes the messages, but leaves the subfolder bob has no rights on.
    w.srv
        .ok(
            "saveObject",
            json!({"session": w.alice, "folder": inbox, "props": {"PR_SUBJECT": "third"}}),
        )
        .await;
    w.bob_ok("emptyFolder", json!({"folder": inbox, "hard": true})).await;
    assert_eq!(w.alice_subjects(inbox).await, Vec::<String>::new());
    let h = w
        .srv
        .ok("getHierarchy", json!({"session": w.alice, "folder": inbox}))
        .await;
    assert_eq!(
        h["folders"][0]["entryId"],
        w.alice_sub.as_str(),
        "bob's emptyFolder removed alice's subfolder: {h}"
    );
    w.srv.stop().await;
}

/// "Create subfolder" (0x80) lets bob create a folder below alice's inbox
/// (which he then owns) but not rename, delete or see the permissions of
/// hers; "folder owner" (0x100) on her subfolder adds rename, delete,
/// getPermissions and setPermissions there.
async fn subfolder_and_owner_grants(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, sub) = (&w.alice_inbox, &w.alice_sub);
    w.grant(inbox, "bob", rights::CREATE_SUBFOLDER).await;
    let his = s(&w
        .bob_ok("createFolder", json!({"parent": inbox, "name": "Bob's corner"}))
        .await["entryId"]);
    w.bob_ok("renameFolder", json!({"folder": his, "name": "Bob's room"}))
        .await;
    w.bob_ok(
        "saveObject",
        json!({"folder": his, "props": {"PR_SUBJECT": "in his folder"}}),
    )
    .await;
    w.bob_refused("renameFolder", json!({"folder": sub, "name": "taken"}))
        .await;
    w.bob_refused("renameFolder", json!({"folder": inbox, "name": "taken"}))
        .await;
    w.bob_refused("getPermissions", json!({"folder": inbox})).await;
    w.bob_refused(
        "setPermissions",
        json!({"folder": inbox, "permissions": [{"member": "bob", "rights": 0x5FB}]}),
    )
    .await;
    w.bob_refused("deleteFolder", json!({"folder": sub})).await;
    w.bob_refused("moveFolder", json!({"folder": sub, "newParent": his}))
        .await;
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_refused("queryRows", json!({"folder": inbox})).await;
    let names: Vec<String> = w
        .srv
        .ok("getHierarchy", json!({"session": w.alice, "folder": inbox}))
        .await["folders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["displayName"]))
        .collect();
    assert!(names.contains(&"Bob's room".to_string()), "{names:?}");

    w.grant(sub, "bob", rights::FOLDER_OWNER).await;
    let p = w.bob_ok("getPermissions", json!({"folder": sub})).await;
    assert_eq!(
        p["permissions"],
        json!([{"member": "bob", "rights": rights::FOLDER_OWNER}])
    );
    w.bob_ok("renameFolder", json!({"folder": sub, "name": "Renamed by bob"}))
        .await;
    let h = w
        .srv
        .ok("getHierarchy", json!({"session": w.alice, "folder": inbox}))
        .await;
    assert!(
        h["folders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["displayName"] == "Renamed by bob"),
        "{h}"
    );
    w.bob_ok("renameFolder", json!({"folder": sub, "name": "Sub"})).await;
    w.bob_refused("getPermissions", json!({"folder": inbox})).await;
    // Owner of the folder, not of its contents.
    w.bob_refused("queryRows", json!({"folder": sub})).await;
    w.bob_refused("saveObject", json!({"folder": sub, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    w.bob_ok(
        "setPermissions",
        json!({"folder": sub, "permissions": [{"member": "bob", "rights": rights::FOLDER_OWNER | rights::READ}]}),
    )
    .await;
    w.bob_ok("queryRows", json!({"folder": sub})).await;
    w.bob_ok("deleteFolder", json!({"folder": sub, "hard": true})).await;
    w.srv
        .fails(
            "getHierarchy",
            json!({"session": w.alice, "folder": sub}),
            "MAPI_E_NOT_FOUND",
        )
        .await;
    w.srv.stop().await;
}

/// A grant to `group:NAME` reaches members from their next logon; a grant to
/// `default` reaches every user; rights 0 takes either away again.
async fn group_and_default_grants(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let inbox = &w.alice_inbox;
    let group = w.srv.store.create_group("team").await.expect("create group");
    let bob_id = w.srv.store.user_by_login("bob").await.unwrap().expect("bob").id;
    w.srv
        .store
        .set_group_member(group, bob_id, true)
        .await
        .expect("add bob");
    w.grant(inbox, "group:team", rights::READ).await;
    let p = w
        .srv
        .ok("getPermissions", json!({"session": w.alice, "folder": inbox}))
        .await;
    assert_eq!(
        p["permissions"],
        json!([{"member": "group:team", "rights": rights::READ}])
    );

    // Group membership is read at logon: the old session does not have it.
    w.bob_refused("queryRows", json!({"folder": inbox})).await;
    let bob2 = w.srv.logon("bob", "bob-pw").await;
    let q = w.srv.ok("queryRows", json!({"session": bob2, "folder": inbox})).await;
    assert_eq!(q["total"], 1);
    w.srv.ok("getStore", json!({"session": bob2, "user": "alice"})).await;
    w.srv
        .fails(
            "saveObject",
            json!({"session": bob2, "folder": inbox, "props": {"PR_SUBJECT": "x"}}),
            NO_ACCESS,
        )
        .await;
    w.grant(inbox, "group:team", 0).await;
    w.srv
        .fails("queryRows", json!({"session": bob2, "folder": inbox}), NO_ACCESS)
        .await;
    w.srv
        .fails("getStore", json!({"session": bob2, "user": "alice"}), NO_ACCESS)
        .await;

    // default: every logged-on user, including one created later.
    w.srv.add_user("carol", "carol-pw").await;
    let carol = w.srv.logon("carol", "carol-pw").await;
    w.srv
        .fails("queryRows", json!({"session": carol, "folder": inbox}), NO_ACCESS)
        .await;
    w.grant(inbox, "default", rights::READ | rights::CREATE).await;
    for session in [&w.bob, &carol] {
        w.srv
            .ok("queryRows", json!({"session": session, "folder": inbox}))
            .await;
        w.srv
            .ok(
                "saveObject",
                json!({"session": session, "folder": inbox, "props": {"PR_SUBJECT": "hi"}}),
            )
            .await;
        w.srv
            .fails(
                "saveObject",
                json!({"session": session, "entryId": w.alice_msg, "props": {"PR_SUBJECT": "x"}}),
                NO_ACCESS,
            )
            .await;
    }
    w.grant(inbox, "default", 0).await;
    for session in [&w.bob, &carol] {
        w.srv
            .fails("queryRows", json!({"session": session, "folder": inbox}), NO_ACCESS)
            .await;
    }
    let p = w
        .srv
        .ok("getPermissions", json!({"session": w.alice, "folder": inbox}))
        .await;
    assert_eq!(p["permissions"], json!([]));
    w.assert_alice_intact().await;
    w.srv.stop().await;
}

/// Removing a user grant (rights 0) takes every access it gave away again,
/// including opening the store and hearing events.
async fn removing_a_grant(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let (inbox, msg) = (&w.alice_inbox, &w.alice_msg);
    w.grant(inbox, "bob", rights::READ | rights::CREATE).await;
    w.bob_ok("loadObject", json!({"entryId": msg})).await;
    w.bob_ok("getStore", json!({"user": "alice"})).await;
    w.grant(inbox, "bob", 0).await;
    w.bob_refused("getStore", json!({"user": "alice"})).await;
    w.bob_refused("loadObject", json!({"entryId": msg})).await;
    w.bob_refused("queryRows", json!({"folder": inbox})).await;
    w.bob_refused("getAttachment", json!({"entryId": msg, "attachNum": 0}))
        .await;
    w.bob_refused("saveObject", json!({"folder": inbox, "props": {"PR_SUBJECT": "spam"}}))
        .await;
    assert_eq!(w.bob_download(msg).await.0, 403);
    w.bob_events(0).await;
    w.srv
        .ok(
            "saveObject",
            json!({"session": w.alice, "folder": inbox, "props": {"PR_SUBJECT": "after"}}),
        )
        .await;
    assert_eq!(w.bob_events(1).await, Vec::<Value>::new());
    w.srv.stop().await;
}

/// The public store: getStore(user=public) gives its root, where users may
/// only read until an administrator grants more; a folder alice creates
/// there is hers (she holds every right on it), and bob may see it but not
/// rename, delete or re-permission it until she grants him that.
async fn public_store(db: Db) {
    let Some(w) = World::new(db).await else { return };
    let st = w
        .srv
        .ok("getStore", json!({"session": w.alice, "user": "public"}))
        .await;
    let public_root = s(&st["root"]);
    assert_eq!(st["publicRoot"], public_root.as_str());
    assert_eq!(st["inbox"], "", "a public store has no inbox: {st}");
    assert_eq!(
        w.bob_ok("getStore", json!({"user": "PUBLIC"})).await["root"],
        public_root.as_str()
    );

    w.bob_refused("createFolder", json!({"parent": public_root, "name": "Bob's corner"}))
        .await;
    w.bob_refused(
        "saveObject",
        json!({"folder": public_root, "props": {"PR_SUBJECT": "spam"}}),
    )
    .await;
    w.srv.add_user("admin", "admin-pw").await;
    let admin_id = w.srv.store.user_by_login("admin").await.unwrap().unwrap().id;
    let up = okapi::store::UserUpdate {
        is_admin: Some(true),
        ..Default::default()
    };
    w.srv.store.update_user(admin_id, &up).await.unwrap();
    let admin = w.srv.logon("admin", "admin-pw").await;
    w.srv
        .ok(
            "setPermissions",
            json!({"session": admin, "folder": public_root,
                   "permissions": [{"member": "alice", "rights": rights::READ | rights::CREATE_SUBFOLDER | rights::FOLDER_VISIBLE}]}),
        )
        .await;
    let folder = s(&w
        .srv
        .ok(
            "createFolder",
            json!({"session": w.alice, "parent": public_root, "name": "Team news"}),
        )
        .await["entryId"]);
    let p = w
        .srv
        .ok("getPermissions", json!({"session": w.alice, "folder": folder}))
        .await;
    assert_eq!(
        p["permissions"],
        json!([{"member": "alice", "rights": 0x5FB}]),
        "alice owns her public folder"
    );
    w.srv
        .ok(
            "renameFolder",
            json!({"session": w.alice, "folder": folder, "name": "Team News"}),
        )
        .await;

    w.bob_refused("renameFolder", json!({"folder": folder, "name": "Bob's news"}))
        .await;
    w.bob_refused("deleteFolder", json!({"folder": folder, "hard": true}))
        .await;
    w.bob_refused("getPermissions", json!({"folder": folder})).await;
    w.bob_refused(
        "setPermissions",
        json!({"folder": folder, "permissions": [{"member": "bob", "rights": 0x5FB}]}),
    )
    .await;
    w.bob_refused("queryRows", json!({"folder": folder})).await;
    w.bob_refused("saveObject", json!({"folder": folder, "props": {"PR_SUBJECT": "spam"}}))
        .await;

    w.grant(&folder, "bob", rights::READ | rights::CREATE | rights::FOLDER_VISIBLE)
        .await;
    w.bob_ok(
        "saveObject",
        json!({"folder": folder, "props": {"PR_SUBJECT": "news from bob"}}),
    )
    .await;
    assert_eq!(w.bob_ok("queryRows", json!({"folder": folder})).await["total"], 1);
    w.bob_refused("renameFolder", json!({"folder": folder, "name": "Bob's news"}))
        .await;
    let h = w.bob_ok("getHierarchy", json!({"folder": public_root})).await;
    assert!(
        h["folders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["displayName"] == "Team News"),
        "{h}"
    );
    w.srv.stop().await;
}

on_both_backends!(
    nothing_is_shared_by_default,
    events_stay_private,
    folder_visible_grant,
    read_grant,
    create_and_own_items,
    edit_and_delete_all,
    subfolder_and_owner_grants,
    group_and_default_grants,
    removing_a_grant,
    public_store,
);
