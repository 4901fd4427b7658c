//! SIGHUP: read the configuration again and apply what can change while
//! running (log level, TLS certificate and key, limits, quotas, mail-flow
//! settings). Keys that need a restart keep their running values and are
//! named in a warning; a configuration with errors changes nothing.

use crate::config::Config;
use crate::linux::logging::LevelHandle;
use crate::ops::State;
use crate::startup::ConfigSource;

/// Keys that only take effect at start: listeners, storage, identity.
pub const RESTART_KEYS: &[&str] = &[
    "server_listen",
    "server_listen_tls",
    "local_socket",
    "lmtp_listen",
    "lmtp_socket",
    "database_url",
    "database_password_file",
    "attachment_storage",
    "attachment_path",
    "user_plugin",
    "run_as_user",
    "run_as_group",
    // Each listener's connection table and the password threads are sized at start.
    "max_connections",
    "request_memory",
    "password_hash_threads",
    "password_hash_queue",
];

/// The value of a key as `--print-config` shows it (without the comment).
fn value_of(cfg: &Config, key: &str) -> Option<String> {
    cfg.print_effective().lines().find_map(|l| {
        l.strip_prefix(&format!("{key} = "))
            .map(|v| v.split("  #").next().unwrap_or(v).trim().to_string())
    })
}

/// Keeps the running values of restart-only keys; returns the keys that differed.
pub fn keep_restart_keys(new: &mut Config, old: &Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    for key in RESTART_KEYS {
        let (a, b) = (value_of(old, key), value_of(new, key));
        if a != b {
            changed.push(*key);
            if let Some(v) = a {
                let _ = new.apply(key, &v);
            }
        }
    }
    changed
}

/// Reloads; never stops the server.
pub fn reload(state: &State, source: &ConfigSource, log: Option<&LevelHandle>) {
    let mut new = match source.load() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("reload failed, the running configuration stays as it was:\n{e}");
            return;
        }
    };
    let old = state.config();
    let changed = keep_restart_keys(&mut new, &old);
    if !changed.is_empty() {
        tracing::warn!(keys = %changed.join(", "), "these settings need a restart of okapi-server; they keep their running values");
    }
    match crate::server::tls_config(&new) {
        Ok(tls) => {
            if let Ok(mut slot) = state.tls.write() {
                *slot = tls;
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "reload: the TLS certificate or key is unusable; keeping the running configuration");
            return;
        }
    }
    if let Some(h) = log {
        h.set(new.log_level.as_str());
    }
    let level = new.log_level.as_str();
    match state.config.write() {
        Ok(mut c) => *c = new,
        Err(p) => *p.into_inner() = new,
    }
    tracing::info!(log_level = level, "configuration reloaded");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_keys_keep_their_running_values() {
        let old = Config::from_text("server_listen = 127.0.0.1:1\nquota_hard = 1M\n", "old").unwrap();
        let mut new = Config::from_text("server_listen = 127.0.0.1:2\nquota_hard = 2M\n", "new").unwrap();
        let changed = keep_restart_keys(&mut new, &old);
        assert_eq!(changed, vec!["server_listen"]);
        assert_eq!(new.server_listen, vec!["127.0.0.1:1".to_string()]);
        assert_eq!(new.quota_hard, 2 * 1024 * 1024, "reloadable keys take the new value");
    }
}
