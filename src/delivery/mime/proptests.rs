//! Properties of the MIME reader over text and bytes from anywhere: any
//! bytes parse without a panic and yield valid, bounded text; subjects and
//! bodies in any script survive encoded words and transfer encodings; the
//! helpers that shape header text (display lines, subjects, file names,
//! undeclared charsets) keep their promises. 256 cases each.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use proptest::prelude::*;

use super::*;

const RECEIVED: i64 = 1_700_000_000_000_000;

fn text(d: &MessageData, tag: PropTag) -> Option<&str> {
    d.props.get(&tag).and_then(PropValue::as_str)
}

/// Text as mail carries it: any printable Unicode, with the world's scripts
/// and emoji made likely.
fn world_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "\\PC{0,16}",
        Just("Grüße Jürgen".to_string()),
        Just("Déjà vu, ça va".to_string()),
        Just("Příliš žluťoučký kůň".to_string()),
        Just("Καλημέρα".to_string()),
        Just("Привет".to_string()),
        Just("你好，世界".to_string()),
        Just("مرحبا بالعالم".to_string()),
        Just("😀👩‍👩‍👧🇩🇪".to_string()),
        Just(" ".to_string()),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes: no panic, the raw bytes kept, every property fits its
    /// tag, the subject is one line (kept whole: the store, not the parser,
    /// fits it to its column) and PR_HTML is UTF-8.
    #[test]
    fn any_bytes_parse(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        let d = parse_message(&raw, RECEIVED);
        prop_assert_eq!(d.raw.as_deref(), Some(raw.as_slice()));
        prop_assert!(d.props.iter().all(|(t, v)| v.fits(*t)));
        let subject = text(&d, PR_SUBJECT).unwrap_or_default();
        prop_assert!(!subject.chars().any(char::is_control));
        if let Some(PropValue::Binary(html)) = d.props.get(&PR_HTML) {
            prop_assert!(std::str::from_utf8(html).is_ok());
        }
    }

    /// Any bytes after a plausible header block: the same promises, with
    /// the MIME machinery reached.
    #[test]
    fn any_body_bytes_parse(
        content_type in prop_oneof![
            Just("text/plain; charset=utf-8"),
            Just("text/html; charset=iso-8859-2"),
            Just("multipart/alternative; boundary=\"b\""),
            Just("multipart/mixed; boundary=b"),
        ],
        encoding in prop_oneof![Just("8bit"), Just("base64"), Just("quoted-printable")],
        body in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut raw = format!(
            "From: a@example.org\r\nSubject: =?utf-8?q?x=C3?=\r\nMIME-Version: 1.0\r\n\
             Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n--b\r\n"
        )
        .into_bytes();
        raw.extend_from_slice(&body);
        let d = parse_message(&raw, RECEIVED);
        prop_assert_eq!(d.raw.as_deref(), Some(raw.as_slice()));
        prop_assert!(d.props.iter().all(|(t, v)| v.fits(*t)));
        if let Some(PropValue::Binary(html)) = d.props.get(&PR_HTML) {
            prop_assert!(std::str::from_utf8(html).is_ok());
        }
    }

    /// A subject in any script, as a UTF-8 encoded word (B and Q), comes
    /// back as the text that was sent.
    #[test]
    fn encoded_word_subjects_decode(subject in world_text(), q in any::<bool>()) {
        let word = if q {
            let encoded: String = subject
                .bytes()
                .map(|b| if b.is_ascii_alphanumeric() { char::from(b).to_string() } else { format!("={b:02X}") })
                .collect();
            format!("=?utf-8?q?{encoded}?=")
        } else {
            format!("=?utf-8?b?{}?=", B64.encode(subject.as_bytes()))
        };
        let raw = format!("From: a@example.org\r\nSubject: {word}\r\n\r\nx\r\n");
        let d = parse_message(raw.as_bytes(), RECEIVED);
        prop_assert_eq!(text(&d, PR_SUBJECT).unwrap_or_default(), subject.trim());
    }

    /// A plain-text body in any script, base64 under a declared UTF-8
    /// charset, arrives character for character.
    #[test]
    fn plain_bodies_arrive_intact(body in world_text()) {
        prop_assume!(!body.trim().is_empty());
        let raw = format!(
            "From: a@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            B64.encode(body.as_bytes())
        );
        let d = parse_message(raw.as_bytes(), RECEIVED);
        prop_assert_eq!(text(&d, PR_BODY).unwrap_or_default(), body.as_str());
    }

    /// A display line (subject, name, the preview of a list) is bounded in
    /// characters, has no control characters and no leading white space (a
    /// cut may end it in a space).
    #[test]
    fn display_lines_are_bounded(s in any::<String>(), max in 0usize..64) {
        let line = clean_line(&s, max);
        prop_assert!(line.chars().count() <= max);
        prop_assert!(!line.chars().any(char::is_control));
        prop_assert_eq!(line.trim_start(), line.as_str());
        let cut = truncate_chars(&s, max);
        prop_assert!(s.starts_with(&cut));
    }

    /// Subject normalisation: the topic is the end of the subject, reply
    /// and forward prefixes in any number and language make no difference,
    /// and normalising twice changes nothing.
    #[test]
    fn conversation_topics_normalise(subject in world_text(), prefixes in prop::collection::vec(
        prop_oneof![Just("Re: "), Just("RE:"), Just("Fwd: "), Just("AW: "), Just("WG:"), Just("Re[2]: "), Just("SV: ")],
        0..4,
    )) {
        let topic = conversation_topic(&subject);
        prop_assert!(subject.ends_with(&topic));
        prop_assert_eq!(conversation_topic(&topic), topic.clone());
        let prefixed = format!("{}{topic}", prefixes.concat());
        prop_assert_eq!(conversation_topic(&prefixed), topic);
    }

    /// File names from any header: no directories and no control characters
    /// (the length is kept; the store fits the column).
    #[test]
    fn file_names_are_safe(name in any::<String>()) {
        let f = sanitize_filename(&name);
        prop_assert!(!f.contains(['/', '\\']));
        prop_assert!(!f.chars().any(char::is_control));
    }

    /// Undeclared text: UTF-8 stays as it is; anything else becomes one
    /// character per byte (Windows-1252), never an error.
    #[test]
    fn undeclared_text_always_decodes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let decoded = decode_undeclared(&bytes);
        match std::str::from_utf8(&bytes) {
            Ok(s) => prop_assert_eq!(decoded.as_ref(), s),
            Err(_) => prop_assert_eq!(decoded.chars().count(), bytes.len()),
        }
    }
}
