//! Numbered schema migrations, one folder per backend, run at start.
//!
//! Each migration runs in one transaction. SQLite rolls DDL back with it;
//! MySQL commits each DDL statement implicitly, so there a migration that
//! fails half-way leaves its version unrecorded and is reported with its
//! number. A database newer than this binary is refused.

use sqlx::AssertSqlSafe;

use super::{Backend, Result, Store};
use crate::error::StoreError;

/// (version, SQL) for SQLite.
const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite/0001_init.sql")),
    (2, include_str!("migrations/sqlite/0002_mail_flow.sql")),
    (3, include_str!("migrations/sqlite/0003_logon_failures.sql")),
    (4, include_str!("migrations/sqlite/0004_fair_shares.sql")),
];
/// (version, SQL) for MySQL / MariaDB.
const MYSQL: &[(i64, &str)] = &[
    (1, include_str!("migrations/mysql/0001_init.sql")),
    (2, include_str!("migrations/mysql/0002_mail_flow.sql")),
    (3, include_str!("migrations/mysql/0003_logon_failures.sql")),
    (4, include_str!("migrations/mysql/0004_fair_shares.sql")),
];

/// The newest schema version this binary knows.
pub fn latest_version() -> i64 {
    SQLITE.last().map(|m| m.0).unwrap_or(0)
}

pub(super) async fn run(store: &Store) -> Result<()> {
    let pool = store.pool();
    sqlx::query("CREATE TABLE IF NOT EXISTS okapi_schema (version BIGINT NOT NULL, applied_at BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM okapi_schema")
        .fetch_one(pool)
        .await?;
    let current = current.unwrap_or(0);
    let migrations = match store.backend() {
        Backend::Sqlite => SQLITE,
        Backend::MySql => MYSQL,
    };
    let known = latest_version();
    if current > known {
        return Err(StoreError::SchemaTooNew { found: current, known });
    }
    for (version, sql) in migrations.iter().filter(|(v, _)| *v > current) {
        tracing::info!(version, "applying schema migration");
        let mut tx = store.begin().await?;
        for stmt in split_statements(sql) {
            sqlx::query(AssertSqlSafe(stmt)).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO okapi_schema (version, applied_at) VALUES (?, ?)")
            .bind(*version)
            .bind(crate::props::now_micros())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Splits a migration file into statements: `;` at a line end ends one;
/// `--` comment lines are dropped.
fn split_statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in sql.lines() {
        let t = line.trim();
        if t.starts_with("--") || t.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            out.push(cur.trim().trim_end_matches(';').to_string());
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_versions() {
        let a: Vec<i64> = SQLITE.iter().map(|m| m.0).collect();
        let b: Vec<i64> = MYSQL.iter().map(|m| m.0).collect();
        assert_eq!(a, b);
    }

    #[test]
    fn statements_split_at_semicolons() {
        let s = split_statements("-- c\nCREATE TABLE a (x INT);\nCREATE INDEX i\n ON a(x);\n");
        assert_eq!(s.len(), 2);
        assert!(s[1].starts_with("CREATE INDEX i"));
    }
}
