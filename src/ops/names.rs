//! `getIdsFromNames`: MAPI's mapping of named properties (a property set GUID
//! with a numeric id or a string) to property tags in the named range.
//!
//! Calendar, contact and task properties are named properties in MAPI
//! (PidLidAppointmentStartWhole and friends), so every client that writes
//! them asks for their tags once and then uses them like any other tag. The
//! ids are per database; the store's bounded table allocates them, at most
//! `named_props_per_day` new ones per user a day, so that no user can fill
//! the table that every user shares.

use crate::api::types::*;
use crate::error::ApiError;
use crate::ops::Ctx;
use crate::props::{MV_FLAG, PT_BINARY, PT_BOOLEAN, PT_DOUBLE, PT_LONG, PT_LONGLONG, PT_SHORT, PT_SYSTIME, PT_UNICODE};
use crate::props::{PT_STRING8, PropTag};
use crate::store::{NameCreator, PropName};

/// Names one request may map, so a client cannot fill the named range in one call.
const MAX_NAMES: usize = 256;

pub(super) async fn get_ids_from_names(ctx: &Ctx, req: GetIdsFromNamesRequest) -> Result<TagsResponse, ApiError> {
    let s = ctx.session(&req.session)?;
    let creator = NameCreator {
        user_id: s.user_id,
        per_day: i64::try_from(ctx.state.config().named_props_per_day).unwrap_or(i64::MAX),
    };
    if req.names.len() > MAX_NAMES {
        return Err(ApiError::invalid(format!(
            "getIdsFromNames maps at most {MAX_NAMES} names per call"
        )));
    }
    let mut tags = Vec::with_capacity(req.names.len());
    for (i, n) in req.names.iter().enumerate() {
        let name = property_name(n).map_err(|why| ApiError::invalid(format!("names[{i}]: {why}")))?;
        let ty = property_type(n.prop_type).map_err(|why| ApiError::invalid(format!("names[{i}]: {why}")))?;
        let id = ctx.store().named_prop_id(&name, creator).await?;
        tags.push(PropTag::new(id, ty).hex());
    }
    Ok(TagsResponse { tags })
}

fn property_name(n: &PropertyName) -> Result<PropName, String> {
    if !is_guid(&n.guid) {
        return Err(format!(
            "guid {:?} is not a GUID like 00062002-0000-0000-C000-000000000046",
            n.guid
        ));
    }
    match (&n.id, &n.name) {
        (Some(id), None) if (0..=i64::from(u32::MAX)).contains(id) => Ok(PropName::Id(n.guid.clone(), *id)),
        (Some(_), None) => Err("id must be between 0 and 4294967295".into()),
        (None, Some(name)) if !name.is_empty() && name.len() <= 255 => Ok(PropName::Name(n.guid.clone(), name.clone())),
        (None, Some(_)) => Err("name must be 1 to 255 characters".into()),
        _ => Err("give exactly one of id and name".into()),
    }
}

fn property_type(ty: i32) -> Result<u16, String> {
    let t = u16::try_from(ty).map_err(|_| format!("propType {ty} is not a property type"))?;
    let base = t & !MV_FLAG;
    let known = [
        PT_SHORT,
        PT_LONG,
        PT_DOUBLE,
        PT_BOOLEAN,
        PT_LONGLONG,
        PT_STRING8,
        PT_UNICODE,
        PT_SYSTIME,
        PT_BINARY,
    ];
    if known.contains(&base) && (t & MV_FLAG == 0 || base != PT_BOOLEAN) {
        Ok(t)
    } else {
        Err(format!("propType {ty} is not a supported property type"))
    }
}

fn is_guid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(guid: &str, id: Option<i64>, name: Option<&str>) -> PropertyName {
        PropertyName {
            guid: guid.into(),
            id,
            name: name.map(str::to_string),
            prop_type: 64,
        }
    }

    #[test]
    fn names_need_a_guid_and_one_key() {
        let g = "00062002-0000-0000-C000-000000000046";
        assert!(matches!(
            property_name(&name(g, Some(0x820D), None)),
            Ok(PropName::Id(_, 0x820D))
        ));
        assert!(matches!(
            property_name(&name(g, None, Some("urn:x"))),
            Ok(PropName::Name(_, _))
        ));
        assert!(property_name(&name(g, Some(1), Some("x"))).is_err());
        assert!(property_name(&name(g, None, None)).is_err());
        assert!(property_name(&name("not-a-guid", Some(1), None)).is_err());
        assert!(property_name(&name(g, Some(-1), None)).is_err());
    }

    #[test]
    fn types_are_checked() {
        assert_eq!(property_type(64), Ok(PT_SYSTIME));
        assert_eq!(property_type(0x101F), Ok(0x101F));
        assert!(property_type(0x0D).is_err());
        assert!(property_type(-1).is_err());
        assert!(property_type(0x100B).is_err());
    }
}
