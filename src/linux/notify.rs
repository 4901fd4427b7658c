//! Reports to the service manager (`Type=notify`): READY=1 once the database
//! answered and migrations ran, STATUS= lines, RELOADING=1 around SIGHUP,
//! STOPPING=1 at shutdown, and the watchdog.
//!
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;

use crate::ops::State;

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not report to the service manager");
    }
}

/// READY=1 with a status line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A STATUS= line.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// STATUS= while start-up waits for something (the database), with
/// EXTEND_TIMEOUT_USEC= so systemd's start timeout does not run out meanwhile.
pub fn waiting(status: &str) {
    send(&[NotifyState::Status(status), NotifyState::ExtendTimeoutUsec(30_000_000)]);
}

/// RELOADING=1 with the monotonic timestamp systemd wants.
pub fn reloading() {
    match sd_notify::NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading configuration"),
        ]),
        Err(_) => send(&[NotifyState::Reloading, NotifyState::Status("reloading configuration")]),
    }
}

/// STOPPING=1.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing open requests and deliveries"),
    ]);
}

/// The watchdog interval systemd asked for (`WatchdogSec=`), if any.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

/// Sends WATCHDOG=1 at half the interval while the database answers within
/// that half; a hung database stops the pings, and systemd restarts us.
/// Also refreshes the STATUS= line.
pub async fn watchdog(state: Arc<State>, interval: Duration, mut stop: watch::Receiver<bool>) {
    let half = interval / 2;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(half) => {}
            _ = crate::server::stopped(&mut stop) => return,
        }
        match tokio::time::timeout(half, state.store.ping()).await {
            Ok(Ok(())) => send(&[NotifyState::Watchdog, NotifyState::Status(&status_line(&state).await)]),
            Ok(Err(e)) => tracing::warn!(error = %e, "database does not answer; withholding the watchdog ping"),
            Err(_) => tracing::warn!("database did not answer in time; withholding the watchdog ping"),
        }
    }
}

/// What the server is doing, for STATUS=.
pub async fn status_line(state: &State) -> String {
    let queue = state.store.queue_length().await.unwrap_or(0);
    format!(
        "serving: {} sessions open, {} deliveries in the last minute, {} messages in the outgoing queue",
        state.sessions.count(),
        state.deliveries_last_minute(),
        queue
    )
}
