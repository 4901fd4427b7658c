//! okapi (partial, while building)
pub mod api;
pub mod auth;
pub mod config;
pub mod entryid;
pub mod error;
pub mod props;
pub mod store;
pub mod ops { pub struct Ctx; }
