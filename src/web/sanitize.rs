//! Mail bodies made safe to show in a browser.
//!
//! Mail is written by strangers, so its HTML is rebuilt from a parse tree
//! (ammonia, on html5ever) keeping only an allow-list: no scripts, event
//! handlers, forms, frames, objects or stylesheets; inline `style` keeps only
//! properties that change how text looks, never where it sits (no `position`,
//! so mail cannot lay a fake page over the web app), and no `url()`. Links
//! open in a new browsing context without an opener. Inline images (`cid:`)
//! become `data:` URIs of the attachment; remote images are dropped unless
//! the reader allowed them, and counted so the web app can offer to.
//!
//! The web app shows the result in a sandboxed frame with a CSP of its own
//! (see `super::body`), so a gap here still could not run script.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Inline style properties kept: typography, colour, spacing, borders, sizes.
const STYLE_PROPERTIES: &[&str] = &[
    "background-color",
    "border",
    "border-bottom",
    "border-collapse",
    "border-color",
    "border-left",
    "border-radius",
    "border-right",
    "border-spacing",
    "border-style",
    "border-top",
    "border-width",
    "color",
    "direction",
    "display",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "height",
    "letter-spacing",
    "line-height",
    "list-style-type",
    "margin",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "margin-top",
    "max-width",
    "min-width",
    "padding",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "padding-top",
    "table-layout",
    "text-align",
    "text-decoration",
    "text-indent",
    "text-transform",
    "vertical-align",
    "white-space",
    "width",
    "word-break",
    "word-spacing",
];

/// Presentational attributes that old-fashioned mail (and Outlook) still uses.
const LAYOUT_ATTRIBUTES: &[(&str, &[&str])] = &[
    (
        "table",
        &["width", "border", "cellpadding", "cellspacing", "bgcolor", "align"],
    ),
    ("td", &["width", "height", "valign", "bgcolor", "align", "nowrap"]),
    ("th", &["width", "height", "valign", "bgcolor", "align", "nowrap"]),
    ("tr", &["valign", "bgcolor", "align"]),
    ("font", &["color", "face", "size"]),
    ("div", &["align"]),
    ("p", &["align"]),
    ("body", &["bgcolor"]),
    ("img", &["border", "hspace", "vspace"]),
];

/// Image types a browser shows without running anything (no SVG: it can carry script).
pub fn is_safe_image_type(mime: &str) -> bool {
    let m = mime.trim().to_ascii_lowercase();
    matches!(
        m.as_str(),
        "image/png" | "image/jpeg" | "image/jpg" | "image/pjpeg" | "image/gif" | "image/webp" | "image/bmp"
    )
}

/// The result of cleaning one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanHtml {
    /// Markup safe to put inside `<body>`.
    pub html: String,
    /// Remote images that were left out (0 when they were allowed).
    pub remote_images_blocked: usize,
}

/// Cleans a mail's HTML. `inline_images` maps a content id (without angle
/// brackets, lower-case) to a `data:` URI.
pub fn clean_html(dirty: &str, inline_images: &HashMap<String, String>, allow_remote_images: bool) -> CleanHtml {
    let blocked = Arc::new(AtomicUsize::new(0));
    let counter = blocked.clone();
    let images = inline_images.clone();
    let mut b = ammonia::Builder::default();
    b.add_tags(["font", "center"])
        .add_generic_attributes(["style", "dir", "lang", "title"])
        .filter_style_properties(STYLE_PROPERTIES.iter().copied().collect::<HashSet<_>>())
        .url_schemes(["http", "https", "mailto", "cid", "data"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .set_tag_attribute_value("a", "target", "_blank")
        .attribute_filter(move |element, attribute, value| {
            filter_url(element, attribute, value, &images, allow_remote_images, &counter)
        });
    for (tag, attrs) in LAYOUT_ATTRIBUTES {
        b.add_tag_attributes(*tag, attrs.iter().copied());
    }
    let html = b.clean(dirty).to_string();
    CleanHtml {
        html,
        remote_images_blocked: blocked.load(Ordering::Relaxed),
    }
}

/// Rewrites or drops URL-valued attributes; every other attribute passes.
fn filter_url<'u>(
    element: &str,
    attribute: &str,
    value: &'u str,
    images: &HashMap<String, String>,
    allow_remote: bool,
    blocked: &AtomicUsize,
) -> Option<Cow<'u, str>> {
    let v = value.trim();
    let scheme = v
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default();
    match (element, attribute) {
        ("img", "src") => match scheme.as_str() {
            "cid" => v
                .split_once(':')
                .and_then(|(_, cid)| images.get(&content_id_key(cid)))
                .map(|uri| Cow::Owned(uri.clone())),
            "data" => is_safe_data_image(v).then_some(Cow::Borrowed(value)),
            "http" | "https" if allow_remote => Some(Cow::Borrowed(value)),
            "http" | "https" => {
                blocked.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => None,
        },
        // srcset would fetch remote images behind the reader's back.
        ("img", "srcset") => None,
        (_, "href") => matches!(scheme.as_str(), "http" | "https" | "mailto").then_some(Cow::Borrowed(value)),
        // cite, longdesc and the like: never fetched, but no reason to keep odd schemes.
        (_, "cite" | "longdesc") => matches!(scheme.as_str(), "http" | "https").then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

fn is_safe_data_image(uri: &str) -> bool {
    let rest = uri.split_once(':').map_or("", |(_, rest)| rest);
    let mime = rest.split([';', ',']).next().unwrap_or("");
    is_safe_image_type(mime)
}

/// The lookup key of a content id: no angle brackets, no URL escapes, lower-case.
pub fn content_id_key(cid: &str) -> String {
    let t = cid.trim().trim_start_matches('<').trim_end_matches('>');
    percent_decode(t).to_ascii_lowercase()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A plain-text body as HTML: escaped, line breaks kept, web and mail links clickable.
pub fn text_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str("<div class=\"okapi-plain\">");
    let mut rest = text;
    // Both offsets are char boundaries (see find_link and link_end); the
    // checked splits make that a loop end rather than a panic if it ever
    // stopped being true.
    while let Some((before, from_link)) = find_link(rest).and_then(|start| rest.split_at_checked(start)) {
        let Some((url, after)) = from_link.split_at_checked(link_end(from_link)) else {
            break;
        };
        escape_into(&mut out, before);
        out.push_str("<a href=\"");
        escape_into(&mut out, url);
        out.push_str("\" target=\"_blank\" rel=\"noopener noreferrer\">");
        escape_into(&mut out, url);
        out.push_str("</a>");
        rest = after;
    }
    escape_into(&mut out, rest);
    out.push_str("</div>");
    out
}

/// Where the first web link starts. The prefixes are ASCII, so a match that
/// starts at a char boundary also ends at one; comparing bytes (never slicing
/// the `str` at `i + prefix.len()`) keeps a multi-byte character right after
/// the match, or inside the would-be prefix, from splitting.
fn find_link(s: &str) -> Option<usize> {
    const PREFIXES: [&[u8]; 2] = [b"https://", b"http://"];
    s.char_indices().map(|(i, _)| i).find(|&i| {
        let rest = s.as_bytes().get(i..).unwrap_or_default();
        PREFIXES
            .iter()
            .any(|p| rest.get(..p.len()).is_some_and(|head| head.eq_ignore_ascii_case(p)))
    })
}

/// Where a link that starts `s` ends: at white space or markup, without a
/// sentence's closing punctuation. Always a char boundary of `s`.
fn link_end(s: &str) -> usize {
    let mut link = s
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .next()
        .unwrap_or_default();
    // A sentence's closing punctuation is not part of the link.
    link = link.trim_end_matches(['.', ',', ')', ';', ':', '!', '?', '\'']);
    link.len()
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> CleanHtml {
        clean_html(html, &HashMap::new(), false)
    }

    #[test]
    fn scripts_handlers_and_forms_go() {
        let c = clean(
            "<p onclick=\"x()\">hi<script>alert(1)</script></p><img src=x onerror=alert(1)>\
             <form action=/x><input name=p></form><iframe src=/x></iframe><object data=x></object>\
             <svg><script>alert(2)</script></svg><style>body{display:none}</style>",
        );
        for bad in [
            "script", "onclick", "onerror", "<form", "<input", "<iframe", "<object", "<style", "alert",
        ] {
            assert!(!c.html.contains(bad), "{bad} survived: {}", c.html);
        }
        assert!(c.html.contains("<p>hi</p>"));
    }

    #[test]
    fn javascript_and_data_links_are_dropped() {
        let c = clean(
            "<a href=\"javascript:alert(1)\">a</a><a href=\" JaVaScRiPt:alert(1)\">b</a>\
             <a href=\"data:text/html,<script>alert(1)</script>\">c</a><a href=\"vbscript:x\">d</a>",
        );
        assert!(!c.html.to_ascii_lowercase().contains("script:"), "{}", c.html);
        assert!(!c.html.contains("data:"), "{}", c.html);
    }

    #[test]
    fn links_open_without_opener() {
        let c = clean("<a href=\"https://example.org/\">x</a>");
        assert!(c.html.contains("target=\"_blank\""), "{}", c.html);
        assert!(c.html.contains("rel=\"noopener noreferrer\""), "{}", c.html);
    }

    #[test]
    fn positioning_and_urls_leave_styles() {
        let c = clean(
            "<div style=\"position:fixed;top:0;left:0;width:100%;z-index:9999;color:red;\
             background-image:url(https://evil.example/x.png)\">x</div>",
        );
        assert!(!c.html.contains("position"), "{}", c.html);
        assert!(!c.html.contains("z-index"), "{}", c.html);
        assert!(!c.html.contains("url("), "{}", c.html);
        assert!(c.html.contains("color:red"), "{}", c.html);
    }

    #[test]
    fn remote_images_are_blocked_and_counted() {
        let html = "<img src=\"https://tracker.example/p.gif\"><img src=\"http://x.example/a.png\" srcset=\"https://x.example/b.png 2x\">";
        let c = clean(html);
        assert_eq!(c.remote_images_blocked, 2);
        assert!(!c.html.contains("example"), "{}", c.html);
        let allowed = clean_html(html, &HashMap::new(), true);
        assert_eq!(allowed.remote_images_blocked, 0);
        assert!(allowed.html.contains("https://tracker.example/p.gif"));
        assert!(!allowed.html.contains("srcset"));
    }

    #[test]
    fn inline_images_become_data_uris() {
        let mut images = HashMap::new();
        images.insert("logo@x".to_string(), "data:image/png;base64,AAAA".to_string());
        let c = clean_html("<img src=\"cid:Logo@X\"><img src=\"cid:missing\">", &images, false);
        assert!(c.html.contains("src=\"data:image/png;base64,AAAA\""), "{}", c.html);
        assert_eq!(c.html.matches("src=").count(), 1, "{}", c.html);
        let svg = clean("<img src=\"data:image/svg+xml;base64,PHN2Zz4=\">");
        assert!(!svg.html.contains("svg"), "{}", svg.html);
    }

    #[test]
    fn relative_urls_are_dropped() {
        let c = clean("<a href=\"/api/v1/deleteObjects\">x</a>");
        assert!(!c.html.contains("/api"), "{}", c.html);
    }

    #[test]
    fn plain_text_is_escaped_and_linked() {
        let h = text_to_html("a <b> & \"c\"\nsee https://example.org/x?a=1&b=2.");
        assert!(h.contains("a &lt;b&gt; &amp; &quot;c&quot;\nsee "), "{h}");
        assert!(
            h.contains("<a href=\"https://example.org/x?a=1&amp;b=2\" target=\"_blank\" rel=\"noopener noreferrer\">"),
            "{h}"
        );
        assert!(h.ends_with("</a>.</div>"), "{h}");
    }

    /// Issue 10: a non-ASCII character before a link (here "ü", two bytes in
    /// UTF-8) made `find_link` slice inside it, and the panic took the
    /// server down.
    #[test]
    fn non_ascii_around_links_is_kept_whole() {
        let h = text_to_html("Hallo Jürgen, siehe https://example.org/a");
        assert_eq!(
            h,
            "<div class=\"okapi-plain\">Hallo Jürgen, siehe <a href=\"https://example.org/a\" target=\"_blank\" \
             rel=\"noopener noreferrer\">https://example.org/a</a></div>"
        );
        let h = text_to_html("日本https://例え.jp/パス。😀 ühttp://x.example/ü😀.");
        assert!(h.contains("日本<a href=\"https://例え.jp/パス。😀\""), "{h}");
        assert!(h.contains(" ü<a href=\"http://x.example/ü😀\""), "{h}");
        assert!(h.ends_with("</a>.</div>"), "{h}");
        assert_eq!(text_to_html("ühttps:/"), "<div class=\"okapi-plain\">ühttps:/</div>");
        assert_eq!(find_link("Ünïcödé HTTPS://x"), Some("Ünïcödé ".len()));
    }

    #[test]
    fn content_ids_normalise() {
        assert_eq!(content_id_key("<Part1.ABC@Host>"), "part1.abc@host");
        assert_eq!(content_id_key("a%40b"), "a@b");
    }
}
