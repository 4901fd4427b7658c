//! `queryRows`: a folder's contents table, filtered, sorted and paged.
//!
//! When every property a restriction or sort order names is a hot column, the
//! whole query runs in the database as an index range scan (the default order,
//! newest first, walks `messages_folder_received`). Otherwise the server reads
//! the folder's rows with their bags and filters and sorts them itself, which
//! is correct for any property, and slower on large folders.

use std::cmp::Ordering;

use sqlx::Row as _;

use super::accounts::escape_like;
use super::messages::{HOT_SELECT, row_props};
use super::{Backend, Result, Store};
use crate::props::*;

/// A restriction on rows (MAPI's SRestriction, reduced to what clients use).
#[derive(Debug, Clone, PartialEq)]
pub enum Restr {
    /// All must hold.
    And(Vec<Restr>),
    /// At least one must hold.
    Or(Vec<Restr>),
    /// Must not hold.
    Not(Box<Restr>),
    /// `tag op value`.
    Compare {
        /// Property.
        tag: PropTag,
        /// Operator.
        op: CmpOp,
        /// Value of the tag's type.
        value: PropValue,
    },
    /// Case-insensitive substring or prefix match on a string property.
    Content {
        /// Property.
        tag: PropTag,
        /// Text.
        value: String,
        /// Prefix instead of substring.
        prefix: bool,
    },
    /// The property is set.
    Exists(PropTag),
    /// Bit test.
    Bitmask {
        /// Property.
        tag: PropTag,
        /// Bits.
        mask: i64,
        /// Match when all masked bits are zero (else when any is set).
        zero: bool,
    },
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// =
    Eq,
    /// <>
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}

impl CmpOp {
    /// Parses `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=` (or eq, ne, lt, le, gt, ge).
    pub fn parse(s: &str) -> Option<CmpOp> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "=" | "==" | "eq" => CmpOp::Eq,
            "<>" | "!=" | "ne" => CmpOp::Ne,
            "<" | "lt" => CmpOp::Lt,
            "<=" | "le" => CmpOp::Le,
            ">" | "gt" => CmpOp::Gt,
            ">=" | "ge" => CmpOp::Ge,
            _ => return None,
        })
    }
    fn sql(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
    fn holds(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        }
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    /// Property.
    pub tag: PropTag,
    /// Descending order.
    pub descending: bool,
}

/// A contents-table query.
#[derive(Debug, Clone)]
pub struct TableQuery {
    /// Folder.
    pub folder: i64,
    /// Columns to return; empty for the hot columns.
    pub columns: Vec<PropTag>,
    /// Sort keys; empty for delivery time, newest first.
    pub sort: Vec<SortSpec>,
    /// Filter.
    pub restriction: Option<Restr>,
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return.
    pub limit: i64,
}

/// One row of the result.
#[derive(Debug, Clone)]
pub struct TableRow {
    /// Message id.
    pub id: i64,
    /// Requested columns that are set.
    pub props: PropMap,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Int,
    /// Always has a value (no "unset").
    IntAlways,
}

/// Hot columns that SQL can filter and sort on.
fn hot_column(tag: PropTag) -> Option<(&'static str, Kind)> {
    Some(match tag {
        PR_MESSAGE_CLASS => ("m.message_class", Kind::Text),
        PR_SUBJECT => ("m.subject", Kind::Text),
        PR_SENDER_NAME => ("m.sender_name", Kind::Text),
        PR_SENDER_EMAIL_ADDRESS => ("m.sender_address", Kind::Text),
        PR_INTERNET_MESSAGE_ID => ("m.internet_message_id", Kind::Text),
        PR_CONVERSATION_TOPIC => ("m.conversation_topic", Kind::Text),
        PR_MESSAGE_DELIVERY_TIME => ("m.received_at", Kind::Int),
        PR_CLIENT_SUBMIT_TIME => ("m.sent_at", Kind::Int),
        PR_MESSAGE_SIZE => ("m.size", Kind::IntAlways),
        PR_MESSAGE_FLAGS => ("(m.flags | (m.has_attach * 16))", Kind::IntAlways),
        PR_IMPORTANCE => ("m.importance", Kind::IntAlways),
        PR_HASATTACH => ("m.has_attach", Kind::IntAlways),
        PR_CREATION_TIME => ("m.created_at", Kind::IntAlways),
        PR_LAST_MODIFICATION_TIME => ("m.modified_at", Kind::IntAlways),
        _ => return None,
    })
}

enum Arg {
    Int(i64),
    Text(String),
}

/// Compiles a restriction to SQL, or None if it names a property that is not
/// a hot column.
fn compile(r: &Restr, backend: Backend, args: &mut Vec<Arg>) -> Option<String> {
    Some(match r {
        Restr::And(items) | Restr::Or(items) => {
            if items.is_empty() {
                return Some(if matches!(r, Restr::And(_)) {
                    "1=1".into()
                } else {
                    "1=0".into()
                });
            }
            let sep = if matches!(r, Restr::And(_)) { " AND " } else { " OR " };
            let parts = items
                .iter()
                .map(|i| compile(i, backend, args))
                .collect::<Option<Vec<_>>>()?;
            format!("({})", parts.join(sep))
        }
        Restr::Not(inner) => format!("NOT ({})", compile(inner, backend, args)?),
        Restr::Compare { tag, op, value } => {
            let (col, kind) = hot_column(*tag)?;
            match (kind, value) {
                (Kind::Text, PropValue::Str(s)) => args.push(Arg::Text(s.clone())),
                (Kind::Int | Kind::IntAlways, v) => args.push(Arg::Int(v.as_i64()?)),
                _ => return None,
            }
            format!("{col} {} ?", op.sql())
        }
        Restr::Content { tag, value, prefix } => {
            let (col, kind) = hot_column(*tag)?;
            // SQLite's LOWER() folds ASCII only: leave other text to the
            // server's own Unicode-aware evaluation.
            if kind != Kind::Text || (backend == Backend::Sqlite && !value.is_ascii()) {
                return None;
            }
            let esc = escape_like(&value.to_lowercase());
            args.push(Arg::Text(if *prefix { format!("{esc}%") } else { format!("%{esc}%") }));
            format!("LOWER({col}) LIKE ? ESCAPE '!'")
        }
        Restr::Exists(tag) => {
            let (col, kind) = hot_column(*tag)?;
            match kind {
                Kind::Text => format!("{col} <> ''"),
                Kind::Int => format!("{col} <> 0"),
                Kind::IntAlways => "1=1".into(),
            }
        }
        Restr::Bitmask { tag, mask, zero } => {
            let (col, kind) = hot_column(*tag)?;
            if kind == Kind::Text {
                return None;
            }
            args.push(Arg::Int(*mask));
            format!("({col} & ?) {} 0", if *zero { "=" } else { "<>" })
        }
    })
}

/// Evaluates a restriction on a full property map (the fallback path).
pub(crate) fn evaluate(r: &Restr, p: &PropMap) -> bool {
    match r {
        Restr::And(items) => items.iter().all(|i| evaluate(i, p)),
        Restr::Or(items) => items.iter().any(|i| evaluate(i, p)),
        Restr::Not(inner) => !evaluate(inner, p),
        Restr::Compare { tag, op, value } => match p.get(tag) {
            Some(v) => compare_values(v, value).is_some_and(|o| op.holds(o)),
            None => false,
        },
        Restr::Content { tag, value, prefix } => match p.get(tag) {
            Some(PropValue::Str(s)) => {
                let (hay, needle) = (s.to_lowercase(), value.to_lowercase());
                if *prefix {
                    hay.starts_with(&needle)
                } else {
                    hay.contains(&needle)
                }
            }
            Some(PropValue::MvStr(v)) => v.iter().any(|s| {
                let (hay, needle) = (s.to_lowercase(), value.to_lowercase());
                if *prefix {
                    hay.starts_with(&needle)
                } else {
                    hay.contains(&needle)
                }
            }),
            _ => false,
        },
        Restr::Exists(tag) => p.contains_key(tag),
        Restr::Bitmask { tag, mask, zero } => match p.get(tag).and_then(PropValue::as_i64) {
            Some(v) => ((v & mask) == 0) == *zero,
            None => false,
        },
    }
}

fn compare_values(a: &PropValue, b: &PropValue) -> Option<Ordering> {
    match (a, b) {
        (PropValue::Str(x), PropValue::Str(y)) => Some(x.cmp(y)),
        (PropValue::Double(x), PropValue::Double(y)) => x.partial_cmp(y),
        (PropValue::Binary(x), PropValue::Binary(y)) => Some(x.cmp(y)),
        _ => Some(a.as_i64()?.cmp(&b.as_i64()?)),
    }
}

fn sort_cmp(a: &PropMap, b: &PropMap, sort: &[SortSpec]) -> Ordering {
    for key in sort {
        let o = match (a.get(&key.tag), b.get(&key.tag)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => match (x, y) {
                (PropValue::Str(x), PropValue::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
                _ => compare_values(x, y).unwrap_or(Ordering::Equal),
            },
        };
        let o = if key.descending { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

impl Store {
    /// Runs a contents-table query; returns the total before paging and the page.
    pub async fn query_rows(&self, q: &TableQuery, content_count: i64) -> Result<(i64, Vec<TableRow>)> {
        let sort = if q.sort.is_empty() {
            vec![SortSpec {
                tag: PR_MESSAGE_DELIVERY_TIME,
                descending: true,
            }]
        } else {
            q.sort.clone()
        };
        let mut args = Vec::new();
        let where_sql = match &q.restriction {
            None => Some(String::new()),
            Some(r) => compile(r, self.backend(), &mut args).map(|s| format!(" AND {s}")),
        };
        let order_sql = sort
            .iter()
            .map(|k| hot_column(k.tag).map(|(c, _)| format!("{c} {}", if k.descending { "DESC" } else { "ASC" })))
            .collect::<Option<Vec<_>>>();
        let need_bag = q.columns.iter().any(|t| hot_column(*t).is_none());
        match (where_sql, order_sql) {
            (Some(where_sql), Some(mut order)) => {
                let last_desc = sort.last().is_some_and(|k| k.descending);
                order.push(format!("m.id {}", if last_desc { "DESC" } else { "ASC" }));
                let total = if q.restriction.is_none() {
                    content_count
                } else {
                    let sql = format!("SELECT COUNT(*) FROM messages m WHERE m.folder_id = ?{where_sql}");
                    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(q.folder);
                    for a in &args {
                        query = match a {
                            Arg::Int(i) => query.bind(*i),
                            Arg::Text(s) => query.bind(s.clone()),
                        };
                    }
                    query.fetch_one(self.pool()).await?
                };
                let sql = format!(
                    "SELECT {HOT_SELECT}{} FROM messages m WHERE m.folder_id = ?{where_sql} ORDER BY {} LIMIT ? OFFSET ?",
                    if need_bag { ", m.props" } else { "" },
                    order.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(q.folder);
                for a in &args {
                    query = match a {
                        Arg::Int(i) => query.bind(*i),
                        Arg::Text(s) => query.bind(s.clone()),
                    };
                }
                let rows = query.bind(q.limit).bind(q.offset).fetch_all(self.pool()).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    let bag: Option<Vec<u8>> = if need_bag { r.try_get(19)? } else { None };
                    let props = row_props(r, bag.as_deref())?;
                    out.push(TableRow {
                        id: r.try_get(0)?,
                        props: select_columns(props, &q.columns),
                    });
                }
                Ok((total, out))
            }
            _ => {
                // Fallback: the restriction or sort names a property kept in the bag.
                let sql = format!("SELECT {HOT_SELECT}, m.props FROM messages m WHERE m.folder_id = ?");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(q.folder)
                    .fetch_all(self.pool())
                    .await?;
                let mut all = Vec::with_capacity(rows.len());
                for r in &rows {
                    let bag: Option<Vec<u8>> = r.try_get(19)?;
                    let props = row_props(r, bag.as_deref())?;
                    if q.restriction.as_ref().is_none_or(|x| evaluate(x, &props)) {
                        all.push((r.try_get::<i64, _>(0)?, props));
                    }
                }
                all.sort_by(|a, b| sort_cmp(&a.1, &b.1, &sort).then(b.0.cmp(&a.0)));
                let total = all.len() as i64;
                let page = all
                    .into_iter()
                    .skip(q.offset.max(0) as usize)
                    .take(q.limit.max(0) as usize)
                    .map(|(id, p)| TableRow {
                        id,
                        props: select_columns(p, &q.columns),
                    })
                    .collect();
                Ok((total, page))
            }
        }
    }
}

fn select_columns(mut props: PropMap, columns: &[PropTag]) -> PropMap {
    if columns.is_empty() {
        return props;
    }
    let mut out = PropMap::new();
    for c in columns {
        if let Some(v) = props.remove(c) {
            out.insert(*c, v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(subject: &str, flags: i32) -> PropMap {
        let mut m = PropMap::new();
        m.insert(PR_SUBJECT, PropValue::Str(subject.into()));
        m.insert(PR_MESSAGE_FLAGS, PropValue::Long(flags));
        m
    }

    #[test]
    fn hot_restrictions_compile_to_sql() {
        let r = Restr::And(vec![
            Restr::Content {
                tag: PR_SUBJECT,
                value: "50%".into(),
                prefix: false,
            },
            Restr::Not(Box::new(Restr::Bitmask {
                tag: PR_MESSAGE_FLAGS,
                mask: 1,
                zero: false,
            })),
        ]);
        let mut args = Vec::new();
        let sql = compile(&r, Backend::Sqlite, &mut args).unwrap();
        assert_eq!(
            sql,
            "(LOWER(m.subject) LIKE ? ESCAPE '!' AND NOT (((m.flags | (m.has_attach * 16)) & ?) <> 0))"
        );
        assert!(matches!(&args[0], Arg::Text(s) if s == "%50!%%"));
    }

    #[test]
    fn bag_restrictions_fall_back() {
        let r = Restr::Exists(PR_BODY);
        assert!(compile(&r, Backend::Sqlite, &mut Vec::new()).is_none());
    }

    #[test]
    fn evaluator_matches_sql_semantics() {
        let m = p("Quarterly Report", 1);
        assert!(evaluate(
            &Restr::Content {
                tag: PR_SUBJECT,
                value: "report".into(),
                prefix: false
            },
            &m
        ));
        assert!(evaluate(
            &Restr::Content {
                tag: PR_SUBJECT,
                value: "QUART".into(),
                prefix: true
            },
            &m
        ));
        assert!(!evaluate(
            &Restr::Content {
                tag: PR_SUBJECT,
                value: "report".into(),
                prefix: true
            },
            &m
        ));
        assert!(evaluate(
            &Restr::Bitmask {
                tag: PR_MESSAGE_FLAGS,
                mask: 1,
                zero: false
            },
            &m
        ));
        assert!(evaluate(
            &Restr::Compare {
                tag: PR_MESSAGE_FLAGS,
                op: CmpOp::Ge,
                value: PropValue::Long(1)
            },
            &m
        ));
        assert!(evaluate(
            &Restr::Or(vec![Restr::Exists(PR_BODY), Restr::Exists(PR_SUBJECT)]),
            &m
        ));
        assert!(!evaluate(&Restr::Not(Box::new(Restr::Exists(PR_SUBJECT))), &m));
    }
}
