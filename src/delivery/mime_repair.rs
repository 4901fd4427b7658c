//! Repairs for real-world MIME that mail-parser 0.11 reads wrongly.
//!
//! [`super::mime`] hands mail-parser a repaired copy of a message where the
//! original would be misread, and keeps the original bytes byte-exact. Each
//! repair here is one shape that careful readers (Python's `email`,
//! Thunderbird) recover and mail-parser does not, found by the oracle test
//! (`tests/mime_oracle.rs`):
//! - [`repair_framing`]: bare CR line ends (classic Mac OS), header blocks
//!   that run into their body without the empty line, and, in every header
//!   block, [`join_encoded_words`];
//! - [`join_encoded_words`]: adjacent RFC 2047 words of one charset that split
//!   a multi-byte character between them (Outlook, Apple Mail), and words
//!   glued to the text around them in a Subject:;
//! - [`base64_lenient`]: base64 with stray characters, missing padding or
//!   text after the padding, which mail-parser gives up on;
//! - [`quoted_printable_lenient`]: `=` that starts no escape stays a `=`
//!   (mail-parser drops the space after it);
//! - [`fix_part_ends`]: a part that mail-parser ended at its boundary string
//!   in the middle of a line of text ends at the boundary line instead.
//!
//! Everything here works on bytes and ASCII syntax only, and never fails:
//! what it cannot repair it leaves as it was.

use std::borrow::Cow;
use std::collections::HashSet;

use mail_parser::MessagePart;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;

/// The message with bare CR line ends made CRLF, missing header/body
/// separators put back and encoded words joined in its header blocks, or the
/// message itself when nothing needs it.
pub(crate) fn repair_framing(raw: &[u8]) -> Cow<'_, [u8]> {
    let crlf = if uses_bare_cr(raw) {
        Cow::Owned(bare_cr_to_crlf(raw))
    } else {
        Cow::Borrowed(raw)
    };
    match mend_header_blocks(&crlf) {
        Some(fixed) => Cow::Owned(fixed),
        None => crlf,
    }
}

/// True when the message's first line ends in CR alone. (A stray `\r\r\n`
/// in CRLF mail is not taken for two line ends.)
fn uses_bare_cr(raw: &[u8]) -> bool {
    match raw.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(i) => {
            raw.get(i) == Some(&b'\r')
                && raw.get(i + 1) != Some(&b'\n')
                && raw.get(i + 1..i + 3) != Some(b"\r\n".as_slice())
        }
        None => false,
    }
}

fn bare_cr_to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for (i, &b) in raw.iter().enumerate() {
        out.push(b);
        if b == b'\r' && raw.get(i + 1) != Some(&b'\n') {
            out.push(b'\n');
        }
    }
    out
}

/// Walks the header blocks (the message's, and a part's after a boundary
/// line). Before the first line of a block that is neither a header field nor
/// a continuation, and after which no header field follows, it puts an empty
/// line: Python's `email` and MUAs start the body there, where mail-parser
/// would swallow the line as a broken header. A junk line between header
/// fields stays a (broken) header, so the fields after it are still read.
/// In each block it joins encoded words ([`join_encoded_words`]).
fn mend_header_blocks(raw: &[u8]) -> Option<Vec<u8>> {
    let boundaries = declared_boundaries(raw);
    let boundaries: HashSet<&[u8]> = boundaries.iter().map(Vec::as_slice).collect();
    // (start, end, replacement), in order and not overlapping.
    let mut edits: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut block_start = Some(0);
    let mut first_line = true;
    // Where the next header field after a junk line was found, so that a run
    // of junk lines is looked through once.
    let mut field_ahead = 0;
    let mut at = 0;
    let end_block = |start: usize, end: usize, edits: &mut Vec<(usize, usize, Vec<u8>)>| {
        let joined = raw
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .and_then(join_encoded_words);
        if let Some(joined) = joined {
            edits.push((start, end, joined.into_bytes()));
        }
    };
    for line in raw.split_inclusive(|&b| b == b'\n') {
        let content = trim_line_end(line);
        if let Some(start) = block_start {
            let header_line = is_header_field(content)
                || matches!(content.first(), Some(b' ' | b'\t'))
                || (at == 0 && content.starts_with(b"From "));
            if content.is_empty() {
                end_block(start, at, &mut edits);
                block_start = None;
            } else if !header_line && !first_line && field_ahead <= at {
                match next_field(raw, at + line.len()) {
                    Some(field) => field_ahead = field,
                    None => {
                        end_block(start, at, &mut edits);
                        edits.push((at, at, b"\r\n".to_vec()));
                        block_start = None;
                    }
                }
            } else if !header_line && !first_line {
                // Junk between header fields: read on.
            } else if !header_line {
                // No header at all: not a header block.
                block_start = None;
            }
            first_line = false;
        } else if let Some(rest) = content.strip_prefix(b"--") {
            let rest = trim_trailing_space(rest);
            if boundaries.contains(rest) {
                block_start = Some(at + line.len());
                first_line = true;
            }
        }
        at += line.len();
    }
    if let Some(start) = block_start {
        end_block(start, at, &mut edits);
    }
    if edits.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut from = 0;
    for (start, end, replacement) in edits {
        out.extend_from_slice(raw.get(from..start).unwrap_or_default());
        out.extend_from_slice(&replacement);
        from = end;
    }
    out.extend_from_slice(raw.get(from..).unwrap_or_default());
    Some(out)
}

/// The offset of the next header field line from `from` on, before the
/// block's empty line.
fn next_field(raw: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    for line in raw.get(from..)?.split_inclusive(|&b| b == b'\n') {
        let content = trim_line_end(line);
        if content.is_empty() {
            return None;
        }
        if is_header_field(content) {
            return Some(at);
        }
        at += line.len();
    }
    None
}

/// Moves the end of each part that mail-parser ended at its boundary string
/// in the middle of a line of text to the next boundary line.
///
/// mail-parser takes `--boundary` anywhere in a line for a boundary. Where it
/// ends the line (a mailer that lost the CRLF before it), that is right; where
/// text follows on the same line, it is text, and the part runs on. A moved
/// part is marked `is_encoding_problem`: mail-parser's decoding of it is cut
/// short, and [`super::mime`] decodes it again from the raw bytes. The message
/// is scanned once, whatever the number of parts.
pub(crate) fn fix_part_ends(raw: &[u8], parts: &mut [MessagePart<'_>]) {
    let suspects: Vec<usize> = parts
        .iter()
        .enumerate()
        .filter(|(_, p)| ends_mid_line_at_dashes(raw, p.offset_end as usize))
        .map(|(i, _)| i)
        .collect();
    if suspects.is_empty() {
        return;
    }
    let boundaries = declared_boundaries(raw);
    let lines = boundary_lines(raw, &boundaries);
    for i in suspects {
        let Some(part) = parts.get_mut(i) else {
            continue;
        };
        let end = part.offset_end as usize;
        if let Some(true_end) = text_end(raw, end, &boundaries, &lines).and_then(|e| u32::try_from(e).ok()) {
            part.offset_end = true_end;
            part.is_encoding_problem = true;
        }
    }
}

fn ends_mid_line_at_dashes(raw: &[u8], end: usize) -> bool {
    end > 0
        && raw.get(end - 1).is_some_and(|&b| b != b'\n')
        && raw.get(end..).is_some_and(|rest| rest.starts_with(b"--"))
}

/// True when what follows a boundary string ends its line: `--` (closing),
/// then only spaces or tabs.
fn ends_line(rest: &[u8]) -> bool {
    let rest = rest.strip_prefix(b"--").unwrap_or(rest);
    let rest = rest
        .get(rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count()..)
        .unwrap_or_default();
    rest.is_empty() || rest.starts_with(b"\r") || rest.starts_with(b"\n")
}

/// The offsets of the lines that are boundary lines, in order.
fn boundary_lines(raw: &[u8], boundaries: &[Vec<u8>]) -> Vec<usize> {
    let names: HashSet<&[u8]> = boundaries.iter().map(Vec::as_slice).collect();
    let mut lines = Vec::new();
    let mut at = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if let Some(rest) = trim_line_end(line).strip_prefix(b"--") {
            let rest = trim_trailing_space(rest);
            if names.contains(rest) || rest.strip_suffix(b"--").is_some_and(|r| names.contains(r)) {
                lines.push(at);
            }
        }
        at += line.len();
    }
    lines
}

/// Where the text of a part cut at `end` ends: before the line break of the
/// next boundary line. `None` when the boundary string at `end` is a real
/// (glued) boundary.
fn text_end(raw: &[u8], end: usize, boundaries: &[Vec<u8>], lines: &[usize]) -> Option<usize> {
    let after_dashes = raw.get(end + 2..).unwrap_or_default();
    let boundary = boundaries
        .iter()
        .filter(|b| after_dashes.starts_with(b))
        .max_by_key(|b| b.len())?;
    if ends_line(after_dashes.get(boundary.len()..).unwrap_or_default()) {
        return None;
    }
    let next = lines.get(lines.partition_point(|&l| l <= end)).copied();
    Some(match next {
        Some(line) if line > 0 => {
            let lf = line - 1;
            if lf > 0 && raw.get(lf - 1) == Some(&b'\r') {
                lf - 1
            } else {
                lf
            }
        }
        _ => raw.len(),
    })
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_trailing_space(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| b != b' ' && b != b'\t').map_or(0, |p| p + 1);
    s.get(..end).unwrap_or_default()
}

/// `Name: value`, with the obsolete whitespace before the colon allowed.
fn is_header_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = trim_trailing_space(line.get(..colon).unwrap_or_default());
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b))
}

/// Every `boundary=` parameter value in the message, quoted or not.
fn declared_boundaries(raw: &[u8]) -> Vec<Vec<u8>> {
    const KEY: &[u8] = b"boundary=";
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    let mut i = 0;
    while let Some(pos) = raw
        .get(i..)
        .and_then(|rest| rest.windows(KEY.len()).position(|w| w.eq_ignore_ascii_case(KEY)))
    {
        let start = i + pos + KEY.len();
        let rest = raw.get(start..).unwrap_or_default();
        let value = match rest.strip_prefix(b"\"") {
            Some(quoted) => quoted.split(|&b| b == b'"' || b == b'\n').next().unwrap_or_default(),
            None => rest
                .split(|&b| b == b';' || b.is_ascii_whitespace())
                .next()
                .unwrap_or_default(),
        };
        if !value.is_empty() && seen.insert(value) {
            found.push(value.to_vec());
        }
        i = start;
    }
    found
}

// ---- RFC 2047 ---------------------------------------------------------------------------

/// One syntactically complete encoded word in a header.
struct Word<'a> {
    start: usize,
    end: usize,
    charset: &'a str,
    bytes: Vec<u8>,
}

/// The header block with each run of adjacent encoded words of one charset
/// made a single word, so that a character split between them decodes; in
/// the Subject:, encoded words glued to other text are decoded in place.
/// `None` when nothing needed a change.
pub(crate) fn join_encoded_words(block: &str) -> Option<String> {
    if !block.contains("=?") {
        return None;
    }
    let mut out = String::with_capacity(block.len());
    let mut changed = false;
    for field in fields(block) {
        let is_subject = field.get(..8).is_some_and(|name| name.eq_ignore_ascii_case("subject:"));
        match join_in_field(field, is_subject) {
            Some(fixed) => {
                out.push_str(&fixed);
                changed = true;
            }
            None => out.push_str(field),
        }
    }
    changed.then_some(out)
}

/// The header fields of a block, each with its continuation lines.
fn fields(block: &str) -> impl Iterator<Item = &str> {
    let mut starts: Vec<usize> = block
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .filter(|&i| {
            block
                .get(i..)
                .is_some_and(|rest| !rest.is_empty() && !rest.starts_with([' ', '\t']))
        })
        .collect();
    starts.insert(0, 0);
    starts.push(block.len());
    starts
        .windows(2)
        .filter_map(|w| block.get(w[0]..w[1]))
        .collect::<Vec<_>>()
        .into_iter()
}

fn join_in_field(field: &str, is_subject: bool) -> Option<String> {
    let words = encoded_words(field);
    if words.is_empty() {
        return None;
    }
    // Runs of words with only whitespace between them.
    let mut runs: Vec<Vec<&Word<'_>>> = Vec::new();
    for w in &words {
        match runs.last_mut() {
            Some(run)
                if run.last().is_some_and(|prev| {
                    field
                        .get(prev.end..w.start)
                        .is_some_and(|gap| gap.chars().all(char::is_whitespace))
                }) =>
            {
                run.push(w)
            }
            _ => runs.push(vec![w]),
        }
    }
    let mut out = String::with_capacity(field.len());
    let mut from = 0;
    let mut changed = false;
    for run in runs {
        let (Some(first), Some(last)) = (run.first(), run.last()) else {
            continue;
        };
        let glued = is_subject
            && (field
                .get(..first.start)
                .and_then(|s| s.chars().next_back())
                .is_some_and(|c| !c.is_whitespace() && c != ':')
                || field
                    .get(last.end..)
                    .and_then(|s| s.chars().next())
                    .is_some_and(|c| !c.is_whitespace()));
        let decoded = if glued { decode_run(&run) } else { None };
        let replacement = decoded.or_else(|| (run.len() > 1).then(|| merge_run(&run)));
        if let Some(text) = replacement {
            out.push_str(field.get(from..first.start).unwrap_or_default());
            out.push_str(&text);
            from = last.end;
            changed = true;
        }
    }
    if !changed {
        return None;
    }
    out.push_str(field.get(from..).unwrap_or_default());
    Some(out)
}

/// The run as one B word per charset, in order.
fn merge_run(run: &[&Word<'_>]) -> String {
    let mut parts: Vec<(&str, Vec<u8>)> = Vec::new();
    for w in run {
        match parts.last_mut() {
            Some((cs, bytes)) if cs.eq_ignore_ascii_case(w.charset) => bytes.extend_from_slice(&w.bytes),
            _ => parts.push((w.charset, w.bytes.clone())),
        }
    }
    parts
        .iter()
        .map(|(cs, bytes)| format!("=?{cs}?B?{}?=", encode_base64(bytes)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The run's text, when every charset in it is known; control characters
/// become spaces, so the header stays one line.
fn decode_run(run: &[&Word<'_>]) -> Option<String> {
    let mut text = String::new();
    let mut i = 0;
    while let Some(w) = run.get(i) {
        let mut bytes = w.bytes.clone();
        let mut j = i + 1;
        while let Some(next) = run.get(j).filter(|n| n.charset.eq_ignore_ascii_case(w.charset)) {
            bytes.extend_from_slice(&next.bytes);
            j += 1;
        }
        // The charset, without an RFC 2231 language tag.
        let label = w.charset.split('*').next().unwrap_or_default().to_ascii_lowercase();
        let decoded = match label.as_str() {
            "utf-8" | "utf8" | "us-ascii" | "ascii" => String::from_utf8_lossy(&bytes).into_owned(),
            other => charset_decoder(other.as_bytes())?(&bytes),
        };
        text.extend(decoded.chars().map(|c| if c.is_control() { ' ' } else { c }));
        i = j;
    }
    Some(text)
}

/// Every `=?charset?B|Q?text?=` in a header field, decoded to bytes.
fn encoded_words(field: &str) -> Vec<Word<'_>> {
    let mut words = Vec::new();
    let mut i = 0;
    while let Some(pos) = field.get(i..).and_then(|rest| rest.find("=?")) {
        match parse_word(field, i + pos) {
            Ok(w) => {
                i = w.end;
                words.push(w);
            }
            Err(next) => i = next,
        }
    }
    words
}

/// Longest charset label looked for; the longest IANA name has 45 characters.
const MAX_CHARSET: usize = 64;

/// The encoded word at `start`, or where to look for the next one: a word
/// without its `?=` before the next whitespace means none can end in that
/// stretch, so every byte of a header is looked at a bounded number of times.
fn parse_word(field: &str, start: usize) -> Result<Word<'_>, usize> {
    let retry = start + 2;
    let body = field.get(retry..).ok_or(retry)?;
    let bytes = body.as_bytes();
    let q1 = bytes
        .iter()
        .take(MAX_CHARSET + 1)
        .position(|&b| b == b'?')
        .ok_or(retry)?;
    let charset = body.get(..q1).ok_or(retry)?;
    let kind = bytes.get(q1 + 1).copied();
    if charset.is_empty()
        || bytes.get(q1 + 2) != Some(&b'?')
        || !charset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'*'))
    {
        return Err(retry);
    }
    let text_start = q1 + 3;
    let mut j = text_start;
    let text_end = loop {
        match bytes.get(j) {
            None => return Err(field.len()),
            Some(b'?') if bytes.get(j + 1) == Some(&b'=') => break j,
            Some(b'?') => return Err(retry + j),
            Some(b) if b.is_ascii_whitespace() => return Err(retry + j),
            Some(_) => j += 1,
        }
    };
    let text = body.get(text_start..text_end).ok_or(retry)?.as_bytes();
    let decoded = match kind {
        Some(b'B' | b'b') => base64_decode(text).unwrap_or_else(|| base64_lenient(text)),
        Some(b'Q' | b'q') => q_decode(text),
        _ => return Err(retry),
    };
    Ok(Word {
        start,
        end: retry + text_end + 2,
        charset,
        bytes: decoded,
    })
}

/// RFC 2047 Q: `_` is a space, `=XX` a byte; a broken escape stays as it is.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => match (text.get(i + 1).and_then(hex), text.get(i + 2).and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'='),
            },
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    char::from(*b).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

// ---- base64 ------------------------------------------------------------------------------

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Each byte's value in the alphabet; 0xFF for a byte outside it.
const VALUES: [u8; 256] = {
    let mut table = [0xFFu8; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Base64 read as careful decoders do: characters outside the alphabet are
/// skipped, the data ends at the padding (a gateway's signature after it is
/// not data), and a missing padding is forgiven.
pub(crate) fn base64_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut quad = [0u8; 4];
    let mut n = 0;
    for &b in text {
        if b == b'=' {
            if n >= 2 {
                break;
            }
            continue;
        }
        let v = VALUES[usize::from(b)];
        if v == 0xFF {
            continue;
        }
        quad[n] = v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[
                quad[0] << 2 | quad[1] >> 4,
                quad[1] << 4 | quad[2] >> 2,
                quad[2] << 6 | quad[3],
            ]);
            n = 0;
        }
    }
    if n >= 2 {
        out.push(quad[0] << 2 | quad[1] >> 4);
    }
    if n == 3 {
        out.push(quad[1] << 4 | quad[2] >> 2);
    }
    out
}

/// Quoted-printable read as RFC 2045 section 6.7 asks of a robust decoder:
/// `=XX` is a byte (either case), `=` before the line end is a soft line
/// break, any other `=` is itself, and whitespace a gateway added at a line's
/// end is dropped.
pub(crate) fn quoted_printable_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for line in text.split_inclusive(|&b| b == b'\n') {
        let (content, eol): (&[u8], &[u8]) = match line.strip_suffix(b"\r\n") {
            Some(c) => (c, b"\r\n"),
            None => match line.strip_suffix(b"\n") {
                Some(c) => (c, b"\n"),
                None => (line, b""),
            },
        };
        let content = trim_trailing_space(content);
        let mut soft_break = false;
        let mut i = 0;
        while let Some(&b) = content.get(i) {
            if b == b'=' {
                match (content.get(i + 1).and_then(hex), content.get(i + 2).and_then(hex)) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ if i + 1 == content.len() => {
                        soft_break = true;
                        break;
                    }
                    _ => {}
                }
            }
            out.push(b);
            i += 1;
        }
        if !soft_break {
            out.extend_from_slice(eol);
        }
    }
    out
}

fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let idx = [
            b[0] >> 2,
            (b[0] & 3) << 4 | b[1] >> 4,
            (b[1] & 15) << 2 | b[2] >> 6,
            b[2] & 63,
        ];
        for (k, &i) in idx.iter().enumerate() {
            if k <= chunk.len() {
                out.push(char::from(ALPHABET[usize::from(i)]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bare CR line ends become CRLF; CRLF mail is left alone.
    #[test]
    fn bare_cr_mail_is_framed() {
        let raw = b"Subject: x\rFrom: a@b\r\rbody\rmore\r";
        assert_eq!(
            &*repair_framing(raw),
            b"Subject: x\r\nFrom: a@b\r\n\r\nbody\r\nmore\r\n"
        );
        let fine = b"Subject: x\r\n\r\nbody\rwith a CR\r\n";
        assert!(matches!(repair_framing(fine), Cow::Borrowed(_)));
        let doubled = b"Subject: x\r\r\nFrom: a@b\r\n\r\nbody\r\n";
        assert!(matches!(repair_framing(doubled), Cow::Borrowed(_)));
    }

    /// A body line right after the headers, in the message and in a part,
    /// starts the body; an mbox From_ line and obsolete `Name :` do not.
    #[test]
    fn missing_separators_are_put_back() {
        let raw = b"From nobody Mon Jan  1 00:00:00 2024\r\nSubject : x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
                    --b\r\nContent-Type: text/plain\r\nBody right after.\r\n--b--\r\n";
        let fixed = repair_framing(raw);
        let text = String::from_utf8_lossy(&fixed);
        assert!(text.contains("text/plain\r\n\r\nBody right after."), "{text}");
        assert!(
            text.starts_with("From nobody Mon Jan  1 00:00:00 2024\r\nSubject : x\r\n"),
            "{text}"
        );
        let top = repair_framing(b"Subject: x\r\nNot a header\r\n");
        assert_eq!(&*top, b"Subject: x\r\n\r\nNot a header\r\n");
        let junk_between = b"Subject: x\r\njunk\r\nmore junk\r\nFrom: a@b\r\n\r\nbody\r\n";
        assert!(matches!(repair_framing(junk_between), Cow::Borrowed(_)));
    }

    /// A character split between two words decodes whole once they are joined.
    #[test]
    fn split_characters_are_joined() {
        let euro = "€ Preis".as_bytes();
        let block = format!(
            "Subject: =?utf-8?B?{}?= =?UTF-8?B?{}?=\r\nTo: x@y\r\n",
            encode_base64(&euro[..1]),
            encode_base64(&euro[1..])
        );
        let joined = join_encoded_words(&block).unwrap_or_default();
        assert_eq!(
            joined,
            format!("Subject: =?utf-8?B?{}?=\r\nTo: x@y\r\n", encode_base64(euro))
        );
        assert_eq!(join_encoded_words("Subject: =?utf-8?Q?one?=\r\n"), None);
        assert_eq!(join_encoded_words("Subject: plain\r\n"), None);
    }

    /// Glued to text in a Subject:, a word is decoded in place.
    #[test]
    fn glued_words_in_the_subject() {
        let block = "Subject: Sale=?utf-8?Q?_=E2=82=AC50_?=today\r\n";
        assert_eq!(
            join_encoded_words(block).as_deref(),
            Some("Subject: Sale €50 today\r\n")
        );
    }

    /// Escapes in either case, soft breaks (with a gateway's trailing
    /// spaces), and `=` that starts nothing.
    #[test]
    fn lenient_quoted_printable() {
        let qp = b"Gr=c3=BC=C3=9Fe =\r\nsure= ok =XY 50=%  \r\nend=  \r\nx=";
        assert_eq!(
            quoted_printable_lenient(qp),
            "Grüße sure= ok =XY 50=%\r\nendx".as_bytes()
        );
    }

    /// A boundary string inside a line of text does not end the part; one
    /// glued to the end of a line does.
    #[test]
    fn boundaries_inside_text() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\r\nsee --b1 here\r\nand more\r\n--b1--\r\n";
        let boundaries = declared_boundaries(raw);
        let lines = boundary_lines(raw, &boundaries);
        assert_eq!(lines.len(), 2);
        let cut = raw.windows(8).position(|w| w == b"see --b1").unwrap_or_default() + 4;
        assert!(ends_mid_line_at_dashes(raw, cut));
        let end = text_end(raw, cut, &boundaries, &lines).unwrap_or_default();
        assert_eq!(&raw[cut - 4..end], b"see --b1 here\r\nand more");
        let glued = b"Content-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\n\r\ntext--b1\r\n";
        let boundaries = declared_boundaries(glued);
        let at = glued.len() - 6;
        assert!(ends_mid_line_at_dashes(glued, at));
        assert_eq!(
            text_end(glued, at, &boundaries, &boundary_lines(glued, &boundaries)),
            None
        );
    }

    /// Every corpus message, and cuts of it at 64 places: parsed through the
    /// repairs without a panic, the raw bytes kept, the text valid.
    #[test]
    fn corpus_and_its_cuts_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/mime");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let raw = std::fs::read(&path).unwrap_or_default();
            let step = (raw.len() / 64).max(1);
            for cut in (0..=raw.len()).step_by(step) {
                let part = raw.get(..cut).unwrap_or_default();
                let d = crate::delivery::mime::parse_message(part, 0);
                assert_eq!(d.raw.as_deref(), Some(part), "{}", path.display());
                assert!(d.props.iter().all(|(t, v)| v.fits(*t)), "{}", path.display());
            }
            count += 1;
        }
        assert!(count >= 150, "only {count} corpus messages");
    }

    /// Words without their end, and many starts in one long token, are looked
    /// through in one pass (a hostile header costs linear time).
    #[test]
    fn unterminated_words() {
        assert_eq!(encoded_words("=?utf-8?Q?no_end and =?utf-8?Q?ok?=").len(), 1);
        let hostile = "=?a?B?".repeat(200_000);
        assert!(encoded_words(&hostile).is_empty());
        let hostile = format!("=?{}", "x".repeat(1_000_000)).repeat(3);
        assert!(encoded_words(&hostile).is_empty());
    }

    /// Stray characters, text after the padding, and missing padding.
    #[test]
    fn lenient_base64() {
        let data: Vec<u8> = (0..=255).collect();
        let enc = encode_base64(&data);
        assert_eq!(base64_decode(enc.as_bytes()).as_deref(), Some(data.as_slice()));
        assert_eq!(base64_lenient(enc.as_bytes()), data);
        assert_eq!(base64_lenient(enc.trim_end_matches('=').as_bytes()), data);
        let noisy = format!("{}!* \r\n{}\r\n-- \r\nsent by gateway\r\n", &enc[..100], &enc[100..]);
        assert_eq!(base64_lenient(noisy.as_bytes()), data);
        assert_eq!(base64_lenient(b""), b"");
        assert_eq!(base64_lenient(b"QQ"), b"A");
    }
}
