//! Text columns have sizes; text from the world does not.
//!
//! The hot columns of a message, recipient or attachment row are sized for
//! sorting and indexing (MySQL counts characters: `VARCHAR(1000)` holds 1,000
//! code points, whatever their bytes). A longer value goes into its column cut
//! at a character boundary, and its full form stays in the row's property bag
//! under the same tag, so reading the property gives back every character.
//! Both backends cut alike, so SQLite and MariaDB answer the same.
//!
//! On reading, the bag's value wins only while the column still holds its
//! beginning: a later write of a shorter value to the column alone cannot be
//! undone by a stale long form.

use super::messages::{NewAttachmentData, RecipientRow};
use crate::props::{
    PR_ATTACH_CONTENT_ID, PR_ATTACH_LONG_FILENAME, PR_ATTACH_MIME_TAG, PR_DISPLAY_NAME, PR_SMTP_ADDRESS, PropMap,
    PropTag, PropValue,
};

/// `messages.subject` and `messages.conversation_topic`.
pub(super) const SUBJECT_CHARS: usize = 1000;
/// The `VARCHAR(255)` columns: message class, sender, message id, recipient
/// name and address, attachment MIME type and content id.
pub(super) const SHORT_CHARS: usize = 255;
/// `attachments.filename`.
pub(super) const FILENAME_CHARS: usize = 1000;

/// The first `max` characters of `value` when it is longer than that.
pub(super) fn overflow(value: &str, max: usize) -> Option<&str> {
    value.char_indices().nth(max).and_then(|(cut, _)| value.get(..cut))
}

/// What goes into a column of `max` characters for `value`; when it had to
/// be cut, the full value is put into `bag` under `tag`.
pub(super) fn fit(value: &str, max: usize, tag: PropTag, bag: &mut PropMap) -> String {
    match overflow(value, max) {
        Some(prefix) => {
            bag.insert(tag, PropValue::Str(value.to_string()));
            prefix.to_string()
        }
        None => value.to_string(),
    }
}

/// The value a column and a bag give together: the bag's full form (taken
/// out of the bag) when it continues what the column holds, else the column.
pub(super) fn restore(column: String, tag: PropTag, bag: &mut PropMap) -> String {
    match bag.get(&tag) {
        Some(PropValue::Str(full)) if !column.is_empty() && full.len() > column.len() && full.starts_with(&column) => {
            match bag.remove(&tag) {
                Some(PropValue::Str(full)) => full,
                _ => column,
            }
        }
        _ => column,
    }
}

/// A recipient row's column values: display name, address, and the bag.
pub(super) fn recipient_columns(r: &RecipientRow) -> (String, String, PropMap) {
    let mut bag = r.props.clone();
    let name = fit(&r.display_name, SHORT_CHARS, PR_DISPLAY_NAME, &mut bag);
    let address = fit(&r.address, SHORT_CHARS, PR_SMTP_ADDRESS, &mut bag);
    (name, address, bag)
}

/// A recipient as read back: the row's columns with their full forms.
pub(super) fn recipient_from_row(kind: i64, name: String, address: String, mut bag: PropMap) -> RecipientRow {
    RecipientRow {
        recipient_type: kind as i32,
        display_name: restore(name, PR_DISPLAY_NAME, &mut bag),
        address: restore(address, PR_SMTP_ADDRESS, &mut bag),
        props: bag,
    }
}

/// A new attachment's text columns: file name, MIME type (octet-stream when
/// none is given), content id, and the bag.
pub(super) struct AttachmentColumns {
    pub filename: String,
    pub mime_type: String,
    pub content_id: String,
    pub bag: PropMap,
}

pub(super) fn attachment_columns(a: &NewAttachmentData) -> AttachmentColumns {
    let mut bag = a.props.clone();
    let mime = if a.mime_type.is_empty() {
        "application/octet-stream"
    } else {
        &a.mime_type
    };
    AttachmentColumns {
        filename: fit(&a.filename, FILENAME_CHARS, PR_ATTACH_LONG_FILENAME, &mut bag),
        mime_type: fit(mime, SHORT_CHARS, PR_ATTACH_MIME_TAG, &mut bag),
        content_id: fit(&a.content_id, SHORT_CHARS, PR_ATTACH_CONTENT_ID, &mut bag),
        bag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::PR_SUBJECT;

    /// A value over the size is cut at a character boundary and kept whole in
    /// the bag; reading puts it back together.
    #[test]
    fn multibyte_values_are_cut_on_char_boundaries_and_restored() {
        let long: String = "Ελληνικά 中文 😀 ".repeat(400);
        let mut bag = PropMap::new();
        let column = fit(&long, SUBJECT_CHARS, PR_SUBJECT, &mut bag);
        assert_eq!(column.chars().count(), SUBJECT_CHARS);
        assert!(long.starts_with(&column));
        assert_eq!(bag.get(&PR_SUBJECT), Some(&PropValue::Str(long.clone())));
        assert_eq!(restore(column, PR_SUBJECT, &mut bag), long);
        assert!(bag.is_empty());
    }

    /// A short value stays out of the bag, and a stale long form that no
    /// longer continues the column is ignored.
    #[test]
    fn short_values_and_stale_bags() {
        let mut bag = PropMap::new();
        assert_eq!(fit("kurz 😀", 5, PR_SUBJECT, &mut bag), "kurz ");
        assert_eq!(fit("kurz", 5, PR_SUBJECT, &mut PropMap::new()), "kurz");
        assert_eq!(restore("other".into(), PR_SUBJECT, &mut bag), "other");
        assert_eq!(restore(String::new(), PR_SUBJECT, &mut bag), "");
        assert_eq!(overflow("", 0), None);
        assert_eq!(overflow("ab", 0), Some(""));
    }
}
