//! queryRows latency: the first 50 rows, newest first, of folders holding
//! 1,000 and 100,000 messages, on SQLite and on MariaDB.
//!
//! Target (DESIGN.md, "Hot columns + property bag"): the 100,000 case under
//! 5 ms and within 2x of the 1,000 case, i.e. an index range scan whose cost
//! does not grow with the folder.
//!
//! Each backend gets a server started in-process exactly as okapi-server
//! starts one (`Store::open`, `server::bind_from_config`, `server::run`), a
//! user, and two folders filled with realistic messages (subject, sender,
//! distinct delivery times, a 1-2 KB body in the bag). Two paths are timed:
//! - `api`: `POST /api/v1/queryRows` over HTTP (JSON), as a client sees it:
//!   session check, folder access check, the query, encoding, the round trip;
//! - `store`: `Store::query_rows` alone.
//!
//! Run it with `bench/run` (or `cargo bench --bench query_rows`); MariaDB is
//! measured when `OKAPI_TEST_MYSQL_URL` names a server, in a fresh database
//! dropped at the end. `OKAPI_BENCH_ITERATIONS` changes the 200 timed
//! iterations per case.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use okapi::config::Config;
use okapi::ops::State;
use okapi::props::*;
use okapi::store::{HardQuota, MessageData, NewUser, Role, SortSpec, Store, TableQuery};
use serde_json::{Value, json};

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Folder sizes measured.
const SIZES: [usize; 2] = [1_000, 100_000];
/// Rows per page, as a client's first screen asks.
const PAGE: i64 = 50;
/// Untimed calls before each timed run.
const WARM_UP: usize = 20;
/// Timed calls per case unless `OKAPI_BENCH_ITERATIONS` says otherwise.
const ITERATIONS: usize = 200;
/// Messages per transaction when filling through `create_messages_bulk`.
const BATCH: usize = 5_000;
/// The 100,000 case must answer faster than this (median).
const TARGET_MS: f64 = 5.0;
/// ... and at most this many times slower than the 1,000 case.
const TARGET_RATIO: f64 = 2.0;

/// The columns a mail client's list view shows.
const COLUMNS: [PropTag; 5] = [
    PR_SUBJECT,
    PR_SENDER_NAME,
    PR_MESSAGE_DELIVERY_TIME,
    PR_MESSAGE_SIZE,
    PR_MESSAGE_FLAGS,
];

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> BenchResult<()> {
    let iterations = match std::env::var("OKAPI_BENCH_ITERATIONS") {
        Ok(n) => n.parse().map_err(|e| format!("OKAPI_BENCH_ITERATIONS={n:?}: {e}"))?,
        Err(_) => ITERATIONS,
    };
    println!(
        "queryRows benchmark: first {PAGE} rows, newest first, {WARM_UP} warm-up + {iterations} timed calls per case"
    );
    let mut results = Vec::new();
    let mut all_met = true;

    let sqlite = bench_backend(Backend::Sqlite, iterations).await?;
    all_met &= report(&sqlite);
    results.push(sqlite);

    match std::env::var("OKAPI_TEST_MYSQL_URL") {
        Ok(url) if !url.is_empty() => {
            let mysql = bench_backend(Backend::MariaDb(url), iterations).await?;
            all_met &= report(&mysql);
            results.push(mysql);
        }
        _ => println!("\nOKAPI_TEST_MYSQL_URL is not set: MariaDB not measured (bench/run passes it when set)."),
    }

    summary(&results);
    println!(
        "\nverdict: {}",
        if all_met {
            "every target met"
        } else {
            "TARGET MISSED (see above)"
        }
    );
    Ok(())
}

enum Backend {
    Sqlite,
    MariaDb(String),
}

/// One backend's measurements.
struct BackendReport {
    name: &'static str,
    fill: Vec<FillReport>,
    cases: Vec<Case>,
}

struct FillReport {
    messages: usize,
    how: &'static str,
    took: Duration,
}

/// One timed case: a path on a folder size.
struct Case {
    path: &'static str,
    size: usize,
    stats: Stats,
}

struct Stats {
    median: f64,
    p95: f64,
    mean: f64,
}

impl Stats {
    fn of(mut samples: Vec<Duration>) -> Stats {
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let n = samples.len().max(1);
        let at = |q: f64| {
            samples
                .get(((n as f64 * q).ceil() as usize).saturating_sub(1))
                .copied()
                .unwrap_or_default()
        };
        Stats {
            median: ms(at(0.5)),
            p95: ms(at(0.95)),
            mean: ms(samples.iter().sum::<Duration>()) / n as f64,
        }
    }
}

/// A server on 127.0.0.1:0 over a fresh database, stopped by `stop`.
struct Bench {
    base: String,
    store: Store,
    http: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Bench {
    async fn start(database_url: &str, dir: tempfile::TempDir, blobs_in_files: bool) -> BenchResult<Bench> {
        let text = format!(
            "server_listen = 127.0.0.1:0\nserver_listen_tls =\nlocal_socket = {dir}/server.sock\n\
             database_url = {database_url}\nattachment_storage = {storage}\nattachment_path = {dir}/blobs\n",
            dir = dir.path().display(),
            storage = if blobs_in_files { "files" } else { "db" },
        );
        let cfg = Config::from_text(&text, "bench.cfg").map_err(|e| format!("{e:?}"))?;
        let store = Store::open(&okapi::startup::store_options(&cfg)?).await?;
        let listeners = okapi::server::bind_from_config(&cfg)
            .await
            .map_err(|e| format!("{e:?}"))?;
        let addr = listeners.http.first().ok_or("no HTTP listener")?.local_addr()?;
        let state: Arc<State> = State::new(store.clone(), cfg);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(okapi::server::run(state, listeners, None, async {
            let _ = rx.await;
        }));
        Ok(Bench {
            base: format!("http://{addr}"),
            store,
            http: reqwest::Client::new(),
            stop: Some(tx),
            task: Some(task),
            _dir: dir,
        })
    }

    async fn call(&self, op: &str, body: &Value) -> BenchResult<Value> {
        let r = self
            .http
            .post(format!("{}/api/v1/{op}", self.base))
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            return Err(format!("{op} answered {status}: {v}").into());
        }
        Ok(v)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
        self.store.close().await;
    }
}

async fn bench_backend(backend: Backend, iterations: usize) -> BenchResult<BackendReport> {
    let dir = tempfile::tempdir()?;
    let (name, url, mysql_db) = match &backend {
        Backend::Sqlite => ("SQLite", format!("sqlite://{}/okapi.db", dir.path().display()), None),
        Backend::MariaDb(base) => {
            let (url, db) = create_mysql_db(base).await?;
            ("MariaDB", url, Some((base.clone(), db)))
        }
    };
    println!("\n== {name}: filling");
    let outcome = async {
        let bench = Bench::start(&url, dir, matches!(backend, Backend::Sqlite)).await?;
        let r = measure(name, &bench, iterations).await;
        bench.stop().await;
        r
    }
    .await;
    if let Some((base, db)) = mysql_db {
        drop_mysql_db(&base, &db).await;
    }
    outcome
}

async fn measure(name: &'static str, bench: &Bench, iterations: usize) -> BenchResult<BackendReport> {
    let store = &bench.store;
    let user = store
        .create_user(&NewUser {
            login: "bench".into(),
            display_name: "Bench User".into(),
            password_hash: okapi::auth::hash_password("bench-pw")?,
            address: "bench@example.test".into(),
            aliases: vec![],
            is_admin: false,
        })
        .await?;
    let st = store.store_of_user(user).await?;
    let root = store.folder_by_role(st.id, Role::Root).await?.id;

    let mut fill = Vec::new();
    let mut folders = Vec::new();
    let mut msgs = Generator::new(0x006f_6b61_7069);
    for (i, &size) in SIZES.iter().enumerate() {
        let folder = store.create_folder(root, &format!("Bench {size}"), "IPF.Note").await?;
        let t = Instant::now();
        // The small folder goes through create_message, one transaction per
        // message, as delivery does; that also shows why the large one does not.
        let how = if i == 0 {
            for _ in 0..size {
                store
                    .create_message(folder, Some(user), &msgs.message(), HardQuota::NONE)
                    .await?;
            }
            "create_message, 1 transaction each"
        } else {
            let mut left = size;
            while left > 0 {
                let n = left.min(BATCH);
                let batch: Vec<MessageData> = (0..n).map(|_| msgs.message()).collect();
                store
                    .create_messages_bulk(folder, Some(user), &batch, HardQuota::NONE)
                    .await?;
                left -= n;
            }
            "create_messages_bulk, 5,000 per transaction"
        };
        let took = t.elapsed();
        println!(
            "   {size:>7} messages in {:>7.2} s ({:.0} messages/s) via {how}",
            took.as_secs_f64(),
            size as f64 / took.as_secs_f64()
        );
        fill.push(FillReport {
            messages: size,
            how,
            took,
        });
        folders.push((size, folder));
    }

    let logon = bench
        .call("logon", &json!({"user": "bench", "password": "bench-pw"}))
        .await?;
    let session = logon["session"]
        .as_str()
        .ok_or("logon returned no session")?
        .to_string();

    let mut cases = Vec::new();
    for &(size, folder) in &folders {
        let content_count = store.folder(folder).await?.content_count;
        let q = TableQuery {
            folder,
            columns: COLUMNS.to_vec(),
            sort: vec![SortSpec {
                tag: PR_MESSAGE_DELIVERY_TIME,
                descending: true,
            }],
            restriction: None,
            offset: 0,
            limit: PAGE,
        };
        let newest = msgs.newest_in(size);
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..WARM_UP + iterations {
            let t = Instant::now();
            let (total, rows) = store.query_rows(&q, content_count).await?;
            let took = t.elapsed();
            if i == 0 {
                check_store_page(total, &rows, size)?;
            }
            if i >= WARM_UP {
                samples.push(took);
            }
        }
        cases.push(Case {
            path: "store",
            size,
            stats: Stats::of(samples),
        });

        let body = json!({
            "session": session,
            "folder": okapi::entryid::folder_eid(folder),
            "columns": ["PR_SUBJECT", "PR_SENDER_NAME", "PR_MESSAGE_DELIVERY_TIME", "PR_MESSAGE_SIZE", "PR_MESSAGE_FLAGS"],
            "sort": [{"tag": "PR_MESSAGE_DELIVERY_TIME", "descending": true}],
            "offset": 0,
            "limit": PAGE,
        });
        let mut samples = Vec::with_capacity(iterations);
        for i in 0..WARM_UP + iterations {
            let t = Instant::now();
            let v = bench.call("queryRows", &body).await?;
            let took = t.elapsed();
            if i == 0 {
                check_api_page(&v, size, &newest)?;
            }
            if i >= WARM_UP {
                samples.push(took);
            }
        }
        cases.push(Case {
            path: "api",
            size,
            stats: Stats::of(samples),
        });
    }
    Ok(BackendReport { name, fill, cases })
}

/// The store's page must be the folder's newest messages, in order.
fn check_store_page(total: i64, rows: &[okapi::store::TableRow], size: usize) -> BenchResult<()> {
    if total != size as i64 || rows.len() != PAGE as usize {
        return Err(format!("store: total {total}, {} rows; expected {size} and {PAGE}", rows.len()).into());
    }
    let times: Vec<i64> = rows
        .iter()
        .map(|r| match r.props.get(&PR_MESSAGE_DELIVERY_TIME) {
            Some(PropValue::Time(t)) => *t,
            _ => 0,
        })
        .collect();
    if times.windows(2).any(|w| w[0] < w[1]) || rows.iter().any(|r| r.props.len() != COLUMNS.len()) {
        return Err("store: rows not newest first, or columns missing".into());
    }
    Ok(())
}

/// The API's page must start with the newest message of the folder.
fn check_api_page(v: &Value, size: usize, newest_subject: &str) -> BenchResult<()> {
    let rows = v["rows"].as_array().map_or(0, Vec::len);
    if v["total"] != json!(size) || rows != PAGE as usize {
        return Err(format!("api: total {}, {rows} rows; expected {size} and {PAGE}", v["total"]).into());
    }
    if v["rows"][0]["props"]["PR_SUBJECT"] != json!(newest_subject) {
        return Err(format!("api: first row {} is not the newest, {newest_subject:?}", v["rows"][0]).into());
    }
    Ok(())
}

/// Prints one backend's table and says whether its targets are met.
fn report(r: &BackendReport) -> bool {
    println!(
        "\n== {}: queryRows, first {PAGE} rows by PR_MESSAGE_DELIVERY_TIME descending",
        r.name
    );
    println!(
        "   {:<6} {:>9} {:>11} {:>9} {:>9}",
        "path", "messages", "median ms", "p95 ms", "mean ms"
    );
    for c in &r.cases {
        println!(
            "   {:<6} {:>9} {:>11.3} {:>9.3} {:>9.3}",
            c.path,
            thousands(c.size),
            c.stats.median,
            c.stats.p95,
            c.stats.mean
        );
    }
    let mut met = true;
    for path in ["store", "api"] {
        let of = |size| r.cases.iter().find(|c| c.path == path && c.size == size);
        let (Some(small), Some(large)) = (of(SIZES[0]), of(SIZES[1])) else {
            continue;
        };
        let ratio = large.stats.median / small.stats.median;
        let fast = large.stats.median < TARGET_MS;
        let flat = ratio <= TARGET_RATIO;
        met &= fast && flat;
        println!(
            "   {path:<6} 100k median {:.3} ms < {TARGET_MS} ms: {}; ratio 100k/1k {ratio:.2} <= {TARGET_RATIO}: {}",
            large.stats.median,
            yes_no(fast),
            yes_no(flat)
        );
    }
    met
}

/// All backends side by side, with the fill times.
fn summary(results: &[BackendReport]) {
    println!("\n== summary (median / p95 / mean, ms)");
    println!(
        "   {:<8} {:<6} {:>22} {:>22} {:>7} {:>7}",
        "backend", "path", "1,000 messages", "100,000 messages", "ratio", "target"
    );
    for r in results {
        for path in ["store", "api"] {
            let of = |size| r.cases.iter().find(|c| c.path == path && c.size == size);
            let (Some(s), Some(l)) = (of(SIZES[0]), of(SIZES[1])) else {
                continue;
            };
            let ratio = l.stats.median / s.stats.median;
            let cell = |st: &Stats| format!("{:.3}/{:.3}/{:.3}", st.median, st.p95, st.mean);
            println!(
                "   {:<8} {:<6} {:>22} {:>22} {:>7.2} {:>7}",
                r.name,
                path,
                cell(&s.stats),
                cell(&l.stats),
                ratio,
                if l.stats.median < TARGET_MS && ratio <= TARGET_RATIO {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
    println!("\n== fill times");
    for r in results {
        for f in &r.fill {
            println!(
                "   {:<8} {:>9} messages {:>8.2} s  {:>6.0}/s  ({})",
                r.name,
                thousands(f.messages),
                f.took.as_secs_f64(),
                f.messages as f64 / f.took.as_secs_f64(),
                f.how
            );
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "met" } else { "MISSED" }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Makes realistic, reproducible messages with strictly increasing delivery
/// times (one every 1-60 s), so the newest of a folder is known in advance.
struct Generator {
    state: u64,
    time: i64,
    count: usize,
    /// Subject of each message made, in order.
    subjects: Vec<String>,
}

const SENDERS: [(&str, &str); 8] = [
    ("Alice Martin", "alice.martin@example.org"),
    ("Bob Schulz", "bob@schulz.example.de"),
    ("Carol Dupont", "c.dupont@example.fr"),
    ("Dave O'Neil", "dave@oneil.example.ie"),
    ("Eva Nováková", "eva.novakova@example.cz"),
    ("Frank Li", "frank.li@example.com"),
    ("Ticket System", "noreply@tickets.example.net"),
    ("Mailing List", "dev-list@lists.example.org"),
];
const TOPICS: [&str; 10] = [
    "Quarterly report",
    "Re: Budget for Q3",
    "Meeting notes",
    "Fwd: Invoice",
    "Server maintenance window",
    "Your ticket has been updated",
    "Lunch on Friday?",
    "Release 2.4 planning",
    "Re: Re: travel booking",
    "[dev] patch review",
];
const WORDS: [&str; 24] = [
    "the",
    "server",
    "report",
    "attached",
    "please",
    "review",
    "before",
    "Friday",
    "numbers",
    "meeting",
    "agreed",
    "budget",
    "customer",
    "update",
    "schedule",
    "thanks",
    "regards",
    "draft",
    "version",
    "deadline",
    "mailbox",
    "folder",
    "backup",
    "migration",
];

impl Generator {
    fn new(seed: u64) -> Generator {
        Generator {
            state: seed,
            // 2020-01-01T00:00:00Z in microseconds.
            time: 1_577_836_800_000_000,
            count: 0,
            subjects: Vec::new(),
        }
    }

    /// xorshift64*: reproducible and good enough for made-up mail.
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn message(&mut self) -> MessageData {
        self.count += 1;
        self.time += 1_000_000 * (1 + (self.next() % 60) as i64);
        let (sender, address) = SENDERS[(self.next() % SENDERS.len() as u64) as usize];
        let subject = format!("{} #{}", self.pick(&TOPICS), self.count);
        let body_len = 1000 + (self.next() % 1000) as usize;
        let mut body = String::with_capacity(body_len + 16);
        while body.len() < body_len {
            let word = self.pick(&WORDS);
            body.push_str(word);
            body.push(if self.next().is_multiple_of(12) { '\n' } else { ' ' });
        }
        let read = self.next() % 10 < 7;
        let mut props = PropMap::new();
        props.insert(PR_SUBJECT, PropValue::Str(subject.clone()));
        props.insert(PR_SENDER_NAME, PropValue::Str(sender.into()));
        props.insert(PR_SENDER_EMAIL_ADDRESS, PropValue::Str(address.into()));
        props.insert(PR_MESSAGE_DELIVERY_TIME, PropValue::Time(self.time));
        props.insert(PR_CLIENT_SUBMIT_TIME, PropValue::Time(self.time - 2_000_000));
        props.insert(PR_MESSAGE_FLAGS, PropValue::Long(if read { MSGFLAG_READ } else { 0 }));
        props.insert(
            PR_IMPORTANCE,
            PropValue::Long(if self.next().is_multiple_of(20) { 2 } else { 1 }),
        );
        props.insert(
            PR_INTERNET_MESSAGE_ID,
            PropValue::Str(format!("<{:016x}.{}@example.org>", self.next(), self.count)),
        );
        props.insert(PR_DISPLAY_TO, PropValue::Str("Bench User".into()));
        props.insert(PR_BODY, PropValue::Str(body));
        self.subjects.push(subject);
        MessageData {
            props,
            ..MessageData::default()
        }
    }

    /// Subject of the newest message of the folder holding the `size`
    /// messages made last (folders are filled one after the other).
    fn newest_in(&self, size: usize) -> String {
        let start = SIZES.iter().take_while(|&&s| s != size).sum::<usize>();
        self.subjects.get(start + size - 1).cloned().unwrap_or_default()
    }
}

/// Creates a fresh database on the server `base` names (as tests/common does).
async fn create_mysql_db(base: &str) -> BenchResult<(String, String)> {
    use sqlx::Connection as _;
    let name = format!("okapi_bench_{}", hex::encode(rand::random::<[u8; 4]>()));
    let (server, _) = base
        .rsplit_once('/')
        .ok_or("OKAPI_TEST_MYSQL_URL must end in /DATABASE")?;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(base).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )))
    .execute(&mut conn)
    .await?;
    Ok((format!("{server}/{name}"), name))
}

async fn drop_mysql_db(base: &str, name: &str) {
    use sqlx::Connection as _;
    match sqlx::AnyConnection::connect(base).await {
        Ok(mut conn) => {
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
                .execute(&mut conn)
                .await
            {
                eprintln!("could not drop benchmark database {name}: {e}");
            }
        }
        Err(e) => eprintln!("could not drop benchmark database {name}: {e}"),
    }
}
