//! MIME out: turns a stored message into the RFC 5322 bytes the spooler hands to the MTA, and makes the
//! two kinds of mail okapi writes on its own: non-delivery reports (RFC 3464) and out-of-office replies
//! (RFC 3834), together with the rules that decide whether an out-of-office reply may be sent at all.
//!
//! This module only builds bytes and property maps; it does no I/O. Loading the message and its
//! attachment blobs, queueing, sending (`transport`) and storing the results belong to the spooler and
//! the store. The MIME encoding itself (RFC 2047 headers, RFC 2231 file names, transfer encodings,
//! folding) is left to `mail-builder`.
//!
//! Shape of an outgoing message:
//!
//! ```text
//! multipart/mixed                      only when there are attachments
//! ├── multipart/alternative            only when there is both a text and an HTML body
//! │   ├── text/plain                   PR_BODY
//! │   └── multipart/related            only when the HTML body has inline images
//! │       ├── text/html                PR_HTML
//! │       └── image/png  Content-ID    attachments marked inline with a content id
//! ├── application/pdf                  ordinary attachments
//! └── message/rfc822                   embedded messages (PR_ATTACH_METHOD 5)
//! ```
//!
//! Bcc recipients never appear in the headers; they are only in the envelope ([`envelope_recipients`]).

use std::borrow::Cow;

use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use time::OffsetDateTime;

use crate::props::{
    PR_ATTACH_FILENAME, PR_ATTACH_LONG_FILENAME, PR_ATTACH_METHOD, PR_ATTACH_MIME_TAG, PR_BODY, PR_CLIENT_SUBMIT_TIME,
    PR_CONVERSATION_TOPIC, PR_DISPLAY_TO, PR_HASATTACH, PR_HTML, PR_IMPORTANCE, PR_IN_REPLY_TO_ID,
    PR_INTERNET_MESSAGE_ID, PR_INTERNET_REFERENCES, PR_MESSAGE_CLASS, PR_MESSAGE_DELIVERY_TIME, PR_MESSAGE_FLAGS,
    PR_SENDER_ADDRTYPE, PR_SENDER_EMAIL_ADDRESS, PR_SENDER_NAME, PR_SENSITIVITY, PR_SENT_REPRESENTING_EMAIL_ADDRESS,
    PR_SENT_REPRESENTING_NAME, PR_SUBJECT, PropMap, PropTag, PropValue,
};
use crate::store::{AttachmentRow, StoredMessage};

/// PR_ATTACH_METHOD value of an embedded message (ATTACH_EMBEDDED_MSG).
const ATTACH_EMBEDDED_MSG: i64 = 5;
/// Recipient types as stored in `RecipientRow::recipient_type`.
const MAPI_TO: i32 = 1;
const MAPI_CC: i32 = 2;
const MAPI_BCC: i32 = 3;
/// The message class of a non-delivery report, as Outlook and Kopano write it.
pub const NDR_MESSAGE_CLASS: &str = "REPORT.IPM.Note.NDR";

/// A display name and an address: the From of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Display name; may be empty.
    pub name: String,
    /// SMTP address.
    pub address: String,
}

/// Why a message could not be turned into MIME.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The From mailbox has no usable address; the sender's account or send-as grant is misconfigured.
    #[error("sender address {0:?} is not a valid mail address")]
    InvalidFrom(String),
}

/// Builds the RFC 5322 bytes of `msg`, sent from `from` at `now`.
///
/// `attachments` holds each attachment row with its bytes, in the order they should appear; for an
/// embedded message (PR_ATTACH_METHOD 5) the bytes are the embedded message's own RFC 5322 text.
/// `hostname` is the right-hand side of a generated Message-ID; a message that has
/// PR_INTERNET_MESSAGE_ID keeps it (callers that want to store the id they send can set it first with
/// [`new_message_id`]). To and Cc recipients whose address does not look like one are left out of the
/// headers (they are not in [`envelope_recipients`] either); Bcc recipients are never written.
pub fn build_message(
    msg: &StoredMessage,
    attachments: &[(AttachmentRow, Vec<u8>)],
    from: &Mailbox,
    now: OffsetDateTime,
    hostname: &str,
) -> Result<Vec<u8>, BuildError> {
    if !is_valid_address(from.address.trim()) {
        return Err(BuildError::InvalidFrom(from.address.clone()));
    }
    let builder = message_headers(msg, Some(from), now, hostname);
    let mut out = Vec::new();
    builder.body(message_body(msg, attachments)).serialize(&mut out);
    Ok(out)
}

/// The addresses to give the MTA for `msg`: To, Cc and Bcc, in that order, without duplicates
/// (compared case-insensitively) and without anything that does not look like an address.
pub fn envelope_recipients(msg: &StoredMessage) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for kind in [MAPI_TO, MAPI_CC, MAPI_BCC] {
        for r in msg.recipients.iter().filter(|r| r.recipient_type == kind) {
            let addr = r.address.trim();
            if is_valid_address(addr) && !out.iter().any(|seen| seen.eq_ignore_ascii_case(addr)) {
                out.push(addr.to_string());
            }
        }
    }
    out
}

/// The recipient addresses of `msg` that [`envelope_recipients`] leaves out because they do not look
/// like addresses; the spooler reports these in a non-delivery report instead of dropping them silently.
pub fn invalid_recipients(msg: &StoredMessage) -> Vec<String> {
    msg.recipients
        .iter()
        .filter(|r| matches!(r.recipient_type, MAPI_TO | MAPI_CC | MAPI_BCC))
        .map(|r| r.address.trim())
        .filter(|a| !is_valid_address(a))
        .map(str::to_string)
        .collect()
}

/// A new Message-ID, `<random@hostname>` with the angle brackets, as stored in PR_INTERNET_MESSAGE_ID.
pub fn new_message_id(hostname: &str) -> String {
    let random: [u8; 16] = rand::random();
    format!("<{}@{}>", hex::encode(random), clean_hostname(hostname))
}

/// Builds a non-delivery report for `original`, for the sender's Inbox.
///
/// `failed` lists each address that could not be reached with the reason (an SMTP reply such as
/// `550 5.1.1 <x@example.org>: User unknown`, or free text). Returns the report's properties
/// (PR_MESSAGE_CLASS `REPORT.IPM.Note.NDR`, subject `Undeliverable: …`, a readable PR_BODY, sender
/// `Mail Delivery System <postmaster>`) and its RFC 3464 `multipart/report` bytes, to be stored as the
/// report's raw message: a text part, a `message/delivery-status` part with one block per address, and
/// the original's headers as `text/rfc822-headers`.
pub fn build_ndr(
    original: &StoredMessage,
    failed: &[(String, String)],
    postmaster: &str,
    now: OffsetDateTime,
    hostname: &str,
) -> (PropMap, Vec<u8>) {
    let host = clean_hostname(hostname);
    let postmaster = if is_valid_address(postmaster.trim()) {
        postmaster.trim().to_string()
    } else {
        format!("postmaster@{host}")
    };
    let original_subject = prop_str(&original.props, PR_SUBJECT).unwrap_or_default();
    let subject = format!("Undeliverable: {original_subject}");
    let (sender_name, sender_address) = original_sender(&original.props);
    let original_id = prop_str(&original.props, PR_INTERNET_MESSAGE_ID).and_then(|id| parse_message_ids(id).pop());
    let submitted = prop_time(&original.props, PR_CLIENT_SUBMIT_TIME);
    let message_id = new_message_id(&host);

    let mut text = format!(
        "This is the mail system at host {host}.\n\n\
         Your message could not be delivered to one or more recipients.\n\
         It was not delivered to:\n\n"
    );
    for (address, reason) in failed {
        text.push_str(&format!("    {}\n        {}\n\n", one_line(address), one_line(reason)));
    }
    text.push_str(&format!("Subject: {original_subject}\n"));
    if let Some(t) = submitted {
        text.push_str(&format!("Sent: {}\n", rfc5322_date(t)));
    }

    let mut status = format!("Reporting-MTA: dns; {host}\r\n");
    if let Some(t) = submitted {
        status.push_str(&format!("Arrival-Date: {}\r\n", rfc5322_date(t)));
    }
    for (address, reason) in failed {
        let reason = one_line(reason);
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {}\r\nAction: failed\r\nStatus: {}\r\n",
            one_line(address),
            status_code(&reason)
        ));
        if reason.len() >= 3 && reason.as_bytes().iter().take(3).all(u8::is_ascii_digit) {
            status.push_str(&format!("Diagnostic-Code: smtp; {reason}\r\n"));
        } else if !reason.is_empty() {
            status.push_str(&format!("Diagnostic-Code: X-Okapi; {reason}\r\n"));
        }
        status.push_str(&format!("Last-Attempt-Date: {}\r\n", rfc5322_date(now)));
    }

    let original_headers = headers_only(message_headers(original, None, now, &host));

    let mut builder = MessageBuilder::new()
        .from(Address::new_address(Some("Mail Delivery System"), postmaster.clone()))
        .date(Date::new(now.unix_timestamp()))
        .subject(subject.clone())
        .message_id(strip_brackets(&message_id).to_string())
        .header("Auto-Submitted", Raw::new("auto-replied"));
    if is_valid_address(&sender_address) {
        builder = builder.to(mailbox_address(&sender_name, &sender_address));
    }
    if let Some(id) = &original_id {
        builder = builder.in_reply_to(id.clone()).references(id.clone());
    }
    let report = MimePart::new(
        ContentType::new("multipart/report").attribute("report-type", "delivery-status"),
        vec![
            MimePart::new("text/plain", text.clone()),
            raw_part("message/delivery-status", status.into_bytes()),
            raw_part("text/rfc822-headers", original_headers),
        ],
    );
    let mut raw = Vec::new();
    builder.body(report).serialize(&mut raw);

    let micros = now_micros(now);
    let mut props = PropMap::new();
    let mut set = |tag: PropTag, value: PropValue| {
        props.insert(tag, value);
    };
    set(PR_MESSAGE_CLASS, PropValue::Str(NDR_MESSAGE_CLASS.to_string()));
    set(PR_SUBJECT, PropValue::Str(subject));
    let topic = prop_str(&original.props, PR_CONVERSATION_TOPIC).unwrap_or(original_subject);
    set(PR_CONVERSATION_TOPIC, PropValue::Str(topic.to_string()));
    set(PR_BODY, PropValue::Str(text));
    for (name_tag, addr_tag) in [
        (PR_SENDER_NAME, PR_SENDER_EMAIL_ADDRESS),
        (PR_SENT_REPRESENTING_NAME, PR_SENT_REPRESENTING_EMAIL_ADDRESS),
    ] {
        set(name_tag, PropValue::Str("Mail Delivery System".to_string()));
        set(addr_tag, PropValue::Str(postmaster.clone()));
    }
    set(PR_SENDER_ADDRTYPE, PropValue::Str("SMTP".to_string()));
    let display_to = if sender_name.is_empty() {
        &sender_address
    } else {
        &sender_name
    };
    set(PR_DISPLAY_TO, PropValue::Str(display_to.clone()));
    set(PR_INTERNET_MESSAGE_ID, PropValue::Str(message_id));
    if let Some(id) = original_id {
        set(PR_IN_REPLY_TO_ID, PropValue::Str(format!("<{id}>")));
    }
    set(PR_CLIENT_SUBMIT_TIME, PropValue::Time(micros));
    set(PR_MESSAGE_DELIVERY_TIME, PropValue::Time(micros));
    set(PR_IMPORTANCE, PropValue::Long(1));
    set(PR_MESSAGE_FLAGS, PropValue::Long(0));
    set(PR_HASATTACH, PropValue::Bool(false));
    (props, raw)
}

/// Builds an RFC 3834 out-of-office reply to `to`.
///
/// The reply carries `Auto-Submitted: auto-replied` and `X-Auto-Response-Suppress: All` (so that other
/// responders do not answer it), refers to the original with In-Reply-To and References when its
/// Message-ID is known, and has the subject `oof_subject`, or `Auto: <original subject>` when that is
/// empty. Call [`should_auto_reply`] first; this function does not check whether a reply is allowed.
#[allow(
    clippy::too_many_arguments,
    reason = "the spooler's call has these eight distinct inputs; a struct would only rename them"
)]
pub fn build_oof_reply(
    to: &str,
    original_subject: &str,
    original_message_id: Option<&str>,
    oof_subject: &str,
    oof_body: &str,
    from: &Mailbox,
    now: OffsetDateTime,
    hostname: &str,
) -> Vec<u8> {
    let subject = if oof_subject.trim().is_empty() {
        format!("Auto: {original_subject}")
    } else {
        oof_subject.to_string()
    };
    let message_id = new_message_id(hostname);
    let mut builder = MessageBuilder::new()
        .from(mailbox_address(&from.name, &header_safe(&from.address)))
        .to(Address::new_address(
            None::<&str>,
            header_safe(strip_brackets(to.trim())),
        ))
        .date(Date::new(now.unix_timestamp()))
        .subject(subject)
        .message_id(strip_brackets(&message_id).to_string())
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .header("X-Auto-Response-Suppress", Raw::new("All"));
    if let Some(id) = original_message_id.and_then(|ids| parse_message_ids(ids).pop()) {
        builder = builder.in_reply_to(id.clone()).references(id);
    }
    let mut out = Vec::new();
    builder.text_body(oof_body.to_string()).serialize(&mut out);
    out
}

/// Decides whether an out-of-office reply may answer a message, by RFC 3834's rules.
///
/// `headers_raw` is the message's header block (the whole message is fine: reading stops at the first
/// empty line), `envelope_sender` its envelope sender (MAIL FROM, or Return-Path), `own_addresses` the
/// addresses of the mailbox owner. No reply goes:
///
/// - to the null sender, to an address that does not look like one, or to one of the owner's own;
/// - to senders that are programs or lists: `MAILER-DAEMON`, `postmaster`, `owner-*`, `*-owner`,
///   `*-request`, `*-bounces`, `noreply`, `no-reply`, `do-not-reply`, `donotreply`, `listserv`,
///   `majordomo` (local part, any case);
/// - when `Auto-Submitted` is present with any value but `no` (§5.2);
/// - when a `List-Id`, `List-Unsubscribe` or `List-Post` header is present (RFC 2369/2919: list traffic);
/// - when `Precedence` is `bulk`, `list` or `junk`;
/// - when `X-Auto-Response-Suppress` (Microsoft) contains `All` or `OOF`;
/// - when none of the owner's addresses is in To, Cc, Bcc, Resent-To, Resent-Cc or Resent-Bcc: the
///   message reached the owner through a list or an alias, and §2 recommends not answering it.
pub fn should_auto_reply(headers_raw: &[u8], envelope_sender: &str, own_addresses: &[String]) -> bool {
    let sender = strip_brackets(envelope_sender.trim());
    if sender.is_empty() || !is_valid_address(sender) {
        return false;
    }
    if own_addresses.iter().any(|own| own.trim().eq_ignore_ascii_case(sender)) {
        return false;
    }
    let local = sender.rsplit_once('@').map_or(sender, |(l, _)| l).to_ascii_lowercase();
    const PROGRAM_SENDERS: &[&str] = &[
        "mailer-daemon",
        "postmaster",
        "noreply",
        "no-reply",
        "do-not-reply",
        "donotreply",
        "listserv",
        "majordomo",
    ];
    if PROGRAM_SENDERS.contains(&local.as_str())
        || local.starts_with("owner-")
        || local.ends_with("-owner")
        || local.ends_with("-request")
        || local.ends_with("-bounces")
    {
        return false;
    }

    let headers = parse_headers(headers_raw);
    let mut addressed = false;
    for (name, value) in &headers {
        let value_lc = value.to_ascii_lowercase();
        match name.as_str() {
            "auto-submitted" => {
                let keyword = value_lc.split([';', '(']).next().unwrap_or("").trim();
                if keyword != "no" {
                    return false;
                }
            }
            "list-id" | "list-unsubscribe" | "list-post" => return false,
            "precedence" if matches!(value_lc.trim(), "bulk" | "list" | "junk") => return false,
            "x-auto-response-suppress" if value_lc.split(',').any(|v| matches!(v.trim(), "all" | "oof")) => {
                return false;
            }
            "to" | "cc" | "bcc" | "resent-to" | "resent-cc" | "resent-bcc" => {
                addressed |= own_addresses.iter().any(|own| contains_address(&value_lc, own));
            }
            _ => {}
        }
    }
    addressed
}

/// The message's headers, without body; `from` is None when only the original's headers are wanted
/// (the NDR's `text/rfc822-headers`), in which case the stored sender is used.
fn message_headers<'x>(
    msg: &'x StoredMessage,
    from: Option<&'x Mailbox>,
    now: OffsetDateTime,
    hostname: &str,
) -> MessageBuilder<'x> {
    let mut b = MessageBuilder::new();
    match from {
        Some(from) => b = b.from(mailbox_address(&from.name, from.address.trim())),
        None => {
            let (name, address) = original_sender(&msg.props);
            if is_valid_address(&address) {
                b = b.from(mailbox_address(&name, &address));
            }
        }
    }
    let date = match from {
        Some(_) => now,
        None => prop_time(&msg.props, PR_CLIENT_SUBMIT_TIME).unwrap_or(now),
    };
    b = b.date(Date::new(date.unix_timestamp()));
    b = b.subject(Text::new(prop_str(&msg.props, PR_SUBJECT).unwrap_or_default()));

    let to = header_recipients(msg, MAPI_TO);
    let cc = header_recipients(msg, MAPI_CC);
    if to.is_empty() && cc.is_empty() {
        // RFC 5322 §3.6.3 allows no To at all, but some readers mishandle that; this is what other
        // mailers write for a Bcc-only message.
        b = b.header("To", Raw::new("undisclosed-recipients:;"));
    } else {
        if !to.is_empty() {
            b = b.to(Address::new_list(to));
        }
        if !cc.is_empty() {
            b = b.cc(Address::new_list(cc));
        }
    }

    let stored_id = prop_str(&msg.props, PR_INTERNET_MESSAGE_ID).and_then(|id| parse_message_ids(id).pop());
    let id = stored_id.unwrap_or_else(|| strip_brackets(&new_message_id(hostname)).to_string());
    b = b.message_id(id);
    let in_reply_to = prop_str(&msg.props, PR_IN_REPLY_TO_ID)
        .map(parse_message_ids)
        .unwrap_or_default();
    if !in_reply_to.is_empty() {
        b = b.in_reply_to(MessageId::from(in_reply_to));
    }
    let references = prop_str(&msg.props, PR_INTERNET_REFERENCES)
        .map(parse_message_ids)
        .unwrap_or_default();
    if !references.is_empty() {
        b = b.references(MessageId::from(references));
    }

    match msg.props.get(&PR_IMPORTANCE).and_then(PropValue::as_i64) {
        Some(0) => {
            b = b
                .header("Importance", Raw::new("low"))
                .header("X-Priority", Raw::new("5 (Lowest)"))
        }
        Some(2) => {
            b = b
                .header("Importance", Raw::new("high"))
                .header("X-Priority", Raw::new("1 (Highest)"))
        }
        _ => {}
    }
    let sensitivity = match msg.props.get(&PR_SENSITIVITY).and_then(PropValue::as_i64) {
        Some(1) => Some("Personal"),
        Some(2) => Some("Private"),
        Some(3) => Some("Company-Confidential"),
        _ => None,
    };
    if let Some(s) = sensitivity {
        b = b.header("Sensitivity", Raw::new(s));
    }
    b
}

/// To or Cc recipients as header addresses, skipping those that do not look like addresses.
fn header_recipients(msg: &StoredMessage, kind: i32) -> Vec<Address<'_>> {
    msg.recipients
        .iter()
        .filter(|r| r.recipient_type == kind)
        .filter(|r| is_valid_address(r.address.trim()))
        .map(|r| mailbox_address(&r.display_name, r.address.trim()))
        .collect()
}

/// The MIME body: alternative text/HTML, related inline parts, mixed attachments.
fn message_body<'x>(msg: &'x StoredMessage, attachments: &'x [(AttachmentRow, Vec<u8>)]) -> MimePart<'x> {
    let text = prop_str(&msg.props, PR_BODY).map(|t| MimePart::new("text/plain", t));
    let html = match msg.props.get(&PR_HTML) {
        Some(PropValue::Binary(bytes)) => Some(String::from_utf8_lossy(bytes)),
        Some(PropValue::Str(s)) => Some(Cow::Borrowed(s.as_str())),
        _ => None,
    }
    .map(|h| MimePart::new("text/html", h));

    let is_related = |row: &AttachmentRow| {
        html.is_some() && row.inline && clean_content_id(&row.content_id).is_some() && !is_embedded(row)
    };
    let (related, mixed): (Vec<_>, Vec<_>) = attachments.iter().partition(|(row, _)| is_related(row));

    let html = html.map(|h| {
        if related.is_empty() {
            h
        } else {
            let mut parts = vec![h];
            parts.extend(related.iter().map(|(row, data)| attachment_part(row, data)));
            MimePart::new(
                ContentType::new("multipart/related").attribute("type", "text/html"),
                parts,
            )
        }
    });
    let body = match (text, html) {
        (Some(t), Some(h)) => MimePart::new("multipart/alternative", vec![t, h]),
        (Some(t), None) => t,
        (None, Some(h)) => h,
        (None, None) => MimePart::new("text/plain", ""),
    };
    if mixed.is_empty() {
        return body;
    }
    let mut parts = vec![body];
    parts.extend(mixed.iter().map(|(row, data)| attachment_part(row, data)));
    MimePart::new("multipart/mixed", parts)
}

fn is_embedded(row: &AttachmentRow) -> bool {
    row.props.get(&PR_ATTACH_METHOD).and_then(PropValue::as_i64) == Some(ATTACH_EMBEDDED_MSG)
}

/// One attachment as a MIME part.
fn attachment_part<'x>(row: &'x AttachmentRow, data: &'x [u8]) -> MimePart<'x> {
    let filename = [row.filename.as_str()]
        .into_iter()
        .chain(prop_str(&row.props, PR_ATTACH_LONG_FILENAME))
        .chain(prop_str(&row.props, PR_ATTACH_FILENAME))
        .map(str::trim)
        .find(|f| !f.is_empty());
    let cid = clean_content_id(&row.content_id);
    let disposition = if row.inline && cid.is_some() {
        "inline"
    } else {
        "attachment"
    };
    let mut disposition = ContentType::new(disposition);
    if let Some(f) = filename {
        disposition = disposition.attribute("filename", f);
    }

    let mut part = if is_embedded(row) {
        // RFC 2046 §5.2.1: message/rfc822 takes no encoding but 7bit, 8bit or binary, so the embedded
        // message goes in as it is, with CRLF line ends.
        let data = crlf(data);
        let encoding = if data.is_ascii() { "7bit" } else { "8bit" };
        MimePart::new("message/rfc822", BodyPart::Binary(Cow::Owned(data))).transfer_encoding(encoding)
    } else {
        let mime = [row.mime_type.as_str()]
            .into_iter()
            .chain(prop_str(&row.props, PR_ATTACH_MIME_TAG))
            .map(str::trim)
            .find(|m| is_mime_type(m))
            .unwrap_or("application/octet-stream");
        MimePart::new(
            ContentType::new(mime.to_ascii_lowercase()),
            BodyPart::Binary(Cow::Borrowed(data)),
        )
    };
    part = part.header("Content-Disposition", HeaderType::ContentType(disposition));
    if let Some(cid) = cid {
        part = part.cid(cid);
    }
    part
}

/// A leaf part written as it is, with the given Content-Type and a 7bit or 8bit encoding.
fn raw_part(content_type: &'static str, data: Vec<u8>) -> MimePart<'static> {
    let encoding = if data.is_ascii() { "7bit" } else { "8bit" };
    MimePart::new(ContentType::new(content_type), BodyPart::Binary(Cow::Owned(data))).transfer_encoding(encoding)
}

/// The header block a builder writes (ending in its CRLF, without the blank line).
fn headers_only(builder: MessageBuilder<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    builder.body(MimePart::new("text/plain", "")).serialize(&mut out);
    match out.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(end) => out.get(..end + 2).map(<[u8]>::to_vec).unwrap_or_default(),
        None => out,
    }
}

fn mailbox_address(name: &str, address: &str) -> Address<'static> {
    let name = name.trim();
    Address::new_address((!name.is_empty()).then(|| name.to_string()), address.to_string())
}

/// The original sender: the represented sender if set, else the sender.
fn original_sender(props: &PropMap) -> (String, String) {
    let address = prop_str(props, PR_SENT_REPRESENTING_EMAIL_ADDRESS)
        .filter(|a| is_valid_address(a.trim()))
        .or_else(|| prop_str(props, PR_SENDER_EMAIL_ADDRESS))
        .unwrap_or_default()
        .trim()
        .to_string();
    let name = prop_str(props, PR_SENT_REPRESENTING_NAME)
        .or_else(|| prop_str(props, PR_SENDER_NAME))
        .unwrap_or_default()
        .to_string();
    (name, address)
}

fn prop_str(props: &PropMap, tag: PropTag) -> Option<&str> {
    props.get(&tag).and_then(PropValue::as_str)
}

fn prop_time(props: &PropMap, tag: PropTag) -> Option<OffsetDateTime> {
    let micros = props.get(&tag).and_then(PropValue::as_i64)?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000).ok()
}

fn now_micros(now: OffsetDateTime) -> i64 {
    i64::try_from(now.unix_timestamp_nanos() / 1000).unwrap_or(0)
}

fn rfc5322_date(t: OffsetDateTime) -> String {
    Date::new(t.unix_timestamp()).to_rfc822()
}

/// Message ids from a header-like value (`<a@b> <c@d>`, or bare `a@b`), without brackets; ids that
/// could break a header (spaces, controls, brackets inside) are dropped.
fn parse_message_ids(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    if value.contains('<') {
        while let Some(start) = rest.find('<') {
            let after = rest.get(start + 1..).unwrap_or("");
            let Some(end) = after.find('>') else { break };
            ids.push(after.get(..end).unwrap_or(""));
            rest = after.get(end + 1..).unwrap_or("");
        }
    } else {
        ids.extend(value.split([' ', '\t', ',', '\r', '\n']));
    }
    ids.into_iter()
        .map(str::trim)
        .filter(|id| is_message_id(id))
        .map(str::to_string)
        .collect()
}

fn is_message_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 500
        && id.contains('@')
        && id
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>'))
}

fn strip_brackets(s: &str) -> &str {
    s.strip_prefix('<').and_then(|s| s.strip_suffix('>')).unwrap_or(s)
}

/// A content id without brackets, if it is one that can go in a header.
fn clean_content_id(cid: &str) -> Option<&str> {
    let cid = strip_brackets(cid.trim());
    let ok = !cid.is_empty() && cid.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>'));
    ok.then_some(cid)
}

fn clean_hostname(host: &str) -> String {
    let host = host.trim().trim_end_matches('.');
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    if ok { host.to_string() } else { "localhost".to_string() }
}

/// `type/subtype`, both RFC 2045 tokens.
fn is_mime_type(m: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c))
    };
    m.split_once('/').is_some_and(|(t, s)| token(t) && token(s))
}

/// True if `addr` looks like a deliverable `local@domain` address: one `@`, a local part without
/// spaces, quotes or specials, a domain of dot-separated labels (or an address literal), and RFC 5321
/// lengths. Non-ASCII letters are allowed (SMTPUTF8).
pub(crate) fn is_valid_address(addr: &str) -> bool {
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:@\"".contains(c));
    let domain_ok = if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        !literal.is_empty()
            && literal
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':'))
    } else {
        domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
    };
    local_ok && domain_ok && addr.len() <= 254
}

/// Removes what must never reach a header verbatim (line breaks and other controls).
fn header_safe(s: &str) -> String {
    s.trim().chars().filter(|c| !c.is_control()).collect()
}

/// Collapses a reason or address to one line for a report.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control())
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The RFC 3463 status for a failure reason: the enhanced code in it if there is one, else one derived
/// from the SMTP reply code, else 5.0.0.
fn status_code(reason: &str) -> String {
    for word in reason.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ':' | ',' | ';')) {
        let mut parts = word.split('.');
        if let (Some(class), Some(subject), Some(detail), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        {
            let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
            if matches!(class, "2" | "4" | "5") && digits(subject, 3) && digits(detail, 3) {
                return word.to_string();
            }
        }
    }
    match reason.as_bytes().first() {
        Some(b'4') if reason.as_bytes().iter().take(3).all(u8::is_ascii_digit) => "4.0.0".to_string(),
        _ => "5.0.0".to_string(),
    }
}

/// Normalises line ends to CRLF.
pub(crate) fn crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut prev = 0u8;
    for &b in data {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        } else if prev == b'\r' && b != b'\n' {
            out.push(b'\n');
        }
        out.push(b);
        prev = b;
    }
    if prev == b'\r' {
        out.push(b'\n');
    }
    out
}

/// Header fields of a raw message, names in lower case, folded lines joined.
fn parse_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = out.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    out
}

/// True if the lower-cased header value contains `address` as a whole address, not as part of a
/// longer one (`bob@example.org` is not in `jim-bob@example.org`).
fn contains_address(value_lc: &str, address: &str) -> bool {
    let needle = address.trim().to_ascii_lowercase();
    if needle.is_empty() {
        return false;
    }
    let is_boundary = |c: Option<char>| c.is_none_or(|c| c.is_whitespace() || "<>,;:\"()".contains(c));
    let mut from = 0;
    while let Some(pos) = value_lc.get(from..).and_then(|rest| rest.find(&needle)) {
        let start = from + pos;
        let end = start + needle.len();
        let before = value_lc.get(..start).and_then(|s| s.chars().next_back());
        let after = value_lc.get(end..).and_then(|s| s.chars().next());
        if is_boundary(before) && is_boundary(after) {
            return true;
        }
        from = end;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecipientRow;
    use mail_parser::{MessageParser, MimeHeaders};

    fn rcpt(kind: i32, name: &str, address: &str) -> RecipientRow {
        RecipientRow {
            recipient_type: kind,
            display_name: name.to_string(),
            address: address.to_string(),
            props: PropMap::new(),
        }
    }

    fn message(props: Vec<(PropTag, PropValue)>, recipients: Vec<RecipientRow>) -> StoredMessage {
        StoredMessage {
            id: 1,
            store_id: 1,
            folder_id: 1,
            owner_id: Some(1),
            props: props.into_iter().collect(),
            recipients,
            attachments: Vec::new(),
            raw_blob: None,
        }
    }

    fn attachment(num: i32, filename: &str, mime: &str, cid: &str, inline: bool) -> AttachmentRow {
        AttachmentRow {
            attach_num: num,
            filename: filename.to_string(),
            mime_type: mime.to_string(),
            size: 0,
            content_id: cid.to_string(),
            inline,
            blob_hash: None,
            props: PropMap::new(),
        }
    }

    fn alice() -> Mailbox {
        Mailbox {
            name: "Alice Ämmer".to_string(),
            address: "alice@example.org".to_string(),
        }
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
    }

    fn str_prop(tag: PropTag, s: &str) -> (PropTag, PropValue) {
        (tag, PropValue::Str(s.to_string()))
    }

    fn header_block(raw: &[u8]) -> String {
        let text = String::from_utf8_lossy(raw).to_string();
        text.split("\r\n\r\n").next().unwrap().to_string()
    }

    /// A message with every header property, text and HTML bodies, an inline image, a file and an
    /// embedded message parses back to the same content, with no Bcc header and an RFC 2047 subject.
    #[test]
    fn full_message_round_trips() {
        let mut msg = message(
            vec![
                str_prop(PR_SUBJECT, "Grüße aus Köln"),
                str_prop(PR_BODY, "Hello Bob,\nsee the plan.\n"),
                (
                    PR_HTML,
                    PropValue::Binary(b"<p>Hello <img src=\"cid:logo@x\"></p>".to_vec()),
                ),
                str_prop(PR_INTERNET_MESSAGE_ID, "<orig-1@example.org>"),
                str_prop(PR_IN_REPLY_TO_ID, "<parent@example.net>"),
                str_prop(PR_INTERNET_REFERENCES, "<root@example.net> <parent@example.net>"),
                (PR_IMPORTANCE, PropValue::Long(2)),
                (PR_SENSITIVITY, PropValue::Long(3)),
            ],
            vec![
                rcpt(1, "Bob", "bob@example.net"),
                rcpt(1, "", "carol@example.net"),
                rcpt(2, "Dave D.", "dave@example.com"),
                rcpt(3, "Secret", "secret@example.com"),
            ],
        );
        let mut embedded = attachment(3, "Forwarded.eml", "message/rfc822", "", false);
        embedded.props.insert(PR_ATTACH_METHOD, PropValue::Long(5));
        let inner = b"From: x@example.com\nSubject: inner one\n\nInner body\n".to_vec();
        let atts = vec![
            (
                attachment(0, "logo.png", "image/png", "<logo@x>", true),
                vec![0x89, b'P', b'N', b'G', 0, 1, 2],
            ),
            (
                attachment(1, "Plan für 2025.pdf", "application/pdf", "", false),
                b"%PDF-1.4 data".to_vec(),
            ),
            (embedded, inner),
        ];
        msg.attachments = atts.iter().map(|(a, _)| a.clone()).collect();

        let raw = build_message(&msg, &atts, &alice(), now(), "mail.example.org").unwrap();
        let headers = header_block(&raw);
        assert!(!headers.to_ascii_lowercase().contains("bcc"), "{headers}");
        assert!(!headers.contains("secret@"), "{headers}");
        assert!(headers.contains("=?utf-8?"), "subject not RFC 2047 encoded: {headers}");
        assert!(raw.is_ascii(), "8-bit content in a message with only ASCII parts");
        let bare_lf = raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r') || raw.first() == Some(&b'\n');
        assert!(!bare_lf, "bare LF in the output");

        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Grüße aus Köln"));
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(from.address(), Some("alice@example.org"));
        assert_eq!(from.name(), Some("Alice Ämmer"));
        let to: Vec<_> = parsed
            .to()
            .unwrap()
            .iter()
            .map(|a| a.address().unwrap().to_string())
            .collect();
        assert_eq!(to, ["bob@example.net", "carol@example.net"]);
        let cc: Vec<_> = parsed
            .cc()
            .unwrap()
            .iter()
            .map(|a| a.address().unwrap().to_string())
            .collect();
        assert_eq!(cc, ["dave@example.com"]);
        assert!(parsed.bcc().is_none());
        assert_eq!(parsed.message_id(), Some("orig-1@example.org"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("parent@example.net"));
        assert_eq!(
            parsed.references().as_text_list().unwrap(),
            vec!["root@example.net", "parent@example.net"]
        );
        assert_eq!(parsed.date().unwrap().to_timestamp(), 1_700_000_000);
        assert_eq!(parsed.header_raw("Importance").map(str::trim), Some("high"));
        assert_eq!(parsed.header_raw("X-Priority").map(str::trim), Some("1 (Highest)"));
        assert_eq!(
            parsed.header_raw("Sensitivity").map(str::trim),
            Some("Company-Confidential")
        );

        assert_eq!(
            parsed.body_text(0).unwrap().replace("\r\n", "\n"),
            "Hello Bob,\nsee the plan.\n"
        );
        assert!(parsed.body_html(0).unwrap().contains("cid:logo@x"));

        let structure = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        for kind in [
            "multipart/mixed",
            "multipart/alternative",
            "multipart/related",
            "message/rfc822",
        ] {
            assert!(structure.contains(kind), "no {kind}");
        }
        let mut seen = 0;
        for part in parsed.attachments() {
            match part.attachment_name() {
                Some("logo.png") => {
                    assert_eq!(part.content_id(), Some("logo@x"));
                    assert_eq!(part.contents(), &[0x89, b'P', b'N', b'G', 0, 1, 2]);
                }
                Some("Plan für 2025.pdf") => {
                    assert_eq!(part.content_type().unwrap().ctype(), "application");
                    assert_eq!(part.contents(), b"%PDF-1.4 data");
                }
                Some("Forwarded.eml") => {
                    let inner = part.message().expect("embedded message parsed as message/rfc822");
                    assert_eq!(inner.subject(), Some("inner one"));
                    assert_eq!(inner.body_text(0).unwrap().trim(), "Inner body");
                }
                other => panic!("unexpected attachment {other:?}"),
            }
            seen += 1;
        }
        assert_eq!(seen, 3);
    }

    /// Text only gives a single text/plain part; a missing Message-ID is generated on the given host;
    /// Bcc-only recipients give `undisclosed-recipients:;`; low importance is written.
    #[test]
    fn text_only_generated_id_and_bcc_only() {
        let msg = message(
            vec![
                str_prop(PR_SUBJECT, "plain"),
                str_prop(PR_BODY, "just text"),
                (PR_IMPORTANCE, PropValue::Long(0)),
            ],
            vec![rcpt(3, "", "hidden@example.com")],
        );
        let raw = build_message(&msg, &[], &alice(), now(), "mx.example.org").unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("plain"));
        assert!(parsed.message_id().unwrap().ends_with("@mx.example.org"));
        assert_eq!(parsed.content_type().unwrap().ctype(), "text");
        assert_eq!(parsed.body_text(0).unwrap().trim(), "just text");
        let headers = header_block(&raw);
        assert!(headers.contains("undisclosed-recipients:;"), "{headers}");
        assert!(!headers.contains("hidden@"), "{headers}");
        assert_eq!(parsed.header_raw("Importance").map(str::trim), Some("low"));
        assert_eq!(envelope_recipients(&msg), ["hidden@example.com"]);
    }

    /// HTML alone with no inline parts is a bare text/html message; inline parts without an HTML body
    /// become ordinary attachments.
    #[test]
    fn html_only() {
        let msg = message(
            vec![(PR_HTML, PropValue::Binary("<b>Grüß</b>".as_bytes().to_vec()))],
            vec![],
        );
        let raw = build_message(&msg, &[], &alice(), now(), "h").unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.content_type().unwrap().subtype(), Some("html"));
        assert_eq!(parsed.body_html(0).unwrap().trim(), "<b>Grüß</b>");

        let msg = message(vec![str_prop(PR_BODY, "text")], vec![]);
        let atts = vec![(attachment(0, "a.png", "image/png", "a@b", true), vec![1, 2, 3])];
        let raw = build_message(&msg, &atts, &alice(), now(), "h").unwrap();
        let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
        assert!(text.contains("multipart/mixed") && !text.contains("multipart/related"));
    }

    /// Display names and ids with line breaks cannot add headers; a bad From is refused.
    #[test]
    fn no_header_injection_and_bad_from() {
        let msg = message(
            vec![
                str_prop(PR_SUBJECT, "hi\r\nBcc: evil@example.com"),
                str_prop(PR_INTERNET_MESSAGE_ID, "<x@y>\r\nX-Evil: 1"),
            ],
            vec![
                rcpt(1, "Bob\r\nX-Evil: 2", "bob@example.net"),
                rcpt(1, "", "bad\r\n@example.net"),
            ],
        );
        let raw = build_message(&msg, &[], &alice(), now(), "h").unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert!(parsed.bcc().is_none());
        assert!(parsed.header("X-Evil").is_none());
        assert_eq!(parsed.to().unwrap().iter().count(), 1);
        assert_eq!(invalid_recipients(&msg), ["bad\r\n@example.net"]);

        let bad = Mailbox {
            name: String::new(),
            address: "not an address".to_string(),
        };
        assert_eq!(
            build_message(&msg, &[], &bad, now(), "h"),
            Err(BuildError::InvalidFrom("not an address".to_string()))
        );
    }

    /// Envelope recipients: all three kinds, duplicates and junk removed, order kept.
    #[test]
    fn envelope_recipients_dedup_and_filter() {
        let msg = message(
            vec![],
            vec![
                rcpt(3, "", "zed@example.com"),
                rcpt(1, "", "a@example.com"),
                rcpt(2, "", "A@Example.com"),
                rcpt(1, "", " b@example.com "),
                rcpt(1, "", "no-at-sign"),
                rcpt(2, "", "x@@example.com"),
                rcpt(1, "", ""),
                rcpt(3, "", "a@example.com"),
                rcpt(9, "", "odd@example.com"),
            ],
        );
        assert_eq!(
            envelope_recipients(&msg),
            ["a@example.com", "b@example.com", "zed@example.com"]
        );
    }

    /// The NDR has the report class, subject and readable body in its properties, and its raw bytes are
    /// an RFC 3464 multipart/report with a status block per failed address and the original headers.
    #[test]
    fn ndr_structure() {
        let original = message(
            vec![
                str_prop(PR_SUBJECT, "Quarterly numbers"),
                str_prop(PR_SENDER_NAME, "Alice"),
                str_prop(PR_SENDER_EMAIL_ADDRESS, "alice@example.org"),
                str_prop(PR_INTERNET_MESSAGE_ID, "<q1@example.org>"),
                (PR_CLIENT_SUBMIT_TIME, PropValue::Time(1_699_990_000_000_000)),
            ],
            vec![rcpt(1, "Nobody", "nobody@example.net"), rcpt(3, "", "gone@example.com")],
        );
        let failed = vec![
            (
                "nobody@example.net".to_string(),
                "550 5.1.1 <nobody@example.net>: User unknown".to_string(),
            ),
            (
                "gone@example.com".to_string(),
                "host not found\r\nsecond line".to_string(),
            ),
        ];
        let (props, raw) = build_ndr(&original, &failed, "postmaster@example.org", now(), "mail.example.org");
        assert_eq!(prop_str(&props, PR_MESSAGE_CLASS), Some("REPORT.IPM.Note.NDR"));
        assert_eq!(prop_str(&props, PR_SUBJECT), Some("Undeliverable: Quarterly numbers"));
        assert_eq!(prop_str(&props, PR_SENDER_NAME), Some("Mail Delivery System"));
        assert_eq!(
            prop_str(&props, PR_SENDER_EMAIL_ADDRESS),
            Some("postmaster@example.org")
        );
        let body = prop_str(&props, PR_BODY).unwrap();
        assert!(
            body.contains("nobody@example.net") && body.contains("User unknown"),
            "{body}"
        );
        assert!(
            body.contains("gone@example.com") && body.contains("host not found second line"),
            "{body}"
        );

        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Undeliverable: Quarterly numbers"));
        let from = parsed.from().unwrap().first().unwrap();
        assert_eq!(
            (from.name(), from.address()),
            (Some("Mail Delivery System"), Some("postmaster@example.org"))
        );
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address(),
            Some("alice@example.org")
        );
        assert_eq!(parsed.in_reply_to().as_text(), Some("q1@example.org"));
        assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        let ct = parsed.content_type().unwrap();
        assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
        assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
        assert_eq!(
            prop_str(&props, PR_INTERNET_MESSAGE_ID).map(strip_brackets),
            parsed.message_id(),
            "stored id and sent id differ"
        );

        let text = String::from_utf8_lossy(&raw).to_string();
        assert!(text.contains("Content-Type: message/delivery-status"), "{text}");
        assert!(text.contains("Content-Type: text/rfc822-headers"), "{text}");
        assert!(text.contains("Reporting-MTA: dns; mail.example.org"));
        assert!(text.contains("Final-Recipient: rfc822; nobody@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"));
        assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.net>: User unknown"));
        assert!(text.contains("Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.0.0\r\n"));
        assert!(text.contains("Diagnostic-Code: X-Okapi; host not found second line"));
        // The original's headers, Bcc left out as in the sent message.
        assert!(text.contains("Message-ID: <q1@example.org>"), "{text}");
        assert!(text.contains("Subject: Quarterly numbers"));
        assert!(
            !text.contains("gone@example.com>"),
            "Bcc recipient leaked into the original headers"
        );
        assert_eq!(parsed.parts.len(), 4, "report, text, status, headers");
    }

    /// The OOF reply: RFC 3834 headers, threading, and the subject rule.
    #[test]
    fn oof_reply_headers() {
        let raw = build_oof_reply(
            "<bob@example.net>",
            "Lunch?",
            Some("<m1@example.net>"),
            "",
            "I am away until Monday.",
            &alice(),
            now(),
            "mail.example.org",
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Auto: Lunch?"));
        assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        assert_eq!(parsed.in_reply_to().as_text(), Some("m1@example.net"));
        assert_eq!(parsed.references().as_text(), Some("m1@example.net"));
        assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some("bob@example.net"));
        assert_eq!(
            parsed.from().unwrap().first().unwrap().address(),
            Some("alice@example.org")
        );
        assert_eq!(parsed.body_text(0).unwrap().trim(), "I am away until Monday.");

        let raw = build_oof_reply(
            "<bob@example.net>",
            "Lunch?",
            None,
            "Out of office",
            "x",
            &alice(),
            now(),
            "h",
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Out of office"));
        assert!(parsed.header("In-Reply-To").is_none());
    }

    /// RFC 3834's rules, one case a row: (what, headers, envelope sender, expected).
    #[test]
    fn auto_reply_rules() {
        let own = vec!["alice@example.org".to_string(), "a.smith@example.org".to_string()];
        let to_me = "From: bob@example.net\r\nTo: Alice <alice@example.org>\r\nSubject: hi\r\n";
        let cases: Vec<(&str, String, &str, bool)> = vec![
            ("plain personal mail", to_me.to_string(), "bob@example.net", true),
            (
                "addressed via Cc",
                "To: x@example.net\r\nCc: a.smith@example.org\r\n".into(),
                "bob@example.net",
                true,
            ),
            (
                "folded Cc",
                "To: x@example.net\r\nCc: y@example.net,\r\n\tALICE@example.org\r\n".into(),
                "b@e.net",
                true,
            ),
            (
                "Auto-Submitted: no",
                format!("{to_me}Auto-Submitted: no\r\n"),
                "bob@example.net",
                true,
            ),
            ("null sender", to_me.to_string(), "", false),
            ("null sender <>", to_me.to_string(), "<>", false),
            (
                "auto-replied",
                format!("{to_me}Auto-Submitted: auto-replied\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "auto-generated",
                format!("{to_me}Auto-Submitted: auto-generated (x)\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "List-Id",
                format!("{to_me}List-Id: <dev.lists.example.net>\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "List-Unsubscribe",
                format!("{to_me}List-Unsubscribe: <mailto:u@x.net>\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "List-Post",
                format!("{to_me}List-Post: <mailto:l@x.net>\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "Precedence bulk",
                format!("{to_me}Precedence: bulk\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "Precedence list",
                format!("{to_me}Precedence: List\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "Precedence junk",
                format!("{to_me}Precedence: junk\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "Precedence first-class",
                format!("{to_me}Precedence: first-class\r\n"),
                "bob@example.net",
                true,
            ),
            (
                "suppress All",
                format!("{to_me}X-Auto-Response-Suppress: All\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "suppress OOF",
                format!("{to_me}X-Auto-Response-Suppress: DR, OOF\r\n"),
                "bob@example.net",
                false,
            ),
            (
                "suppress DR only",
                format!("{to_me}X-Auto-Response-Suppress: DR\r\n"),
                "bob@example.net",
                true,
            ),
            ("MAILER-DAEMON", to_me.to_string(), "MAILER-DAEMON@example.net", false),
            ("postmaster", to_me.to_string(), "postmaster@example.net", false),
            ("owner-list", to_me.to_string(), "owner-dev@example.net", false),
            ("list-request", to_me.to_string(), "dev-request@example.net", false),
            ("noreply", to_me.to_string(), "noreply@example.net", false),
            ("no-reply", to_me.to_string(), "No-Reply@example.net", false),
            (
                "not addressed to me",
                "To: team@example.org\r\n".into(),
                "bob@example.net",
                false,
            ),
            (
                "only a longer address",
                "To: jim-alice@example.org\r\n".into(),
                "bob@example.net",
                false,
            ),
            ("from myself", to_me.to_string(), "alice@example.org", false),
            (
                "headers stop at the body",
                format!("{to_me}\r\nList-Id: <not a header>\r\n"),
                "bob@example.net",
                true,
            ),
        ];
        for (what, headers, sender, expected) in cases {
            assert_eq!(should_auto_reply(headers.as_bytes(), sender, &own), expected, "{what}");
        }
    }

    /// Status codes are taken from the reason where present.
    #[test]
    fn status_codes() {
        assert_eq!(status_code("550 5.1.1 <x>: unknown"), "5.1.1");
        assert_eq!(status_code("permanent error (552): 5.2.2 mailbox full"), "5.2.2");
        assert_eq!(status_code("554 rejected"), "5.0.0");
        assert_eq!(status_code("451 try later"), "4.0.0");
        assert_eq!(status_code("no route"), "5.0.0");
    }

    /// Line ends become CRLF, CRLF stays as is.
    #[test]
    fn crlf_normalisation() {
        assert_eq!(crlf(b"a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd");
        assert_eq!(crlf(b"x\r"), b"x\r\n");
    }
}
