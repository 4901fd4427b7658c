//! The bounded named-property table: (GUID, numeric id or string name) mapped
//! to property ids 0x8000..=0xFFFE.
//!
//! Only clients create names, through the API; delivery never turns arbitrary
//! X-headers into named properties, so the table cannot be flooded by mail.
//! Every user shares the table, so its room is shared fairly: each user may
//! create so many new names a day (`named_props_per_day`, counted here from
//! who created each row and when), and the top [`RESERVE`] ids are kept for
//! the property sets MAPI itself defines (calendar, contacts, tasks, notes)
//! and okapi's own names, so that the web app and MAPI clients can always
//! name those.

use super::{Result, Store};
use crate::error::StoreError;
use crate::props::now_micros;

/// First id of the named range.
const FIRST: i64 = 0x8000;
/// Last usable id.
const LAST: i64 = 0xFFFE;
/// Ids at the top of the range that only names in [`MAPI_PROPERTY_SETS`] may take.
pub const RESERVE: i64 = 1024;
/// The window in which a user's new names are counted.
const DAY_MICROS: i64 = 24 * 3600 * 1_000_000;

/// Property sets defined by MAPI (MS-OXPROPS) whose numeric names the
/// reserve is kept for: PSETID_Appointment, _Task, _Address, _Common, _Log,
/// _Note, _Sharing and _Meeting, in lower case as the table keeps GUIDs.
const MAPI_PROPERTY_SETS: &[&str] = &[
    "00062002-0000-0000-c000-000000000046",
    "00062003-0000-0000-c000-000000000046",
    "00062004-0000-0000-c000-000000000046",
    "00062008-0000-0000-c000-000000000046",
    "0006200a-0000-0000-c000-000000000046",
    "0006200e-0000-0000-c000-000000000046",
    "00062040-0000-0000-c000-000000000046",
    "6ed8da90-450b-101b-98da-00aa003f1305",
];

/// PS_PUBLIC_STRINGS, where okapi's own string names live.
const PS_PUBLIC_STRINGS: &str = "00020329-0000-0000-c000-000000000046";

/// okapi's own string names in PS_PUBLIC_STRINGS (the web app's, in
/// `webapp/js/pim-props.js`), which the reserve is kept for too.
const OKAPI_NAMES: &[&str] = &["urn:okapi:rrule"];

/// A property name: a GUID and either a numeric id (kind 0) or a string (kind 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropName {
    /// MNID_ID
    Id(String, i64),
    /// MNID_STRING
    Name(String, String),
}

impl PropName {
    /// Whether the reserve may hold this name: a numeric id in a property
    /// set MAPI defines, or one of okapi's own string names.
    fn may_use_reserve(&self) -> bool {
        match self {
            PropName::Id(guid, _) => MAPI_PROPERTY_SETS.contains(&guid.to_lowercase().as_str()),
            PropName::Name(guid, name) => {
                guid.eq_ignore_ascii_case(PS_PUBLIC_STRINGS) && OKAPI_NAMES.contains(&name.as_str())
            }
        }
    }
}

/// Who asks for a name that may be new, and how many new names a day they
/// may create (0: no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameCreator {
    /// The user's id.
    pub user_id: i64,
    /// New names allowed in any 24 hours.
    pub per_day: i64,
}

impl Store {
    /// The property id for a name, created on first use if `creator` has
    /// not used up the day's allowance and the table has room for it.
    pub async fn named_prop_id(&self, name: &PropName, creator: NameCreator) -> Result<u16> {
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
        let now = now_micros();
        if creator.per_day > 0 {
            let created: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM named_props WHERE created_by = ? AND created_at > ?")
                    .bind(creator.user_id)
                    .bind(now - DAY_MICROS)
                    .fetch_one(&mut *tx)
                    .await?;
            if created >= creator.per_day {
                return Err(StoreError::Limit(format!(
                    "you have created {created} new named properties in the last 24 hours, as many as this \
                     server allows a user (named_props_per_day); names that already exist can still be \
                     used, and new ones can be created again tomorrow"
                )));
            }
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
        if next > LAST - RESERVE && !name.may_use_reserve() {
            tracing::warn!(
                next_id = next,
                "named-property table full but for the reserve of MAPI's own property sets"
            );
            return Err(StoreError::Limit(
                "the named-property table is full but for the room kept for MAPI's own calendar, contact \
                 and task properties; no new names of other property sets can be created (tell the \
                 administrator)"
                    .into(),
            ));
        }
        sqlx::query(
            "INSERT INTO named_props (id, guid, kind, lid, name, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(next)
        .bind(&guid)
        .bind(kind)
        .bind(lid)
        .bind(&text)
        .bind(creator.user_id)
        .bind(now)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_for_mapi_sets_and_okapis_own_names() {
        let appointment = "00062002-0000-0000-C000-000000000046";
        assert!(PropName::Id(appointment.into(), 0x820D).may_use_reserve());
        assert!(PropName::Name(PS_PUBLIC_STRINGS.to_uppercase(), "urn:okapi:rrule".into()).may_use_reserve());
        assert!(!PropName::Name(PS_PUBLIC_STRINGS.into(), "urn:okapi:anything".into()).may_use_reserve());
        assert!(!PropName::Name(appointment.into(), "Straße".into()).may_use_reserve());
        assert!(!PropName::Id("12345678-9abc-def0-1234-56789abcdef0".into(), 1).may_use_reserve());
    }
}
