//! The two encodings of the operation table: SOAP 1.1 (with its WSDL) and
//! JSON. Both turn bytes into the JSON form of a request and back; neither
//! knows what an operation does.

pub mod json;
pub mod soap;
pub mod wsdl;

/// Most elements (SOAP) or values (JSON) one request body may hold.
///
/// Why: a decoded node costs tens of bytes more than the bytes that spelled
/// it (`<a/>` is 4 bytes, its node about 100), so without a count a 16 MiB
/// body became 700 MB of tree before anything looked at it. Both codecs count
/// while they read and refuse the body the moment it passes this, so a request
/// costs at most a small multiple of its size whoever sends it. Honest requests
/// stay far below: a message with a thousand properties is a few thousand
/// elements, and base64 bodies and attachments are one text value each.
pub const MAX_NODES: usize = 200_000;

/// Deepest nesting of elements or values a request body may have. Restrictions
/// nest, but no honest request comes near this; the limit keeps a hostile body
/// from costing stack.
pub const MAX_DEPTH: usize = 64;
