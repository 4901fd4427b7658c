//! Test harness: a real okapi server (the same `server::run` the binary
//! uses) on 127.0.0.1:0 and a unix socket in a temporary directory, over
//! SQLite or, when `OKAPI_TEST_MYSQL_URL` is set, MariaDB/MySQL with a fresh
//! database per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

pub mod lmtp;
pub mod process;

use okapi::config::Config;
use okapi::ops::State;
use okapi::store::{NewUser, Store};
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    MySql,
}

/// The MariaDB URL for tests, or None. In CI (`CI` set) a missing URL is a
/// failure, not a skip: every store and API test must run on both backends.
pub fn mysql_url() -> Option<String> {
    match std::env::var("OKAPI_TEST_MYSQL_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI is set but OKAPI_TEST_MYSQL_URL is not: the MariaDB variant of every test must run in CI"
            );
            None
        }
    }
}

/// Creates a fresh database on the test server and returns its URL.
pub async fn fresh_mysql_db(base: &str) -> String {
    fresh_mysql_db_named(base).await.0
}

/// Like [`fresh_mysql_db`], also returning the database name.
pub async fn fresh_mysql_db_named(base: &str) -> (String, String) {
    use sqlx::Connection;
    let name = format!("okapi_t_{}", hex::encode(rand::random::<[u8; 6]>()));
    let (server, _) = base
        .rsplit_once('/')
        .expect("OKAPI_TEST_MYSQL_URL must end in /DATABASE");
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(base)
        .await
        .expect("connect to OKAPI_TEST_MYSQL_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )))
    .execute(&mut conn)
    .await
    .expect("create test database");
    (format!("{server}/{name}"), name)
}

/// Drops a test database.
pub async fn drop_mysql_db(name: &str) {
    use sqlx::Connection;
    if let Some(base) = mysql_url()
        && let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await
    {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
            .execute(&mut conn)
            .await;
    }
}

pub struct TestServer {
    pub base: String,
    pub socket: PathBuf,
    /// The bound LMTP TCP address (`lmtp_listen = 127.0.0.1:0`).
    pub lmtp: std::net::SocketAddr,
    /// The LMTP unix socket (`lmtp_socket`).
    pub lmtp_socket: PathBuf,
    /// The database URL the server runs on.
    pub db_url: String,
    pub store: Store,
    pub state: Arc<State>,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    client: reqwest::Client,
    mysql_db: Option<String>,
}

impl TestServer {
    /// Starts a server; `extra` is appended to its configuration.
    pub async fn start(db: Db, extra: &str) -> Option<TestServer> {
        let dir = tempfile::tempdir().expect("tempdir");
        let (url, mysql_db) = match db {
            Db::Sqlite => (format!("sqlite://{}/okapi.db", dir.path().display()), None),
            Db::MySql => {
                let (url, name) = fresh_mysql_db_named(&mysql_url()?).await;
                (url, Some(name))
            }
        };
        Some(Self::launch(dir, url, mysql_db, db, extra).await)
    }

    /// Stops this server and starts another on the same database and
    /// directory, as a restart of okapi-server would.
    pub async fn restart(mut self, extra: &str) -> TestServer {
        let db = if self.mysql_db.is_some() { Db::MySql } else { Db::Sqlite };
        let (url, mysql_db) = (self.db_url.clone(), self.mysql_db.take());
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close().await;
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        Self::launch(dir, url, mysql_db, db, extra).await
    }

    async fn launch(dir: tempfile::TempDir, url: String, mysql_db: Option<String>, db: Db, extra: &str) -> TestServer {
        let socket = dir.path().join("server.sock");
        let text = format!(
            "server_listen = 127.0.0.1:0\nserver_listen_tls =\nlocal_socket = {}\nlmtp_listen = 127.0.0.1:0\n\
             lmtp_socket = {dir}/lmtp.sock\ndatabase_url = {url}\n\
             attachment_storage = {}\nattachment_path = {}/blobs\n{extra}\n",
            socket.display(),
            if db == Db::Sqlite { "files" } else { "db" },
            dir.path().display(),
            dir = dir.path().display(),
        );
        let cfg = Config::from_text(&text, "test.cfg").expect("test config");
        let db_url = url.clone();
        let store = Store::open(&okapi::startup::store_options(&cfg).expect("options"))
            .await
            .expect("open store");
        let listeners = okapi::server::bind_from_config(&cfg).await.expect("bind");
        let addr = listeners.http[0].local_addr().expect("addr");
        let lmtp = listeners.lmtp[0].local_addr().expect("lmtp addr");
        let lmtp_socket = cfg.lmtp_socket.clone();
        let state = State::new(store.clone(), cfg);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(okapi::server::run(state.clone(), listeners, None, async {
            let _ = rx.await;
        }));
        TestServer {
            base: format!("http://{addr}"),
            socket,
            lmtp,
            lmtp_socket,
            db_url,
            store,
            state,
            dir,
            stop: Some(tx),
            task: Some(task),
            client: reqwest::Client::new(),
            mysql_db,
        }
    }

    /// Creates a user directly in the store; returns the login.
    pub async fn add_user(&self, login: &str, password: &str) -> String {
        self.store
            .create_user(&NewUser {
                login: login.into(),
                display_name: format!("{login} display"),
                password_hash: okapi::auth::hash_password(password).expect("hash"),
                address: format!("{login}@example.test"),
                aliases: vec![format!("{login}.alias@example.test")],
                is_admin: false,
            })
            .await
            .expect("create user");
        login.into()
    }

    /// POSTs a JSON operation; returns (status, body).
    pub async fn json(&self, op: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}/api/v1/{op}", self.base))
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// POSTs a JSON operation that must succeed.
    pub async fn ok(&self, op: &str, body: Value) -> Value {
        let (status, v) = self.json(op, body.clone()).await;
        assert_eq!(status, 200, "{op} {body} failed: {v}");
        v
    }

    /// POSTs a JSON operation that must fail with this MAPI name.
    pub async fn fails(&self, op: &str, body: Value, mapi: &str) -> Value {
        let (status, v) = self.json(op, body.clone()).await;
        assert_ne!(status, 200, "{op} {body} should have failed with {mapi}, got {v}");
        assert_eq!(v["error"]["name"], mapi, "{op} {body}: {v}");
        assert!(
            v["error"]["message"].as_str().is_some_and(|m| m.len() > 10),
            "{op}: no helpful message: {v}"
        );
        v
    }

    /// POSTs a raw body to a path; returns (status, body text).
    pub async fn raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        (r.status().as_u16(), r.text().await.unwrap_or_default())
    }

    /// Logs on over JSON; returns the session.
    pub async fn logon(&self, user: &str, password: &str) -> String {
        let v = self.ok("logon", json!({"user": user, "password": password})).await;
        v["session"].as_str().expect("session").to_string()
    }

    /// The standard folders of the session's store.
    pub async fn store_of(&self, session: &str) -> Value {
        self.ok("getStore", json!({"session": session})).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close().await;
        if let Some(name) = self.mysql_db.take() {
            drop_mysql_db(&name).await;
        }
    }
}

/// Runs a test body on SQLite and, when configured, on MariaDB.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Db::Sqlite).await
                }
            )*
        }
        mod mariadb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::common::mysql_url().is_some() {
                        super::$name($crate::common::Db::MySql).await
                    } else {
                        eprintln!("OKAPI_TEST_MYSQL_URL not set: MariaDB variant not run");
                    }
                }
            )*
        }
    };
}
