//! Logging: structured fields to the journal under systemd, readable lines on
//! stderr otherwise, with the level reloadable at SIGHUP.
//!
//! okapi's events carry `okapi_user`, `okapi_session`, `okapi_remote`,
//! `okapi_message_id` and `okapi_operation`; in the journal they become the
//! fields `OKAPI_USER`, … next to `MESSAGE` and `PRIORITY`.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, reload};

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The systemd journal, with structured fields.
    Journal,
    /// Standard error, one readable line per event.
    Stderr,
}

/// Picks the journal when stderr is connected to it (`JOURNAL_STREAM` names
/// the same device and inode as our stderr), or when systemd started us
/// (`INVOCATION_ID`) and the journal socket exists; stderr otherwise.
pub fn choose(
    journal_stream: Option<&str>,
    stderr_id: Option<(u64, u64)>,
    invocation_id: bool,
    journal_socket: bool,
) -> Target {
    if let (Some(js), Some((dev, ino))) = (journal_stream, stderr_id)
        && let Some((d, i)) = js.split_once(':')
        && d.parse::<u64>().ok() == Some(dev)
        && i.parse::<u64>().ok() == Some(ino)
    {
        return Target::Journal;
    }
    if invocation_id && journal_socket {
        return Target::Journal;
    }
    Target::Stderr
}

fn stderr_id() -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata("/proc/self/fd/2").ok()?;
    Some((m.dev(), m.ino()))
}

/// The target for this process.
pub fn detect() -> Target {
    choose(
        std::env::var("JOURNAL_STREAM").ok().as_deref(),
        stderr_id(),
        std::env::var_os("INVOCATION_ID").is_some(),
        std::path::Path::new("/run/systemd/journal/socket").exists(),
    )
}

/// Changes the level of a running logger.
pub struct LevelHandle(reload::Handle<EnvFilter, tracing_subscriber::Registry>);

impl LevelHandle {
    /// Applies a new level (e.g. after SIGHUP).
    pub fn set(&self, level: &str) {
        if let Err(e) = self.0.modify(|f| *f = EnvFilter::new(level)) {
            tracing::warn!(error = %e, "could not change the log level");
        }
    }
}

/// Installs the logger; `OKAPI_LOG` overrides `level` (e.g. `debug`).
pub fn init(level: &str) -> Option<LevelHandle> {
    let filter = EnvFilter::new(std::env::var("OKAPI_LOG").unwrap_or_else(|_| level.to_string()));
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match detect() {
        Target::Journal => match tracing_journald::layer() {
            Ok(j) => registry
                .with(j.with_field_prefix(None).with_syslog_identifier("okapi-server".into()))
                .try_init()
                .is_ok(),
            Err(_) => registry.with(stderr_layer()).try_init().is_ok(),
        },
        Target::Stderr => registry.with(stderr_layer()).try_init().is_ok(),
    };
    installed.then_some(LevelHandle(handle))
}

fn stderr_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_is_chosen_only_when_stderr_is_the_journal() {
        assert_eq!(choose(Some("8:1234"), Some((8, 1234)), false, false), Target::Journal);
        assert_eq!(
            choose(Some("8:1234"), Some((8, 999)), false, false),
            Target::Stderr,
            "stderr redirected elsewhere"
        );
        assert_eq!(choose(Some("garbage"), Some((8, 1234)), false, false), Target::Stderr);
        assert_eq!(choose(None, Some((8, 1234)), false, true), Target::Stderr);
        assert_eq!(choose(None, None, true, true), Target::Journal, "started by systemd");
        assert_eq!(
            choose(None, None, true, false),
            Target::Stderr,
            "no journal to write to"
        );
    }
}
