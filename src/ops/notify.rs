//! Fans events out to the sessions that may see them: the store owner's
//! sessions and those whose user has rights on the folder.

use crate::api::types::Event;
use crate::entryid::{folder_eid, message_eid};
use crate::ops::State;
use crate::ops::access::visible;
use crate::store::FolderRow;

/// Kinds of events.
#[derive(Debug, Clone, Copy)]
pub enum EventKind {
    /// A message arrived by delivery.
    NewMail,
    /// A message appeared in a folder.
    ObjectCreated,
    /// A message changed.
    ObjectModified,
    /// A message was deleted.
    ObjectDeleted,
    /// A message moved between folders.
    ObjectMoved,
    /// A folder was created.
    FolderCreated,
    /// A folder changed (renamed, moved, emptied).
    FolderModified,
    /// A folder was deleted.
    FolderDeleted,
}

impl EventKind {
    fn name(self) -> &'static str {
        match self {
            EventKind::NewMail => "newMail",
            EventKind::ObjectCreated => "objectCreated",
            EventKind::ObjectModified => "objectModified",
            EventKind::ObjectDeleted => "objectDeleted",
            EventKind::ObjectMoved => "objectMoved",
            EventKind::FolderCreated => "folderCreated",
            EventKind::FolderModified => "folderModified",
            EventKind::FolderDeleted => "folderDeleted",
        }
    }
}

/// Publishes an event about a message (or, for folder events, a folder) in `folder`.
pub async fn publish(state: &State, kind: EventKind, folder: &FolderRow, object: Option<i64>, old_folder: Option<i64>) {
    let entry_id = match (kind, object) {
        (EventKind::FolderCreated | EventKind::FolderModified | EventKind::FolderDeleted, Some(f)) => folder_eid(f),
        (_, Some(m)) => message_eid(m),
        (_, None) => folder_eid(folder.id),
    };
    let event = Event {
        kind: kind.name().to_string(),
        entry_id,
        folder: folder_eid(folder.id),
        old_folder: old_folder.map(folder_eid),
    };
    for s in state.sessions.all() {
        // Administrators may open every store, but only hear of what they
        // own or were granted, like everyone else.
        let sees = folder.owner_id == Some(s.user_id)
            || state
                .store
                .rights_of(folder.id, s.user_id, &s.groups)
                .await
                .is_ok_and(visible);
        if sees {
            s.push_event(event.clone());
        }
    }
}
