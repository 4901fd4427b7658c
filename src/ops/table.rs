//! `queryRows`: turns the wire restriction and sort keys into the store's
//! typed query, checks read access, and pages.

use crate::api::schema::Props;
use crate::api::types::*;
use crate::entryid::{EntryId, message_eid};
use crate::error::ApiError;
use crate::ops::Ctx;
use crate::ops::access::require_folder;
use crate::props::{PropTag, PropValue};
use crate::store::{CmpOp, Restr, SortSpec, TableQuery, rights};

/// Rows per page when the client does not say.
const DEFAULT_LIMIT: i64 = 50;
/// Most rows one call returns.
const MAX_LIMIT: i64 = 5000;
/// Deepest restriction nesting accepted.
const MAX_DEPTH: usize = 32;

fn tag(t: &str, field: &str) -> Result<PropTag, ApiError> {
    PropTag::parse(t).ok_or_else(|| ApiError::invalid(format!("{field}: {t:?} is not a property tag or known name")))
}

/// Converts a wire restriction; exactly one member must be set.
pub(crate) fn restriction(r: &Restriction, depth: usize) -> Result<Restr, ApiError> {
    if depth > MAX_DEPTH {
        return Err(ApiError::invalid(format!(
            "the restriction is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    let mut found = Vec::new();
    if !r.and.is_empty() {
        found.push(Restr::And(
            r.and
                .iter()
                .map(|x| restriction(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ));
    }
    if !r.or.is_empty() {
        found.push(Restr::Or(
            r.or.iter()
                .map(|x| restriction(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ));
    }
    if let Some(n) = &r.not {
        found.push(Restr::Not(Box::new(restriction(n, depth + 1)?)));
    }
    if let Some(c) = &r.compare {
        let t = tag(&c.tag, "compare.tag")?;
        let op = CmpOp::parse(&c.op)
            .ok_or_else(|| ApiError::invalid(format!("compare.op {:?} must be one of =, <>, <, <=, >, >=", c.op)))?;
        let value =
            PropValue::from_json(t, &c.value.0).map_err(|e| ApiError::invalid(format!("compare.value: {e}")))?;
        found.push(Restr::Compare { tag: t, op, value });
    }
    if let Some(c) = &r.content {
        let prefix = match c.mode.as_deref().unwrap_or("substring") {
            "substring" => false,
            "prefix" => true,
            other => {
                return Err(ApiError::invalid(format!(
                    "content.mode {other:?} must be substring or prefix"
                )));
            }
        };
        found.push(Restr::Content {
            tag: tag(&c.tag, "content.tag")?,
            value: c.value.clone(),
            prefix,
        });
    }
    if let Some(t) = &r.exists {
        found.push(Restr::Exists(tag(t, "exists")?));
    }
    if let Some(b) = &r.bitmask {
        found.push(Restr::Bitmask {
            tag: tag(&b.tag, "bitmask.tag")?,
            mask: b.mask,
            zero: b.zero,
        });
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(ApiError::invalid(
            "a restriction needs one of and, or, not, compare, content, exists, bitmask",
        )),
        _ => Err(ApiError::invalid(
            "a restriction node must set exactly one of and, or, not, compare, content, exists, bitmask",
        )),
    }
}

pub(super) async fn query_rows(ctx: &Ctx, req: QueryRowsRequest) -> Result<QueryRowsResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let folder = EntryId::folder(&req.folder)?;
    let store = ctx.store();
    let (f, _) = require_folder(store, &s, folder, rights::READ_ANY, "read items").await?;
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
    if !(0..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit {limit} must be between 0 and {MAX_LIMIT}"
        )));
    }
    let offset = req.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid(format!("offset {offset} must not be negative")));
    }
    let q = TableQuery {
        folder,
        columns: req
            .columns
            .iter()
            .map(|c| tag(c, "columns"))
            .collect::<Result<_, _>>()?,
        sort: req
            .sort
            .iter()
            .map(|k| {
                Ok(SortSpec {
                    tag: tag(&k.tag, "sort.tag")?,
                    descending: k.descending.unwrap_or(false),
                })
            })
            .collect::<Result<_, ApiError>>()?,
        restriction: req.restriction.as_ref().map(|r| restriction(r, 0)).transpose()?,
        offset,
        limit,
    };
    let (total, rows) = store.query_rows(&q, f.content_count).await?;
    Ok(QueryRowsResponse {
        total,
        rows: rows
            .into_iter()
            .map(|r| Row {
                entry_id: message_eid(r.id),
                props: Props(r.props),
            })
            .collect(),
    })
}
