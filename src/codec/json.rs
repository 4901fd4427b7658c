//! The JSON encoding: `POST /api/v1/<operation>` with the request object as
//! the body; the response object, or `{"error": {...}}` with the MAPI code.

use serde_json::{Value as Json, json};

use crate::error::{ApiError, MapiCode};

/// Parses a request body; it must be one JSON object (an empty body is `{}`).
pub fn decode_request(body: &[u8]) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Json = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            MapiCode::Corrupt,
            format!("the request body is not valid JSON ({e}); send one JSON object"),
        )
    })?;
    if !v.is_object() {
        return Err(ApiError::invalid(
            "the request body must be a JSON object of the operation's parameters",
        ));
    }
    Ok(v)
}

/// The body of an error response.
pub fn encode_error(err: &ApiError) -> Vec<u8> {
    let v = json!({
        "error": {
            "code": format!("0x{:08X}", err.code.value()),
            "name": err.code.name(),
            "message": err.message,
        }
    });
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_must_be_objects() {
        assert_eq!(decode_request(b"").unwrap(), json!({}));
        assert_eq!(decode_request(b"{\"a\":1}").unwrap(), json!({"a": 1}));
        assert_eq!(decode_request(b"[1]").unwrap_err().code, MapiCode::InvalidParameter);
        assert_eq!(decode_request(b"{oops").unwrap_err().code, MapiCode::Corrupt);
    }

    #[test]
    fn errors_carry_the_mapi_code() {
        let body = encode_error(&ApiError::not_found("no such folder"));
        let v: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "0x8004010F");
        assert_eq!(v["error"]["name"], "MAPI_E_NOT_FOUND");
    }
}
