//! The SOAP 1.1 encoding of the API: document/literal XML to and from the
//! JSON form of requests and responses.
//!
//! Why it exists: okapi has one operation table and two encodings. The JSON
//! form is canonical (every request and response type derives serde), so this
//! module does not know any operation's Rust types; it walks the
//! [`Xsd`] description of the operation and converts element by element.
//! Operations never see XML, and SOAP clients see the same errors, with the
//! same MAPI codes, as JSON clients (as a SOAP Fault).
//!
//! Decoding is two steps, parse then act: the body is first read into a small
//! element tree (well-formedness, namespaces, no DTDs, bounded depth and
//! element count, see [`super::MAX_NODES`]), and only then converted, guided
//! by the schema, into JSON. What this module leaves to
//! others: the body size limit and HTTP status (the HTTP layer; SOAP 1.1 sends
//! faults with 500), dispatching, and the serde step that turns the JSON into
//! the typed request (which supplies defaults for absent fields).
//!
//! Wire shape, in short (the WSDL from [`super::wsdl`] says the same):
//! - the Body's first element child is the request, named after the operation
//!   (any prefix or namespace); the response is `<{op}Response xmlns="urn:okapi">`;
//! - a struct field is a child element with the field's camelCase name;
//!   a list is the element repeated; an optional field is absent when unset;
//!   `xsi:nil="true"` counts as absent;
//! - a property set is `<props><prop><tag>0x0037001F</tag><s>Hello</s></prop>…</props>`,
//!   the value in `<s>`, `<i>`, `<l>`, `<b>`, `<d>`, `<t>` (xsd:dateTime) or
//!   `<bin>` (base64), repeated for multi-valued tags.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use serde_json::{Map, Value as Json};

use crate::api::Operation;
use crate::api::schema::{StructDef, Xsd};
use crate::error::{ApiError, MapiCode};
use crate::props::{MV_FLAG, PT_BINARY, PT_BOOLEAN, PT_DOUBLE, PT_LONG, PT_LONGLONG, PT_SHORT, PT_STRING8};
use crate::props::{PT_SYSTIME, PT_UNICODE, PropTag, PropValue, format_time, parse_time};

/// The XML namespace of okapi's messages (the WSDL's targetNamespace).
pub const NAMESPACE: &str = "urn:okapi";
/// The SOAP 1.1 envelope namespace.
pub const SOAP11_ENVELOPE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The SOAP 1.2 envelope namespace, accepted on requests.
pub const SOAP12_ENVELOPE: &str = "http://www.w3.org/2003/05/soap-envelope";
/// The XML Schema instance namespace (`xsi:nil`).
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
pub use super::{MAX_DEPTH, MAX_NODES};

/// The names of the typed value elements of a property value.
const VALUE_ELEMENTS: [&str; 7] = ["s", "i", "l", "b", "d", "t", "bin"];

// ---- decoding ----------------------------------------------------------------

/// Decodes a SOAP request: finds the operation named by the Body's first
/// element child with `find`, and converts that element into the JSON form of
/// the operation's request.
///
/// Errors: malformed XML, a document that is not a SOAP Envelope, or an empty
/// Body give `MAPI_E_CORRUPT_DATA`; an operation `find` does not know gives
/// `MAPI_E_UNKNOWN_OPERATION`; a value that does not fit its element, or an
/// element the request type does not have, gives `MAPI_E_INVALID_PARAMETER`
/// naming the element's path (`queryRows/limit: …`).
pub fn decode_request<'o>(
    body: &[u8],
    find: impl Fn(&str) -> Option<&'o Operation>,
) -> Result<(&'o Operation, Json), ApiError> {
    let root = parse_tree(body)?;
    let call = request_element(&root)?;
    let op = find(&call.name).ok_or_else(|| {
        ApiError::new(
            MapiCode::UnknownOperation,
            format!(
                "unknown operation `{}`; the WSDL lists the operations this server knows",
                call.name
            ),
        )
    })?;
    let json = if call.nil {
        Json::Object(Map::new())
    } else {
        value_from_xml(call, &(op.request)(), op.name)?
    };
    Ok((op, json))
}

/// One element of the parsed request: its namespace, local name, whether it
/// carried `xsi:nil="true"`, its text (all text pieces joined) and children.
#[derive(Debug)]
struct Node {
    ns: Option<String>,
    name: String,
    nil: bool,
    text: String,
    children: Vec<Node>,
}

fn corrupt(message: impl Into<String>) -> ApiError {
    ApiError::new(MapiCode::Corrupt, message)
}

/// Line and column (1-based, column in bytes) of a byte offset.
fn line_col(body: &[u8], pos: u64) -> (usize, usize) {
    let pos = usize::try_from(pos).unwrap_or(usize::MAX).min(body.len());
    let before = &body[..pos];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = pos - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

/// Reads the body into a tree of [`Node`]s, checking well-formedness,
/// refusing DTDs and entity declarations, and bounding the depth and the
/// number of elements ([`MAX_NODES`]) as it goes, so the tree never grows past
/// what the limits allow.
fn parse_tree(body: &[u8]) -> Result<Node, ApiError> {
    check_element_count(body)?;
    let mut reader = NsReader::from_reader(body);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
    }
    let at = |pos: u64| {
        let (line, col) = line_col(body, pos);
        format!("at line {line}, column {col}")
    };
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, event)) => (resolved_ns(&ns), event),
            Err(e) => {
                return Err(corrupt(format!(
                    "the request is not well-formed XML: {e} {}",
                    at(reader.error_position())
                )));
            }
        };
        let here = reader.buffer_position();
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(corrupt(format!(
                        "the request has content after its root element {}",
                        at(here)
                    )));
                }
                elements += 1;
                if elements > MAX_NODES {
                    return Err(too_many_elements());
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(corrupt(format!(
                        "the request nests elements deeper than {MAX_DEPTH} levels {}",
                        at(here)
                    )));
                }
                let ns = match ns {
                    Ok(ns) => ns,
                    Err(prefix) => {
                        return Err(corrupt(format!(
                            "the request uses the undeclared namespace prefix `{prefix}` {}",
                            at(here)
                        )));
                    }
                };
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let nil = is_nil(&reader, &start).map_err(|e| corrupt(format!("{e} {}", at(here))))?;
                stack.push(Node {
                    ns,
                    name,
                    nil,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(corrupt(format!(
                        "the request closes an element it never opened {}",
                        at(here)
                    )));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let text = text
                    .xml10_content()
                    .map_err(|e| corrupt(format!("the request's text is not valid UTF-8 ({e}) {}", at(here))))?;
                push_text(&mut stack, &text, || at(here))?;
            }
            Event::CData(cdata) => {
                let text = cdata
                    .decode()
                    .map_err(|e| corrupt(format!("the request's text is not valid UTF-8 ({e}) {}", at(here))))?;
                push_text(&mut stack, &text, || at(here))?;
            }
            Event::GeneralRef(reference) => {
                let ch = match reference.resolve_char_ref() {
                    Ok(Some(ch)) => ch,
                    Ok(None) => {
                        let name = reference.decode().map(|n| n.into_owned()).unwrap_or_default();
                        match name.as_str() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            _ => {
                                return Err(corrupt(format!(
                                    "the request refers to the undefined entity `&{name};` {}",
                                    at(here)
                                )));
                            }
                        }
                    }
                    Err(e) => {
                        return Err(corrupt(format!(
                            "the request has a bad character reference: {e} {}",
                            at(here)
                        )));
                    }
                };
                push_text(&mut stack, ch.encode_utf8(&mut [0; 4]), || at(here))?;
            }
            Event::DocType(_) => {
                return Err(corrupt(format!(
                    "the request contains a <!DOCTYPE>; DTDs and entity declarations are not accepted {}",
                    at(here)
                )));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            // expand_empty_elements turns these into Start and End.
            Event::Empty(_) => return Err(corrupt("internal error: unexpanded empty element")),
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(corrupt(format!(
            "the request ends inside the element <{}> (truncated?)",
            open.name
        )));
    }
    root.ok_or_else(|| corrupt("the request body is empty; expected a SOAP Envelope"))
}

/// Counts the `<` that open an element (not `</`, `<?` or `<!`, and none
/// inside a CDATA section) in one pass over the bytes, before anything is
/// built. Text and attribute values cannot hold a bare `<`, so this is an
/// upper bound on the elements.
fn check_element_count(body: &[u8]) -> Result<(), ApiError> {
    const CDATA: &[u8] = b"<![CDATA[";
    let (mut opens, mut i) = (0usize, 0usize);
    while let Some(at) = body.get(i..).and_then(|rest| rest.iter().position(|&b| b == b'<')) {
        let here = i + at;
        let rest = &body[here..];
        if rest.starts_with(CDATA) {
            match rest.windows(3).position(|w| w == b"]]>") {
                Some(end) => i = here + end + 3,
                None => return Ok(()), // unterminated: the parser says so
            }
            continue;
        }
        if !matches!(rest.get(1), Some(b'/' | b'?' | b'!')) {
            opens += 1;
            if opens > MAX_NODES {
                return Err(too_many_elements());
            }
        }
        i = here + 1;
    }
    Ok(())
}

fn too_many_elements() -> ApiError {
    ApiError::new(
        MapiCode::TooBig,
        format!(
            "the request has more than {MAX_NODES} XML elements, the most one request may hold; \
             split it into several requests"
        ),
    )
}

/// The namespace of a resolved name: `Ok(None)` for no namespace, `Err(prefix)`
/// for a prefix that was never declared.
fn resolved_ns(ns: &ResolveResult<'_>) -> Result<Option<String>, String> {
    match ns {
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unknown(prefix) => Err(String::from_utf8_lossy(prefix).into_owned()),
    }
}

/// True if the element carries `xsi:nil="true"` (or `"1"`).
fn is_nil(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<bool, String> {
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("the request has a malformed attribute: {e}"))?;
        let (ns, local) = reader.resolve_attribute(attr.key);
        let in_xsi = matches!(ns, ResolveResult::Bound(ns) if ns.as_ref() == XSI.as_bytes());
        if in_xsi && local.as_ref() == b"nil" {
            let value = attr
                .unescape_value()
                .map_err(|e| format!("the request has a malformed attribute: {e}"))?;
            return Ok(matches!(value.trim(), "true" | "1"));
        }
    }
    Ok(false)
}

/// Adds text to the innermost open element; text outside the root element
/// may only be whitespace.
fn push_text(stack: &mut [Node], text: &str, at: impl Fn() -> String) -> Result<(), ApiError> {
    match stack.last_mut() {
        Some(node) => node.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => {
            return Err(corrupt(format!(
                "the request has text outside its root element {}",
                at()
            )));
        }
    }
    Ok(())
}

/// Checks the Envelope and returns the Body's first element child.
fn request_element(root: &Node) -> Result<&Node, ApiError> {
    let env_ns = root.ns.as_deref().unwrap_or("");
    if root.name != "Envelope" {
        return Err(corrupt(format!(
            "the request is not a SOAP Envelope (its root element is <{}>)",
            root.name
        )));
    }
    if env_ns != SOAP11_ENVELOPE && env_ns != SOAP12_ENVELOPE {
        return Err(corrupt(format!(
            "the request's Envelope is in the namespace \"{env_ns}\", expected SOAP 1.1's \"{SOAP11_ENVELOPE}\""
        )));
    }
    let in_env = |n: &Node| n.ns.as_deref() == Some(env_ns);
    let body = root
        .children
        .iter()
        .find(|n| n.name == "Body" && in_env(n))
        .ok_or_else(|| corrupt("the SOAP Envelope has no Body"))?;
    body.children
        .first()
        .ok_or_else(|| corrupt("the SOAP Body is empty; expected one element naming the operation"))
}

fn invalid(path: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid(format!("{path}: {message}"))
}

/// `Optional(Optional(x))` and `Optional(x)` → `x`.
fn strip_optional(xsd: &Xsd) -> &Xsd {
    match xsd {
        Xsd::Optional(inner) => strip_optional(inner),
        other => other,
    }
}

/// If a field of this shape is carried as a repeated element, the shape of one item.
fn repeated_item(xsd: &Xsd) -> Option<&Xsd> {
    match strip_optional(xsd) {
        Xsd::List(item) => Some(item),
        _ => None,
    }
}

/// Converts one element's content, of shape `xsd`, into JSON.
fn value_from_xml(node: &Node, xsd: &Xsd, path: &str) -> Result<Json, ApiError> {
    match xsd {
        Xsd::String => Ok(Json::String(leaf_text(node, path)?.to_string())),
        Xsd::Int => parse_int(leaf_text(node, path)?, path, true),
        Xsd::Long => parse_int(leaf_text(node, path)?, path, false),
        Xsd::Bool => parse_bool(leaf_text(node, path)?, path),
        Xsd::Double => parse_double(leaf_text(node, path)?, path),
        Xsd::Base64 => parse_base64(leaf_text(node, path)?, path),
        Xsd::Props => props_from_xml(node, path),
        Xsd::PropValue => any_value_from_xml(node, path),
        Xsd::Optional(inner) => value_from_xml(node, inner, path),
        Xsd::List(item) => {
            // A list directly inside a list: its items are <item> children.
            no_text(node, path)?;
            let mut out = Vec::with_capacity(node.children.len());
            for (i, child) in node.children.iter().enumerate() {
                if child.name != "item" {
                    return Err(unknown_element(child, path));
                }
                if !child.nil {
                    out.push(value_from_xml(child, item, &format!("{path}/item[{}]", i + 1))?);
                }
            }
            Ok(Json::Array(out))
        }
        Xsd::Struct(def) => struct_from_xml(node, def, path),
    }
}

fn unknown_element(child: &Node, path: &str) -> ApiError {
    invalid(path, format!("unknown element <{}>", child.name))
}

/// Element content that must be text only.
fn leaf_text<'n>(node: &'n Node, path: &str) -> Result<&'n str, ApiError> {
    match node.children.first() {
        Some(child) => Err(invalid(
            path,
            format!("expected a value, found the element <{}>", child.name),
        )),
        None => Ok(&node.text),
    }
}

/// Element content that must be elements only (whitespace between them is fine).
fn no_text(node: &Node, path: &str) -> Result<(), ApiError> {
    let text = node.text.trim();
    if text.is_empty() {
        Ok(())
    } else {
        Err(invalid(
            path,
            format!("expected elements, found the text {:?}", shorten(text)),
        ))
    }
}

/// Text for an error message, cut to a readable length.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn parse_int(text: &str, path: &str, int32: bool) -> Result<Json, ApiError> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let n: i64 = t
        .parse()
        .map_err(|_| invalid(path, format!("expected an integer, got {:?}", shorten(text))))?;
    if int32 && i32::try_from(n).is_err() {
        return Err(invalid(path, format!("expected a 32-bit integer, got {n}")));
    }
    Ok(Json::from(n))
}

fn parse_bool(text: &str, path: &str) -> Result<Json, ApiError> {
    match text.trim() {
        "true" | "1" => Ok(Json::Bool(true)),
        "false" | "0" => Ok(Json::Bool(false)),
        _ => Err(invalid(
            path,
            format!("expected true, false, 1 or 0, got {:?}", shorten(text)),
        )),
    }
}

fn parse_double(text: &str, path: &str) -> Result<Json, ApiError> {
    let t = text.trim();
    let bad = || invalid(path, format!("expected a finite number, got {:?}", shorten(text)));
    // Rust also reads "inf" and "NaN"; JSON has no such numbers.
    let n: f64 = t.parse().map_err(|_| bad())?;
    serde_json::Number::from_f64(n).map(Json::Number).ok_or_else(bad)
}

fn parse_base64(text: &str, path: &str) -> Result<Json, ApiError> {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(&clean)
        .map_err(|e| invalid(path, format!("invalid base64: {e}")))?;
    Ok(Json::String(clean))
}

/// xsd:dateTime to RFC 3339: a time without a zone is taken as UTC.
fn parse_datetime(text: &str, path: &str) -> Result<Json, ApiError> {
    let t = text.trim();
    if parse_time(t).is_some() {
        return Ok(Json::String(t.to_string()));
    }
    let utc = format!("{t}Z");
    if parse_time(&utc).is_some() {
        return Ok(Json::String(utc));
    }
    Err(invalid(
        path,
        format!(
            "expected a date and time like 2024-01-31T12:00:00Z, got {:?}",
            shorten(text)
        ),
    ))
}

/// A structure: each child element is a field by local name.
fn struct_from_xml(node: &Node, def: &StructDef, path: &str) -> Result<Json, ApiError> {
    no_text(node, path)?;
    let fields = (def.fields)();
    let mut out = Map::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for child in &node.children {
        let Some(field) = fields.iter().find(|f| f.name == child.name) else {
            let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            return Err(invalid(
                path,
                format!(
                    "unknown element <{}> (expected one of: {})",
                    child.name,
                    known.join(", ")
                ),
            ));
        };
        let child_path = format!("{path}/{}", field.name);
        if let Some(item) = repeated_item(&field.xsd) {
            let list = out.entry(field.name.clone()).or_insert_with(|| Json::Array(Vec::new()));
            if let Json::Array(items) = list {
                let item_path = format!("{child_path}[{}]", items.len() + 1);
                if !child.nil {
                    items.push(value_from_xml(child, item, &item_path)?);
                }
            }
        } else {
            if !seen.insert(field.name.as_str()) {
                return Err(invalid(&child_path, "the element appears more than once"));
            }
            if !child.nil {
                out.insert(
                    field.name.clone(),
                    value_from_xml(child, strip_optional(&field.xsd), &child_path)?,
                );
            }
        }
    }
    Ok(Json::Object(out))
}

/// One typed value element (`<s>`, `<i>`, …) to its JSON form.
fn typed_value(node: &Node, path: &str) -> Result<Json, ApiError> {
    let text = leaf_text(node, path)?;
    match node.name.as_str() {
        "s" => Ok(Json::String(text.to_string())),
        "i" | "l" => parse_int(text, path, false),
        "b" => parse_bool(text, path),
        "d" => parse_double(text, path),
        "t" => parse_datetime(text, path),
        "bin" => parse_base64(text, path),
        _ => Err(invalid(path, "not a value element")),
    }
}

/// The value of a [`Xsd::PropValue`]: typed value children; one becomes a
/// JSON value, several an array, none null. Plain text is taken as a string.
fn any_value_from_xml(node: &Node, path: &str) -> Result<Json, ApiError> {
    if node.children.is_empty() && !node.text.trim().is_empty() {
        return Ok(Json::String(node.text.clone()));
    }
    no_text(node, path)?;
    let mut values = Vec::with_capacity(node.children.len());
    for child in &node.children {
        if !VALUE_ELEMENTS.contains(&child.name.as_str()) {
            return Err(invalid(
                path,
                format!(
                    "unknown element <{}> (a value is one of <s>, <i>, <l>, <b>, <d>, <t>, <bin>)",
                    child.name
                ),
            ));
        }
        if !child.nil {
            values.push(typed_value(child, &format!("{path}/{}", child.name))?);
        }
    }
    Ok(match values.len() {
        0 => Json::Null,
        1 => values.pop().unwrap_or(Json::Null),
        _ => Json::Array(values),
    })
}

/// A property set: `<prop>` children, each a `<tag>` and its values.
fn props_from_xml(node: &Node, path: &str) -> Result<Json, ApiError> {
    no_text(node, path)?;
    let mut out = Map::new();
    let mut seen: BTreeSet<PropTag> = BTreeSet::new();
    for (i, prop) in node.children.iter().enumerate() {
        if prop.name != "prop" {
            return Err(invalid(
                path,
                format!("unknown element <{}> (expected <prop>)", prop.name),
            ));
        }
        if prop.nil {
            continue;
        }
        let prop_path = format!("{path}/prop[{}]", i + 1);
        no_text(prop, &prop_path)?;
        let mut tag_text: Option<&str> = None;
        let mut values = Vec::new();
        for child in &prop.children {
            let child_path = format!("{prop_path}/{}", child.name);
            if child.name == "tag" {
                if tag_text.is_some() {
                    return Err(invalid(&child_path, "the element appears more than once"));
                }
                tag_text = Some(leaf_text(child, &child_path)?.trim());
            } else if VALUE_ELEMENTS.contains(&child.name.as_str()) {
                if !child.nil {
                    values.push(typed_value(child, &child_path)?);
                }
            } else {
                return Err(invalid(
                    &prop_path,
                    format!(
                        "unknown element <{}> (expected <tag> and one of <s>, <i>, <l>, <b>, <d>, <t>, <bin>)",
                        child.name
                    ),
                ));
            }
        }
        let text = tag_text.ok_or_else(|| invalid(&prop_path, "missing <tag>"))?;
        let tag = PropTag::parse(text).ok_or_else(|| {
            invalid(
                &format!("{prop_path}/tag"),
                format!(
                    "unknown property name or malformed tag {:?} (use 0x0037001F or PR_SUBJECT)",
                    shorten(text)
                ),
            )
        })?;
        if !seen.insert(tag) {
            return Err(invalid(
                &prop_path,
                format!("property {} is given more than once", tag.display_name()),
            ));
        }
        let value = if tag.ty() & MV_FLAG != 0 {
            Json::Array(values)
        } else {
            match values.len() {
                1 => values.pop().unwrap_or(Json::Null),
                0 => {
                    return Err(invalid(
                        &prop_path,
                        format!("property {} has no value", tag.display_name()),
                    ));
                }
                n => {
                    return Err(invalid(
                        &prop_path,
                        format!("property {} is single-valued but has {n} values", tag.display_name()),
                    ));
                }
            }
        };
        PropValue::from_json(tag, &value).map_err(|e| invalid(&prop_path, e))?;
        out.insert(text.to_string(), value);
    }
    Ok(Json::Object(out))
}

// ---- encoding ----------------------------------------------------------------

const ENVELOPE_OPEN: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>"#
);
const ENVELOPE_CLOSE: &str = "</soap:Body></soap:Envelope>\n";

/// Encodes a response (the JSON form of the operation's response type) as a
/// SOAP 1.1 envelope with the body element `<{op}Response xmlns="urn:okapi">`.
///
/// Fields appear in the order the schema declares them (the WSDL's
/// `xsd:sequence`); null and absent fields are left out; property tags are
/// written in hex. Values that do not match the schema (which the typed
/// response makes impossible) are written as their JSON text rather than lost.
pub fn encode_response(op: &Operation, response: &Json) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str(ENVELOPE_OPEN);
    let _ = write!(out, r#"<{}Response xmlns="{NAMESPACE}">"#, op.name);
    write_content(&mut out, &(op.response)(), response);
    let _ = write!(out, "</{}Response>", op.name);
    out.push_str(ENVELOPE_CLOSE);
    out
}

/// Encodes an error as a SOAP 1.1 Fault: `soap:Client` for the caller's
/// mistakes (4xx codes), `soap:Server` otherwise, with the MAPI code, its name
/// and the message in `<detail><mapiError xmlns="urn:okapi">`.
pub fn encode_fault(err: &ApiError) -> String {
    let status = err.code.http_status();
    let who = if (400..500).contains(&status) {
        "soap:Client"
    } else {
        "soap:Server"
    };
    let message = escape(&err.message);
    let mut out = String::with_capacity(512);
    out.push_str(ENVELOPE_OPEN);
    let _ = write!(
        out,
        "<soap:Fault><faultcode>{who}</faultcode><faultstring>{message}</faultstring><detail>\
         <mapiError xmlns=\"{NAMESPACE}\"><code>0x{:08X}</code><name>{}</name><message>{message}</message>\
         </mapiError></detail></soap:Fault>",
        err.code.value(),
        err.code.name(),
    );
    out.push_str(ENVELOPE_CLOSE);
    out
}

/// Writes the content of an element of shape `xsd` holding `value`.
fn write_content(out: &mut String, xsd: &Xsd, value: &Json) {
    match xsd {
        Xsd::Struct(def) => {
            for field in (def.fields)() {
                write_field(out, &field.name, &field.xsd, value.get(&field.name));
            }
        }
        Xsd::String | Xsd::Int | Xsd::Long | Xsd::Double | Xsd::Base64 => write_scalar(out, value),
        Xsd::Bool => match value {
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(if n.as_i64() == Some(0) { "false" } else { "true" }),
            other => write_scalar(out, other),
        },
        Xsd::Props => {
            if let Json::Object(props) = value {
                for (key, v) in props {
                    write_prop(out, key, v);
                }
            }
        }
        Xsd::PropValue => write_typed_values(out, None, value),
        Xsd::Optional(inner) => write_content(out, inner, value),
        Xsd::List(item) => {
            if let Json::Array(items) = value {
                for v in items.iter().filter(|v| !v.is_null()) {
                    out.push_str("<item>");
                    write_content(out, item, v);
                    out.push_str("</item>");
                }
            }
        }
    }
}

/// Writes a field: nothing when unset, the element repeated for a list.
fn write_field(out: &mut String, name: &str, xsd: &Xsd, value: Option<&Json>) {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return;
    };
    if let Some(item) = repeated_item(xsd) {
        match value {
            Json::Array(items) => {
                for v in items.iter().filter(|v| !v.is_null()) {
                    write_element(out, name, item, v);
                }
            }
            single => write_element(out, name, item, single),
        }
    } else {
        write_element(out, name, strip_optional(xsd), value);
    }
}

fn write_element(out: &mut String, name: &str, xsd: &Xsd, value: &Json) {
    let _ = write!(out, "<{name}>");
    write_content(out, xsd, value);
    let _ = write!(out, "</{name}>");
}

fn write_scalar(out: &mut String, value: &Json) {
    match value {
        Json::String(s) => escape_into(out, s),
        Json::Null => {}
        other => escape_into(out, &other.to_string()),
    }
}

/// One `<prop>`: the tag in hex, then its values.
fn write_prop(out: &mut String, key: &str, value: &Json) {
    let Some(tag) = PropTag::parse(key) else {
        tracing::warn!(
            tag = key,
            "response property with an unparsable tag left out of the SOAP response"
        );
        return;
    };
    let _ = write!(out, "<prop><tag>{}</tag>", tag.hex());
    write_typed_values(out, Some(tag.ty() & !MV_FLAG), value);
    out.push_str("</prop>");
}

/// The value element for a property type, or for a JSON value when the type
/// is not known.
fn value_element(ty: Option<u16>, value: &Json) -> &'static str {
    match ty {
        Some(PT_UNICODE | PT_STRING8) => "s",
        Some(PT_LONG | PT_SHORT) => "i",
        Some(PT_LONGLONG) => "l",
        Some(PT_BOOLEAN) => "b",
        Some(PT_DOUBLE) => "d",
        Some(PT_SYSTIME) => "t",
        Some(PT_BINARY) => "bin",
        _ => match value {
            Json::Bool(_) => "b",
            Json::Number(n) if n.is_i64() || n.is_u64() => "l",
            Json::Number(_) => "d",
            _ => "s",
        },
    }
}

/// Typed value elements; an array gives one element per item.
fn write_typed_values(out: &mut String, ty: Option<u16>, value: &Json) {
    let items: &[Json] = match value {
        Json::Array(items) => items,
        Json::Null => &[],
        single => std::slice::from_ref(single),
    };
    for item in items {
        let element = value_element(ty, item);
        let _ = write!(out, "<{element}>");
        match (element, item) {
            ("b", Json::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
            ("t", Json::Number(n)) => out.push_str(&format_time(n.as_i64().unwrap_or(0))),
            _ => write_scalar(out, item),
        }
        let _ = write!(out, "</{element}>");
    }
}

/// Escapes text for XML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// Escapes into `out`. Characters XML 1.0 cannot carry at all (most C0
/// controls, U+FFFE, U+FFFF) become U+FFFD, so the document stays well-formed.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

// ---- tests -------------------------------------------------------------------

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use crate::api::BoxFuture;
    use crate::api::schema::Schema;
    use crate::api::types::*;
    use crate::ops::Ctx;
    use serde_json::json;

    fn stub<'a>(_: &'a Ctx, _: Json) -> BoxFuture<'a, Result<Json, ApiError>> {
        Box::pin(async { Ok(Json::Null) })
    }

    macro_rules! op {
        ($name:literal, $doc:literal, $req:ty, $resp:ty) => {
            Operation {
                name: $name,
                doc: $doc,
                request: <$req as Schema>::xsd,
                response: <$resp as Schema>::xsd,
                call: stub,
            }
        };
    }

    /// A plausible operation table using every request and response type.
    pub(crate) fn ops() -> Vec<Operation> {
        vec![
            op!(
                "logon",
                "Logs on with user name and password; returns a session id.",
                LogonRequest,
                LogonResponse
            ),
            op!("logoff", "Ends a session.", SessionRequest, Empty),
            op!(
                "getStore",
                "Opens a store and lists its standard folders.",
                GetStoreRequest,
                GetStoreResponse
            ),
            op!(
                "getHierarchy",
                "Lists the subfolders of a folder.",
                GetHierarchyRequest,
                GetHierarchyResponse
            ),
            op!(
                "createFolder",
                "Creates a folder.",
                CreateFolderRequest,
                EntryIdResponse
            ),
            op!("renameFolder", "Renames a folder.", RenameFolderRequest, Empty),
            op!("moveFolder", "Moves a folder under another.", MoveFolderRequest, Empty),
            op!("deleteFolder", "Deletes a folder.", FolderDeleteRequest, Empty),
            op!(
                "emptyFolder",
                "Deletes the contents of a folder.",
                FolderDeleteRequest,
                Empty
            ),
            op!(
                "queryRows",
                "Lists a page of a folder's messages, filtered & sorted.",
                QueryRowsRequest,
                QueryRowsResponse
            ),
            op!(
                "loadObject",
                "Reads a message with recipients and attachments.",
                LoadObjectRequest,
                LoadObjectResponse
            ),
            op!(
                "saveObject",
                "Creates or updates a message.",
                SaveObjectRequest,
                EntryIdResponse
            ),
            op!(
                "getAttachment",
                "Reads an attachment's bytes.",
                GetAttachmentRequest,
                GetAttachmentResponse
            ),
            op!("deleteObjects", "Deletes messages.", DeleteObjectsRequest, Empty),
            op!(
                "moveObjects",
                "Moves messages into another folder.",
                MoveObjectsRequest,
                EntryIdsResponse
            ),
            op!(
                "copyObjects",
                "Copies messages into another folder.",
                MoveObjectsRequest,
                EntryIdsResponse
            ),
            op!(
                "setReadFlags",
                "Marks messages read or unread.",
                SetReadFlagsRequest,
                Empty
            ),
            op!(
                "submitMessage",
                "Queues a message for sending.",
                LoadObjectRequest,
                Empty
            ),
            op!(
                "getChanges",
                "Lists changes since a sync state.",
                GetChangesRequest,
                GetChangesResponse
            ),
            op!(
                "notify",
                "Waits for events of the session.",
                NotifyRequest,
                NotifyResponse
            ),
            op!(
                "resolveNames",
                "Looks names up in the address list.",
                ResolveNamesRequest,
                ResolveNamesResponse
            ),
            op!(
                "getPermissions",
                "Lists a folder's permissions.",
                GetPermissionsRequest,
                GetPermissionsResponse
            ),
            op!(
                "setPermissions",
                "Sets a folder's permissions.",
                SetPermissionsRequest,
                Empty
            ),
            op!("userAdd", "Creates a user.", UserAddRequest, Empty),
            op!("userSet", "Changes a user.", UserSetRequest, Empty),
            op!("userDelete", "Deletes a user.", NameRequest, Empty),
            op!("userList", "Lists users.", AdminRequest, UserListResponse),
            op!("userShow", "Shows a user.", NameRequest, UserShowResponse),
            op!("groupAdd", "Creates a group.", NameRequest, Empty),
            op!("groupDelete", "Deletes a group.", NameRequest, Empty),
            op!("groupList", "Lists groups.", AdminRequest, GroupListResponse),
            op!("groupAddUser", "Adds a user to a group.", GroupMemberRequest, Empty),
            op!(
                "groupDelUser",
                "Removes a user from a group.",
                GroupMemberRequest,
                Empty
            ),
            op!("quotaSet", "Sets a user's quota.", QuotaSetRequest, Empty),
            op!("quotaShow", "Shows a user's quota.", NameRequest, QuotaInfo),
            op!("storeList", "Lists stores.", AdminRequest, StoreListResponse),
        ]
    }

    fn decode(body: &str) -> Result<(&'static str, Json), ApiError> {
        let table: &'static [Operation] = Box::leak(ops().into_boxed_slice());
        decode_request(body.as_bytes(), |name| table.iter().find(|o| o.name == name)).map(|(op, v)| (op.name, v))
    }

    fn envelope(inner: &str) -> String {
        format!(
            r#"<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>{inner}</soap:Body></soap:Envelope>"#
        )
    }

    fn find_op(name: &str) -> Operation {
        ops().into_iter().find(|o| o.name == name).unwrap()
    }

    /// Encodes a response, then reads it back as if it were a request of the
    /// response type: the JSON must survive unchanged.
    fn response_round_trip(name: &str, response: Json) {
        let op = find_op(name);
        let xml = encode_response(&op, &response);
        let back = Operation {
            name: "x",
            doc: "",
            request: op.response,
            response: op.response,
            call: stub,
        };
        let body = xml.replace(&format!("{name}Response"), "x");
        let (_, json) = decode_request(body.as_bytes(), |n| (n == "x").then_some(&back)).unwrap();
        assert_eq!(json, response, "XML was {xml}");
    }

    fn err(body: &str) -> ApiError {
        decode(body).unwrap_err()
    }

    // -- fixtures captured from real SOAP clients against the generated WSDL --

    /// zeep 4.3.3 against the generated WSDL:
    /// `client.create_message(client.service, 'logon', user='alice', password='s3cret & <x>')`.
    const ZEEP_LOGON: &str = r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:logon xmlns:ns0="urn:okapi"><ns0:user>alice</ns0:user><ns0:password>s3cret &amp; &lt;x&gt;</ns0:password></ns0:logon></soap-env:Body></soap-env:Envelope>"#;
    /// zeep: `getHierarchy(session='s', folder='f', depth=2)`.
    const ZEEP_GET_HIERARCHY: &str = r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:getHierarchy xmlns:ns0="urn:okapi"><ns0:session>s</ns0:session><ns0:folder>f</ns0:folder><ns0:depth>2</ns0:depth></ns0:getHierarchy></soap-env:Body></soap-env:Envelope>"#;
    /// zeep: the brief's queryRows call.
    const ZEEP_QUERY_ROWS: &str = r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:queryRows xmlns:ns0="urn:okapi"><ns0:session>s</ns0:session><ns0:folder>f</ns0:folder><ns0:columns>PR_SUBJECT</ns0:columns><ns0:sort><ns0:tag>PR_MESSAGE_DELIVERY_TIME</ns0:tag><ns0:descending>true</ns0:descending></ns0:sort><ns0:limit>5</ns0:limit></ns0:queryRows></soap-env:Body></soap-env:Envelope>"#;
    /// zeep: queryRows with a nested restriction.
    const ZEEP_QUERY_ROWS_RESTRICTION: &str = r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:queryRows xmlns:ns0="urn:okapi"><ns0:session>s</ns0:session><ns0:folder>f</ns0:folder><ns0:columns>PR_SUBJECT</ns0:columns><ns0:columns>PR_MESSAGE_SIZE</ns0:columns><ns0:restriction><ns0:and><ns0:compare><ns0:tag>PR_MESSAGE_SIZE</ns0:tag><ns0:op>&gt;</ns0:op><ns0:value><ns0:l>1024</ns0:l></ns0:value></ns0:compare></ns0:and><ns0:and><ns0:not><ns0:content><ns0:tag>PR_SUBJECT</ns0:tag><ns0:value>spam</ns0:value><ns0:mode>prefix</ns0:mode></ns0:content></ns0:not></ns0:and><ns0:and><ns0:or><ns0:exists>PR_HASATTACH</ns0:exists></ns0:or><ns0:or><ns0:bitmask><ns0:tag>PR_MESSAGE_FLAGS</ns0:tag><ns0:mask>1</ns0:mask><ns0:zero>true</ns0:zero></ns0:bitmask></ns0:or></ns0:and></ns0:restriction><ns0:offset>0</ns0:offset><ns0:limit>50</ns0:limit></ns0:queryRows></soap-env:Body></soap-env:Envelope>"#;
    /// zeep: saveObject with props, a recipient and an attachment.
    const ZEEP_SAVE_OBJECT: &str = r#"<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:saveObject xmlns:ns0="urn:okapi"><ns0:session>s</ns0:session><ns0:folder>drafts</ns0:folder><ns0:props><ns0:prop><ns0:tag>PR_SUBJECT</ns0:tag><ns0:s>Hello</ns0:s></ns0:prop><ns0:prop><ns0:tag>PR_IMPORTANCE</ns0:tag><ns0:i>2</ns0:i></ns0:prop><ns0:prop><ns0:tag>0x8001101F</ns0:tag><ns0:s>a</ns0:s><ns0:s>b</ns0:s></ns0:prop><ns0:prop><ns0:tag>PR_CLIENT_SUBMIT_TIME</ns0:tag><ns0:t>2024-01-02T03:04:05Z</ns0:t></ns0:prop></ns0:props><ns0:recipients><ns0:recipientType>1</ns0:recipientType><ns0:displayName>Bob</ns0:displayName><ns0:address>bob@example.org</ns0:address></ns0:recipients><ns0:attachments><ns0:filename>a.txt</ns0:filename><ns0:mimeType>text/plain</ns0:mimeType><ns0:data>aGVsbG8=</ns0:data></ns0:attachments></ns0:saveObject></soap-env:Body></soap-env:Envelope>"#;
    /// PHP 8.2 SoapClient against the generated WSDL, as sent to a local listener:
    /// `$c->logon(['user' => 'alice', 'password' => 's3cret'])`.
    const PHP_LOGON: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:okapi"><SOAP-ENV:Body><ns1:logon><ns1:user>alice</ns1:user><ns1:password>s3cret</ns1:password></ns1:logon></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
    /// PHP SoapClient: queryRows with columns, sort keys and limit.
    const PHP_QUERY_ROWS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:okapi"><SOAP-ENV:Body><ns1:queryRows><ns1:session>s</ns1:session><ns1:folder>f</ns1:folder><ns1:columns>PR_SUBJECT</ns1:columns><ns1:columns>0x0E060040</ns1:columns><ns1:sort><ns1:tag>PR_MESSAGE_DELIVERY_TIME</ns1:tag><ns1:descending>true</ns1:descending></ns1:sort><ns1:sort><ns1:tag>PR_SUBJECT</ns1:tag></ns1:sort><ns1:limit>5</ns1:limit></ns1:queryRows></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;
    /// PHP SoapClient: saveObject with props and an attachment.
    const PHP_SAVE_OBJECT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="urn:okapi"><SOAP-ENV:Body><ns1:saveObject><ns1:session>s</ns1:session><ns1:entryId>e1</ns1:entryId><ns1:props><ns1:prop><ns1:tag>PR_SUBJECT</ns1:tag><ns1:s>Grüße</ns1:s></ns1:prop><ns1:prop><ns1:tag>PR_HASATTACH</ns1:tag><ns1:b>true</ns1:b></ns1:prop></ns1:props><ns1:deleteProps>PR_BODY</ns1:deleteProps><ns1:attachments><ns1:filename>a.bin</ns1:filename><ns1:data>AAEC/w==</ns1:data></ns1:attachments><ns1:deleteAttachments>1</ns1:deleteAttachments><ns1:deleteAttachments>2</ns1:deleteAttachments></ns1:saveObject></SOAP-ENV:Body></SOAP-ENV:Envelope>"#;

    #[test]
    fn zeep_logon_decodes() {
        let (op, json) = decode(ZEEP_LOGON).unwrap();
        assert_eq!(op, "logon");
        assert_eq!(json, json!({"user": "alice", "password": "s3cret & <x>"}));
    }

    #[test]
    fn zeep_get_hierarchy_decodes() {
        let (op, json) = decode(ZEEP_GET_HIERARCHY).unwrap();
        assert_eq!(op, "getHierarchy");
        assert_eq!(json, json!({"session": "s", "folder": "f", "depth": 2}));
    }

    #[test]
    fn zeep_query_rows_decodes() {
        let (op, json) = decode(ZEEP_QUERY_ROWS).unwrap();
        assert_eq!(op, "queryRows");
        assert_eq!(
            json,
            json!({"session": "s", "folder": "f", "columns": ["PR_SUBJECT"],
                   "sort": [{"tag": "PR_MESSAGE_DELIVERY_TIME", "descending": true}], "limit": 5})
        );
        let typed: QueryRowsRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.limit, Some(5));
    }

    #[test]
    fn zeep_query_rows_with_restriction_decodes() {
        let (_, json) = decode(ZEEP_QUERY_ROWS_RESTRICTION).unwrap();
        assert_eq!(
            json,
            json!({"session": "s", "folder": "f", "columns": ["PR_SUBJECT", "PR_MESSAGE_SIZE"],
                "restriction": {"and": [
                    {"compare": {"tag": "PR_MESSAGE_SIZE", "op": ">", "value": 1024}},
                    {"not": {"content": {"tag": "PR_SUBJECT", "value": "spam", "mode": "prefix"}}},
                    {"or": [{"exists": "PR_HASATTACH"},
                            {"bitmask": {"tag": "PR_MESSAGE_FLAGS", "mask": 1, "zero": true}}]}
                ]}, "offset": 0, "limit": 50})
        );
        let typed: QueryRowsRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.restriction.unwrap().and.len(), 3);
    }

    #[test]
    fn zeep_save_object_decodes() {
        let (_, json) = decode(ZEEP_SAVE_OBJECT).unwrap();
        assert_eq!(
            json,
            json!({"session": "s", "folder": "drafts",
                "props": {"PR_SUBJECT": "Hello", "PR_IMPORTANCE": 2, "0x8001101F": ["a", "b"],
                          "PR_CLIENT_SUBMIT_TIME": "2024-01-02T03:04:05Z"},
                "recipients": [{"recipientType": 1, "displayName": "Bob", "address": "bob@example.org"}],
                "attachments": [{"filename": "a.txt", "mimeType": "text/plain", "data": "aGVsbG8="}]})
        );
        let typed: SaveObjectRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.attachments[0].data.0, b"hello");
        assert_eq!(typed.props.0.len(), 4);
    }

    #[test]
    fn php_logon_decodes() {
        let (op, json) = decode(PHP_LOGON).unwrap();
        assert_eq!(op, "logon");
        assert_eq!(json, json!({"user": "alice", "password": "s3cret"}));
    }

    #[test]
    fn php_query_rows_decodes() {
        let (_, json) = decode(PHP_QUERY_ROWS).unwrap();
        assert_eq!(
            json,
            json!({"session": "s", "folder": "f", "columns": ["PR_SUBJECT", "0x0E060040"],
                   "sort": [{"tag": "PR_MESSAGE_DELIVERY_TIME", "descending": true}, {"tag": "PR_SUBJECT"}],
                   "limit": 5})
        );
    }

    #[test]
    fn php_save_object_decodes() {
        let (_, json) = decode(PHP_SAVE_OBJECT).unwrap();
        assert_eq!(
            json,
            json!({"session": "s", "entryId": "e1",
                "props": {"PR_SUBJECT": "Grüße", "PR_HASATTACH": true},
                "deleteProps": ["PR_BODY"],
                "attachments": [{"filename": "a.bin", "data": "AAEC/w=="}],
                "deleteAttachments": [1, 2]})
        );
        let typed: SaveObjectRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.attachments[0].data.0, vec![0, 1, 2, 255]);
    }

    // -- round trips ------------------------------------------------------------

    #[test]
    fn query_rows_response_round_trips() {
        response_round_trip(
            "queryRows",
            json!({"total": 2, "rows": [
                {"entryId": "e1", "props": {"0x0037001F": "a < b & c", "0x0E060040": "2024-01-02T03:04:05Z",
                                            "0x0E080003": 1234, "0x0E1B000B": true}},
                {"entryId": "e2", "props": {}}
            ]}),
        );
    }

    #[test]
    fn load_object_response_round_trips() {
        response_round_trip(
            "loadObject",
            json!({"entryId": "e1", "folder": "f",
                "props": {"0x10130102": "PGh0bWw+", "0x8003101F": ["x", "y"], "0x80041003": [1, 2, 3],
                          "0x80050005": 1.5, "0x80060014": 9_007_199_254_740_993_i64, "0x80071040": []},
                "recipients": [
                    {"recipientType": 1, "displayName": "Bob", "address": "bob@example.org"},
                    {"recipientType": 2, "displayName": "Eve", "address": "eve@example.org",
                     "props": {"0x39FE001F": "eve@example.org"}}],
                "attachments": [{"attachNum": 0, "filename": "a.txt", "mimeType": "text/plain", "size": 5,
                                 "contentId": "", "inline": false}]}),
        );
    }

    #[test]
    fn hierarchy_and_admin_responses_round_trip() {
        response_round_trip(
            "getHierarchy",
            json!({"folders": [{"entryId": "a", "parentEntryId": "r", "displayName": "Inbox",
                "containerClass": "IPF.Note", "contentCount": 3, "unreadCount": 1, "hasSubfolders": true, "depth": 1}]}),
        );
        response_round_trip(
            "logon",
            json!({"session": "s", "displayName": "Ä \"q\"", "sessionTimeout": 900}),
        );
        // An empty list encodes as no elements and decodes as an absent field,
        // so `groups` is left out here.
        response_round_trip(
            "userShow",
            json!({"user": {"login": "a", "displayName": "A", "address": "a@x", "aliases": ["b@x", "c@x"],
                "admin": false, "quotaHard": 100, "storeSize": 0}}),
        );
        response_round_trip("logoff", json!({}));
    }

    #[test]
    fn requests_round_trip_through_the_response_encoder() {
        // Encoding a request with the request schema and decoding it again
        // exercises nested restrictions, sort keys and props on the request side.
        let op = find_op("queryRows");
        let request = json!({"session": "s", "folder": "f", "columns": ["PR_SUBJECT"],
            "sort": [{"tag": "PR_MESSAGE_DELIVERY_TIME", "descending": true}],
            "restriction": {"or": [
                {"and": [{"not": {"exists": "PR_BODY"}}, {"compare": {"tag": "PR_SUBJECT", "op": "=", "value": "x"}}]},
                {"compare": {"tag": "PR_MESSAGE_DELIVERY_TIME", "op": ">=", "value": ["a", "b"]}}]},
            "limit": 10});
        let as_response = Operation {
            name: "queryRows",
            doc: "",
            request: op.request,
            response: op.request,
            call: stub,
        };
        let xml = encode_response(&as_response, &request).replace("queryRowsResponse", "queryRows");
        let (_, back) = decode(&xml).unwrap();
        assert_eq!(back, request);
    }

    #[test]
    fn encoded_props_use_hex_tags_and_typed_elements() {
        let op = find_op("queryRows");
        let xml = encode_response(
            &op,
            &json!({"total": 1, "rows": [{"entryId": "e", "props": {"PR_SUBJECT": "x", "PR_IMPORTANCE": 1,
                "PR_HASATTACH": false, "PR_CLIENT_SUBMIT_TIME": "2024-01-02T03:04:05Z", "PR_HTML": "AA==",
                "0x8001101F": ["a", "b"]}}]}),
        );
        assert!(xml.starts_with("<?xml"));
        assert!(
            xml.contains(r#"<queryRowsResponse xmlns="urn:okapi"><total>1</total><rows><entryId>e</entryId><props>"#)
        );
        assert!(xml.contains("<prop><tag>0x0037001F</tag><s>x</s></prop>"));
        assert!(xml.contains("<prop><tag>0x00170003</tag><i>1</i></prop>"));
        assert!(xml.contains("<prop><tag>0x0E1B000B</tag><b>false</b></prop>"));
        assert!(xml.contains("<prop><tag>0x00390040</tag><t>2024-01-02T03:04:05Z</t></prop>"));
        assert!(xml.contains("<prop><tag>0x10130102</tag><bin>AA==</bin></prop>"));
        assert!(xml.contains("<prop><tag>0x8001101F</tag><s>a</s><s>b</s></prop>"));
    }

    #[test]
    fn encoding_escapes_and_keeps_xml_well_formed() {
        let op = find_op("logon");
        let xml = encode_response(
            &op,
            &json!({"session": "<&>\"", "displayName": "a\u{1}b\r\n", "sessionTimeout": 1}),
        );
        assert!(xml.contains("<session>&lt;&amp;&gt;&quot;</session>"));
        assert!(xml.contains("<displayName>a\u{FFFD}b&#13;\n</displayName>"));
        assert!(parse_tree(xml.as_bytes()).is_ok());
    }

    #[test]
    fn optional_fields_are_left_out_when_null() {
        let op = find_op("notify");
        let xml = encode_response(
            &op,
            &json!({"events": [{"kind": "newMail", "entryId": "e", "folder": "f", "oldFolder": null}]}),
        );
        assert!(!xml.contains("oldFolder"), "{xml}");
        assert!(xml.contains("<events><kind>newMail</kind><entryId>e</entryId><folder>f</folder></events>"));
    }

    // -- faults ---------------------------------------------------------------------

    #[test]
    fn faults_carry_the_mapi_code() {
        let xml = encode_fault(&ApiError::not_found("no folder with entry id <x>"));
        assert!(xml.contains("<faultcode>soap:Client</faultcode>"));
        assert!(xml.contains("<faultstring>no folder with entry id &lt;x&gt;</faultstring>"));
        assert!(xml.contains(
            r#"<detail><mapiError xmlns="urn:okapi"><code>0x8004010F</code><name>MAPI_E_NOT_FOUND</name><message>no folder with entry id &lt;x&gt;</message></mapiError></detail>"#
        ));
        let server = encode_fault(&ApiError::new(MapiCode::NetworkError, "database down"));
        assert!(server.contains("<faultcode>soap:Server</faultcode>"));
        assert!(server.contains("<code>0x80040115</code>"));
        assert!(parse_tree(server.as_bytes()).is_ok());
    }

    // -- errors -------------------------------------------------------------------

    #[test]
    fn bad_values_name_the_element_path() {
        let e = err(&envelope(
            "<queryRows><session>s</session><limit>ten</limit></queryRows>",
        ));
        assert_eq!(e.code, MapiCode::InvalidParameter);
        assert_eq!(e.message, r#"queryRows/limit: expected an integer, got "ten""#);

        let e = err(&envelope(
            "<queryRows><sort><tag>x</tag></sort><sort><descending>maybe</descending></sort></queryRows>",
        ));
        assert_eq!(
            e.message,
            r#"queryRows/sort[2]/descending: expected true, false, 1 or 0, got "maybe""#
        );

        let e = err(&envelope("<getHierarchy><depth>99999999999</depth></getHierarchy>"));
        assert!(
            e.message.starts_with("getHierarchy/depth: expected a 32-bit integer"),
            "{}",
            e.message
        );

        let e = err(&envelope(
            "<saveObject><attachments><data>!!notbase64</data></attachments></saveObject>",
        ));
        assert!(
            e.message.starts_with("saveObject/attachments[1]/data: invalid base64"),
            "{}",
            e.message
        );

        let e = err(&envelope(
            "<saveObject><props><prop><tag>PR_SUBJECT</tag><i>5</i></prop></props></saveObject>",
        ));
        assert!(
            e.message
                .starts_with("saveObject/props/prop[1]: property PR_SUBJECT: expected a string"),
            "{}",
            e.message
        );

        let e = err(&envelope(
            "<saveObject><props><prop><tag>PR_NOPE</tag><s>5</s></prop></props></saveObject>",
        ));
        assert!(
            e.message
                .starts_with("saveObject/props/prop[1]/tag: unknown property name"),
            "{}",
            e.message
        );

        let e = err(&envelope(
            "<saveObject><props><prop><tag>PR_SUBJECT</tag><s>a</s><s>b</s></prop></props></saveObject>",
        ));
        assert!(e.message.contains("single-valued but has 2 values"), "{}", e.message);

        let e = err(&envelope(
            "<saveObject><props><prop><tag>PR_SUBJECT</tag><s>a</s></prop><prop><tag>0x0037001F</tag><s>b</s></prop></props></saveObject>",
        ));
        assert!(e.message.contains("given more than once"), "{}", e.message);

        let e = err(&envelope(
            "<saveObject><props><prop><s>a</s></prop></props></saveObject>",
        ));
        assert_eq!(e.message, "saveObject/props/prop[1]: missing <tag>");

        let e = err(&envelope("<logon><user>a</user><user>b</user></logon>"));
        assert_eq!(e.message, "logon/user: the element appears more than once");

        let e = err(&envelope("<logon><user><b>x</b></user></logon>"));
        assert_eq!(e.message, "logon/user: expected a value, found the element <b>");

        let e = err(&envelope("<setReadFlags><read>yes</read></setReadFlags>"));
        assert_eq!(e.code, MapiCode::InvalidParameter);
    }

    #[test]
    fn unknown_elements_and_operations_are_refused() {
        let e = err(&envelope("<logon><user>a</user><pasword>x</pasword></logon>"));
        assert_eq!(e.code, MapiCode::InvalidParameter);
        assert_eq!(
            e.message,
            "logon: unknown element <pasword> (expected one of: user, password)"
        );

        let e = err(&envelope("<launchMissiles/>"));
        assert_eq!(e.code, MapiCode::UnknownOperation);
        assert!(e.message.contains("`launchMissiles`"));
    }

    #[test]
    fn envelope_problems_are_corrupt_data() {
        for (body, needle) in [
            ("", "empty"),
            ("<a/>", "not a SOAP Envelope"),
            ("<Envelope><Body><logon/></Body></Envelope>", "namespace"),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>"#,
                "no Body",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body> </s:Body></s:Envelope>"#,
                "Body is empty",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><logon>"#,
                "ends inside",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body></x></s:Body></s:Envelope>"#,
                "line 1, column",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><q:logon/></s:Body></s:Envelope>"#,
                "undeclared namespace prefix `q`",
            ),
            (
                "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n<x>&a;</x>",
                "DOCTYPE",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><logon><user>&xxe;</user></logon></s:Body></s:Envelope>"#,
                "undefined entity",
            ),
            (
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/><x/>"#,
                "after its root",
            ),
        ] {
            let e = err(body);
            assert_eq!(e.code, MapiCode::Corrupt, "{body}: {e}");
            assert!(e.message.contains(needle), "{body}: {}", e.message);
        }
    }

    /// A body of millions of tiny elements is refused while it is read,
    /// with the limit named, before a tree of that size exists.
    #[test]
    fn too_many_elements_are_refused() {
        let many = "<a/>".repeat(MAX_NODES + 1);
        let e = err(&envelope(&format!("<logon>{many}</logon>")));
        assert_eq!(e.code, MapiCode::TooBig);
        assert!(e.message.contains("more than 200000 XML elements"), "{}", e.message);
        let raw = "<a/>".repeat(MAX_NODES + 1);
        assert_eq!(err(&raw).code, MapiCode::TooBig);
        // Tags inside CDATA are text, not elements.
        let html = format!("<![CDATA[{}]]>", "<p>".repeat(MAX_NODES + 1));
        let decoded = decode(&envelope(&format!("<logon><user>{html}</user></logon>")));
        assert!(
            decoded.as_ref().map_or_else(|e| e.code != MapiCode::TooBig, |_| true),
            "{decoded:?}"
        );
        let enough = "<a/>".repeat(1000);
        let e = err(&envelope(&format!("<logon>{enough}</logon>")));
        assert_ne!(e.code, MapiCode::TooBig, "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut inner = String::from("<exists>x</exists>");
        for _ in 0..100 {
            inner = format!("<not>{inner}</not>");
        }
        let e = err(&envelope(&format!(
            "<queryRows><restriction>{inner}</restriction></queryRows>"
        )));
        assert_eq!(e.code, MapiCode::Corrupt);
        assert!(e.message.contains("deeper than 64"), "{}", e.message);
        // A sensible depth is fine.
        let mut inner = String::from("<exists>x</exists>");
        for _ in 0..20 {
            inner = format!("<not>{inner}</not>");
        }
        assert!(
            decode(&envelope(&format!(
                "<queryRows><restriction>{inner}</restriction></queryRows>"
            )))
            .is_ok()
        );
    }

    #[test]
    fn soap12_prefixes_nil_and_header_are_handled() {
        let body = r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"
                xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
            <env:Header><auth xmlns="urn:x"><token>t</token></auth></env:Header>
            <env:Body>
              <o:getStore xmlns:o="urn:okapi"><o:session>s<![CDATA[<1>]]>&#x41;&amp;</o:session><o:user xsi:nil="true"/></o:getStore>
            </env:Body></env:Envelope>"#;
        let (op, json) = decode(body).unwrap();
        assert_eq!(op, "getStore");
        assert_eq!(json, json!({"session": "s<1>A&"}));
    }

    #[test]
    fn property_values_of_every_kind_decode() {
        let body = envelope(
            "<saveObject><props>\
               <prop><tag>0x0037001F</tag><s> spaced </s></prop>\
               <prop><tag>PR_MESSAGE_FLAGS</tag><i>4294967295</i></prop>\
               <prop><tag>0x80010014</tag><l>-5</l></prop>\
               <prop><tag>0x8002000B</tag><b>1</b></prop>\
               <prop><tag>0x80030005</tag><d>2.5e1</d></prop>\
               <prop><tag>PR_START_DATE</tag><t>2024-01-02T03:04:05.5</t></prop>\
               <prop><tag>PR_HTML</tag><bin>AAE\n C/w==</bin></prop>\
               <prop><tag>0x80041102</tag></prop>\
               <prop><tag>0x80051040</tag><t>2024-01-02T03:04:05+02:00</t></prop>\
             </props></saveObject>",
        );
        let (_, json) = decode(&body).unwrap();
        assert_eq!(
            json["props"],
            json!({"0x0037001F": " spaced ", "PR_MESSAGE_FLAGS": 4294967295_i64, "0x80010014": -5, "0x8002000B": true,
                   "0x80030005": 25.0, "PR_START_DATE": "2024-01-02T03:04:05.5Z", "PR_HTML": "AAEC/w==",
                   "0x80041102": [], "0x80051040": ["2024-01-02T03:04:05+02:00"]})
        );
        let typed: SaveObjectRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.props.0.len(), 9);
    }

    #[test]
    fn empty_list_and_optional_list_fields() {
        // Absent lists are left out (serde's default gives an empty Vec); a
        // present optional list becomes an array.
        let (_, json) = decode(&envelope(
            "<userSet><login>a</login><aliases>x@y</aliases><aliases>z@y</aliases></userSet>",
        ))
        .unwrap();
        assert_eq!(json, json!({"login": "a", "aliases": ["x@y", "z@y"]}));
        let typed: UserSetRequest = serde_json::from_value(json).unwrap();
        assert_eq!(typed.aliases.unwrap().len(), 2);
        let (_, json) = decode(&envelope("<resolveNames><session>s</session></resolveNames>")).unwrap();
        let typed: ResolveNamesRequest = serde_json::from_value(json).unwrap();
        assert!(typed.names.is_empty());
    }

    /// Random and truncated input never panics; it fails with an error or,
    /// for a lucky prefix, decodes.
    #[test]
    fn hostile_bytes_never_panic() {
        let samples = [
            ZEEP_QUERY_ROWS,
            ZEEP_SAVE_OBJECT,
            PHP_QUERY_ROWS,
            ZEEP_QUERY_ROWS_RESTRICTION,
        ];
        for sample in samples {
            let bytes = sample.as_bytes();
            for cut in 0..bytes.len() {
                let _ = decode_bytes(&bytes[..cut]);
            }
        }
        // A small xorshift generator: deterministic, no extra dependency.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"<>/=\"' &;#x:!?[]-abcdeEnvlopBdysoaptg0123456789\n\xff\xc3";
        for _ in 0..3000 {
            let len = (next() % 200) as usize;
            let junk: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = decode_bytes(&junk);
            // Mutations of a valid request.
            let mut bytes = ZEEP_SAVE_OBJECT.as_bytes().to_vec();
            for _ in 0..4 {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = alphabet[(next() % alphabet.len() as u64) as usize];
            }
            let _ = decode_bytes(&bytes);
        }
    }

    fn decode_bytes(body: &[u8]) -> Result<Json, ApiError> {
        let table = ops();
        decode_request(body, |name| table.iter().find(|o| o.name == name)).map(|(_, v)| v)
    }
}
