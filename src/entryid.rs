//! Entry ids: the opaque, stable strings that name stores, folders and
//! messages on the wire.
//!
//! An entry id is 20 hex digits: a format version, the kind of object, and
//! its row id. It survives moves (a message keeps its id when it changes
//! folders). Anyone can write one, so an entry id grants nothing: every
//! operation checks access to the object it names.

use crate::error::{ApiError, MapiCode};

const VERSION: u8 = 1;

/// What an entry id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryId {
    /// A store.
    Store(i64),
    /// A folder.
    Folder(i64),
    /// A message.
    Message(i64),
}

impl EntryId {
    fn kind_byte(self) -> u8 {
        match self {
            EntryId::Store(_) => 1,
            EntryId::Folder(_) => 2,
            EntryId::Message(_) => 3,
        }
    }
    fn id(self) -> i64 {
        match self {
            EntryId::Store(i) | EntryId::Folder(i) | EntryId::Message(i) => i,
        }
    }

    /// The wire form.
    pub fn encode(self) -> String {
        format!("{VERSION:02x}{:02x}{:016x}", self.kind_byte(), self.id() as u64)
    }

    /// Parses any entry id.
    pub fn parse(text: &str) -> Result<EntryId, ApiError> {
        let bad = || {
            ApiError::new(
                MapiCode::InvalidEntryId,
                format!("{text:?} is not an entry id this server issued"),
            )
        };
        let t = text.trim();
        if t.len() != 20 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let version = u8::from_str_radix(&t[0..2], 16).map_err(|_| bad())?;
        let kind = u8::from_str_radix(&t[2..4], 16).map_err(|_| bad())?;
        let id = u64::from_str_radix(&t[4..], 16).map_err(|_| bad())? as i64;
        if version != VERSION || id <= 0 {
            return Err(bad());
        }
        Ok(match kind {
            1 => EntryId::Store(id),
            2 => EntryId::Folder(id),
            3 => EntryId::Message(id),
            _ => return Err(bad()),
        })
    }

    /// Parses an entry id that must name a folder.
    pub fn folder(text: &str) -> Result<i64, ApiError> {
        match EntryId::parse(text)? {
            EntryId::Folder(id) => Ok(id),
            _ => Err(ApiError::new(
                MapiCode::InvalidEntryId,
                format!("{text:?} does not name a folder"),
            )),
        }
    }

    /// Parses an entry id that must name a message.
    pub fn message(text: &str) -> Result<i64, ApiError> {
        match EntryId::parse(text)? {
            EntryId::Message(id) => Ok(id),
            _ => Err(ApiError::new(
                MapiCode::InvalidEntryId,
                format!("{text:?} does not name a message"),
            )),
        }
    }
}

/// Wire form of a folder id.
pub fn folder_eid(id: i64) -> String {
    EntryId::Folder(id).encode()
}

/// Wire form of a message id.
pub fn message_eid(id: i64) -> String {
    EntryId::Message(id).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_forgeries() {
        for e in [EntryId::Store(1), EntryId::Folder(42), EntryId::Message(i64::MAX)] {
            assert_eq!(EntryId::parse(&e.encode()).unwrap(), e);
        }
        assert!(EntryId::parse("zz").is_err());
        assert!(EntryId::parse("0109000000000000002a").is_err());
        assert!(EntryId::parse("0203000000000000002a").is_err());
        assert_eq!(EntryId::folder(&folder_eid(3)).unwrap(), 3);
        assert_eq!(
            EntryId::message(&folder_eid(3)).unwrap_err().code,
            MapiCode::InvalidEntryId
        );
    }
}
