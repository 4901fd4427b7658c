//! `resolveNames`: the global address list (users and groups).

use crate::api::types::*;
use crate::error::ApiError;
use crate::ops::Ctx;

/// Matches returned per name at most.
const MAX_PER_NAME: usize = 50;

pub(super) async fn resolve_names(ctx: &Ctx, req: ResolveNamesRequest) -> Result<ResolveNamesResponse, ApiError> {
    ctx.session(&req.session)?;
    let mut entries = Vec::new();
    for name in &req.names {
        let q = name.trim();
        if q.is_empty() {
            continue;
        }
        let (users, groups) = ctx.store().search_directory(q).await?;
        for u in users.into_iter().take(MAX_PER_NAME) {
            entries.push(AddressEntry {
                query: name.clone(),
                kind: "user".into(),
                account: u.login,
                display_name: u.display_name,
                address: u.address,
            });
        }
        for g in groups.into_iter().take(MAX_PER_NAME) {
            entries.push(AddressEntry {
                query: name.clone(),
                kind: "group".into(),
                account: g.name.clone(),
                display_name: g.name,
                address: String::new(),
            });
        }
    }
    Ok(ResolveNamesResponse { entries })
}
