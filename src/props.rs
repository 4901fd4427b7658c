//! MAPI properties: tags, typed values, well-known names, and the compact
//! encoding of the per-object property bag.
//!
//! A tag is 32 bits: the high 16 are the property id, the low 16 its type
//! (`0x0037001F` is PR_SUBJECT, a unicode string). Ids from 0x8000 up are named
//! properties, mapped per database by the store's bounded named-property table.
//! The store keeps the hot properties in columns and all others in one bag per
//! object, encoded by [`encode_bag`]; nobody but the store reads the bag bytes.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::Value as Json;

/// PT_SHORT
pub const PT_SHORT: u16 = 0x0002;
/// PT_LONG
pub const PT_LONG: u16 = 0x0003;
/// PT_DOUBLE
pub const PT_DOUBLE: u16 = 0x0005;
/// PT_ERROR (used in rows for a property that is not set)
pub const PT_ERROR: u16 = 0x000A;
/// PT_BOOLEAN
pub const PT_BOOLEAN: u16 = 0x000B;
/// PT_LONGLONG
pub const PT_LONGLONG: u16 = 0x0014;
/// PT_STRING8 (treated as UTF-8, like PT_UNICODE)
pub const PT_STRING8: u16 = 0x001E;
/// PT_UNICODE
pub const PT_UNICODE: u16 = 0x001F;
/// PT_SYSTIME
pub const PT_SYSTIME: u16 = 0x0040;
/// PT_BINARY
pub const PT_BINARY: u16 = 0x0102;
/// Flag for multi-valued types.
pub const MV_FLAG: u16 = 0x1000;

/// A property tag: id in the high half, type in the low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PropTag(pub u32);

impl PropTag {
    /// A tag from id and type.
    pub const fn new(id: u16, ty: u16) -> Self {
        PropTag(((id as u32) << 16) | ty as u32)
    }
    /// The property id.
    pub fn id(self) -> u16 {
        (self.0 >> 16) as u16
    }
    /// The property type.
    pub fn ty(self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }
    /// True for named properties (id 0x8000 and up).
    pub fn is_named(self) -> bool {
        self.id() >= 0x8000
    }
    /// Parses `0x0037001F`, `0037001F`, or a well-known name like `PR_SUBJECT`.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        if let Some(tag) = tag_by_name(t) {
            return Some(tag);
        }
        let hex = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        if hex.len() == 8 {
            u32::from_str_radix(hex, 16).ok().map(PropTag)
        } else {
            None
        }
    }
    /// `0x0037001F`
    pub fn hex(self) -> String {
        format!("0x{:08X}", self.0)
    }
    /// The well-known name if there is one, else the hex form.
    pub fn display_name(self) -> String {
        name_of_tag(self).map(str::to_string).unwrap_or_else(|| self.hex())
    }
}

macro_rules! known_tags {
    ($($name:ident = $val:expr;)*) => {
        $(
            #[allow(missing_docs)]
            pub const $name: PropTag = PropTag($val);
        )*
        /// Every well-known tag with its name.
        pub const KNOWN_TAGS: &[(&str, PropTag)] = &[$((stringify!($name), PropTag($val)),)*];
    };
}

known_tags! {
    PR_MESSAGE_CLASS = 0x001A001F;
    PR_SUBJECT = 0x0037001F;
    PR_SENT_REPRESENTING_NAME = 0x0042001F;
    PR_SENT_REPRESENTING_EMAIL_ADDRESS = 0x0065001F;
    PR_IMPORTANCE = 0x00170003;
    PR_PRIORITY = 0x00260003;
    PR_SENSITIVITY = 0x00360003;
    PR_CLIENT_SUBMIT_TIME = 0x00390040;
    PR_CONVERSATION_TOPIC = 0x0070001F;
    PR_CONVERSATION_INDEX = 0x00710102;
    PR_REPLY_RECIPIENT_NAMES = 0x0050001F;
    PR_SENDER_NAME = 0x0C1A001F;
    PR_SENDER_EMAIL_ADDRESS = 0x0C1F001F;
    PR_SENDER_ADDRTYPE = 0x0C1E001F;
    PR_DISPLAY_TO = 0x0E04001F;
    PR_DISPLAY_CC = 0x0E03001F;
    PR_DISPLAY_BCC = 0x0E02001F;
    PR_PARENT_ENTRYID = 0x0E090102;
    PR_MESSAGE_DELIVERY_TIME = 0x0E060040;
    PR_MESSAGE_FLAGS = 0x0E070003;
    PR_MESSAGE_SIZE = 0x0E080003;
    PR_HASATTACH = 0x0E1B000B;
    PR_ENTRYID = 0x0FFF0102;
    PR_RECORD_KEY = 0x0FF90102;
    PR_STORE_ENTRYID = 0x0FFB0102;
    PR_OBJECT_TYPE = 0x0FFE0003;
    PR_BODY = 0x1000001F;
    PR_HTML = 0x10130102;
    PR_RTF_COMPRESSED = 0x10090102;
    PR_INTERNET_MESSAGE_ID = 0x1035001F;
    PR_IN_REPLY_TO_ID = 0x1042001F;
    PR_INTERNET_REFERENCES = 0x1039001F;
    PR_TRANSPORT_MESSAGE_HEADERS = 0x007D001F;
    PR_DISPLAY_NAME = 0x3001001F;
    PR_ADDRTYPE = 0x3002001F;
    PR_EMAIL_ADDRESS = 0x3003001F;
    PR_COMMENT = 0x3004001F;
    PR_CREATION_TIME = 0x30070040;
    PR_LAST_MODIFICATION_TIME = 0x30080040;
    PR_CONTENT_COUNT = 0x36020003;
    PR_CONTENT_UNREAD = 0x36030003;
    PR_SUBFOLDERS = 0x360A000B;
    PR_CONTAINER_CLASS = 0x3613001F;
    PR_FOLDER_TYPE = 0x36010003;
    PR_ATTACH_NUM = 0x0E210003;
    PR_ATTACH_SIZE = 0x0E200003;
    PR_ATTACH_FILENAME = 0x3704001F;
    PR_ATTACH_LONG_FILENAME = 0x3707001F;
    PR_ATTACH_METHOD = 0x37050003;
    PR_ATTACH_MIME_TAG = 0x370E001F;
    PR_ATTACH_CONTENT_ID = 0x3712001F;
    PR_ATTACH_FLAGS = 0x37140003;
    PR_ATTACH_DATA_BIN = 0x37010102;
    PR_RECIPIENT_TYPE = 0x0C150003;
    PR_ROWID = 0x30000003;
    PR_SMTP_ADDRESS = 0x39FE001F;
    PR_ACCOUNT = 0x3A00001F;
    PR_GIVEN_NAME = 0x3A06001F;
    PR_SURNAME = 0x3A11001F;
    PR_COMPANY_NAME = 0x3A16001F;
    PR_BUSINESS_TELEPHONE_NUMBER = 0x3A08001F;
    PR_MOBILE_TELEPHONE_NUMBER = 0x3A1C001F;
    PR_HOME_TELEPHONE_NUMBER = 0x3A09001F;
    PR_POSTAL_ADDRESS = 0x3A15001F;
    PR_FLAG_STATUS = 0x10900003;
    PR_MESSAGE_RECIPIENTS = 0x0E12000D;
    PR_START_DATE = 0x00600040;
    PR_END_DATE = 0x00610040;
    PR_LAST_VERB_EXECUTED = 0x10810003;
    PR_CONVERSATION_ID = 0x30130102;
    PR_OKAPI_REPLY_TO_ADDRESSES = 0x6701101F;
}

/// MSGFLAG_READ in PR_MESSAGE_FLAGS.
pub const MSGFLAG_READ: i32 = 0x0001;
/// MSGFLAG_UNSENT in PR_MESSAGE_FLAGS.
pub const MSGFLAG_UNSENT: i32 = 0x0008;
/// MSGFLAG_HASATTACH in PR_MESSAGE_FLAGS.
pub const MSGFLAG_HASATTACH: i32 = 0x0010;

/// Looks a tag up by its well-known name.
pub fn tag_by_name(name: &str) -> Option<PropTag> {
    KNOWN_TAGS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, t)| *t)
}

/// The well-known name of a tag, if it has one.
pub fn name_of_tag(tag: PropTag) -> Option<&'static str> {
    KNOWN_TAGS.iter().find(|(_, t)| *t == tag).map(|(n, _)| *n)
}

/// A typed property value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PropValue {
    /// PT_SHORT
    Short(i16),
    /// PT_LONG
    Long(i32),
    /// PT_LONGLONG
    LongLong(i64),
    /// PT_DOUBLE
    Double(f64),
    /// PT_BOOLEAN
    Bool(bool),
    /// PT_UNICODE / PT_STRING8
    Str(String),
    /// PT_BINARY
    Binary(Vec<u8>),
    /// PT_SYSTIME, as microseconds since the Unix epoch.
    Time(i64),
    /// PT_MV_LONG
    MvLong(Vec<i32>),
    /// PT_MV_LONGLONG
    MvLongLong(Vec<i64>),
    /// PT_MV_UNICODE
    MvStr(Vec<String>),
    /// PT_MV_BINARY
    MvBinary(Vec<Vec<u8>>),
    /// PT_MV_SYSTIME
    MvTime(Vec<i64>),
}

/// Why a value does not fit its tag.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property {tag}: {reason}")]
pub struct PropError {
    /// The tag, in display form.
    pub tag: String,
    /// What was wrong.
    pub reason: String,
}

fn prop_err(tag: PropTag, reason: impl Into<String>) -> PropError {
    PropError {
        tag: tag.display_name(),
        reason: reason.into(),
    }
}

impl PropValue {
    /// The numeric value, for comparisons and bitmasks.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            PropValue::Short(v) => Some(i64::from(*v)),
            PropValue::Long(v) => Some(i64::from(*v)),
            PropValue::LongLong(v) | PropValue::Time(v) => Some(*v),
            PropValue::Bool(v) => Some(i64::from(*v)),
            _ => None,
        }
    }

    /// The string value, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts a JSON value into the type the tag names.
    ///
    /// Strings are JSON strings, times RFC 3339 strings (or microseconds), binary
    /// base64, multi-valued types arrays.
    pub fn from_json(tag: PropTag, v: &Json) -> Result<Self, PropError> {
        let ty = tag.ty();
        let want = |what: &str| prop_err(tag, format!("expected {what}, got {v}"));
        if ty & MV_FLAG != 0 {
            let items = v.as_array().ok_or_else(|| want("an array"))?;
            let single = PropTag::new(tag.id(), ty & !MV_FLAG);
            let mut vals = Vec::with_capacity(items.len());
            for item in items {
                vals.push(PropValue::from_json(single, item)?);
            }
            return Ok(match ty & !MV_FLAG {
                PT_LONG | PT_SHORT => {
                    PropValue::MvLong(vals.iter().filter_map(|x| x.as_i64()).map(|x| x as i32).collect())
                }
                PT_LONGLONG => PropValue::MvLongLong(vals.iter().filter_map(|x| x.as_i64()).collect()),
                PT_UNICODE | PT_STRING8 => PropValue::MvStr(
                    vals.into_iter()
                        .filter_map(|x| if let PropValue::Str(s) = x { Some(s) } else { None })
                        .collect(),
                ),
                PT_BINARY => PropValue::MvBinary(
                    vals.into_iter()
                        .filter_map(|x| if let PropValue::Binary(b) = x { Some(b) } else { None })
                        .collect(),
                ),
                PT_SYSTIME => PropValue::MvTime(vals.iter().filter_map(|x| x.as_i64()).collect()),
                _ => return Err(prop_err(tag, "unsupported multi-valued type")),
            });
        }
        Ok(match ty {
            PT_SHORT => PropValue::Short(
                v.as_i64()
                    .and_then(|n| i16::try_from(n).ok())
                    .ok_or_else(|| want("a 16-bit integer"))?,
            ),
            PT_LONG => PropValue::Long(
                v.as_i64()
                    .and_then(|n| {
                        i32::try_from(n)
                            .ok()
                            .or_else(|| u32::try_from(n).ok().map(|u| u as i32))
                    })
                    .ok_or_else(|| want("a 32-bit integer"))?,
            ),
            PT_LONGLONG => PropValue::LongLong(v.as_i64().ok_or_else(|| want("an integer"))?),
            PT_DOUBLE => PropValue::Double(v.as_f64().ok_or_else(|| want("a number"))?),
            PT_BOOLEAN => PropValue::Bool(match v {
                Json::Bool(b) => *b,
                Json::Number(n) => n.as_i64() != Some(0),
                Json::String(s) if s == "true" || s == "1" => true,
                Json::String(s) if s == "false" || s == "0" => false,
                _ => return Err(want("a boolean")),
            }),
            PT_UNICODE | PT_STRING8 => PropValue::Str(v.as_str().ok_or_else(|| want("a string"))?.to_string()),
            PT_BINARY => PropValue::Binary(
                B64.decode(v.as_str().ok_or_else(|| want("a base64 string"))?)
                    .map_err(|e| prop_err(tag, format!("invalid base64: {e}")))?,
            ),
            PT_SYSTIME => PropValue::Time(match v {
                Json::Number(n) => n.as_i64().ok_or_else(|| want("a time"))?,
                Json::String(s) => parse_time(s).ok_or_else(|| want("an RFC 3339 time"))?,
                _ => return Err(want("an RFC 3339 time")),
            }),
            _ => return Err(prop_err(tag, format!("unsupported property type 0x{ty:04X}"))),
        })
    }

    /// The JSON form of this value.
    pub fn to_json(&self) -> Json {
        match self {
            PropValue::Short(v) => Json::from(*v),
            PropValue::Long(v) => Json::from(*v),
            PropValue::LongLong(v) => Json::from(*v),
            PropValue::Double(v) => Json::from(*v),
            PropValue::Bool(v) => Json::from(*v),
            PropValue::Str(s) => Json::from(s.as_str()),
            PropValue::Binary(b) => Json::from(B64.encode(b)),
            PropValue::Time(t) => Json::from(format_time(*t)),
            PropValue::MvLong(v) => Json::from(v.clone()),
            PropValue::MvLongLong(v) => Json::from(v.clone()),
            PropValue::MvStr(v) => Json::from(v.clone()),
            PropValue::MvBinary(v) => Json::Array(v.iter().map(|b| Json::from(B64.encode(b))).collect()),
            PropValue::MvTime(v) => Json::Array(v.iter().map(|t| Json::from(format_time(*t))).collect()),
        }
    }

    /// Checks that a value fits the tag's type (JSON input is already typed by
    /// the tag; this guards values made inside the server).
    pub fn fits(&self, tag: PropTag) -> bool {
        matches!(
            (tag.ty(), self),
            (PT_SHORT, PropValue::Short(_))
                | (PT_LONG, PropValue::Long(_))
                | (PT_LONGLONG, PropValue::LongLong(_))
                | (PT_DOUBLE, PropValue::Double(_))
                | (PT_BOOLEAN, PropValue::Bool(_))
                | (PT_UNICODE | PT_STRING8, PropValue::Str(_))
                | (PT_BINARY, PropValue::Binary(_))
                | (PT_SYSTIME, PropValue::Time(_))
                | (0x1003, PropValue::MvLong(_))
                | (0x1014, PropValue::MvLongLong(_))
                | (0x101F | 0x101E, PropValue::MvStr(_))
                | (0x1102, PropValue::MvBinary(_))
                | (0x1040, PropValue::MvTime(_))
        )
    }
}

/// RFC 3339 text for microseconds since the epoch.
pub fn format_time(micros: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Microseconds since the epoch from RFC 3339 text.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// The current time in microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// A set of properties, ordered by tag.
pub type PropMap = BTreeMap<PropTag, PropValue>;

/// Parses a JSON object of `name-or-tag: value` into a property map.
pub fn props_from_json(obj: &Json) -> Result<PropMap, PropError> {
    let mut out = PropMap::new();
    let Some(map) = obj.as_object() else {
        return Err(PropError {
            tag: "properties".into(),
            reason: "expected an object of tag: value".into(),
        });
    };
    for (k, v) in map {
        let tag = PropTag::parse(k).ok_or_else(|| PropError {
            tag: k.clone(),
            reason: "unknown property name or malformed tag".into(),
        })?;
        out.insert(tag, PropValue::from_json(tag, v)?);
    }
    Ok(out)
}

/// The JSON object form of a property map, keyed by well-known name or hex tag.
pub fn props_to_json(props: &PropMap) -> Json {
    let mut m = serde_json::Map::new();
    for (tag, v) in props {
        m.insert(tag.display_name(), v.to_json());
    }
    Json::Object(m)
}

// ---- the bag encoding --------------------------------------------------------
//
// Version byte 1, then per property: tag (u32 LE), then the value in the tag's
// type: fixed-size integers LE, strings and binaries as u32 LE length + bytes,
// multi-valued as u32 LE count + items. Compact, and decoding needs no schema.

const BAG_VERSION: u8 = 1;

/// Encodes a property map as the store's bag bytes.
pub fn encode_bag(props: &PropMap) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(BAG_VERSION);
    for (tag, v) in props {
        if !v.fits(*tag) {
            continue;
        }
        out.extend_from_slice(&tag.0.to_le_bytes());
        write_value(&mut out, v);
    }
    out
}

fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

fn write_value(out: &mut Vec<u8>, v: &PropValue) {
    match v {
        PropValue::Short(x) => out.extend_from_slice(&x.to_le_bytes()),
        PropValue::Long(x) => out.extend_from_slice(&x.to_le_bytes()),
        PropValue::LongLong(x) | PropValue::Time(x) => out.extend_from_slice(&x.to_le_bytes()),
        PropValue::Double(x) => out.extend_from_slice(&x.to_le_bytes()),
        PropValue::Bool(x) => out.push(u8::from(*x)),
        PropValue::Str(s) => write_bytes(out, s.as_bytes()),
        PropValue::Binary(b) => write_bytes(out, b),
        PropValue::MvLong(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        PropValue::MvLongLong(v) | PropValue::MvTime(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            v.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        PropValue::MvStr(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            v.iter().for_each(|s| write_bytes(out, s.as_bytes()));
        }
        PropValue::MvBinary(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            v.iter().for_each(|b| write_bytes(out, b));
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.buf.len() < n {
            return None;
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Some(head)
    }
    fn arr<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
    fn u32(&mut self) -> Option<u32> {
        self.arr::<4>().map(u32::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.arr::<8>().map(i64::from_le_bytes)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn string(&mut self) -> Option<String> {
        Some(String::from_utf8_lossy(self.bytes()?).into_owned())
    }
    fn count(&mut self) -> Option<usize> {
        let n = self.u32()? as usize;
        // Every item takes at least one byte; a larger count is corrupt.
        (n <= self.buf.len() * 8 + 8).then_some(n)
    }
}

/// Decodes bag bytes written by [`encode_bag`].
pub fn decode_bag(bytes: &[u8]) -> Result<PropMap, String> {
    let mut props = PropMap::new();
    if bytes.is_empty() {
        return Ok(props);
    }
    if bytes[0] != BAG_VERSION {
        return Err(format!("unknown property bag version {}", bytes[0]));
    }
    let mut r = Reader { buf: &bytes[1..] };
    while !r.buf.is_empty() {
        let tag = PropTag(r.u32().ok_or("truncated tag")?);
        let v = read_value(&mut r, tag.ty()).ok_or_else(|| format!("truncated value for {}", tag.hex()))?;
        props.insert(tag, v);
    }
    Ok(props)
}

fn read_value(r: &mut Reader<'_>, ty: u16) -> Option<PropValue> {
    Some(match ty {
        PT_SHORT => PropValue::Short(i16::from_le_bytes(r.arr::<2>()?)),
        PT_LONG => PropValue::Long(i32::from_le_bytes(r.arr::<4>()?)),
        PT_LONGLONG => PropValue::LongLong(r.i64()?),
        PT_SYSTIME => PropValue::Time(r.i64()?),
        PT_DOUBLE => PropValue::Double(f64::from_le_bytes(r.arr::<8>()?)),
        PT_BOOLEAN => PropValue::Bool(r.take(1)?[0] != 0),
        PT_UNICODE | PT_STRING8 => PropValue::Str(r.string()?),
        PT_BINARY => PropValue::Binary(r.bytes()?.to_vec()),
        0x1003 => {
            let n = r.count()?;
            PropValue::MvLong(
                (0..n)
                    .map(|_| r.arr::<4>().map(i32::from_le_bytes))
                    .collect::<Option<_>>()?,
            )
        }
        0x1014 | 0x1040 => {
            let n = r.count()?;
            let v = (0..n).map(|_| r.i64()).collect::<Option<Vec<_>>>()?;
            if ty == 0x1014 {
                PropValue::MvLongLong(v)
            } else {
                PropValue::MvTime(v)
            }
        }
        0x101F | 0x101E => {
            let n = r.count()?;
            PropValue::MvStr((0..n).map(|_| r.string()).collect::<Option<_>>()?)
        }
        0x1102 => {
            let n = r.count()?;
            PropValue::MvBinary((0..n).map(|_| r.bytes().map(<[u8]>::to_vec)).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bag_round_trips_every_type() {
        let mut p = PropMap::new();
        p.insert(PR_SUBJECT, PropValue::Str("Grüße".into()));
        p.insert(PR_IMPORTANCE, PropValue::Long(2));
        p.insert(PR_HASATTACH, PropValue::Bool(true));
        p.insert(PR_CLIENT_SUBMIT_TIME, PropValue::Time(1_700_000_000_000_000));
        p.insert(PR_HTML, PropValue::Binary(vec![0, 1, 2, 255]));
        p.insert(
            PropTag::new(0x8001, 0x101F),
            PropValue::MvStr(vec!["a".into(), "".into()]),
        );
        p.insert(PropTag::new(0x8002, PT_DOUBLE), PropValue::Double(1.5));
        let bytes = encode_bag(&p);
        assert_eq!(decode_bag(&bytes).unwrap(), p);
    }

    #[test]
    fn truncated_bag_is_an_error_not_a_panic() {
        let mut p = PropMap::new();
        p.insert(PR_SUBJECT, PropValue::Str("hello".into()));
        let bytes = encode_bag(&p);
        for cut in 2..bytes.len() {
            assert!(decode_bag(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn tags_parse_by_name_and_hex() {
        assert_eq!(PropTag::parse("PR_SUBJECT"), Some(PR_SUBJECT));
        assert_eq!(PropTag::parse("0x0037001F"), Some(PR_SUBJECT));
        assert_eq!(PropTag::parse("0037001f"), Some(PR_SUBJECT));
        assert_eq!(PropTag::parse("PR_NOPE"), None);
    }

    #[test]
    fn json_values_follow_the_tag_type() {
        assert_eq!(
            PropValue::from_json(PR_SUBJECT, &Json::from("x")).unwrap(),
            PropValue::Str("x".into())
        );
        assert!(PropValue::from_json(PR_SUBJECT, &Json::from(5)).is_err());
        let t = PropValue::from_json(PR_CLIENT_SUBMIT_TIME, &Json::from("2024-01-02T03:04:05Z")).unwrap();
        assert_eq!(t.to_json(), Json::from("2024-01-02T03:04:05Z"));
        let b = PropValue::from_json(PR_HTML, &Json::from("AAEC")).unwrap();
        assert_eq!(b, PropValue::Binary(vec![0, 1, 2]));
    }
}
