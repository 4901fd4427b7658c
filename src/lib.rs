//! okapi: a groupware server for Linux (mail, calendar, contacts, tasks) in
//! the tradition of Zarafa and Kopano.
//!
//! # Layout
//! - [`config`]: `server.cfg`, every key defined once with its docs.
//! - [`panics`]: a panic fails one request or delivery, never the process.
//! - [`props`]: MAPI property tags and values, and the property-bag encoding.
//! - [`store`]: the mailbox store on SQLite or MySQL/MariaDB; the only SQL.
//! - [`api`]: the operation table, with request and response types.
//! - [`linux`]: socket activation, sd_notify, privilege drop, journald.
//! - [`ops`]: what each operation does: sessions, access control, the store.
//! - [`codec`]: SOAP (with the WSDL) and JSON around the operation table.
//! - [`delivery`]: LMTP and the pipe MDA: mail from the MTA into mailboxes.
//! - [`http`]: the HTTP front: routing, limits, the local-socket trust.
//! - [`forwarded`]: the client's address behind a trusted reverse proxy.
//! - [`web`]: the browser's side: cookie sessions with CSRF tokens, safe mail bodies, the web app's files.
//! - [`reload`]: re-reading the configuration at SIGHUP.
//! - [`server`]: listeners and the accept loop, started and drained by `run`.
//! - [`spooler`]: sends submitted mail through the local MTA.
//! - [`startup`]: okapi-server's start-up and shutdown.
//! - [`admin`]: the okapi-admin client.

pub mod admin;
pub mod api;
pub mod auth;
pub mod codec;
pub mod config;
pub mod delivery;
pub mod entryid;
pub mod error;
#[doc(hidden)]
pub mod fault;
pub mod forwarded;
pub mod http;
pub mod linux;
pub mod ops;
pub mod panics;
pub mod props;
pub mod reload;
pub mod server;
pub mod spooler;
pub mod startup;
pub mod store;
pub mod web;
