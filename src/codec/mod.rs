//! The two encodings of the operation table: SOAP 1.1 (with its WSDL) and
//! JSON. Both turn bytes into the JSON form of a request and back; neither
//! knows what an operation does.

pub mod json;
pub mod soap;
pub mod wsdl;
