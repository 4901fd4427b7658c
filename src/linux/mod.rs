//! What makes okapi-server a Linux service: sockets from systemd
//! ([`activation`]), readiness and watchdog reports ([`notify`]), giving up
//! root ([`privileges`]), logging to the journal ([`logging`]), and the next step
//! when the database keeps okapi-server waiting ([`database_advice`]).
//!
//! Every call into the system goes through a safe wrapper crate (sd-notify,
//! listenfd, nix, caps, tracing-journald); this module holds no `unsafe`.

pub mod activation;
pub mod database_advice;
pub mod logging;
pub mod notify;
pub mod privileges;
