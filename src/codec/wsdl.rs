//! The WSDL 1.1 description of the SOAP encoding, generated from the
//! operation table.
//!
//! Why it exists: SOAP clients (PHP's SoapClient, Python's zeep, .NET, Java)
//! build their calls from the WSDL, so it must say exactly what
//! [`super::soap`] reads and writes. Both walk the same [`Xsd`] descriptions,
//! so a field added to a request type appears in both at once.
//!
//! The style is document/literal *wrapped*: each operation's request is one
//! global element named after the operation (`queryRows`), its response one
//! named `queryRowsResponse`, both in `urn:okapi` with qualified local
//! elements. Structures become named complexTypes (each emitted once, so
//! self-referring types like `Restriction` are fine); optional fields get
//! `minOccurs="0"`, lists `maxOccurs="unbounded"`. Property sets use the fixed
//! types `Props`, `Prop` and `PropValue`. Every operation may answer with the
//! `mapiError` fault that [`super::soap::encode_fault`] writes.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::api::Operation;
use crate::api::schema::{StructDef, Xsd};

use super::soap::{NAMESPACE, escape};

/// Names of the types this module declares itself; a structure must not use them.
const BUILTIN_TYPES: [&str; 3] = ["Props", "Prop", "PropValue"];

/// The WSDL 1.1 document for `ops`, with the SOAP endpoint at `location`
/// (e.g. `https://mail.example.org:237/okapi`).
pub fn wsdl(ops: &[Operation], location: &str) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="Okapi" targetNamespace="{NAMESPACE}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:tns="{NAMESPACE}">
  <wsdl:documentation>okapi groupware server: one operation table, SOAP 1.1 document/literal and JSON.</wsdl:documentation>
  <wsdl:types>
    <xsd:schema targetNamespace="{NAMESPACE}" elementFormDefault="qualified">
"#
    );
    schema_body(&mut out, ops);
    out.push_str("    </xsd:schema>\n  </wsdl:types>\n");

    for op in ops {
        let name = op.name;
        let _ = write!(
            out,
            r#"  <wsdl:message name="{name}Request"><wsdl:part name="parameters" element="tns:{name}"/></wsdl:message>
  <wsdl:message name="{name}Response"><wsdl:part name="parameters" element="tns:{name}Response"/></wsdl:message>
"#
        );
    }
    out.push_str(
        r#"  <wsdl:message name="mapiErrorFault"><wsdl:part name="fault" element="tns:mapiError"/></wsdl:message>
  <wsdl:portType name="OkapiPortType">
"#,
    );
    for op in ops {
        let name = op.name;
        let _ = write!(
            out,
            r#"    <wsdl:operation name="{name}">
      <wsdl:documentation>{doc}</wsdl:documentation>
      <wsdl:input message="tns:{name}Request"/>
      <wsdl:output message="tns:{name}Response"/>
      <wsdl:fault name="mapiError" message="tns:mapiErrorFault"/>
    </wsdl:operation>
"#,
            doc = escape(op.doc)
        );
    }
    out.push_str(
        r#"  </wsdl:portType>
  <wsdl:binding name="OkapiBinding" type="tns:OkapiPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
"#,
    );
    for op in ops {
        let name = op.name;
        let _ = write!(
            out,
            r#"    <wsdl:operation name="{name}">
      <soap:operation soapAction="{NAMESPACE}#{name}" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
      <wsdl:fault name="mapiError"><soap:fault name="mapiError" use="literal"/></wsdl:fault>
    </wsdl:operation>
"#
        );
    }
    let _ = write!(
        out,
        r#"  </wsdl:binding>
  <wsdl:service name="OkapiService">
    <wsdl:port name="OkapiPort" binding="tns:OkapiBinding">
      <soap:address location="{}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#,
        escape(location)
    );
    out
}

/// The schema's content: global elements, the fault element, the property
/// types and one complexType per structure reached.
fn schema_body(out: &mut String, ops: &[Operation]) {
    let mut structs = Structs::default();
    for op in ops {
        let request = (op.request)();
        let response = (op.response)();
        global_element(out, op.name, &request);
        global_element(out, &format!("{}Response", op.name), &response);
        structs.visit(&request);
        structs.visit(&response);
    }
    out.push_str(
        r#"      <xsd:element name="mapiError">
        <xsd:complexType>
          <xsd:sequence>
            <xsd:element name="code" type="xsd:string"/>
            <xsd:element name="name" type="xsd:string"/>
            <xsd:element name="message" type="xsd:string"/>
          </xsd:sequence>
        </xsd:complexType>
      </xsd:element>
      <xsd:complexType name="PropValue">
        <xsd:sequence>
"#,
    );
    value_elements(out);
    out.push_str(
        r#"        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Prop">
        <xsd:sequence>
          <xsd:element name="tag" type="xsd:string"/>
"#,
    );
    value_elements(out);
    out.push_str(
        r#"        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="Props">
        <xsd:sequence>
          <xsd:element name="prop" type="tns:Prop" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
"#,
    );
    for def in &structs.order {
        let _ = writeln!(out, r#"      <xsd:complexType name="{}">"#, def.name);
        out.push_str("        <xsd:sequence>\n");
        for field in (def.fields)() {
            field_element(out, &field.name, &field.xsd, 10);
        }
        out.push_str("        </xsd:sequence>\n      </xsd:complexType>\n");
    }
}

/// The typed value elements of a property value (see [`Xsd::Props`]).
fn value_elements(out: &mut String) {
    for (name, ty) in [
        ("s", "string"),
        ("i", "int"),
        ("l", "long"),
        ("b", "boolean"),
        ("d", "double"),
        ("t", "dateTime"),
        ("bin", "base64Binary"),
    ] {
        let _ = writeln!(
            out,
            r#"          <xsd:element name="{name}" type="xsd:{ty}" minOccurs="0" maxOccurs="unbounded"/>"#
        );
    }
}

/// The structures reachable from the operations, each once, in first-seen order.
#[derive(Default)]
struct Structs {
    seen: BTreeSet<&'static str>,
    order: Vec<StructDef>,
}

impl Structs {
    fn visit(&mut self, xsd: &Xsd) {
        match xsd {
            Xsd::Struct(def) => self.add(def),
            Xsd::List(inner) | Xsd::Optional(inner) => self.visit(inner),
            _ => {}
        }
    }

    fn add(&mut self, def: &StructDef) {
        // Marking a type seen before descending is what makes recursive types safe.
        if !self.seen.insert(def.name) {
            return;
        }
        debug_assert!(
            !BUILTIN_TYPES.contains(&def.name),
            "struct {} shadows a WSDL type",
            def.name
        );
        self.order.push(def.clone());
        for field in (def.fields)() {
            self.visit(&field.xsd);
        }
    }
}

/// The `type` attribute value for a shape, or `None` for a list (which needs
/// an inline type).
fn type_name(xsd: &Xsd) -> Option<String> {
    Some(match xsd {
        Xsd::String => "xsd:string".into(),
        Xsd::Int => "xsd:int".into(),
        Xsd::Long => "xsd:long".into(),
        Xsd::Bool => "xsd:boolean".into(),
        Xsd::Double => "xsd:double".into(),
        Xsd::Base64 => "xsd:base64Binary".into(),
        Xsd::Props => "tns:Props".into(),
        Xsd::PropValue => "tns:PropValue".into(),
        Xsd::Struct(def) => format!("tns:{}", def.name),
        Xsd::Optional(inner) => return type_name(inner),
        Xsd::List(_) => return None,
    })
}

/// A global element: an operation's request or response.
fn global_element(out: &mut String, name: &str, xsd: &Xsd) {
    match type_name(xsd) {
        Some(ty) => {
            let _ = writeln!(out, r#"      <xsd:element name="{name}" type="{ty}"/>"#);
        }
        None => {
            let _ = writeln!(out, r#"      <xsd:element name="{name}">"#);
            inline_list_type(out, xsd, 8);
            out.push_str("      </xsd:element>\n");
        }
    }
}

/// A local element for a field, with its occurrence bounds.
fn field_element(out: &mut String, name: &str, xsd: &Xsd, indent: usize) {
    let pad = " ".repeat(indent);
    let (occurs, base) = match xsd {
        Xsd::List(item) => (r#" minOccurs="0" maxOccurs="unbounded""#, item.as_ref()),
        Xsd::Optional(inner) => match inner.as_ref() {
            Xsd::List(item) => (r#" minOccurs="0" maxOccurs="unbounded""#, item.as_ref()),
            other => (r#" minOccurs="0""#, other),
        },
        other => ("", other),
    };
    match type_name(base) {
        Some(ty) => {
            let _ = writeln!(out, r#"{pad}<xsd:element name="{name}" type="{ty}"{occurs}/>"#);
        }
        None => {
            // A list inside a list: its items are <item> elements.
            let _ = writeln!(out, r#"{pad}<xsd:element name="{name}"{occurs}>"#);
            inline_list_type(out, base, indent + 2);
            let _ = writeln!(out, "{pad}</xsd:element>");
        }
    }
}

/// An anonymous complexType for a list carried as `<item>` children.
fn inline_list_type(out: &mut String, xsd: &Xsd, indent: usize) {
    let pad = " ".repeat(indent);
    let _ = writeln!(out, "{pad}<xsd:complexType>\n{pad}  <xsd:sequence>");
    field_element(out, "item", xsd, indent + 4);
    let _ = writeln!(out, "{pad}  </xsd:sequence>\n{pad}</xsd:complexType>");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::soap::tests::ops;
    use super::super::soap::{decode_request, encode_response};
    use super::*;
    use crate::api::schema::Field;

    fn full() -> String {
        wsdl(&ops(), "http://localhost:236/okapi")
    }

    /// The WSDL is well-formed XML (checked with quick-xml's reader).
    #[test]
    fn wsdl_is_well_formed() {
        let text = full();
        let mut reader = quick_xml::Reader::from_str(&text);
        let mut depth = 0i32;
        loop {
            match reader.read_event().unwrap() {
                quick_xml::events::Event::Start(_) => depth += 1,
                quick_xml::events::Event::End(_) => depth -= 1,
                quick_xml::events::Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(depth, 0);
    }

    /// The parts clients rely on are there, spelled as the codec reads them.
    #[test]
    fn wsdl_declares_operations_types_and_service() {
        let text = full();
        assert!(text.contains(r#"<xsd:element name="queryRows" type="tns:QueryRowsRequest"/>"#));
        assert!(text.contains(r#"<xsd:element name="queryRowsResponse" type="tns:QueryRowsResponse"/>"#));
        assert!(text.contains(r#"<soap:operation soapAction="urn:okapi#queryRows" style="document"/>"#));
        assert!(text.contains(r#"<soap:address location="http://localhost:236/okapi"/>"#));
        // Each operation's doc, escaped.
        assert!(text.contains(
            "<wsdl:documentation>Lists a page of a folder's messages, filtered &amp; sorted.</wsdl:documentation>"
        ));
        assert!(
            text.contains(r#"<xsd:element name="columns" type="xsd:string" minOccurs="0" maxOccurs="unbounded"/>"#)
        );
        assert!(text.contains(r#"<xsd:element name="limit" type="xsd:long" minOccurs="0"/>"#));
        assert!(text.contains(r#"<xsd:element name="not" type="tns:Restriction" minOccurs="0"/>"#));
        assert!(text.contains(r#"<xsd:element name="value" type="tns:PropValue"/>"#));
        assert!(text.contains(r#"<xsd:element name="props" type="tns:Props"/>"#));
        assert!(text.contains(r#"<xsd:element name="data" type="xsd:base64Binary"/>"#));
        assert!(
            text.contains(
                r#"<xsd:element name="recipients" type="tns:Recipient" minOccurs="0" maxOccurs="unbounded"/>"#
            )
        );
        assert!(text.contains(r#"<xsd:element name="t" type="xsd:dateTime" minOccurs="0" maxOccurs="unbounded"/>"#));
        assert!(text.contains(r#"<wsdl:service name="OkapiService">"#));
        assert!(text.contains(r#"<wsdl:port name="OkapiPort" binding="tns:OkapiBinding">"#));
        // Each structure once, even the self-referring Restriction.
        assert_eq!(text.matches(r#"<xsd:complexType name="Restriction">"#).count(), 1);
        assert_eq!(text.matches(r#"<xsd:complexType name="Empty">"#).count(), 1);
    }

    fn nested() -> Xsd {
        fn fields() -> Vec<Field> {
            vec![Field {
                name: "grid".into(),
                xsd: Xsd::List(Box::new(Xsd::List(Box::new(Xsd::Int)))),
            }]
        }
        Xsd::Struct(StructDef { name: "Grid", fields })
    }

    /// A list of lists (no API type has one today) is described as `<item>`
    /// children, as the codec reads and writes it.
    #[test]
    fn nested_lists_use_item_elements() {
        use crate::api::BoxFuture;
        use crate::error::ApiError;
        use serde_json::{Value as Json, json};
        fn stub<'a>(_: &'a crate::ops::Ctx, _: Json) -> BoxFuture<'a, Result<Json, ApiError>> {
            Box::pin(async { Ok(Json::Null) })
        }
        let op = Operation {
            name: "grid",
            doc: "",
            request: nested,
            response: nested,
            call: stub,
        };
        let text = wsdl(std::slice::from_ref(&op), "x");
        assert!(
            text.contains(r#"<xsd:element name="grid" minOccurs="0" maxOccurs="unbounded">"#),
            "{text}"
        );
        assert!(text.contains(r#"<xsd:element name="item" type="xsd:int" minOccurs="0" maxOccurs="unbounded"/>"#));
        let value = json!({"grid": [[1, 2], [3]]});
        let xml = encode_response(&op, &value).replace("gridResponse", "grid");
        assert!(
            xml.contains("<grid><item>1</item><item>2</item></grid><grid><item>3</item></grid>"),
            "{xml}"
        );
        let (_, back) = decode_request(xml.as_bytes(), |_| Some(&op)).unwrap();
        assert_eq!(back, value);
    }

    /// Writes the full WSDL to `$OKAPI_WSDL_OUT` for the interop checks with
    /// zeep and PHP; does nothing when the variable is unset.
    #[test]
    fn write_wsdl_for_interop_checks() {
        if let Ok(path) = std::env::var("OKAPI_WSDL_OUT") {
            let location = std::env::var("OKAPI_WSDL_LOCATION").unwrap_or_else(|_| "http://127.0.0.1:9/okapi".into());
            std::fs::write(path, wsdl(&ops(), &location)).unwrap();
        }
    }
}
