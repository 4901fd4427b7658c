//! Users, their addresses, groups, and the private store each user gets.
//!
//! Passwords arrive here already hashed (argon2id, by `crate::auth`); the
//! store never sees a clear-text password. Addresses are kept lower-case and
//! unique across all users, so delivery resolves a recipient with one lookup.

use sqlx::Row as _;

use super::folders::last_id;
use super::{Result, Store};
use crate::error::StoreError;
use crate::props::now_micros;

/// A user account.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Password hash (PHC string).
    pub password_hash: String,
    /// Administrator flag.
    pub is_admin: bool,
    /// Per-user quota overrides in bytes.
    pub quota_warn: Option<i64>,
    /// Soft limit.
    pub quota_soft: Option<i64>,
    /// Hard limit.
    pub quota_hard: Option<i64>,
    /// Primary address.
    pub address: String,
    /// Further addresses.
    pub aliases: Vec<String>,
}

/// What it takes to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub login: String,
    /// Display name.
    pub display_name: String,
    /// Password hash.
    pub password_hash: String,
    /// Primary address.
    pub address: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Administrator flag.
    pub is_admin: bool,
}

/// Changes to a user; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// New primary address.
    pub address: Option<String>,
    /// New alias list.
    pub aliases: Option<Vec<String>>,
    /// New admin flag.
    pub is_admin: Option<bool>,
    /// New quotas: `Some(None)` resets to the server default.
    pub quota_warn: Option<Option<i64>>,
    /// Soft limit.
    pub quota_soft: Option<Option<i64>>,
    /// Hard limit.
    pub quota_hard: Option<Option<i64>>,
}

/// A group.
#[derive(Debug, Clone)]
pub struct GroupRow {
    /// Row id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Members' logins.
    pub members: Vec<String>,
}

const USER_COLUMNS: &str =
    "u.id, u.login, u.display_name, u.password_hash, u.is_admin, u.quota_warn, u.quota_soft, u.quota_hard";

impl Store {
    /// Creates a user with a private store and its standard folders.
    pub async fn create_user(&self, u: &NewUser) -> Result<i64> {
        let mut tx = self.begin().await?;
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE LOWER(login) = LOWER(?)")
            .bind(&u.login)
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Err(StoreError::Collision(format!("user {:?}", u.login)));
        }
        let res = sqlx::query(
            "INSERT INTO users (login, display_name, password_hash, is_admin, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&u.login)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(i64::from(u.is_admin))
        .bind(now_micros())
        .execute(&mut *tx)
        .await?;
        let id = last_id(&mut tx, &res).await?;
        set_addresses(&mut tx, id, &u.address, &u.aliases).await?;
        self.create_private_store(&mut tx, id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a user, the private store and everything in it.
    pub async fn delete_user(&self, id: i64) -> Result<()> {
        let store = self.store_of_user(id).await?;
        self.delete_folder_hard(store.root_folder_id).await?;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM acls WHERE member_kind = 'user' AND member_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM outgoing_queue WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM stores WHERE id = ?")
            .bind(store.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_addresses WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM group_members WHERE user_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Applies changes to a user.
    pub async fn update_user(&self, id: i64, up: &UserUpdate) -> Result<()> {
        let mut tx = self.begin().await?;
        if let Some(v) = &up.display_name {
            sqlx::query("UPDATE users SET display_name = ? WHERE id = ?")
                .bind(v)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(v) = &up.password_hash {
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(v)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(v) = up.is_admin {
            sqlx::query("UPDATE users SET is_admin = ? WHERE id = ?")
                .bind(i64::from(v))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        for (col, v) in [
            ("quota_warn", up.quota_warn),
            ("quota_soft", up.quota_soft),
            ("quota_hard", up.quota_hard),
        ] {
            if let Some(v) = v {
                let sql = format!("UPDATE users SET {col} = ? WHERE id = ?");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(v)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if up.address.is_some() || up.aliases.is_some() {
            let (cur_addr, cur_aliases) = addresses_of(&mut tx, id).await?;
            let address = up.address.clone().unwrap_or(cur_addr);
            let aliases = up.aliases.clone().unwrap_or(cur_aliases);
            sqlx::query("DELETE FROM user_addresses WHERE user_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            set_addresses(&mut tx, id, &address, &aliases).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user by login (case-insensitive) or by any of their addresses.
    pub async fn user_by_login(&self, login: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE LOWER(u.login) = LOWER(?) \
             UNION SELECT {USER_COLUMNS} FROM users u JOIN user_addresses a ON a.user_id = u.id WHERE a.address = LOWER(?)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(login)
            .bind(login)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(Some(self.complete_user(&r).await?)),
            None => Ok(None),
        }
    }

    /// A user by an address (primary or alias).
    pub async fn user_by_address(&self, address: &str) -> Result<Option<UserRow>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u JOIN user_addresses a ON a.user_id = u.id WHERE a.address = LOWER(?)"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(address)
            .fetch_optional(self.pool())
            .await?;
        match row {
            Some(r) => Ok(Some(self.complete_user(&r).await?)),
            None => Ok(None),
        }
    }

    /// A user by id.
    pub async fn user_by_id(&self, id: i64) -> Result<UserRow> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        self.complete_user(&row.ok_or_else(|| StoreError::NotFound("user".into()))?)
            .await
    }

    /// Every user, by login.
    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.login");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.complete_user(r).await?);
        }
        Ok(out)
    }

    /// Users whose login, display name or address contains `fragment`, and
    /// groups whose name does; for the global address list.
    pub async fn search_directory(&self, fragment: &str) -> Result<(Vec<UserRow>, Vec<GroupRow>)> {
        let pattern = format!("%{}%", escape_like(&fragment.to_lowercase()));
        let sql = format!(
            "SELECT DISTINCT {USER_COLUMNS} FROM users u LEFT JOIN user_addresses a ON a.user_id = u.id \
             WHERE LOWER(u.login) LIKE ? ESCAPE '!' OR LOWER(u.display_name) LIKE ? ESCAPE '!' OR a.address LIKE ? ESCAPE '!' \
             ORDER BY u.login LIMIT 50"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&pattern)
            .bind(&pattern)
            .bind(&pattern)
            .fetch_all(self.pool())
            .await?;
        let mut users = Vec::new();
        for r in &rows {
            users.push(self.complete_user(r).await?);
        }
        let groups = self
            .list_groups()
            .await?
            .into_iter()
            .filter(|g| g.name.to_lowercase().contains(&fragment.to_lowercase()))
            .collect();
        Ok((users, groups))
    }

    async fn complete_user(&self, r: &sqlx::any::AnyRow) -> Result<UserRow> {
        let id: i64 = r.try_get(0)?;
        let mut conn = self.pool().acquire().await?;
        let (address, aliases) = addresses_of(&mut conn, id).await?;
        Ok(UserRow {
            id,
            login: r.try_get(1)?,
            display_name: r.try_get(2)?,
            password_hash: r.try_get(3)?,
            is_admin: r.try_get::<i64, _>(4)? != 0,
            quota_warn: r.try_get(5)?,
            quota_soft: r.try_get(6)?,
            quota_hard: r.try_get(7)?,
            address,
            aliases,
        })
    }

    /// Ids of the groups a user belongs to.
    pub async fn groups_of_user(&self, user_id: i64) -> Result<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT group_id FROM group_members WHERE user_id = ?")
                .bind(user_id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Names of the groups a user belongs to.
    pub async fn group_names_of_user(&self, user_id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT g.name FROM groups_ g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.name",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Creates a group.
    pub async fn create_group(&self, name: &str) -> Result<i64> {
        let mut tx = self.begin().await?;
        let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM groups_ WHERE LOWER(name) = LOWER(?)")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
        if taken > 0 {
            return Err(StoreError::Collision(format!("group {name:?}")));
        }
        let res = sqlx::query("INSERT INTO groups_ (name, created_at) VALUES (?, ?)")
            .bind(name)
            .bind(now_micros())
            .execute(&mut *tx)
            .await?;
        let id = last_id(&mut tx, &res).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A group by name.
    pub async fn group_by_name(&self, name: &str) -> Result<Option<GroupRow>> {
        let row: Option<(i64, String)> = sqlx::query_as("SELECT id, name FROM groups_ WHERE LOWER(name) = LOWER(?)")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        match row {
            None => Ok(None),
            Some((id, name)) => Ok(Some(GroupRow {
                id,
                name,
                members: self.group_members(id).await?,
            })),
        }
    }

    async fn group_members(&self, id: i64) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT u.login FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = ? ORDER BY u.login",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Every group.
    pub async fn list_groups(&self) -> Result<Vec<GroupRow>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM groups_ ORDER BY name")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, name) in rows {
            out.push(GroupRow {
                id,
                name,
                members: self.group_members(id).await?,
            });
        }
        Ok(out)
    }

    /// Deletes a group and its permission entries.
    pub async fn delete_group(&self, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM acls WHERE member_kind = 'group' AND member_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM groups_ WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds (true) or removes (false) a member.
    pub async fn set_group_member(&self, group: i64, user: i64, member: bool) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        if member {
            sqlx::query("INSERT INTO group_members (group_id, user_id) VALUES (?, ?)")
                .bind(group)
                .bind(user)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn addresses_of(conn: &mut sqlx::AnyConnection, id: i64) -> Result<(String, Vec<String>)> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT address, is_primary FROM user_addresses WHERE user_id = ? ORDER BY is_primary DESC, address",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut primary = String::new();
    let mut aliases = Vec::new();
    for (a, p) in rows {
        if p != 0 && primary.is_empty() {
            primary = a;
        } else {
            aliases.push(a);
        }
    }
    Ok((primary, aliases))
}

async fn set_addresses(conn: &mut sqlx::AnyConnection, id: i64, address: &str, aliases: &[String]) -> Result<()> {
    let mut all = vec![(address.trim().to_lowercase(), 1i64)];
    all.extend(aliases.iter().map(|a| (a.trim().to_lowercase(), 0)));
    for (a, primary) in all {
        if a.is_empty() {
            continue;
        }
        if !a.contains('@') {
            return Err(StoreError::Invalid(format!(
                "{a:?} is not an e-mail address (it needs an @)"
            )));
        }
        let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM user_addresses WHERE address = ?")
            .bind(&a)
            .fetch_optional(&mut *conn)
            .await?;
        match owner {
            Some(o) if o == id => continue,
            Some(_) => return Err(StoreError::Collision(format!("address {a:?}"))),
            None => {}
        }
        sqlx::query("INSERT INTO user_addresses (address, user_id, is_primary) VALUES (?, ?, ?)")
            .bind(&a)
            .bind(id)
            .bind(primary)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Escapes `%`, `_` and the escape character `!` for a LIKE pattern.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}
