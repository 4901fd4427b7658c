//! A panic fails the unit of work it happened in, never the process.
//!
//! okapi-server is one process serving every user, so a bug that one message
//! or one request trips over must cost that request, not every session of
//! every user. The front ends run each unit of work (one HTTP request, one
//! LMTP session, one delivery, one group commit) through [`guard`], which
//! catches a panic where the unit's future is polled and hands it back as a
//! [`Panic`]; the caller answers for the unit (HTTP 500 with
//! `MAPI_E_CALL_FAILED`, LMTP `451 4.3.0`) and logs it with [`Panic::log`].
//!
//! [`install_hook`] (okapi-server's start-up calls it) records the message,
//! place and backtrace of a panic inside a unit for that log line. A panic
//! *outside* every unit still aborts: there the panicking code is shared by
//! everyone (an accept loop, the spooler, the housekeeping task), and a task
//! that died quietly would leave a server that runs but no longer listens or
//! sends; the service manager restarts a clean process instead.

use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

thread_local! {
    /// How many guarded units this thread is polling right now (they nest:
    /// a delivery inside an LMTP session).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// What the hook saw of the last panic inside a unit on this thread,
    /// until the guard that catches it takes it.
    static LAST: RefCell<Option<Recorded>> = const { RefCell::new(None) };
}

/// What the panic hook records: it alone sees the place and the stack.
#[derive(Debug)]
struct Recorded {
    location: String,
    backtrace: String,
}

/// A panic caught by [`guard`].
#[derive(Debug)]
pub struct Panic {
    message: String,
    location: Option<String>,
    backtrace: Option<String>,
}

/// What identifies a unit of work in the log (the journal's `OKAPI_*`
/// fields). Never a session id or a password: a log is read by more people
/// than a mailbox.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unit<'a> {
    /// `OKAPI_OPERATION`: the API operation, route or protocol step.
    pub operation: &'a str,
    /// `OKAPI_REMOTE`: who the unit was serving.
    pub remote: Option<&'a dyn DisplayDebug>,
    /// `OKAPI_USER`: the login where known; for a delivery, the recipients.
    pub user: Option<&'a str>,
    /// `OKAPI_MESSAGE_ID`: the message being delivered.
    pub message_id: Option<&'a str>,
}

/// Anything that can go into a log field as text.
pub trait DisplayDebug: Display + std::fmt::Debug + Sync {}
impl<T: Display + std::fmt::Debug + Sync> DisplayDebug for T {}

impl Panic {
    /// What the panic said.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Logs the panic at error level with everything known about the unit.
    pub fn log(&self, unit: Unit<'_>) {
        tracing::error!(
            okapi_operation = unit.operation,
            okapi_remote = unit.remote.map(tracing::field::display),
            okapi_user = unit.user,
            okapi_message_id = unit.message_id,
            version = env!("CARGO_PKG_VERSION"),
            location = self.location.as_deref().unwrap_or("unknown"),
            backtrace = self
                .backtrace
                .as_deref()
                .unwrap_or("not recorded (okapi-server's panic hook records it)"),
            "internal error: {}; this unit of work failed, the server goes on. This is a bug; please report it \
             with this entry",
            self.message
        );
    }
}

/// Polls `future` as one unit of work: a panic inside it ends the future and
/// comes back as `Err`.
pub async fn guard<F: Future>(future: F) -> Result<F::Output, Panic> {
    Guarded {
        inner: Some(Box::pin(future)),
    }
    .await
}

struct Guarded<F> {
    /// `None` once the future finished or panicked.
    inner: Option<Pin<Box<F>>>,
}

impl<F: Future> Future for Guarded<F> {
    type Output = Result<F::Output, Panic>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(Err(Panic {
                message: "a unit of work was polled after it ended".into(),
                location: None,
                backtrace: None,
            }));
        };
        let _inside = Inside::enter();
        // AssertUnwindSafe is sound here: after a panic the unit's future is
        // dropped at once and never polled again, so no half-updated state of
        // its own is seen. What it shares with others is behind locks (a std
        // lock poisons and its users treat that as an error, see
        // `State::shared_state_poisoned`) or in the database, whose open
        // transaction rolls back when it is dropped.
        match catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => {
                self.inner = None;
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                self.inner = None;
                Poll::Ready(Err(caught(payload)))
            }
        }
    }
}

/// Marks this thread as inside a unit while it lives, also while unwinding.
struct Inside;

impl Inside {
    fn enter() -> Inside {
        DEPTH.with(|d| d.set(d.get().saturating_add(1)));
        Inside
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

fn inside_unit() -> bool {
    DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

fn caught(payload: Box<dyn std::any::Any + Send>) -> Panic {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let recorded = LAST.try_with(|l| l.try_borrow_mut().ok()?.take()).ok().flatten();
    Panic {
        message,
        location: recorded.as_ref().map(|r| r.location.clone()),
        backtrace: recorded.map(|r| r.backtrace),
    }
}

/// Installs okapi-server's panic hook: inside a unit of work it records the
/// place and backtrace for [`Panic::log`] and lets the unit fail; outside
/// every unit it prints the report and aborts (see the module documentation
/// for why).
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::force_capture();
        let location = info.location().map_or_else(|| "unknown".to_string(), |l| l.to_string());
        if inside_unit() {
            let _ = LAST.try_with(|l| {
                if let Ok(mut slot) = l.try_borrow_mut() {
                    *slot = Some(Recorded {
                        location,
                        backtrace: backtrace.to_string(),
                    });
                }
            });
            return;
        }
        eprintln!(
            "okapi-server {}: internal error outside any request or delivery: {info}\n{backtrace}\n\
             This is a bug; please report it with the lines above. The code that failed is shared by every \
             user, so okapi-server aborts and the service manager restarts a clean process.",
            env!("CARGO_PKG_VERSION"),
        );
        std::process::abort();
    }));
}

/// Aborts the process after a caught panic left state that every user shares
/// unusable (a poisoned lock of the session table, say): serving on would
/// fail every later request, a restart serves them all again.
pub fn abort_shared_state_corrupt(what: &str, panic: &Panic) -> ! {
    tracing::error!(
        version = env!("CARGO_PKG_VERSION"),
        "internal error: {}; it left {what} unusable for everyone, so okapi-server aborts and the service \
         manager restarts a clean process",
        panic.message
    );
    eprintln!("okapi-server: internal error left {what} unusable; aborting so that a clean process is started");
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_unit_comes_back_as_an_error() {
        let ok = guard(async { 7 }).await;
        assert_eq!(ok.ok(), Some(7));
        let failed = guard(async {
            tokio::task::yield_now().await;
            if inside_unit() {
                panic!("boom in the unit");
            }
            0
        })
        .await;
        let Err(p) = failed else {
            panic!("the panic was not caught");
        };
        assert_eq!(p.message(), "boom in the unit");
        assert!(!inside_unit(), "the depth is restored after unwinding");
    }
}
