//! A small description of the API's types, from which the SOAP codec reads and
//! writes XML and the WSDL is generated.
//!
//! The JSON encoding is the canonical in-memory form: every request and
//! response type derives serde, and the SOAP codec converts XML to and from
//! that JSON guided by the [`Xsd`] description. [`api_struct!`](crate::api_struct)
//! declares a struct once and derives both its serde form and its description,
//! so the two encodings cannot drift apart.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::props::{PropMap, props_from_json, props_to_json};

/// The shape of a value on the wire.
#[derive(Clone, Debug)]
pub enum Xsd {
    /// `xsd:string`; a JSON string.
    String,
    /// `xsd:int`; a JSON number.
    Int,
    /// `xsd:long`; a JSON number.
    Long,
    /// `xsd:boolean`; a JSON bool.
    Bool,
    /// `xsd:double`; a JSON number.
    Double,
    /// `xsd:base64Binary`; a base64 JSON string.
    Base64,
    /// A property set. JSON: an object `{"PR_SUBJECT": "hi", "0x0E080003": 12}`.
    /// XML: repeated `<prop>` elements, each a `<tag>` and typed value elements
    /// (`<s>`, `<i>`, `<l>`, `<b>`, `<d>`, `<t>`, `<bin>`; repeated for multi-valued tags).
    Props,
    /// One property value whose type the neighbouring tag gives. JSON: any value.
    /// XML: typed value elements as in [`Xsd::Props`].
    PropValue,
    /// A sequence. JSON: an array. XML: the element repeated.
    List(Box<Xsd>),
    /// An optional value. JSON: absent or null. XML: the element absent.
    Optional(Box<Xsd>),
    /// A structure with named fields.
    Struct(StructDef),
}

/// A named structure type.
#[derive(Clone, Debug)]
pub struct StructDef {
    /// The type name, used in the WSDL.
    pub name: &'static str,
    /// Its fields, built on demand so that types may refer to themselves.
    pub fields: fn() -> Vec<Field>,
}

/// A field of a structure.
#[derive(Clone, Debug)]
pub struct Field {
    /// The wire name (camelCase), the same in JSON and XML.
    pub name: String,
    /// Its shape.
    pub xsd: Xsd,
}

/// Types that can describe their wire shape.
pub trait Schema {
    /// The wire shape.
    fn xsd() -> Xsd;
}

impl Schema for String {
    fn xsd() -> Xsd {
        Xsd::String
    }
}
impl Schema for i32 {
    fn xsd() -> Xsd {
        Xsd::Int
    }
}
impl Schema for i64 {
    fn xsd() -> Xsd {
        Xsd::Long
    }
}
impl Schema for bool {
    fn xsd() -> Xsd {
        Xsd::Bool
    }
}
impl Schema for f64 {
    fn xsd() -> Xsd {
        Xsd::Double
    }
}
impl<T: Schema> Schema for Vec<T> {
    fn xsd() -> Xsd {
        Xsd::List(Box::new(T::xsd()))
    }
}
impl<T: Schema> Schema for Option<T> {
    fn xsd() -> Xsd {
        Xsd::Optional(Box::new(T::xsd()))
    }
}
impl<T: Schema> Schema for Box<T> {
    fn xsd() -> Xsd {
        T::xsd()
    }
}

/// Binary data: base64 in JSON, `xsd:base64Binary` in SOAP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Schema for Bytes {
    fn xsd() -> Xsd {
        Xsd::Base64
    }
}
impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(&self.0))
    }
}
impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        B64.decode(clean)
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// A property set on the wire (see [`Xsd::Props`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Props(pub PropMap);

impl Schema for Props {
    fn xsd() -> Xsd {
        Xsd::Props
    }
}
impl Serialize for Props {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        props_to_json(&self.0).serialize(s)
    }
}
impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        props_from_json(&v).map(Props).map_err(serde::de::Error::custom)
    }
}

/// One property value, typed by a tag that travels beside it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnyValue(pub serde_json::Value);

impl Schema for AnyValue {
    fn xsd() -> Xsd {
        Xsd::PropValue
    }
}

/// Finds where a JSON request does not fit its shape, so a JSON client's
/// error names the field as a SOAP client's does: the path of the first value
/// of the wrong type (`limit`, `attachments[0]/data`) and what is wrong with
/// it. Linear in the request; None if no value misfits (serde's own message,
/// which names unknown and missing fields, then says it all).
pub fn find_misfit(v: &serde_json::Value, xsd: &Xsd) -> Option<(String, String)> {
    use serde_json::Value as Json;
    fn leaf<'a, T: Deserialize<'a>>(v: &'a Json) -> Option<(String, String)> {
        T::deserialize(v).err().map(|e| (String::new(), e.to_string()))
    }
    let within = |name: String, (path, why): (String, String)| {
        let path = match path.chars().next() {
            None => name,
            Some('[') => format!("{name}{path}"),
            Some(_) => format!("{name}/{path}"),
        };
        (path, why)
    };
    match (xsd, v) {
        (Xsd::Optional(_), Json::Null) | (Xsd::PropValue, _) => None,
        (Xsd::Optional(inner), _) => find_misfit(v, inner),
        (Xsd::Struct(def), Json::Object(obj)) => (def.fields)().iter().find_map(|f| {
            let value = obj.get(&f.name)?;
            find_misfit(value, &f.xsd).map(|m| within(f.name.clone(), m))
        }),
        (Xsd::Struct(_), _) => leaf::<serde_json::Map<String, Json>>(v),
        (Xsd::List(item), Json::Array(items)) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_misfit(x, item).map(|m| within(format!("[{i}]"), m))),
        (Xsd::List(_), _) => leaf::<Vec<Json>>(v),
        (Xsd::String, _) => leaf::<String>(v),
        (Xsd::Int, _) => leaf::<i32>(v),
        (Xsd::Long, _) => leaf::<i64>(v),
        (Xsd::Bool, _) => leaf::<bool>(v),
        (Xsd::Double, _) => leaf::<f64>(v),
        (Xsd::Base64, _) => leaf::<Bytes>(v),
        (Xsd::Props, _) => leaf::<Props>(v),
    }
}

/// `snake_case` to `camelCase`, as serde's `rename_all = "camelCase"` does.
pub fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Declares an API structure: the struct with serde derives (camelCase names,
/// optional fields may be omitted) and its [`Schema`].
#[macro_export]
macro_rules! api_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$fmeta:meta])* pub $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(default)]
                pub $field: $ty,
            )*
        }
        impl $crate::api::schema::Schema for $name {
            fn xsd() -> $crate::api::schema::Xsd {
                fn fields() -> Vec<$crate::api::schema::Field> {
                    vec![$($crate::api::schema::Field {
                        name: $crate::api::schema::camel_case(stringify!($field)),
                        xsd: <$ty as $crate::api::schema::Schema>::xsd(),
                    }),*]
                }
                $crate::api::schema::Xsd::Struct($crate::api::schema::StructDef { name: stringify!($name), fields })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misfits_are_found_by_path() {
        use crate::api::types::{QueryRowsRequest, SaveObjectRequest};
        let q = QueryRowsRequest::xsd();
        let (path, why) = find_misfit(&serde_json::json!({"session": "s", "limit": "ten"}), &q).unwrap();
        assert_eq!(path, "limit");
        assert!(why.contains("expected i64"), "{why}");
        let (path, _) = find_misfit(&serde_json::json!({"restriction": {"and": [{"exists": 1}]}}), &q).unwrap();
        assert_eq!(path, "restriction/and[0]/exists");
        let save = SaveObjectRequest::xsd();
        let (path, why) = find_misfit(&serde_json::json!({"attachments": [{"data": "***"}]}), &save).unwrap();
        assert_eq!(path, "attachments[0]/data");
        assert!(why.contains("base64"), "{why}");
        assert!(
            find_misfit(
                &serde_json::json!({"session": "s", "limit": 5, "restriction": null}),
                &q
            )
            .is_none()
        );
    }

    #[test]
    fn camel_case_matches_serde() {
        assert_eq!(camel_case("entry_ids"), "entryIds");
        assert_eq!(camel_case("session"), "session");
        assert_eq!(camel_case("timeout_seconds"), "timeoutSeconds");
    }
}
