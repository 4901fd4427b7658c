//! Properties of the body renderers over text from anywhere: arbitrary
//! Unicode, markup fragments mixed into it, and text decoded lossily from
//! arbitrary bytes. 256 cases each, so the suite stays fast.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// Text as mail carries it: any Unicode, with links, markup and the
/// scripts of the world mixed in, so that links sit next to multi-byte
/// characters.
fn mail_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        "\\PC{0,12}",
        Just("https://example.org/a?x=1&y=2".to_string()),
        Just("HTTP://EXAMPLE.ORG".to_string()),
        Just("http://".to_string()),
        Just("https:/".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("Jürgen ü é ř ž".to_string()),
        Just("Ελληνικά Русский 中文 العربية".to_string()),
        Just("😀👩‍👩‍👧".to_string()),
        Just("&amp; \" ' < > .,;:!?)".to_string()),
        Just("\r\n\t ".to_string()),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Markup as hostile mail carries it.
fn mail_html() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        mail_text(),
        Just("<script>alert(1)</script>".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        Just("<a href=\"javascript:alert(1)\" onclick=\"x()\">a</a>".to_string()),
        Just("<p title=\"a onclick=b\" style=\"color:red;position:fixed\">".to_string()),
        Just("<svg onload=alert(1)><script>x</script></svg>".to_string()),
        Just("<iframe src=https://evil.example/>".to_string()),
        Just("<body onload=\"alert(1)\"><div dir=\"rtl\">مرحبا</div>".to_string()),
        Just("<a href=\"https://example.org/ü\">ü</a>".to_string()),
        Just("<img src=\"cid:logo@x\"><img src=\"https://t.example/p.gif\">".to_string()),
        Just("<!-- x --><![CDATA[ y ]]><</>".to_string()),
        Just("<style>body{}</style><form><input></form>".to_string()),
    ];
    prop::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

/// The names of a serialised tag's attributes (html5ever writes every value
/// double-quoted, with `"` escaped).
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = tag.trim_start_matches('<').trim_end_matches('>');
    // The tag name.
    rest = rest.trim_start_matches(|c: char| !c.is_whitespace());
    loop {
        rest = rest.trim_start();
        if rest.is_empty() || rest == "/" {
            return names;
        }
        let end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        names.push(name.to_ascii_lowercase());
        rest = after;
        if let Some(value) = rest.strip_prefix("=\"") {
            rest = value.split_once('"').map_or("", |(_, after)| after);
        }
    }
}

/// Every tag of serialised HTML: text holds no raw `<`, so each `<` opens one.
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .map(|(i, _)| {
            let rest = html.get(i..).unwrap_or_default();
            rest.find('>').map_or(rest, |end| rest.get(..=end).unwrap_or(rest))
        })
        .collect()
}

/// The visible text of `text_to_html`'s output: its own tags taken out,
/// entities undone.
fn visible_text(html: &str) -> String {
    let inner = html
        .strip_prefix("<div class=\"okapi-plain\">")
        .and_then(|h| h.strip_suffix("</div>"))
        .unwrap_or_default();
    let mut text = String::new();
    let mut rest = inner;
    while let Some(start) = rest.find('<') {
        text.push_str(rest.get(..start).unwrap_or_default());
        let tag_end = rest
            .get(start..)
            .and_then(|r| r.find('>'))
            .map_or(rest.len(), |e| start + e + 1);
        rest = rest.get(tag_end..).unwrap_or_default();
    }
    text.push_str(rest);
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Plain text to HTML: never panics, every `<`, `>`, `"` and `&` of the
    /// mail is escaped (each `<` in the output opens one of our own tags,
    /// each `&` an entity), and the reader sees exactly the text that came.
    #[test]
    fn text_to_html_escapes_everything_and_keeps_the_text(text in mail_text()) {
        let html = text_to_html(&text);
        for tag in tags(&html) {
            prop_assert!(
                tag == "<div class=\"okapi-plain\">" || tag == "</div>" || tag == "</a>"
                    || (tag.starts_with("<a href=\"")
                        && tag.ends_with("\" target=\"_blank\" rel=\"noopener noreferrer\">")),
                "a tag not of ours: {tag:?} in {html:?}"
            );
        }
        for (i, _) in html.match_indices('&') {
            let rest = html.get(i..).unwrap_or_default();
            prop_assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|e| rest.starts_with(e)),
                "a bare & in {html:?}"
            );
        }
        prop_assert_eq!(visible_text(&html), text);
    }

    /// Text decoded lossily from any bytes (what a body with a lying charset
    /// becomes) renders too.
    #[test]
    fn text_to_html_takes_text_from_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert_eq!(visible_text(&text_to_html(&text)), text.into_owned());
    }

    /// Links start at a char boundary with the scheme, end at one, and are
    /// never empty past the scheme's `//`.
    #[test]
    fn links_are_found_at_char_boundaries(text in mail_text()) {
        if let Some(start) = find_link(&text) {
            prop_assert!(text.is_char_boundary(start));
            let from = text.get(start..).unwrap_or_default();
            prop_assert!(from.to_ascii_lowercase().starts_with("http"));
            let end = link_end(from);
            prop_assert!(from.is_char_boundary(end));
            prop_assert!(end >= "http://".len(), "{from:?} -> {end}");
        } else {
            prop_assert!(!text.to_ascii_lowercase().contains("http://"));
            prop_assert!(!text.to_ascii_lowercase().contains("https://"));
        }
    }

    /// The sanitiser: never panics, and what it lets through carries no
    /// script, no event handler, no frame, form or style element, and no
    /// link that runs code.
    #[test]
    fn clean_html_never_lets_script_through(html in mail_html(), allow_remote in any::<bool>()) {
        let mut images = HashMap::new();
        images.insert("logo@x".to_string(), "data:image/png;base64,AAAA".to_string());
        let clean = clean_html(&html, &images, allow_remote);
        for tag in tags(&clean.html) {
            let name = tag
                .trim_start_matches(['<', '/'])
                .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            prop_assert!(
                !["script", "style", "iframe", "frame", "object", "embed", "form", "input", "svg", "base", "meta", "link"]
                    .contains(&name.as_str()),
                "{name} survived: {}", clean.html
            );
            for attribute in attribute_names(tag) {
                prop_assert!(!attribute.starts_with("on"), "{attribute} survived: {}", clean.html);
            }
            let lower = tag.to_ascii_lowercase();
            prop_assert!(!lower.contains("javascript:") && !lower.contains("vbscript:"), "{tag}");
            prop_assert!(!lower.contains("position"), "{tag}");
            prop_assert!(allow_remote || !lower.contains("src=\"http"), "a remote image: {tag}");
        }
    }

    /// Content ids from any header: never a panic, never upper-case ASCII.
    #[test]
    fn content_ids_normalise_anything(cid in any::<String>()) {
        let key = content_id_key(&cid);
        prop_assert!(!key.bytes().any(|b| b.is_ascii_uppercase()));
    }
}
