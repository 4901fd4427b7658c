//! Throttling of failed logons, per account and per client address.
//!
//! Why: without it a password can be guessed as fast as the server checks
//! them. Each account gets `logon_failures_per_account` failures within
//! `logon_failure_window` for free, each client address
//! `logon_failures_per_address`; after that every failure blocks the account
//! (or address) for 1 s, then twice as long each time up to
//! `logon_backoff_max`. An attempt during a block is refused at once with
//! `MAPI_E_LOGON_THROTTLED`, before the user is looked up and before argon2
//! runs, so a blocked guesser costs the server almost nothing. The counts are
//! in the store, so a restart does not reset them and SOAP, JSON and the web
//! app share them. Names are counted whether or not the account exists, so
//! the throttle does not tell which names are real.

use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{ApiError, MapiCode};
use crate::forwarded::canonical;
use crate::ops::Ctx;
use crate::props::now_micros;

/// The first block after the free failures; each further failure doubles it.
const FIRST_BLOCK: Duration = Duration::from_secs(1);

/// What a logon attempt is counted against.
#[derive(Debug, Clone)]
pub(super) struct Subjects {
    account: String,
    address: Option<String>,
}

impl Subjects {
    /// The subjects of a logon as `login` from `client` (none for a local
    /// caller that forwarded no address).
    pub(super) fn new(login: &str, client: Option<IpAddr>) -> Subjects {
        Subjects {
            account: subject("account", &login.trim().to_lowercase()),
            address: client.map(|ip| subject("address", &canonical(ip).to_string())),
        }
    }

    fn all(&self) -> Vec<&str> {
        std::iter::once(self.account.as_str())
            .chain(self.address.as_deref())
            .collect()
    }
}

/// A fixed-length key: logins are the client's text, of any length and script.
fn subject(kind: &str, value: &str) -> String {
    format!("{kind}:{}", hex::encode(&Sha256::digest(value.as_bytes())[..16]))
}

/// Refuses at once when the account or the address is blocked.
pub(super) async fn check(ctx: &Ctx, subjects: &Subjects) -> Result<(), ApiError> {
    let until = ctx.store().logon_blocked_until(&subjects.all()).await?;
    let now = now_micros();
    if until <= now {
        return Ok(());
    }
    let secs = u64::try_from(until - now).unwrap_or(0).div_ceil(1_000_000).max(1);
    Err(ApiError::new(
        MapiCode::LogonThrottled,
        format!("too many failed logons for this account or from this address; try again in {secs} seconds"),
    )
    .retry_after(secs))
}

/// Counts a failed logon against the account and the address.
pub(super) async fn failed(ctx: &Ctx, subjects: &Subjects) -> Result<(), ApiError> {
    let c = ctx.state.config();
    let window = micros(c.logon_failure_window);
    let cap = micros(c.logon_backoff_max);
    let now = now_micros();
    let account_free = i64::try_from(c.logon_failures_per_account).unwrap_or(i64::MAX);
    let store = ctx.store();
    let run = store
        .record_logon_failure(&subjects.account, now, window, |n| {
            block_until(now, n, account_free, cap)
        })
        .await?;
    if run.blocked_until > now {
        tracing::warn!(failures = run.failures, okapi_remote = %ctx.peer, "logons for an account are throttled");
    }
    if let Some(address) = &subjects.address {
        let address_free = i64::try_from(c.logon_failures_per_address).unwrap_or(i64::MAX);
        let run = store
            .record_logon_failure(address, now, window, |n| block_until(now, n, address_free, cap))
            .await?;
        if run.blocked_until > now {
            tracing::warn!(failures = run.failures, okapi_remote = %ctx.peer, "logons from a client address are throttled");
        }
    }
    Ok(())
}

/// A successful logon ends the account's run of failures (not the
/// address's: one account of its own must not let a guesser go on).
pub(super) async fn succeeded(ctx: &Ctx, subjects: &Subjects) -> Result<(), ApiError> {
    Ok(ctx.store().clear_logon_failures(&subjects.account).await?)
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// When a subject with `failures` in its run is blocked until: not at all
/// within the `free` ones, then from the last free one on for 1 s, 2 s,
/// 4 s, … up to `cap` (all in microseconds).
fn block_until(now: i64, failures: i64, free: i64, cap: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(62);
    let first = micros(FIRST_BLOCK);
    let block = first.checked_shl(doublings).filter(|b| *b / first == 1 << doublings);
    now.saturating_add(block.unwrap_or(cap).min(cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    #[test]
    fn the_free_failures_cost_nothing_then_the_block_doubles_up_to_the_cap() {
        let cap = 900 * S;
        let blocks: Vec<i64> = (1..=25).map(|n| block_until(0, n, 10, cap)).collect();
        assert_eq!(&blocks[..9], &[0; 9]);
        assert_eq!(&blocks[9..14], &[S, 2 * S, 4 * S, 8 * S, 16 * S]);
        assert_eq!(blocks[18], 512 * S);
        assert_eq!(&blocks[19..], &[cap; 6]);
        assert_eq!(block_until(5, i64::MAX, 10, cap), 5 + cap);
    }

    #[test]
    fn subjects_ignore_case_and_space_and_fit_any_script() {
        let a = Subjects::new(" Jürgen ", None);
        let b = Subjects::new("jürgen", None);
        assert_eq!(a.account, b.account);
        for name in ["Dvořák", "Αλέξανδρος", "王小明", "محمد", "🦊".repeat(500).as_str()] {
            let s = Subjects::new(name, Some("::ffff:192.0.2.7".parse().unwrap()));
            assert_eq!(s.account.len(), "account:".len() + 32, "{name}");
            assert_eq!(
                s.address,
                Subjects::new("x", Some("192.0.2.7".parse().unwrap())).address
            );
        }
    }
}
