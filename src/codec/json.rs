//! The JSON encoding: `POST /api/v1/<operation>` with the request object as
//! the body; the response object, or `{"error": {...}}` with the MAPI code.

use serde_json::{Value as Json, json};

use super::{MAX_DEPTH, MAX_NODES};
use crate::error::{ApiError, MapiCode};

/// Parses a request body; it must be one JSON object (an empty body is `{}`).
pub fn decode_request(body: &[u8]) -> Result<Json, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    check_shape(body)?;
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

/// Counts the values in a body and measures its nesting in one pass over the
/// bytes, without building anything, and refuses a body past [`MAX_NODES`]
/// values or [`MAX_DEPTH`] levels before serde builds a `Value` tree of it.
///
/// It only counts: what is not JSON is left for serde to reject with its own
/// message. Object keys count as values (each costs an allocation too).
fn check_shape(body: &[u8]) -> Result<(), ApiError> {
    let (mut depth, mut nodes) = (0usize, 0usize);
    let (mut in_string, mut escaped, mut in_scalar) = (false, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        let starts_value = match b {
            b'"' => {
                in_string = true;
                true
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ApiError::new(
                        MapiCode::Corrupt,
                        format!(
                            "the request nests arrays and objects deeper than {MAX_DEPTH} levels, the most allowed"
                        ),
                    ));
                }
                true
            }
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                false
            }
            b',' | b':' | b' ' | b'\t' | b'\r' | b'\n' => false,
            // Inside a number or a literal: one value however long.
            _ if in_scalar => continue,
            _ => {
                in_scalar = true;
                nodes += 1;
                continue;
            }
        };
        in_scalar = false;
        if starts_value {
            nodes += 1;
        }
        if nodes > MAX_NODES {
            return Err(ApiError::new(
                MapiCode::TooBig,
                format!(
                    "the request holds more than {MAX_NODES} JSON values, the most one request may hold; \
                     split it into several requests"
                ),
            ));
        }
    }
    Ok(())
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

    /// Huge and deep bodies are refused by counting, before a tree is built;
    /// strings with brackets, commas and escaped quotes inside count as one value.
    #[test]
    fn value_count_and_depth_are_bounded() {
        let many = format!("{{\"a\":[{}[]]}}", "[],".repeat(MAX_NODES));
        let e = decode_request(many.as_bytes()).unwrap_err();
        assert_eq!(e.code, MapiCode::TooBig);
        assert!(e.message.contains("more than 200000 JSON values"), "{}", e.message);
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
        let e = decode_request(deep.as_bytes()).unwrap_err();
        assert_eq!(e.code, MapiCode::Corrupt);
        assert!(e.message.contains("deeper than 64"), "{}", e.message);
        let text = format!("{{\"s\":\"{}\\\"]]]\"}}", "[[,{Grüße 🎉 ".repeat(100_000));
        assert!(decode_request(text.as_bytes()).is_ok());
        let numbers = format!("{{\"n\":[{}1]}}", "12345.5e3,true,".repeat(50_000));
        assert!(decode_request(numbers.as_bytes()).is_ok());
        let too_many_numbers = format!("{{\"n\":[{}1]}}", "1,".repeat(MAX_NODES));
        assert_eq!(
            decode_request(too_many_numbers.as_bytes()).unwrap_err().code,
            MapiCode::TooBig
        );
    }

    #[test]
    fn errors_carry_the_mapi_code() {
        let body = encode_error(&ApiError::not_found("no such folder"));
        let v: Json = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"]["code"], "0x8004010F");
        assert_eq!(v["error"]["name"], "MAPI_E_NOT_FOUND");
    }
}
