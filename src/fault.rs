//! Fault injection for tests: makes a named point in the server panic, so an
//! integration test can prove that the panic fails that one request or
//! delivery and nothing else.
//!
//! Unstable and not for production use: nothing in okapi-server arms a
//! point. Unarmed, a point costs one relaxed atomic load.
//!
//! The points are:
//! - `("operation", name)`: the start of an API operation (SOAP, JSON and the web app alike);
//! - `("delivery", "store")`: a delivery after parsing, before anything is stored;
//! - `("delivery", "announce")`: a delivery after its commit, before new mail is announced;
//! - `("group_commit", "commit")`: a group commit's transaction, just before it commits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// True while any point is armed; the fast path reads only this.
static ANY_ARMED: AtomicBool = AtomicBool::new(false);

/// Armed points: (kind, name, panics left).
static ARMED: Mutex<Vec<(String, String, u32)>> = Mutex::new(Vec::new());

/// Arms a point to panic the next `times` times it is reached.
#[doc(hidden)]
pub fn arm(kind: &str, name: &str, times: u32) {
    let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
    armed.retain(|(k, n, _)| !(k == kind && n == name));
    armed.push((kind.to_string(), name.to_string(), times));
    ANY_ARMED.store(true, Ordering::SeqCst);
}

/// Disarms every point.
#[doc(hidden)]
pub fn disarm_all() {
    ARMED.lock().unwrap_or_else(PoisonError::into_inner).clear();
    ANY_ARMED.store(false, Ordering::SeqCst);
}

/// How often an armed point has yet to panic (0 when unarmed or spent).
#[doc(hidden)]
pub fn remaining(kind: &str, name: &str) -> u32 {
    ARMED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .find(|(k, n, _)| k == kind && n == name)
        .map_or(0, |(_, _, left)| *left)
}

/// A fault point: panics if a test armed it.
#[inline]
pub(crate) fn point(kind: &str, name: &str) {
    if ANY_ARMED.load(Ordering::Relaxed) {
        fire(kind, name);
    }
}

#[cold]
fn fire(kind: &str, name: &str) {
    let hit = {
        let mut armed = ARMED.lock().unwrap_or_else(PoisonError::into_inner);
        match armed
            .iter_mut()
            .find(|(k, n, left)| k == kind && n == name && *left > 0)
        {
            Some((_, _, left)) => {
                *left -= 1;
                true
            }
            None => false,
        }
    };
    if hit {
        panic!("fault injected at {kind} {name} (test hook)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_point_panics_as_often_as_asked() {
        point("test-only", "unarmed");
        arm("test-only", "p", 2);
        assert_eq!(remaining("test-only", "p"), 2);
        for _ in 0..2 {
            assert!(std::panic::catch_unwind(|| point("test-only", "p")).is_err());
        }
        point("test-only", "p");
        point("test-only", "other");
        assert_eq!(remaining("test-only", "p"), 0);
    }
}
