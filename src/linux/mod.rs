//! What makes okapi-server a Linux service: sockets from systemd
//! ([`activation`]), readiness and watchdog reports ([`notify`]), giving up
//! root ([`privileges`]), and logging to the journal ([`logging`]).
//!
//! Every call into the system goes through a safe wrapper crate (sd-notify,
//! listenfd, nix, caps, tracing-journald); this module holds no `unsafe`.

pub mod activation;
pub mod logging;
pub mod notify;
pub mod privileges;
