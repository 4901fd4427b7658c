//! The operation table: every API operation defined once, with its request
//! and response types, and dispatched the same way whichever encoding (SOAP or
//! JSON) the request came in.
//!
//! Handlers receive typed requests and return typed responses; the codecs see
//! only [`serde_json::Value`] and the [`schema::Xsd`] descriptions.

pub mod schema;
pub mod types;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value as Json;

use crate::error::ApiError;

/// A boxed future returned by operation handlers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One API operation.
pub struct Operation {
    /// Operation name, e.g. `queryRows` (the SOAP element and the JSON path).
    pub name: &'static str,
    /// One-line description (goes into the WSDL).
    pub doc: &'static str,
    /// Shape of the request.
    pub request: fn() -> schema::Xsd,
    /// Shape of the response.
    pub response: fn() -> schema::Xsd,
    /// Runs the operation on a JSON-form request.
    pub call: for<'a> fn(&'a crate::ops::Ctx, Json) -> BoxFuture<'a, Result<Json, ApiError>>,
}
