//! Turning one delivered RFC 5322 message into what the store keeps.
//!
//! Delivery parses a message once, here, and never again: the store keeps the
//! original bytes byte-exact (IMAP and export serve those) next to the MAPI
//! properties, recipients and attachments that MAPI clients and tables read.
//! This module owns that one translation. It does not write to the store, does
//! not decide who gets the message, and does not size it (the store sets
//! PR_MESSAGE_SIZE).
//!
//! Mail from the internet is often broken: wrong or missing charset labels,
//! 8-bit headers, bad base64, missing MIME boundaries, megabytes of headers.
//! [`parse_message`] therefore never fails: whatever it cannot read it logs at
//! debug level and leaves out, and the raw bytes stay the truth. All text it
//! produces is valid UTF-8. Values are kept whole however long they are: the
//! store fits them to its columns and keeps the full form in the property bag.
//! Where mail-parser would misread broken framing, split encoded words or
//! irregular base64, [`super::mime_repair`] mends a copy first.
//!
//! Choices worth knowing:
//! - Reply-To addresses go into [`PR_OKAPI_REPLY_TO_ADDRESSES`], a multi-valued
//!   string in the provider-defined range, index-aligned with the `"; "`-joined
//!   display names in PR_REPLY_RECIPIENT_NAMES. MAPI's own
//!   PR_REPLY_RECIPIENT_ENTRIES holds one-off entry ids, which okapi does not use.
//! - Undeclared or mislabelled text (no charset, `us-ascii`, `utf-8`) is taken as
//!   UTF-8 when it is valid UTF-8 and as Windows-1252 otherwise; other labels are
//!   trusted. PR_HTML is always UTF-8, whatever the original charset was.
//! - Attachments keep their bytes as sent (transfer encoding removed, charset
//!   untouched), so a saved file is the file the sender attached.
//! - Without a Date: header, PR_CLIENT_SUBMIT_TIME is the delivery time, so that
//!   sorting by "sent" still places the message.
//! - Arbitrary X-headers never become properties; they stay readable in
//!   PR_TRANSPORT_MESSAGE_HEADERS (capped at [`MAX_TRANSPORT_HEADERS`]).

use std::borrow::Cow;
use std::collections::HashSet;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::html::{html_to_text, text_to_html};
use mail_parser::{
    Address, ContentType, Encoding, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

use super::mime_repair::{base64_lenient, fix_part_ends, join_encoded_words, quoted_printable_lenient, repair_framing};
use crate::props::*;
use crate::store::{MessageData, NewAttachmentData, RecipientRow};

/// Most bytes of the header block kept in PR_TRANSPORT_MESSAGE_HEADERS.
pub const MAX_TRANSPORT_HEADERS: usize = 64 * 1024;
/// Most attachments taken from one message; the rest stay only in the raw bytes.
pub const MAX_ATTACHMENTS: usize = 1000;
/// Deepest multipart nesting read; parts below it stay only in the raw bytes.
pub const MAX_MIME_DEPTH: usize = 32;
/// Most recipients taken from the To, Cc and Bcc headers together.
pub const MAX_RECIPIENTS: usize = 10_000;

/// PR_ATTACH_METHOD: the attachment's bytes are in the attachment.
pub const ATTACH_BY_VALUE: i32 = 1;
/// PR_ATTACH_METHOD: the attachment is a message of its own (message/rfc822).
pub const ATTACH_EMBEDDED_MSG: i32 = 5;

// Header values are kept whole (the store keeps what its columns cannot hold
// in the bag); the header block itself is what bounds them. Joined lists
// (display names of every recipient, references) are bounded generously;
// each entry is also kept whole where it has a place of its own.
const MAX_LIST_CHARS: usize = 32 * 1024;

/// Parses one RFC 5322 message into the data the store keeps for it.
///
/// `raw` is kept byte-exact in [`MessageData::raw`]; `received_at_micros`
/// becomes PR_MESSAGE_DELIVERY_TIME. Never fails and never panics: a message
/// that cannot be read at all still yields its raw bytes, an (empty) subject
/// and the class `IPM.Note`.
pub fn parse_message(raw: &[u8], received_at_micros: i64) -> MessageData {
    let mut out = MessageData {
        raw: Some(raw.to_vec()),
        ..MessageData::default()
    };
    set_str(&mut out, PR_MESSAGE_CLASS, "IPM.Note");
    out.props
        .insert(PR_MESSAGE_DELIVERY_TIME, PropValue::Time(received_at_micros));

    // Bare CR line ends and missing header/body separators: parse a mended
    // copy; `raw` stays as delivered.
    let framed = repair_framing(raw);
    let raw: &[u8] = &framed;
    let parser = MessageParser::default();
    let Some(mut msg) = parser.parse(raw) else {
        tracing::debug!(
            bytes = raw.len(),
            "message has no RFC 5322 header; keeping the raw bytes only"
        );
        unparsed_fallback(raw, received_at_micros, &mut out);
        return out;
    };

    fix_part_ends(raw, &mut msg.parts);

    let header_end = msg.parts.first().map_or(0, |p| p.offset_body as usize).min(raw.len());
    let header_block = raw.get(..header_end).unwrap_or_default();
    set_transport_headers(header_block, &mut out);

    // Undeclared 8-bit header text: mail-parser decodes it lossily as UTF-8,
    // so each invalid line is taken as Windows-1252. Encoded words that split
    // a character between them are joined. Then the headers are read again.
    let utf8_block = match std::str::from_utf8(header_block) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            tracing::debug!("header block is not UTF-8; reading its 8-bit lines as Windows-1252");
            Cow::Owned(String::from_utf8_lossy(&repair_8bit_lines(header_block)).into_owned())
        }
    };
    let repaired_block = match join_encoded_words(&utf8_block) {
        Some(joined) => Some(joined),
        None => matches!(utf8_block, Cow::Owned(_)).then(|| utf8_block.into_owned()),
    };
    let repaired = repaired_block
        .as_deref()
        .and_then(|b| parser.parse_headers(b.as_bytes()));
    let headers: &Message<'_> = repaired.as_ref().unwrap_or(&msg);

    set_envelope(headers, received_at_micros, &mut out);
    set_recipients(headers, &mut out);
    set_content(raw, &msg, &mut out);
    out
}

// ---- headers -----------------------------------------------------------------

fn set_envelope(h: &Message<'_>, received_at: i64, out: &mut MessageData) {
    let subject = one_line(h.subject().unwrap_or_default());
    set_str(out, PR_CONVERSATION_TOPIC, &conversation_topic(&subject));
    set_str(out, PR_SUBJECT, &subject);

    let from = h.from().and_then(Address::first);
    let sender = h.sender().and_then(Address::first).or(from);
    if let Some(a) = from {
        set_str(out, PR_SENT_REPRESENTING_NAME, &addr_name(a));
        set_str(out, PR_SENT_REPRESENTING_EMAIL_ADDRESS, &addr_email(a));
    }
    if let Some(a) = sender {
        set_str(out, PR_SENDER_NAME, &addr_name(a));
        let email = addr_email(a);
        if !email.is_empty() {
            set_str(out, PR_SENDER_ADDRTYPE, "SMTP");
        }
        set_str(out, PR_SENDER_EMAIL_ADDRESS, &email);
    }

    if let Some(reply_to) = h.reply_to() {
        let addrs: Vec<_> = reply_to.iter().take(MAX_RECIPIENTS).collect();
        if !addrs.is_empty() {
            let names: Vec<String> = addrs.iter().map(|a| addr_name(a)).collect();
            let emails: Vec<String> = addrs.iter().map(|a| addr_email(a)).collect();
            set_str(
                out,
                PR_REPLY_RECIPIENT_NAMES,
                &truncate_chars(&names.join("; "), MAX_LIST_CHARS),
            );
            out.props.insert(PR_OKAPI_REPLY_TO_ADDRESSES, PropValue::MvStr(emails));
        }
    }

    let sent = h.date().and_then(datetime_micros);
    if sent.is_none() && h.header_raw("Date").is_some() {
        tracing::debug!("unreadable Date: header; using the delivery time as the submit time");
    }
    out.props
        .insert(PR_CLIENT_SUBMIT_TIME, PropValue::Time(sent.unwrap_or(received_at)));

    if let Some(id) = h.message_id() {
        let id = one_line(id);
        if !id.is_empty() {
            set_str(out, PR_INTERNET_MESSAGE_ID, &format!("<{id}>"));
        }
    }
    let in_reply_to = message_ids(h.in_reply_to());
    if !in_reply_to.is_empty() {
        set_str(out, PR_IN_REPLY_TO_ID, &clean_line(&in_reply_to, MAX_LIST_CHARS));
    }
    let references = message_ids(h.references());
    if !references.is_empty() {
        set_str(out, PR_INTERNET_REFERENCES, &clean_line(&references, MAX_LIST_CHARS));
    }

    let (importance, priority) = importance_and_priority(h);
    out.props.insert(PR_IMPORTANCE, PropValue::Long(importance));
    out.props.insert(PR_PRIORITY, PropValue::Long(priority));
    out.props.insert(PR_SENSITIVITY, PropValue::Long(sensitivity(h)));
}

/// PR_IMPORTANCE (0 low, 1 normal, 2 high) and PR_PRIORITY (-1, 0, 1).
///
/// Importance: wins over X-Priority:, which wins over Priority:; a header
/// that says something unknown is passed over.
fn importance_and_priority(h: &Message<'_>) -> (i32, i32) {
    let importance_hdr = h
        .header_raw("Importance")
        .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
            "high" => Some(2),
            "normal" => Some(1),
            "low" => Some(0),
            _ => None,
        });
    let x_priority = h.header_raw("X-Priority").and_then(|v| match v.trim().bytes().next() {
        Some(b'1' | b'2') => Some(2),
        Some(b'3') => Some(1),
        Some(b'4' | b'5') => Some(0),
        _ => None,
    });
    let priority_hdr = h
        .header_raw("Priority")
        .and_then(|v| match v.trim().to_ascii_lowercase().as_str() {
            "urgent" => Some(1),
            "normal" => Some(0),
            "non-urgent" => Some(-1),
            _ => None,
        });
    let importance = importance_hdr
        .or(x_priority)
        .or(priority_hdr.map(|p| p + 1))
        .unwrap_or(1);
    let priority = priority_hdr.unwrap_or(importance - 1);
    (importance, priority)
}

/// PR_SENSITIVITY from the RFC 2156 Sensitivity: header.
fn sensitivity(h: &Message<'_>) -> i32 {
    match h.header_raw("Sensitivity").map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "personal" => 1,
        Some(v) if v == "private" => 2,
        Some(v) if v == "company-confidential" => 3,
        _ => 0,
    }
}

fn set_recipients(h: &Message<'_>, out: &mut MessageData) {
    let mut rows = Vec::new();
    let mut display: [Vec<String>; 3] = Default::default();
    let lists = [
        (1, h.all_to().collect::<Vec<_>>()),
        (2, h.all_cc().collect()),
        (3, h.all_bcc().collect()),
    ];
    for (kind, headers) in lists {
        for addr in headers.into_iter().flat_map(Address::iter) {
            let address = addr_email(addr);
            if address.is_empty() {
                continue;
            }
            if rows.len() >= MAX_RECIPIENTS {
                tracing::debug!(
                    max = MAX_RECIPIENTS,
                    "too many recipients; the rest stay in the raw message"
                );
                break;
            }
            let display_name = addr_name(addr);
            if let Some(names) = display.get_mut(kind as usize - 1) {
                names.push(display_name.clone());
            }
            let mut props = PropMap::new();
            props.insert(PR_ADDRTYPE, PropValue::Str("SMTP".into()));
            rows.push(RecipientRow {
                recipient_type: kind,
                display_name,
                address,
                props,
            });
        }
    }
    for (tag, names) in [PR_DISPLAY_TO, PR_DISPLAY_CC, PR_DISPLAY_BCC].into_iter().zip(display) {
        if !names.is_empty() {
            set_str(out, tag, &truncate_chars(&names.join("; "), MAX_LIST_CHARS));
        }
    }
    out.recipients = Some(rows);
}

fn addr_email(a: &mail_parser::Addr<'_>) -> String {
    one_line(a.address().unwrap_or_default())
}

/// The display name, or the address when there is none.
fn addr_name(a: &mail_parser::Addr<'_>) -> String {
    let name = one_line(a.name().unwrap_or_default());
    if name.is_empty() { addr_email(a) } else { name }
}

/// Message ids from In-Reply-To: or References:, each in angle brackets,
/// separated by spaces.
fn message_ids(v: &HeaderValue<'_>) -> String {
    let ids: Vec<Cow<'_, str>> = match v {
        HeaderValue::Text(t) => vec![Cow::Borrowed(t.as_ref())],
        HeaderValue::TextList(list) => list.iter().map(|t| Cow::Borrowed(t.as_ref())).collect(),
        _ => Vec::new(),
    };
    ids.iter()
        .map(|id| one_line(id))
        .filter(|id| !id.is_empty())
        .map(|id| format!("<{}>", id.trim_start_matches('<').trim_end_matches('>')))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Microseconds since the epoch for a parsed Date: header, if it is a real time.
fn datetime_micros(d: &mail_parser::DateTime) -> Option<i64> {
    let month = time::Month::try_from(d.month).ok()?;
    let date = time::Date::from_calendar_date(i32::from(d.year), month, d.day).ok()?;
    let clock = time::Time::from_hms(d.hour, d.minute, d.second.min(59)).ok()?;
    let hours = i8::try_from(d.tz_hour).ok()?;
    let minutes = i8::try_from(d.tz_minute).ok()?;
    let (hours, minutes) = if d.tz_before_gmt {
        (-hours, -minutes)
    } else {
        (hours, minutes)
    };
    let offset = time::UtcOffset::from_hms(hours, minutes, 0).ok()?;
    let t = time::PrimitiveDateTime::new(date, clock).assume_offset(offset);
    i64::try_from(t.unix_timestamp_nanos() / 1000).ok()
}

/// The subject without reply and forward prefixes (`Re:`, `Fwd:`, `AW:`,
/// `WG:`, `Re[2]:` and the like, repeated).
fn conversation_topic(subject: &str) -> String {
    const PREFIXES: &[&str] = &[
        "re", "fw", "fwd", "aw", "wg", "sv", "vs", "antw", "tr", "rif", "ref", "odp",
    ];
    let mut s = subject.trim_start();
    while let Some(colon) = s.find(':') {
        let head = s.get(..colon).unwrap_or_default().trim_end();
        // Strip a counter like "[2]" or "(2)" after the prefix word.
        let word = head
            .strip_suffix(']')
            .and_then(|h| h.rsplit_once('['))
            .or_else(|| head.strip_suffix(')').and_then(|h| h.rsplit_once('(')))
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .map_or(head, |(w, _)| w.trim_end());
        if !PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(word)) {
            break;
        }
        s = s.get(colon + 1..).unwrap_or_default().trim_start();
    }
    s.to_string()
}

fn set_transport_headers(block: &[u8], out: &mut MessageData) {
    if block.is_empty() {
        return;
    }
    let capped = if block.len() > MAX_TRANSPORT_HEADERS {
        tracing::debug!(
            bytes = block.len(),
            max = MAX_TRANSPORT_HEADERS,
            "header block is large; PR_TRANSPORT_MESSAGE_HEADERS keeps its start"
        );
        let head = block.get(..MAX_TRANSPORT_HEADERS).unwrap_or_default();
        // End on a line boundary when there is one.
        match head.iter().rposition(|&b| b == b'\n') {
            Some(nl) => head.get(..=nl).unwrap_or(head),
            None => head,
        }
    } else {
        block
    };
    let repaired = repair_8bit_lines(capped);
    let text = String::from_utf8_lossy(&repaired).replace('\0', " ");
    set_str(out, PR_TRANSPORT_MESSAGE_HEADERS, &text);
}

/// The header block with each line that is not UTF-8 read as Windows-1252.
fn repair_8bit_lines(block: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + block.len() / 8);
    for line in block.split_inclusive(|&b| b == b'\n') {
        match std::str::from_utf8(line) {
            Ok(_) => out.extend_from_slice(line),
            Err(_) => out.extend_from_slice(windows_1252(line).as_bytes()),
        }
    }
    out
}

/// When nothing could be parsed: keep the bytes, and show them as the body if
/// they look like text.
fn unparsed_fallback(raw: &[u8], received_at: i64, out: &mut MessageData) {
    set_str(out, PR_SUBJECT, "");
    set_str(out, PR_CONVERSATION_TOPIC, "");
    out.props.insert(PR_CLIENT_SUBMIT_TIME, PropValue::Time(received_at));
    out.recipients = Some(Vec::new());
    if looks_like_text(raw) {
        let text = decode_undeclared(raw);
        if !text.trim().is_empty() {
            set_str(out, PR_BODY, &text);
        }
    }
}

fn looks_like_text(raw: &[u8]) -> bool {
    let sample = raw.get(..raw.len().min(8192)).unwrap_or_default();
    let odd = sample
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)))
        .count();
    odd * 100 <= sample.len()
}

// ---- body, class and attachments ----------------------------------------------

/// What a text/calendar part says it is.
struct Invitation {
    part: u32,
    class: &'static str,
}

fn set_content(raw: &[u8], msg: &Message<'_>, out: &mut MessageData) {
    let depths = part_depths(msg);
    let usable = |id: u32| depths.get(id as usize).is_some_and(|&d| d <= MAX_MIME_DEPTH);
    if depths.iter().any(|&d| d > MAX_MIME_DEPTH) {
        tracing::debug!(
            max = MAX_MIME_DEPTH,
            "MIME nesting too deep; deeper parts stay in the raw message"
        );
    }

    // Bodies.
    let mut body = String::new();
    for &id in msg.text_body.iter().filter(|&&id| usable(id)) {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(_) => part_text(raw, part),
            PartType::Html(_) => Cow::Owned(html_to_text(&part_text(raw, part))),
            _ => continue,
        };
        append_text(&mut body, &text);
    }
    let mut html = String::new();
    let html_ids: Vec<u32> = msg.html_body.iter().copied().filter(|&id| usable(id)).collect();
    let has_html = html_ids
        .iter()
        .any(|&id| matches!(msg.parts.get(id as usize).map(|p| &p.body), Some(PartType::Html(_))));
    if has_html {
        for &id in &html_ids {
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            match &part.body {
                PartType::Html(_) => append_text(&mut html, &part_text(raw, part)),
                PartType::Text(_) => append_text(&mut html, &text_to_html(&part_text(raw, part))),
                _ => {}
            }
        }
    }
    // A text part cut off before its closing boundary is listed by
    // mail-parser as an attachment; where the message has no body of its
    // kind, it is that body, as other readers show it.
    let mut taken_as_body = Vec::new();
    for id in msg.attachments.iter().copied().filter(|&id| usable(id)) {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let named_or_attached = part.attachment_name().is_some()
            || part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("attachment"));
        if !part.is_encoding_problem || named_or_attached {
            continue;
        }
        match mime_type_of(part).as_str() {
            "text/html" if html.trim().is_empty() => {
                html = part_text(raw, part).into_owned();
                if body.trim().is_empty() {
                    body = html_to_text(&html);
                }
                taken_as_body.push(id);
            }
            "text/plain" if body.trim().is_empty() => {
                body = part_text(raw, part).into_owned();
                taken_as_body.push(id);
            }
            _ => {}
        }
    }
    if !body.trim().is_empty() {
        set_str(out, PR_BODY, &body.replace('\0', " "));
    }
    if !html.trim().is_empty() {
        out.props.insert(PR_HTML, PropValue::Binary(html.into_bytes()));
    }
    let cids = referenced_cids(msg, &html_ids);

    // Class.
    let root_type = msg.parts.first().map(mime_type_of).unwrap_or_default();
    let invitation = find_invitation(raw, msg, &usable);
    let class = match root_type.as_str() {
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => "IPM.Note.SMIME",
        "multipart/signed" => "IPM.Note.SMIME.MultipartSigned",
        _ => invitation.as_ref().map_or("IPM.Note", |i| i.class),
    };
    set_str(out, PR_MESSAGE_CLASS, class);

    // Attachments.
    let mut ids: Vec<u32> = msg
        .attachments
        .iter()
        .copied()
        .filter(|&id| usable(id) && !taken_as_body.contains(&id))
        .collect();
    if ids.len() > MAX_ATTACHMENTS {
        tracing::debug!(
            parts = ids.len(),
            max = MAX_ATTACHMENTS,
            "too many attachments; the rest stay in the raw message"
        );
        ids.truncate(MAX_ATTACHMENTS);
    }
    for id in ids {
        let Some(part) = msg.parts.get(id as usize) else {
            continue;
        };
        let n = out.new_attachments.len() + 1;
        let forced_name = match mime_type_of(part).as_str() {
            "application/pkcs7-signature" | "application/x-pkcs7-signature" if class.ends_with("MultipartSigned") => {
                Some("smime.p7s")
            }
            _ if id == 0 && class == "IPM.Note.SMIME" => Some("smime.p7m"),
            _ if invitation.as_ref().is_some_and(|i| i.part == id) && part.attachment_name().is_none() => {
                Some("invite.ics")
            }
            _ => None,
        };
        out.new_attachments
            .push(make_attachment(raw, part, n, forced_name, &cids));
    }
}

fn append_text(to: &mut String, text: &str) {
    if text.is_empty() {
        return;
    }
    if !to.is_empty() && !to.ends_with('\n') {
        to.push('\n');
    }
    to.push_str(text);
}

/// The nesting depth of each part (the root is 0), walked without recursion.
fn part_depths(msg: &Message<'_>) -> Vec<usize> {
    let mut depth = vec![usize::MAX; msg.parts.len()];
    let mut stack = vec![(0u32, 0usize)];
    while let Some((id, d)) = stack.pop() {
        let Some(slot) = depth.get_mut(id as usize) else {
            continue;
        };
        if *slot != usize::MAX {
            continue;
        }
        *slot = d;
        if let Some(PartType::Multipart(children)) = msg.parts.get(id as usize).map(|p| &p.body) {
            stack.extend(children.iter().map(|&c| (c, d + 1)));
        }
    }
    // Parts that no multipart lists (broken MIME that mail-parser recovered)
    // are taken as top level.
    for d in &mut depth {
        if *d == usize::MAX {
            *d = 0;
        }
    }
    depth
}

/// `type/subtype`, lower case; text/plain when the part has no Content-Type.
fn mime_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => content_type_string(ct),
        None => "text/plain".to_string(),
    }
}

fn content_type_string(ct: &ContentType<'_>) -> String {
    let ty = clean_token(ct.ctype());
    match ct.subtype().map(clean_token) {
        Some(sub) if !ty.is_empty() && !sub.is_empty() => format!("{ty}/{sub}"),
        _ => "application/octet-stream".to_string(),
    }
}

fn clean_token(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The first text/calendar part with a METHOD that makes it a meeting message.
fn find_invitation(raw: &[u8], msg: &Message<'_>, usable: &dyn Fn(u32) -> bool) -> Option<Invitation> {
    for (id, part) in msg.parts.iter().enumerate() {
        let id = u32::try_from(id).ok()?;
        if !usable(id) || mime_type_of(part) != "text/calendar" {
            continue;
        }
        let text = part_text(raw, part);
        let (method, partstat) = calendar_method(&text);
        let method = method.or_else(|| {
            part.content_type()
                .and_then(|ct| ct.attribute("method"))
                .map(|m| m.trim().to_ascii_uppercase())
        });
        let class = match (method.as_deref(), partstat.as_deref()) {
            (Some("REQUEST"), _) => "IPM.Schedule.Meeting.Request",
            (Some("CANCEL"), _) => "IPM.Schedule.Meeting.Canceled",
            (Some("REPLY"), Some("ACCEPTED")) => "IPM.Schedule.Meeting.Resp.Pos",
            (Some("REPLY"), Some("DECLINED")) => "IPM.Schedule.Meeting.Resp.Neg",
            (Some("REPLY"), Some("TENTATIVE")) => "IPM.Schedule.Meeting.Resp.Tent",
            _ => continue,
        };
        return Some(Invitation { part: id, class });
    }
    None
}

/// METHOD and the first attendee's PARTSTAT from iCalendar text, upper case.
fn calendar_method(text: &str) -> (Option<String>, Option<String>) {
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\n ", "")
        .replace("\n\t", "");
    let mut method = None;
    let mut partstat = None;
    for line in unfolded.lines() {
        let upper = line.trim().to_ascii_uppercase();
        if method.is_none()
            && let Some(m) = upper.strip_prefix("METHOD:")
        {
            method = Some(m.trim().to_string());
        }
        if partstat.is_none()
            && upper.starts_with("ATTENDEE")
            && let Some(pos) = upper.find("PARTSTAT=")
        {
            let rest = upper.get(pos + "PARTSTAT=".len()..).unwrap_or_default();
            let end = rest.find([';', ':']).unwrap_or(rest.len());
            partstat = Some(rest.get(..end).unwrap_or_default().trim_matches('"').to_string());
        }
    }
    (method, partstat)
}

/// Content ids that the HTML bodies refer to with `cid:`.
fn referenced_cids(msg: &Message<'_>, html_ids: &[u32]) -> HashSet<String> {
    let mut cids = HashSet::new();
    for &id in html_ids {
        let Some(PartType::Html(html)) = msg.parts.get(id as usize).map(|p| &p.body) else {
            continue;
        };
        let lower = html.to_ascii_lowercase();
        let mut rest = lower.as_str();
        while let Some(pos) = rest.find("cid:") {
            rest = rest.get(pos + 4..).unwrap_or_default();
            let end = rest
                .find(|c: char| c == '"' || c == '\'' || c == '>' || c == ')' || c.is_whitespace())
                .unwrap_or(rest.len());
            let cid = rest.get(..end).unwrap_or_default();
            if !cid.is_empty() {
                cids.insert(cid.to_string());
            }
            rest = rest.get(end..).unwrap_or_default();
        }
    }
    cids
}

fn make_attachment(
    raw: &[u8],
    part: &MessagePart<'_>,
    n: usize,
    forced_name: Option<&str>,
    cids: &HashSet<String>,
) -> NewAttachmentData {
    let mime_type = mime_type_of(part);
    let is_message =
        matches!(mime_type.as_str(), "message/rfc822" | "message/global") || matches!(part.body, PartType::Message(_));
    let content_id = part
        .content_id()
        .map(|c| one_line(c.trim().trim_start_matches('<').trim_end_matches('>')))
        .unwrap_or_default();
    let disposition_inline = part
        .content_disposition()
        .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
    let referenced = !content_id.is_empty() && cids.contains(&content_id.to_ascii_lowercase());
    let inline = !content_id.is_empty() && (disposition_inline || referenced);

    let data = part_bytes(raw, part);
    let mut props = PropMap::new();
    let filename = match forced_name {
        Some(name) => name.to_string(),
        None => part
            .attachment_name()
            .map(sanitize_filename)
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| {
                if is_message {
                    "message.eml".to_string()
                } else {
                    format!("attachment-{n}.{}", extension_for(&mime_type))
                }
            }),
    };
    if is_message {
        props.insert(PR_ATTACH_METHOD, PropValue::Long(ATTACH_EMBEDDED_MSG));
        let subject = match &part.body {
            PartType::Message(m) => m.subject().map(one_line),
            _ => MessageParser::default()
                .parse_headers(&data)
                .and_then(|m| m.subject().map(one_line)),
        };
        props.insert(PR_DISPLAY_NAME, PropValue::Str(subject.unwrap_or_default()));
    } else {
        props.insert(PR_ATTACH_METHOD, PropValue::Long(ATTACH_BY_VALUE));
    }
    if part.is_encoding_problem {
        tracing::debug!(
            filename,
            "attachment could not be decoded cleanly; keeping its bytes as found"
        );
    }
    NewAttachmentData {
        filename,
        mime_type,
        content_id,
        inline,
        data,
        props,
    }
}

/// A file name without directories or control characters.
fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned = one_line(base);
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    if trimmed.is_empty() { String::new() } else { cleaned }
}

fn extension_for(mime_type: &str) -> &'static str {
    match mime_type {
        "text/plain" => "txt",
        "text/html" => "html",
        "text/calendar" => "ics",
        "text/csv" => "csv",
        "text/vcard" | "text/x-vcard" => "vcf",
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/svg+xml" => "svg",
        "application/pdf" => "pdf",
        "application/zip" => "zip",
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => "p7s",
        "application/pkcs7-mime" | "application/x-pkcs7-mime" => "p7m",
        "message/delivery-status" => "txt",
        _ => "bin",
    }
}

// ---- bytes and charsets -----------------------------------------------------------

/// A part's body with the transfer encoding removed and the charset untouched.
///
/// Text, embedded messages and base64 are decoded again from the raw bytes
/// (mail-parser has turned text into UTF-8, and gives up on irregular
/// base64); other binary parts come from mail-parser.
fn part_bytes(raw: &[u8], part: &MessagePart<'_>) -> Vec<u8> {
    match &part.body {
        PartType::Binary(_) | PartType::InlineBinary(_) if part.encoding == Encoding::Base64 => {
            transfer_decoded(raw, part).unwrap_or_else(|| part.contents().to_vec())
        }
        PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
        _ => transfer_decoded(raw, part).unwrap_or_else(|| part.contents().to_vec()),
    }
}

fn transfer_decoded(raw: &[u8], part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let body = raw.get(part.offset_body as usize..part.offset_end as usize)?;
    Some(match transfer_encoding(part) {
        Encoding::None => body.to_vec(),
        Encoding::Base64 => base64_lenient(body),
        Encoding::QuotedPrintable => quoted_printable_lenient(body),
    })
}

/// The part's transfer encoding. Where mail-parser could not undo it (base64
/// it found irregular, a part cut off before its boundary) it keeps the bytes
/// as they are and says `None`; the header still says what they are.
fn transfer_encoding(part: &MessagePart<'_>) -> Encoding {
    if !part.is_encoding_problem {
        return part.encoding;
    }
    match part
        .content_transfer_encoding()
        .map(|e| e.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("base64") => Encoding::Base64,
        Some("quoted-printable") => Encoding::QuotedPrintable,
        _ => part.encoding,
    }
}

/// The text of a text part, with the charset guess corrected where the label
/// is missing or commonly wrong.
fn part_text<'a>(raw: &[u8], part: &'a MessagePart<'_>) -> Cow<'a, str> {
    let parsed: &str = match &part.body {
        PartType::Text(t) | PartType::Html(t) => t.as_ref(),
        _ => return String::from_utf8_lossy(part.contents()),
    };
    let label = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase());
    // Quoted-printable, encodings mail-parser could not undo, and text it cut
    // at a boundary string inside a line (fix_part_ends), are decoded here
    // from the raw bytes.
    if (transfer_encoding(part) == Encoding::QuotedPrintable || part.is_encoding_problem)
        && let Some(bytes) = transfer_decoded(raw, part)
    {
        return Cow::Owned(decode_labelled(label.as_deref(), &bytes));
    }
    if label.as_deref().is_some_and(is_latin1_label)
        && !parsed.is_ascii()
        && let Some(bytes) = transfer_decoded(raw, part)
        && is_utf8_beyond_ascii(&bytes)
    {
        tracing::debug!(charset = ?label, "text labelled Latin-1 is UTF-8; reading it as UTF-8");
        return Cow::Owned(String::from_utf8_lossy(&bytes).into_owned());
    }
    let undeclared = match label.as_deref() {
        None | Some("" | "us-ascii" | "ascii" | "ansi_x3.4-1968" | "utf-8" | "utf8") => true,
        Some(other) => charset_decoder(other.as_bytes()).is_none(),
    };
    // A trusted label, or text that decoded cleanly as plain ASCII/UTF-8.
    let suspicious = match label.as_deref() {
        Some("us-ascii" | "ascii" | "ansi_x3.4-1968") => !parsed.is_ascii(),
        _ => parsed.contains('\u{FFFD}'),
    };
    if !undeclared || !suspicious {
        return Cow::Borrowed(parsed);
    }
    match transfer_decoded(raw, part) {
        Some(bytes) => {
            tracing::debug!(charset = ?label, "text does not match its charset label; guessing UTF-8 or Windows-1252");
            Cow::Owned(decode_undeclared(&bytes).into_owned())
        }
        None => Cow::Borrowed(parsed),
    }
}

/// Text in the charset its label names, read as [`part_text`] reads it: an
/// ASCII, UTF-8, missing or unknown label as UTF-8 or Windows-1252, and UTF-8
/// under a Latin-1 label as UTF-8.
fn decode_labelled(label: Option<&str>, bytes: &[u8]) -> String {
    let decoder = match label {
        None | Some("" | "us-ascii" | "ascii" | "ansi_x3.4-1968" | "utf-8" | "utf8") => None,
        Some(l) if is_latin1_label(l) && is_utf8_beyond_ascii(bytes) => None,
        Some(l) => charset_decoder(l.as_bytes()),
    };
    match decoder {
        Some(decode) => decode(bytes),
        None => decode_undeclared(bytes).into_owned(),
    }
}

/// Western European single-byte labels: what Latin-1 and Windows-1252 text
/// carries, and what UTF-8 text often carries by mistake.
fn is_latin1_label(label: &str) -> bool {
    matches!(
        label,
        "iso-8859-1" | "iso8859-1" | "latin1" | "l1" | "iso-8859-15" | "windows-1252" | "cp1252"
    )
}

/// Valid UTF-8 with at least one multi-byte character: Latin-1 text almost
/// never is.
fn is_utf8_beyond_ascii(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}

/// UTF-8 if the bytes are valid UTF-8, Windows-1252 otherwise.
fn decode_undeclared(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(windows_1252(bytes)),
    }
}

fn windows_1252(bytes: &[u8]) -> String {
    match charset_decoder(b"windows-1252") {
        Some(decode) => decode(bytes),
        // Latin-1: every byte is the code point of the same number.
        None => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

// ---- small helpers ------------------------------------------------------------------

fn set_str(out: &mut MessageData, tag: PropTag, value: &str) {
    out.props.insert(tag, PropValue::Str(value.to_string()));
}

/// One line of display text: control characters become spaces, the ends are
/// trimmed.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// [`one_line`], and the length capped at `max` characters.
fn clean_line(s: &str, max: usize) -> String {
    truncate_chars(&one_line(s), max)
}

fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => s.get(..cut).unwrap_or_default().to_string(),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! corpus {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/corpus/",
                $name,
                ".eml"
            ))
            .as_slice()
        };
    }

    const RECEIVED: i64 = 1_700_000_000_000_000;

    /// Parses, checks that the raw bytes are kept byte-exact, and returns the data.
    fn parse(raw: &[u8]) -> MessageData {
        let data = parse_message(raw, RECEIVED);
        assert_eq!(data.raw.as_deref(), Some(raw), "raw bytes must be kept byte-exact");
        assert_eq!(
            data.props.get(&PR_MESSAGE_DELIVERY_TIME),
            Some(&PropValue::Time(RECEIVED))
        );
        assert!(!data.props.contains_key(&PR_MESSAGE_SIZE), "the store sets the size");
        data
    }

    fn text(d: &MessageData, tag: PropTag) -> Option<&str> {
        d.props.get(&tag).and_then(PropValue::as_str)
    }

    fn long(d: &MessageData, tag: PropTag) -> Option<i64> {
        d.props.get(&tag).and_then(PropValue::as_i64)
    }

    fn html(d: &MessageData) -> Option<String> {
        match d.props.get(&PR_HTML) {
            Some(PropValue::Binary(b)) => Some(String::from_utf8(b.clone()).expect("PR_HTML is UTF-8")),
            _ => None,
        }
    }

    fn rcpts(d: &MessageData) -> Vec<(i32, &str, &str)> {
        d.recipients
            .iter()
            .flatten()
            .map(|r| (r.recipient_type, r.display_name.as_str(), r.address.as_str()))
            .collect()
    }

    fn names(d: &MessageData) -> Vec<&str> {
        d.new_attachments.iter().map(|a| a.filename.as_str()).collect()
    }

    fn png() -> Vec<u8> {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
        v.extend(0..=255u8);
        v
    }

    fn pdf() -> Vec<u8> {
        let mut v = b"%PDF-1.4\n".to_vec();
        for _ in 0..4 {
            v.extend(0..=255u8);
        }
        v.extend_from_slice(b"\n%%EOF\n");
        v
    }

    fn micros(rfc3339: &str) -> i64 {
        parse_time(rfc3339).expect("test time")
    }

    /// A plain text message yields every envelope property and its body, and
    /// X-headers stay out of the properties.
    #[test]
    fn simple_text() {
        let d = parse(corpus!("simple"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note"));
        assert_eq!(text(&d, PR_SUBJECT), Some("Lunch tomorrow?"));
        assert_eq!(text(&d, PR_CONVERSATION_TOPIC), Some("Lunch tomorrow?"));
        assert_eq!(text(&d, PR_SENDER_NAME), Some("Alice Example"));
        assert_eq!(text(&d, PR_SENDER_EMAIL_ADDRESS), Some("alice@example.org"));
        assert_eq!(text(&d, PR_SENT_REPRESENTING_NAME), Some("Alice Example"));
        assert_eq!(text(&d, PR_SENT_REPRESENTING_EMAIL_ADDRESS), Some("alice@example.org"));
        assert_eq!(text(&d, PR_INTERNET_MESSAGE_ID), Some("<simple-1@example.org>"));
        assert_eq!(long(&d, PR_CLIENT_SUBMIT_TIME), Some(micros("2024-01-02T10:00:00Z")));
        assert_eq!(long(&d, PR_IMPORTANCE), Some(1));
        assert_eq!(long(&d, PR_PRIORITY), Some(0));
        assert_eq!(long(&d, PR_SENSITIVITY), Some(0));
        assert_eq!(text(&d, PR_DISPLAY_TO), Some("Bob Example"));
        assert_eq!(rcpts(&d), vec![(1, "Bob Example", "bob@example.com")]);
        assert_eq!(
            text(&d, PR_BODY),
            Some("Hi Bob,\n\nshall we have lunch tomorrow at noon?\n\nAlice\n")
        );
        assert_eq!(html(&d), None);
        assert!(d.new_attachments.is_empty());
        let headers = text(&d, PR_TRANSPORT_MESSAGE_HEADERS).unwrap_or_default();
        assert!(headers.starts_with("Return-Path: <alice@example.org>"));
        assert!(headers.contains("X-Custom-Thing: should not become a property"));
        assert!(!headers.contains("shall we have lunch"));
        // Only well-known tags: nothing named, nothing made up from X-headers.
        assert!(d.props.keys().all(|t| name_of_tag(*t).is_some() && !t.is_named()));
    }

    /// multipart/alternative gives PR_BODY from text/plain (ISO-8859-1, QP) and
    /// PR_HTML from text/html, recoded to UTF-8.
    #[test]
    fn multipart_alternative() {
        let d = parse(corpus!("alternative"));
        assert_eq!(
            text(&d, PR_BODY).map(str::trim_end),
            Some("The numbers look good. Grüße, Carol")
        );
        let h = html(&d).unwrap_or_default();
        assert!(h.contains("<b>good</b>. Grüße, Carol"), "{h}");
        assert_eq!(text(&d, PR_DISPLAY_TO), Some("dave@example.com; Erin"));
        assert_eq!(text(&d, PR_DISPLAY_CC), Some("Frank"));
        assert_eq!(
            rcpts(&d),
            vec![
                (1, "dave@example.com", "dave@example.com"),
                (1, "Erin", "erin@example.com"),
                (2, "Frank", "frank@example.com"),
            ]
        );
        assert_eq!(long(&d, PR_CLIENT_SUBMIT_TIME), Some(micros("2024-01-03T14:30:00Z")));
        assert!(d.new_attachments.is_empty());
    }

    /// mixed > (alternative > text, related > (html, cid image)) + pdf: the
    /// image is an inline attachment, the pdf a normal one, bodies come through.
    #[test]
    fn nested_multiparts() {
        let d = parse(corpus!("nested"));
        assert!(text(&d, PR_BODY).unwrap_or_default().starts_with("Here is the photo."));
        assert!(html(&d).unwrap_or_default().contains("cid:photo1@example.org"));
        assert_eq!(names(&d), vec!["photo.png", "itinerary.pdf"]);
        let img = &d.new_attachments[0];
        assert_eq!(img.mime_type, "image/png");
        assert_eq!(img.content_id, "photo1@example.org");
        assert!(img.inline);
        assert_eq!(img.data, png());
        assert_eq!(
            img.props.get(&PR_ATTACH_METHOD),
            Some(&PropValue::Long(ATTACH_BY_VALUE))
        );
        let doc = &d.new_attachments[1];
        assert_eq!(doc.mime_type, "application/pdf");
        assert!(!doc.inline);
        assert_eq!(doc.data, pdf());
    }

    /// RFC 2231 and RFC 2047 file names are decoded, a nameless part gets a
    /// default name, directories are stripped, and text attachments keep
    /// their original bytes.
    #[test]
    fn attachments_and_filenames() {
        let d = parse(corpus!("attachment_rfc2231"));
        assert_eq!(
            names(&d),
            vec!["€ exchange rätes.pdf", "Grüße.bin", "attachment-3.bin", "notes.txt"]
        );
        assert_eq!(d.new_attachments[0].data, pdf());
        assert_eq!(d.new_attachments[1].data, vec![0, 1, 2, 3, 255, 254, 253]);
        assert_eq!(d.new_attachments[2].data, b"no name here");
        assert_eq!(d.new_attachments[3].mime_type, "text/plain");
        assert_eq!(d.new_attachments[3].data, b"caf\xe9");
        assert!(d.new_attachments.iter().all(|a| !a.inline));
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("Two files attached."));
    }

    /// An image with Content-Disposition: inline and a Content-ID is inline.
    #[test]
    fn inline_image() {
        let d = parse(corpus!("inline_image"));
        assert_eq!(names(&d), vec!["logo.png"]);
        let a = &d.new_attachments[0];
        assert!(a.inline);
        assert_eq!(a.content_id, "logo@example.org");
        assert_eq!(a.data, png());
    }

    /// Missing closing boundaries, bad base64 and garbage lines still give
    /// the envelope, the body, and the parts as found.
    #[test]
    fn broken_mime() {
        let d = parse(corpus!("broken_mime"));
        assert_eq!(text(&d, PR_SUBJECT), Some("Broken MIME"));
        assert!(text(&d, PR_BODY).unwrap_or_default().contains("The body survives."));
        assert!(names(&d).contains(&"bad.bin"));
        assert_eq!(rcpts(&d), vec![(1, "Niaj", "niaj@example.com")]);
    }

    /// Labelled us-ascii but UTF-8 inside: read as UTF-8.
    #[test]
    fn charset_us_ascii_holding_utf8() {
        let d = parse(corpus!("charset_ascii_utf8"));
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("Grüße aus Köln – €5"));
    }

    /// Labelled utf-8 but Latin-1 inside: read as Windows-1252.
    #[test]
    fn charset_utf8_holding_latin1() {
        let d = parse(corpus!("charset_utf8_latin1"));
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("Grüße aus Köln €"));
    }

    /// No charset and 8-bit text: Windows-1252 when it is not UTF-8.
    #[test]
    fn charset_missing() {
        let d = parse(corpus!("charset_missing"));
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("Café crème"));
    }

    /// A lone text/html part gives PR_HTML and a PR_BODY derived from it.
    #[test]
    fn html_only() {
        let raw = b"From: a@example.org\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
                    <html><body><p>Hello <b>world</b></p><img src=\"cid:x\"></body></html>\r\n";
        let d = parse(raw);
        assert!(html(&d).unwrap_or_default().contains("<b>world</b>"));
        let body = text(&d, PR_BODY).unwrap_or_default();
        assert!(body.contains("Hello world"), "{body}");
        assert!(!body.contains('<'), "{body}");
    }

    /// Raw UTF-8 in headers (as SMTPUTF8 mail has) is taken as it is.
    #[test]
    fn utf8_headers() {
        let d = parse("From: Zoë <zoe@example.com>\r\nSubject: Grüße 👋\r\n\r\nhi\r\n".as_bytes());
        assert_eq!(text(&d, PR_SUBJECT), Some("Grüße 👋"));
        assert_eq!(text(&d, PR_SENDER_NAME), Some("Zoë"));
    }

    /// Raw Latin-1 in headers, mixed with an RFC 2047 word.
    #[test]
    fn eight_bit_headers() {
        let d = parse(corpus!("headers_8bit"));
        assert_eq!(text(&d, PR_SUBJECT), Some("Grüße aus München"));
        assert_eq!(text(&d, PR_SENDER_NAME), Some("Jürgen Müller"));
        assert_eq!(text(&d, PR_SENDER_EMAIL_ADDRESS), Some("juergen@example.de"));
        assert_eq!(rcpts(&d), vec![(1, "André", "andre@example.fr")]);
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("Schöne Grüße"));
        assert!(
            text(&d, PR_TRANSPORT_MESSAGE_HEADERS)
                .unwrap_or_default()
                .contains("Jürgen")
        );
    }

    /// RFC 2047 subject (two charsets) and names; the topic loses "Re:".
    #[test]
    fn rfc2047_words() {
        let d = parse(corpus!("rfc2047"));
        assert_eq!(text(&d, PR_SUBJECT), Some("Re: Café ☕ und Kuchen"));
        assert_eq!(text(&d, PR_CONVERSATION_TOPIC), Some("Café ☕ und Kuchen"));
        assert_eq!(text(&d, PR_SENT_REPRESENTING_NAME), Some("Örsöla Oßling"));
        assert_eq!(rcpts(&d), vec![(1, "Zoë", "zoe@example.com")]);
    }

    /// 5,000 Received lines and a 1 MB header line: parsed, and the header
    /// property is capped.
    #[test]
    fn huge_headers() {
        let mut raw = Vec::new();
        for i in 0..5000 {
            raw.extend_from_slice(
                format!(
                    "Received: from relay{i}.example.net by relay{}.example.net; Tue, 2 Jan 2024 10:00:00 +0000\r\n",
                    i + 1
                )
                .as_bytes(),
            );
        }
        raw.extend_from_slice(b"X-Long: ");
        raw.extend(std::iter::repeat_n(b'a', 1 << 20));
        raw.extend_from_slice(b"\r\nFrom: a@example.org\r\nTo: b@example.com\r\nSubject: big\r\n\r\nbody\r\n");
        let d = parse(&raw);
        assert_eq!(text(&d, PR_SUBJECT), Some("big"));
        assert_eq!(text(&d, PR_BODY).map(str::trim_end), Some("body"));
        let headers = text(&d, PR_TRANSPORT_MESSAGE_HEADERS).unwrap_or_default();
        assert!(headers.len() <= MAX_TRANSPORT_HEADERS);
        assert!(headers.starts_with("Received: from relay0.example.net"));
        assert_eq!(rcpts(&d), vec![(1, "b@example.com", "b@example.com")]);
    }

    /// A subject and a name longer than the store's columns are kept whole
    /// (the store fits its columns and keeps the full form in the bag).
    #[test]
    fn long_values_are_kept_whole() {
        let mut raw = b"From: ".to_vec();
        raw.extend(std::iter::repeat_n(b'n', 5000));
        raw.extend_from_slice(b" <x@example.org>\r\nSubject: ");
        raw.extend(std::iter::repeat_n(b's', 5000));
        raw.extend_from_slice(b"\r\n\r\nhi\r\n");
        let d = parse(&raw);
        assert_eq!(text(&d, PR_SUBJECT).map(|s| s.chars().count()), Some(5000));
        assert_eq!(text(&d, PR_SENDER_NAME).map(|s| s.chars().count()), Some(5000));
    }

    /// Headers and no body; and a body with no headers.
    #[test]
    fn no_body_and_no_headers() {
        let d = parse(corpus!("headers_only"));
        assert_eq!(text(&d, PR_SUBJECT), Some("Headers only"));
        assert_eq!(text(&d, PR_INTERNET_MESSAGE_ID), Some("<headers-only@example.org>"));
        assert_eq!(text(&d, PR_BODY), None);
        assert!(d.new_attachments.is_empty());

        let d = parse(corpus!("body_only"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note"));
        assert_eq!(text(&d, PR_SUBJECT), Some(""));
        assert!(text(&d, PR_BODY).unwrap_or_default().contains("no headers at all"));

        let d = parse(b"");
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note"));
        assert_eq!(text(&d, PR_BODY), None);
    }

    /// text/calendar METHOD:REQUEST inside multipart/alternative.
    #[test]
    fn calendar_invitation() {
        let d = parse(corpus!("invitation"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Schedule.Meeting.Request"));
        assert_eq!(names(&d), vec!["invite.ics"]);
        let ics = &d.new_attachments[0];
        assert_eq!(ics.mime_type, "text/calendar");
        assert!(ics.data.starts_with(b"BEGIN:VCALENDAR"));
        assert!(text(&d, PR_BODY).unwrap_or_default().contains("You are invited"));
        assert!(html(&d).unwrap_or_default().contains("<b>planning meeting</b>"));
    }

    /// METHOD:REPLY with PARTSTAT=ACCEPTED (folded line), and the other
    /// methods and answers.
    #[test]
    fn calendar_replies() {
        let d = parse(corpus!("meeting_reply"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Schedule.Meeting.Resp.Pos"));
        assert_eq!(names(&d), vec!["invite.ics"]);
        let original = String::from_utf8_lossy(corpus!("meeting_reply")).into_owned();
        for (from, to, class) in [
            (
                "PARTSTAT=ACCEPTED",
                "PARTSTAT=DECLINED",
                "IPM.Schedule.Meeting.Resp.Neg",
            ),
            (
                "PARTSTAT=ACCEPTED",
                "PARTSTAT=TENTATIVE",
                "IPM.Schedule.Meeting.Resp.Tent",
            ),
            ("METHOD:REPLY", "METHOD:CANCEL", "IPM.Schedule.Meeting.Canceled"),
            ("METHOD:REPLY", "METHOD:PUBLISH", "IPM.Note"),
        ] {
            let raw = original.replace(from, to).replace("method=REPLY", "");
            let d = parse(raw.as_bytes());
            assert_eq!(text(&d, PR_MESSAGE_CLASS), Some(class), "{to}");
        }
    }

    /// multipart/signed: the signed content is the body, the signature smime.p7s.
    #[test]
    fn smime_signed() {
        let d = parse(corpus!("signed"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note.SMIME.MultipartSigned"));
        assert_eq!(
            text(&d, PR_BODY).map(str::trim_end),
            Some("I hereby state that this is signed.")
        );
        assert_eq!(names(&d), vec!["smime.p7s"]);
        assert_eq!(d.new_attachments[0].data, (0..200u8).collect::<Vec<_>>());
    }

    /// application/pkcs7-mime: not decrypted; the whole part is smime.p7m.
    #[test]
    fn smime_encrypted() {
        let d = parse(corpus!("encrypted"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note.SMIME"));
        assert_eq!(text(&d, PR_BODY), None);
        assert_eq!(names(&d), vec!["smime.p7m"]);
        let expected: Vec<u8> = (0..3).flat_map(|_| (1..=255u8).rev()).collect();
        assert_eq!(d.new_attachments[0].data, expected);
        assert_eq!(d.new_attachments[0].mime_type, "application/pkcs7-mime");
    }

    /// A forwarded message/rfc822 is an embedded-message attachment holding
    /// the original bytes, named by its subject.
    #[test]
    fn forwarded_rfc822() {
        let d = parse(corpus!("forward_rfc822"));
        assert_eq!(text(&d, PR_CONVERSATION_TOPIC), Some("Original message"));
        assert_eq!(names(&d), vec!["message.eml"]);
        let a = &d.new_attachments[0];
        assert_eq!(a.mime_type, "message/rfc822");
        assert_eq!(
            a.props.get(&PR_ATTACH_METHOD),
            Some(&PropValue::Long(ATTACH_EMBEDDED_MSG))
        );
        assert_eq!(
            a.props.get(&PR_DISPLAY_NAME),
            Some(&PropValue::Str("Original message".into()))
        );
        let inner = String::from_utf8_lossy(&a.data);
        assert!(inner.starts_with("From: Bob Example <bob@example.com>\r\n"), "{inner}");
        assert!(inner.trim_end().ends_with("This is the original."), "{inner}");
        // The embedded message's own headers do not leak into the outer one.
        assert_eq!(text(&d, PR_SENDER_NAME), Some("Alice Example"));
        assert_eq!(rcpts(&d), vec![(1, "Carol", "carol@example.net")]);
    }

    /// The same, base64-encoded.
    #[test]
    fn forwarded_rfc822_base64() {
        use base64::Engine as _;
        let inner = b"From: x@example.org\r\nSubject: Inner\r\n\r\nhello\r\n";
        let raw = format!(
            "From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n\
             --b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            base64::engine::general_purpose::STANDARD.encode(inner)
        );
        let d = parse(raw.as_bytes());
        assert_eq!(names(&d), vec!["message.eml"]);
        assert_eq!(d.new_attachments[0].data, inner);
        assert_eq!(
            d.new_attachments[0].props.get(&PR_DISPLAY_NAME),
            Some(&PropValue::Str("Inner".into()))
        );
    }

    /// Importance: wins over X-Priority:; Sensitivity: is mapped.
    #[test]
    fn importance_priority_sensitivity() {
        let d = parse(corpus!("priority"));
        assert_eq!(long(&d, PR_IMPORTANCE), Some(2));
        assert_eq!(long(&d, PR_PRIORITY), Some(1));
        assert_eq!(long(&d, PR_SENSITIVITY), Some(3));

        let d = parse(corpus!("xpriority_low"));
        assert_eq!(long(&d, PR_IMPORTANCE), Some(0));
        assert_eq!(long(&d, PR_PRIORITY), Some(-1));
        assert_eq!(long(&d, PR_SENSITIVITY), Some(2));
        // No Date: the submit time is the delivery time.
        assert_eq!(long(&d, PR_CLIENT_SUBMIT_TIME), Some(RECEIVED));

        let d = parse(b"Subject: x\r\nPriority: urgent\r\nSensitivity: Personal\r\n\r\nx\r\n");
        assert_eq!(long(&d, PR_IMPORTANCE), Some(2));
        assert_eq!(long(&d, PR_PRIORITY), Some(1));
        assert_eq!(long(&d, PR_SENSITIVITY), Some(1));
        let d = parse(b"Subject: x\r\nPriority: non-urgent\r\nX-Priority: 2\r\n\r\nx\r\n");
        assert_eq!(long(&d, PR_IMPORTANCE), Some(2));
        assert_eq!(long(&d, PR_PRIORITY), Some(-1));
    }

    /// Reply-To, Sender vs From, groups flattened, an empty group ignored, Bcc.
    #[test]
    fn reply_to_sender_and_groups() {
        let d = parse(corpus!("reply_to"));
        assert_eq!(text(&d, PR_REPLY_RECIPIENT_NAMES), Some("Support; sales@example.org"));
        assert_eq!(
            d.props.get(&PR_OKAPI_REPLY_TO_ADDRESSES),
            Some(&PropValue::MvStr(vec![
                "support@example.org".into(),
                "sales@example.org".into()
            ]))
        );
        assert_eq!(text(&d, PR_SENDER_NAME), Some("Mailer Daemon"));
        assert_eq!(text(&d, PR_SENDER_EMAIL_ADDRESS), Some("bounces@lists.example.org"));
        assert_eq!(text(&d, PR_SENT_REPRESENTING_NAME), Some("Newsletter"));
        assert_eq!(text(&d, PR_SENT_REPRESENTING_EMAIL_ADDRESS), Some("news@example.org"));
        assert_eq!(
            rcpts(&d),
            vec![
                (1, "Fay", "fay@example.com"),
                (1, "Gus", "gus@example.com"),
                (1, "Hal", "hal@example.com"),
                (3, "Ida", "ida@example.com"),
            ]
        );
        assert_eq!(text(&d, PR_DISPLAY_TO), Some("Fay; Gus; Hal"));
        assert_eq!(text(&d, PR_DISPLAY_CC), None);
        assert_eq!(text(&d, PR_DISPLAY_BCC), Some("Ida"));
    }

    /// In-Reply-To and References keep their brackets; the topic loses a
    /// chain of mixed prefixes.
    #[test]
    fn threading_headers() {
        let d = parse(corpus!("threading"));
        assert_eq!(text(&d, PR_IN_REPLY_TO_ID), Some("<simple-1@example.org>"));
        assert_eq!(
            text(&d, PR_INTERNET_REFERENCES),
            Some("<root-0@example.org> <simple-1@example.org>")
        );
        assert_eq!(text(&d, PR_CONVERSATION_TOPIC), Some("Lunch tomorrow?"));
    }

    #[test]
    fn conversation_topic_prefixes() {
        assert_eq!(conversation_topic("Re: Fw: WG: hello"), "hello");
        assert_eq!(conversation_topic("AW:AW: x"), "x");
        assert_eq!(conversation_topic("Re(3): x"), "x");
        assert_eq!(conversation_topic("Meeting: agenda"), "Meeting: agenda");
        assert_eq!(conversation_topic("Re:"), "");
        assert_eq!(conversation_topic("Reply: x"), "Reply: x");
    }

    /// A blob of random bytes: raw kept, class set, nothing else needed.
    #[test]
    fn binary_garbage() {
        let d = parse(corpus!("garbage"));
        assert_eq!(text(&d, PR_MESSAGE_CLASS), Some("IPM.Note"));
        assert!(text(&d, PR_SUBJECT).is_some());
    }

    /// 10,000 nested multiparts: parts below the depth cap are left out.
    #[test]
    fn deep_nesting_is_capped() {
        let depth = 10_000;
        let mut raw = b"From: a@example.org\r\nSubject: deep\r\n".to_vec();
        for i in 0..depth {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Type: application/octet-stream; name=deep.bin\r\n\r\ndeep\r\n");
        for i in (0..depth).rev() {
            raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        let d = parse(&raw);
        assert_eq!(text(&d, PR_SUBJECT), Some("deep"));
        assert!(d.new_attachments.is_empty());

        // Just under the cap, the part is read.
        let mut raw = b"Subject: shallow\r\n".to_vec();
        for i in 0..MAX_MIME_DEPTH {
            raw.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"Content-Type: application/octet-stream; name=ok.bin\r\n\r\nok\r\n");
        for i in (0..MAX_MIME_DEPTH).rev() {
            raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
        }
        let d = parse(&raw);
        assert_eq!(names(&d), vec!["ok.bin"]);
    }

    /// 3,000 attachments: the first MAX_ATTACHMENTS are kept.
    #[test]
    fn many_parts_are_capped() {
        let mut raw = b"Subject: many\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
        for i in 0..3000 {
            raw.extend_from_slice(
                format!("--b\r\nContent-Type: application/octet-stream; name=f{i}.bin\r\n\r\n{i}\r\n").as_bytes(),
            );
        }
        raw.extend_from_slice(b"--b--\r\n");
        let d = parse(&raw);
        assert_eq!(d.new_attachments.len(), MAX_ATTACHMENTS);
        assert_eq!(d.new_attachments[0].filename, "f0.bin");
        assert_eq!(d.new_attachments[0].data, b"0");
    }

    /// Every corpus message, every truncation of it, and deterministic
    /// pseudo-random bytes and mutations: no panic, raw kept, text is text.
    #[test]
    fn never_panics() {
        let corpus: &[&[u8]] = &[
            corpus!("simple"),
            corpus!("alternative"),
            corpus!("nested"),
            corpus!("attachment_rfc2231"),
            corpus!("inline_image"),
            corpus!("broken_mime"),
            corpus!("charset_ascii_utf8"),
            corpus!("charset_utf8_latin1"),
            corpus!("charset_missing"),
            corpus!("headers_8bit"),
            corpus!("rfc2047"),
            corpus!("headers_only"),
            corpus!("body_only"),
            corpus!("invitation"),
            corpus!("meeting_reply"),
            corpus!("signed"),
            corpus!("encrypted"),
            corpus!("forward_rfc822"),
            corpus!("priority"),
            corpus!("xpriority_low"),
            corpus!("reply_to"),
            corpus!("threading"),
            corpus!("garbage"),
        ];
        let check = |raw: &[u8]| {
            let d = parse_message(raw, RECEIVED);
            assert_eq!(d.raw.as_deref(), Some(raw));
            assert!(d.props.contains_key(&PR_MESSAGE_CLASS));
            assert!(d.props.iter().all(|(t, v)| v.fits(*t)), "{:?}", d.props);
        };
        // xorshift: deterministic, no extra dependency.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for raw in corpus {
            for cut in 0..raw.len() {
                check(&raw[..cut]);
            }
            for _ in 0..200 {
                let mut m = raw.to_vec();
                for _ in 0..=(next() % 8) {
                    let at = (next() as usize) % m.len().max(1);
                    match next() % 4 {
                        0 if !m.is_empty() => m[at] = next() as u8,
                        1 if !m.is_empty() => {
                            m.remove(at);
                        }
                        2 => m.insert(
                            at.min(m.len()),
                            [b'\n', b'-', b'=', b':', b'<', b'"', 0x80][next() as usize % 7],
                        ),
                        _ => {
                            let end = (at + (next() as usize % 64)).min(m.len());
                            let dup = m[at.min(end)..end].to_vec();
                            m.splice(at.min(m.len())..at.min(m.len()), dup);
                        }
                    }
                }
                check(&m);
            }
        }
        for len in 0..2000 {
            let blob: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            check(&blob);
        }
    }
}
