//! The bounded named-property table: (GUID, numeric id or string name) mapped
//! to property ids 0x8000..=0xFFFE.
//!
//! Only clients create names, through the API; delivery never turns arbitrary
//! X-headers into named properties, so the table cannot be flooded by mail.

use super::{Result, Store};
use crate::error::StoreError;

/// First id of the named range.
const FIRST: i64 = 0x8000;
/// Last usable id.
const LAST: i64 = 0xFFFE;

/// A property name: a GUID and either a numeric id (kind 0) or a string (kind 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropName {
    /// MNID_ID
    Id(String, i64),
    /// MNID_STRING
    Name(String, String),
}

impl Store {
    /// The property id for a name, created on first use.
    pub async fn named_prop_id(&self, name: &PropName) -> Result<u16> {
        let (guid, kind, lid, text) = match name {
            PropName::Id(g, l) => (g.to_lowercase(), 0i64, *l, String::new()),
            PropName::Name(g, n) => (g.to_lowercase(), 1, 0, n.clone()),
        };
        let find = "SELECT id FROM named_props WHERE guid = ? AND kind = ? AND lid = ? AND name = ?";
        let existing: Option<i64> = sqlx::query_scalar(find)
            .bind(&guid)
            .bind(kind)
            .bind(lid)
            .bind(&text)
            .fetch_optional(self.pool())
            .await?;
        if let Some(id) = existing {
            return Ok(id as u16);
        }
        let mut tx = self.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(find)
            .bind(&guid)
            .bind(kind)
            .bind(lid)
            .bind(&text)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(id) = existing {
            return Ok(id as u16);
        }
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM named_props")
            .fetch_one(&mut *tx)
            .await?;
        let next = max.map_or(FIRST, |m| m + 1);
        if next > LAST {
            return Err(StoreError::Limit(
                "the named-property table is full (32767 names); no new named properties can be created".into(),
            ));
        }
        sqlx::query("INSERT INTO named_props (id, guid, kind, lid, name) VALUES (?, ?, ?, ?, ?)")
            .bind(next)
            .bind(&guid)
            .bind(kind)
            .bind(lid)
            .bind(&text)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(next as u16)
    }

    /// The name behind a property id, if it has one.
    pub async fn named_prop_name(&self, id: u16) -> Result<Option<PropName>> {
        let row: Option<(String, i64, i64, String)> =
            sqlx::query_as("SELECT guid, kind, lid, name FROM named_props WHERE id = ?")
                .bind(i64::from(id))
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(g, k, l, n)| {
            if k == 0 {
                PropName::Id(g, l)
            } else {
                PropName::Name(g, n)
            }
        }))
    }
}
