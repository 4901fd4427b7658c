//! Logged-on sessions: who is behind a session id, and the events waiting
//! for that session's next `notify` call.
//!
//! Session ids are 128 random bits; a session expires after
//! `session_timeout` without use, and `session_max_lifetime` after its logon
//! however busy it is kept. Sessions live in memory: a restart logs everyone
//! off, as Zarafa's server did, and clients log on again.
//!
//! An id is as good as a password while it lives, so it is never logged:
//! log lines carry [`log_id`], a short hash that tells sessions apart.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use sha2::{Digest, Sha256};

use crate::api::types::Event;
use crate::error::{ApiError, MapiCode};

/// Events kept per session before the oldest are dropped (a client that
/// never calls `notify` must not grow the server without bound).
const MAX_PENDING: usize = 1000;

/// One session.
#[derive(Debug)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub login: String,
    /// Administrator flag at logon.
    pub is_admin: bool,
    /// Group ids at logon.
    pub groups: Vec<i64>,
    /// Token a browser must echo in a header when the session id comes from
    /// a cookie, so that another site cannot make requests in its name.
    pub csrf_token: String,
    opened: Instant,
    last_used: Mutex<Instant>,
    pending: Mutex<VecDeque<Event>>,
    /// Wakes a waiting `notify` call.
    pub wake: Notify,
}

/// What log lines say instead of a session id: the first 8 bytes of its
/// SHA-256, enough to follow one session through the log and useless to
/// take it over.
pub fn log_id(id: &str) -> String {
    hex::encode(&Sha256::digest(id.as_bytes())[..8])
}

/// How long sessions may live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    /// Longest time without a request (`session_timeout`).
    pub idle: Duration,
    /// Longest time from logon (`session_max_lifetime`).
    pub absolute: Duration,
}

impl Session {
    /// The session's id as log lines show it (see [`log_id`]).
    pub fn log_id(&self) -> String {
        log_id(&self.id)
    }

    /// When the session ends however busy it is kept (`None`: too far off to say).
    pub fn ends_at(&self, absolute: Duration) -> Option<Instant> {
        self.opened.checked_add(absolute)
    }

    fn expired(&self, limits: Lifetimes) -> bool {
        self.opened.elapsed() > limits.absolute
            || self.last_used.lock().map(|t| t.elapsed() > limits.idle).unwrap_or(true)
    }

    /// Takes every pending event.
    pub fn take_events(&self) -> Vec<Event> {
        match self.pending.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Queues an event and wakes a waiting `notify`.
    pub fn push_event(&self, e: Event) {
        if let Ok(mut q) = self.pending.lock() {
            if q.len() >= MAX_PENDING {
                q.pop_front();
            }
            q.push_back(e);
        }
        self.wake.notify_one();
    }
}

/// Every open session.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    /// True when a panic while the table was locked poisoned it: from then
    /// on no session can be found or opened.
    pub fn poisoned(&self) -> bool {
        self.map.is_poisoned()
    }

    /// Opens a session.
    pub fn open(&self, user_id: i64, login: &str, is_admin: bool, groups: Vec<i64>) -> Arc<Session> {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let s = Arc::new(Session {
            id: id.clone(),
            user_id,
            login: login.to_string(),
            is_admin,
            groups,
            csrf_token: hex::encode(rand::random::<[u8; 16]>()),
            opened: Instant::now(),
            last_used: Mutex::new(Instant::now()),
            pending: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
        });
        if let Ok(mut m) = self.map.lock() {
            m.insert(id, s.clone());
        }
        s
    }

    /// Finds a live session and marks it used; an unknown or expired id is
    /// `MAPI_E_END_OF_SESSION`.
    pub fn get(&self, id: &str, limits: Lifetimes) -> Result<Arc<Session>, ApiError> {
        let mut m = self
            .map
            .lock()
            .map_err(|_| ApiError::new(MapiCode::CallFailed, "session table unavailable"))?;
        let Some(s) = m.get(id).cloned() else {
            return Err(ApiError::new(
                MapiCode::EndOfSession,
                "the session is unknown or has expired; log on again",
            ));
        };
        let mut used = s
            .last_used
            .lock()
            .map_err(|_| ApiError::new(MapiCode::CallFailed, "session unavailable"))?;
        if used.elapsed() > limits.idle || s.opened.elapsed() > limits.absolute {
            drop(used);
            m.remove(id);
            return Err(ApiError::new(
                MapiCode::EndOfSession,
                "the session has expired; log on again",
            ));
        }
        *used = Instant::now();
        Ok(s.clone())
    }

    /// Closes a session.
    pub fn close(&self, id: &str) -> bool {
        self.map.lock().map(|mut m| m.remove(id).is_some()).unwrap_or(false)
    }

    /// Closes every session of a user (deleted, password changed, or logged
    /// off by an administrator); returns how many there were.
    pub fn close_user(&self, user_id: i64) -> usize {
        match self.map.lock() {
            Ok(mut m) => {
                let before = m.len();
                m.retain(|_, s| s.user_id != user_id);
                before - m.len()
            }
            Err(_) => 0,
        }
    }

    /// Closes every session of a user but one (the caller changed the password).
    pub fn close_user_except(&self, user_id: i64, keep: &str) {
        if let Ok(mut m) = self.map.lock() {
            m.retain(|id, s| s.user_id != user_id || id == keep);
        }
    }

    /// Drops sessions idle too long or past their lifetime; returns how many are left.
    pub fn expire(&self, limits: Lifetimes) -> usize {
        match self.map.lock() {
            Ok(mut m) => {
                m.retain(|_, s| !s.expired(limits));
                m.len()
            }
            Err(_) => 0,
        }
    }

    /// Every session (for fanning out events).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of open sessions.
    pub fn count(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(3600);

    #[test]
    fn log_ids_are_short_stable_and_not_the_id() {
        let s = Sessions::default().open(1, "jürgen", false, Vec::new());
        assert_eq!(s.log_id().len(), 16);
        assert_eq!(s.log_id(), log_id(&s.id));
        assert!(!s.id.contains(&s.log_id()) && !s.log_id().contains(&s.id));
    }

    /// A session in use all the time still ends at its absolute lifetime.
    #[test]
    fn a_busy_session_ends_at_its_absolute_lifetime() {
        let sessions = Sessions::default();
        let s = sessions.open(1, "王小明", false, Vec::new());
        let short = Lifetimes {
            idle: LONG,
            absolute: Duration::from_millis(200),
        };
        assert!(sessions.get(&s.id, short).is_ok());
        std::thread::sleep(Duration::from_millis(250));
        let e = sessions.get(&s.id, short).unwrap_err();
        assert_eq!(e.code, MapiCode::EndOfSession);
        let other = sessions.open(2, "محمد", false, Vec::new());
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(sessions.expire(short), 0);
        assert!(
            sessions
                .get(
                    &other.id,
                    Lifetimes {
                        idle: LONG,
                        absolute: LONG
                    }
                )
                .is_err()
        );
    }
}
