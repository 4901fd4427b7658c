//! The store on its own, on SQLite and MariaDB: schema versions,
//! single-instance, reference-counted blobs in the database and in files, and
//! delivery's group commit (all messages of a group stored, or none).

// Tests fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Db;
use okapi::error::StoreError;
use okapi::props::{PR_SUBJECT, PropMap, PropValue};
use okapi::store::{
    BlobLocation, DeliveryTarget, HardQuota, MessageData, NewAttachmentData, NewUser, Role, Store, StoreOptions,
};

struct Opened {
    store: Store,
    url: String,
    dir: tempfile::TempDir,
    mysql_db: Option<String>,
}

async fn open(db: Db, blobs_in_files: bool) -> Option<Opened> {
    open_with(db, blobs_in_files, 0).await
}

/// Opens a fresh store; with files, blobs up to `inline_max` bytes stay in the database.
async fn open_with(db: Db, blobs_in_files: bool, inline_max: u64) -> Option<Opened> {
    let dir = tempfile::tempdir().unwrap();
    let (url, mysql_db) = match db {
        Db::Sqlite => (format!("sqlite://{}/okapi.db", dir.path().display()), None),
        Db::MySql => {
            let (url, name) = common::fresh_mysql_db_named(&common::mysql_url()?).await;
            (url, Some(name))
        }
    };
    let blobs = if blobs_in_files {
        BlobLocation::Files(dir.path().join("blobs"))
    } else {
        BlobLocation::Database
    };
    let opts = StoreOptions {
        url: url.clone(),
        password: None,
        blobs,
        inline_blob_max: inline_max,
        acquire_timeout: std::time::Duration::from_secs(5),
    };
    let store = Store::open(&opts).await.unwrap();
    Some(Opened {
        store,
        url,
        dir,
        mysql_db,
    })
}

async fn close(o: Opened) {
    o.store.close().await;
    if let Some(name) = o.mysql_db {
        common::drop_mysql_db(&name).await;
    }
}

async fn user(store: &Store, login: &str) -> i64 {
    store
        .create_user(&NewUser {
            login: login.into(),
            display_name: login.into(),
            password_hash: "x".into(),
            address: format!("{login}@example.test"),
            aliases: vec![],
            is_admin: false,
        })
        .await
        .unwrap()
}

fn with_attachment(subject: &str, data: &[u8]) -> MessageData {
    let mut props = PropMap::new();
    props.insert(PR_SUBJECT, PropValue::Str(subject.into()));
    MessageData {
        props,
        new_attachments: vec![NewAttachmentData {
            filename: "a.bin".into(),
            data: data.to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// Options to open an existing test database again, as a restarted server would.
fn reopen_options(url: &str) -> StoreOptions {
    StoreOptions {
        url: url.to_string(),
        password: None,
        blobs: BlobLocation::Database,
        inline_blob_max: 0,
        acquire_timeout: std::time::Duration::from_secs(5),
    }
}

/// A database written by a newer okapi is refused with a message that says so,
/// and opening the current schema twice migrates nothing twice.
async fn newer_schema_is_refused(db: Db) {
    let Some(o) = open(db, false).await else { return };
    let opts = reopen_options(&o.url);
    // Re-opening a current database is fine.
    Store::open(&opts).await.unwrap().close().await;
    sqlx::any::install_default_drivers();
    {
        use sqlx::Connection;
        let mut c = sqlx::AnyConnection::connect(&o.url).await.unwrap();
        sqlx::query("INSERT INTO okapi_schema (version, applied_at) VALUES (999, 0)")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let err = Store::open(&opts).await.unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found: 999, .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("999") && text.contains("newer"), "{text}");
    close(o).await;
}

/// A user gets a private store with the standard folders and their classes.
async fn new_users_get_standard_folders(db: Db) {
    let Some(o) = open(db, false).await else { return };
    let id = user(&o.store, "ann").await;
    let st = o.store.store_of_user(id).await.unwrap();
    for (role, class) in [
        (Role::Inbox, "IPF.Note"),
        (Role::Calendar, "IPF.Appointment"),
        (Role::Contacts, "IPF.Contact"),
        (Role::Tasks, "IPF.Task"),
        (Role::Notes, "IPF.StickyNote"),
        (Role::Junk, "IPF.Note"),
    ] {
        let f = o.store.folder_by_role(st.id, role).await.unwrap();
        assert_eq!(f.container_class, class);
        assert_eq!(f.parent_id, Some(st.root_folder_id));
    }
    assert_eq!(o.store.public_store().await.unwrap().kind, "public");
    let dup = o
        .store
        .create_user(&NewUser {
            login: "ANN".into(),
            display_name: "x".into(),
            password_hash: "x".into(),
            address: "other@example.test".into(),
            aliases: vec![],
            is_admin: false,
        })
        .await;
    assert!(
        matches!(dup, Err(StoreError::Collision(_))),
        "logins are unique ignoring case"
    );
    close(o).await;
}

/// The same bytes in many messages are stored once and freed with the last reference.
async fn blobs_are_single_instance(db: Db, in_files: bool) {
    let Some(o) = open(db, in_files).await else { return };
    let uid = user(&o.store, "bea").await;
    let st = o.store.store_of_user(uid).await.unwrap();
    let inbox = o.store.folder_by_role(st.id, Role::Inbox).await.unwrap().id;
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let a = o
        .store
        .create_message(inbox, Some(uid), &with_attachment("a", &data), HardQuota::NONE)
        .await
        .unwrap();
    let b = o
        .store
        .create_message(inbox, Some(uid), &with_attachment("b", &data), HardQuota::NONE)
        .await
        .unwrap();
    let copy = o
        .store
        .copy_messages(&[a], inbox, Some(uid), HardQuota::NONE)
        .await
        .unwrap()[0];
    let hash = o.store.attachments_of(a).await.unwrap()[0].blob_hash.clone().unwrap();
    let file = o
        .dir
        .path()
        .join("blobs")
        .join(&hash[0..2])
        .join(&hash[2..4])
        .join(&hash);
    assert_eq!(file.exists(), in_files);
    for (i, id) in [a, b, copy].into_iter().enumerate() {
        assert_eq!(o.store.attachment_data(id, 0).await.unwrap().1, data);
        o.store.delete_messages(&[id]).await.unwrap();
        let still = o.store.blob_get(&hash).await;
        if i < 2 {
            assert_eq!(still.unwrap(), data, "blob must survive while referenced");
        } else {
            assert!(still.is_err(), "last reference gone, blob must be gone");
        }
    }
    assert!(!file.exists(), "blob file removed with its last reference");
    let st = o.store.store_of_user(uid).await.unwrap();
    assert_eq!(st.message_count, 0);
    assert_eq!(st.size_bytes, 0, "store size returns to zero");
    close(o).await;
}

async fn blobs_in_database(db: Db) {
    blobs_are_single_instance(db, false).await
}

async fn blobs_in_files(db: Db) {
    blobs_are_single_instance(db, true).await
}

/// With blobs in files, a blob up to the inline limit stays in the database
/// (no file is written) and a larger one goes to a file; both read back the
/// same and are freed with their last reference.
async fn small_blobs_stay_in_database(db: Db) {
    let Some(o) = open_with(db, true, 64 * 1024).await else {
        return;
    };
    let uid = user(&o.store, "fi").await;
    let inbox = inbox_target(&o.store, uid).await.folder_id;
    let file_of = |hash: &str| {
        o.dir
            .path()
            .join("blobs")
            .join(&hash[0..2])
            .join(&hash[2..4])
            .join(hash)
    };
    for (len, in_file) in [(64 * 1024, false), (64 * 1024 + 1, true)] {
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        let id = o
            .store
            .create_message(inbox, Some(uid), &with_attachment("s", &data), HardQuota::NONE)
            .await
            .unwrap();
        let hash = o.store.attachments_of(id).await.unwrap()[0].blob_hash.clone().unwrap();
        assert_eq!(file_of(&hash).exists(), in_file, "{len} bytes");
        assert_eq!(o.store.attachment_data(id, 0).await.unwrap().1, data);
        o.store.delete_messages(&[id]).await.unwrap();
        assert!(o.store.blob_get(&hash).await.is_err(), "freed with the last reference");
        assert!(!file_of(&hash).exists());
    }
    // Delivery takes the same path: a small raw message leaves no file.
    let ids = o
        .store
        .deliver(&[inbox_target(&o.store, uid).await], &delivered("small"))
        .await
        .unwrap();
    let raw = o.store.load_message(ids[0]).await.unwrap().raw_blob.unwrap();
    assert!(!file_of(&raw).exists());
    assert!(o.store.blob_get(&raw).await.unwrap().starts_with(b"Subject: small"));
    close(o).await;
}

/// A message as delivery stores it: properties and the raw bytes.
fn delivered(subject: &str) -> MessageData {
    let mut props = PropMap::new();
    props.insert(PR_SUBJECT, PropValue::Str(subject.into()));
    MessageData {
        props,
        raw: Some(format!("Subject: {subject}\r\n\r\nbody of {subject}\r\n").into_bytes()),
        ..Default::default()
    }
}

/// The Inbox of a user as a delivery target, with the store row.
async fn inbox_target(store: &Store, uid: i64) -> DeliveryTarget {
    let st = store.store_of_user(uid).await.unwrap();
    DeliveryTarget::from(&store.folder_by_role(st.id, Role::Inbox).await.unwrap())
}

/// Many concurrent deliveries: every one is acknowledged with its ids and
/// stored, one copy per target, and folder counters, store counters, the
/// change journal and blob references all count every copy once.
async fn concurrent_deliveries_all_stored(db: Db) {
    let Some(o) = open(db, true).await else { return };
    let (a, b) = (user(&o.store, "cy").await, user(&o.store, "di").await);
    let (ta, tb) = (inbox_target(&o.store, a).await, inbox_target(&o.store, b).await);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let store = o.store.clone();
        // Every fourth message goes to both users: one blob, two copies.
        let targets = if i % 4 == 0 {
            vec![ta, tb]
        } else {
            vec![[ta, tb][i % 2]]
        };
        tasks.push(tokio::spawn(async move {
            let ids = store.deliver(&targets, &delivered(&format!("m{i}"))).await.unwrap();
            (targets, ids)
        }));
    }
    let mut per_folder = std::collections::HashMap::<i64, Vec<i64>>::new();
    for t in tasks {
        let (targets, ids) = t.await.unwrap();
        assert_eq!(ids.len(), targets.len(), "one id per target");
        for (t, id) in targets.iter().zip(ids) {
            let m = o.store.load_message(id).await.unwrap();
            assert_eq!(m.folder_id, t.folder_id, "stored where asked");
            per_folder.entry(t.folder_id).or_default().push(id);
        }
    }
    assert!(o.store.delivery_commits() >= 1);
    for (uid, t) in [(a, ta), (b, tb)] {
        let want = &per_folder[&t.folder_id];
        let f = o.store.folder(t.folder_id).await.unwrap();
        assert_eq!(f.content_count, want.len() as i64, "folder count");
        assert_eq!(f.unread_count, want.len() as i64, "unread count");
        let st = o.store.store_of_user(uid).await.unwrap();
        assert_eq!(st.message_count, want.len() as i64, "store count");
        let changes = o.store.changes_since(t.folder_id, 0).await.unwrap();
        let mut created = changes.created.clone();
        created.sort_unstable();
        let mut want = want.clone();
        want.sort_unstable();
        assert_eq!(created, want, "every copy in the journal once");
        assert_eq!(changes.last, f.last_change_num);
        assert_eq!(changes.last, want.len() as i64, "one change number per copy");
        // Each copy has its own change number: a client that synced up to
        // any point sees exactly the copies after it.
        let half = o.store.changes_since(t.folder_id, changes.last / 2).await.unwrap();
        assert_eq!(half.created.len() as i64, changes.last - changes.last / 2);
    }
    // The shared message's blob is referenced by both copies.
    let shared = o.store.load_message(per_folder[&ta.folder_id][0]).await.unwrap();
    assert!(shared.raw_blob.is_some());
    close(o).await;
}

/// A group is all or nothing: with one target folder gone, the whole group
/// fails and nothing of any of its messages is stored; the same messages to
/// good folders are then stored together.
async fn failed_group_stores_nothing(db: Db) {
    let Some(o) = open(db, false).await else { return };
    let uid = user(&o.store, "ed").await;
    let good = inbox_target(&o.store, uid).await;
    let gone = DeliveryTarget {
        folder_id: 999_999,
        ..good
    };
    let items = vec![
        (vec![good], delivered("one")),
        (vec![good, gone], delivered("two")),
        (vec![good], delivered("three")),
    ];
    assert!(
        o.store.deliver_group(&items).await.is_err(),
        "a missing folder fails the group"
    );
    let f = o.store.folder(good.folder_id).await.unwrap();
    assert_eq!((f.content_count, f.unread_count, f.last_change_num), (0, 0, 0));
    assert_eq!(o.store.store_of_user(uid).await.unwrap().message_count, 0);
    assert!(
        o.store
            .changes_since(good.folder_id, 0)
            .await
            .unwrap()
            .created
            .is_empty()
    );
    let raw = delivered("one").raw.unwrap();
    let hash = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&raw))
    };
    assert!(
        o.store.blob_get(&hash).await.is_err(),
        "no blob of a failed group is left"
    );

    let mut items: Vec<_> = items.into_iter().map(|(_, d)| (vec![good], d)).collect();
    // A message without targets is stored nowhere and takes no blob reference.
    items.push((vec![], delivered("nowhere")));
    let ids = o.store.deliver_group(&items).await.unwrap();
    assert_eq!(ids.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 1, 0]);
    let nowhere = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(delivered("nowhere").raw.unwrap()))
    };
    assert!(o.store.blob_get(&nowhere).await.is_err());
    let f = o.store.folder(good.folder_id).await.unwrap();
    assert_eq!((f.content_count, f.last_change_num), (3, 3));
    close(o).await;
}

/// Takes a database back to schema version 3 (as an okapi before the fair-shares
/// migration left it) with the public root's default grant set to `rights`.
async fn back_to_version_3(db: Db, url: &str, root: i64, rights: i64) {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    let drop_index = match db {
        Db::Sqlite => "DROP INDEX named_props_creator",
        Db::MySql => "DROP INDEX named_props_creator ON named_props",
    };
    for sql in [
        "DELETE FROM okapi_schema WHERE version = 4",
        drop_index,
        "ALTER TABLE named_props DROP COLUMN created_by",
        "ALTER TABLE named_props DROP COLUMN created_at",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    sqlx::query("UPDATE acls SET rights = ? WHERE folder_id = ? AND member_kind = 'default'")
        .bind(rights)
        .bind(root)
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

/// Migration 4 takes the right to create away from everyone on the public
/// store's top level where okapi had granted it at first start (0x49B), and
/// leaves a grant an administrator chose alone.
async fn migration_4_narrows_the_public_root_only_where_okapi_set_it(db: Db) {
    let Some(o) = open(db, false).await else { return };
    let opts = reopen_options(&o.url);
    let root = o.store.public_store().await.unwrap().root_folder_id;
    let default_rights = |acl: Vec<okapi::store::AclEntry>| {
        acl.into_iter()
            .find(|e| e.kind == okapi::store::MemberKind::Default)
            .map(|e| e.rights)
    };
    assert_eq!(default_rights(o.store.acl_of(root).await.unwrap()), Some(0x401));

    back_to_version_3(db, &o.url, root, 0x49B).await;
    let again = Store::open(&opts).await.unwrap();
    assert_eq!(default_rights(again.acl_of(root).await.unwrap()), Some(0x401));
    again.close().await;

    let chosen = 0x49B | 0x40;
    back_to_version_3(db, &o.url, root, chosen).await;
    let again = Store::open(&opts).await.unwrap();
    assert_eq!(default_rights(again.acl_of(root).await.unwrap()), Some(chosen));
    again.close().await;
    close(o).await;
}

on_both_backends!(
    newer_schema_is_refused,
    migration_4_narrows_the_public_root_only_where_okapi_set_it,
    new_users_get_standard_folders,
    blobs_in_database,
    blobs_in_files,
    concurrent_deliveries_all_stored,
    failed_group_stores_nothing,
    small_blobs_stay_in_database,
);
