//! Giving up root. Started as root outside systemd, okapi-server binds its
//! sockets, then switches to `run_as_user`/`run_as_group` (with that user's
//! supplementary groups), clears every capability set including the bounding
//! and ambient sets, sets `PR_SET_NO_NEW_PRIVS`, and refuses to go on as
//! root. Under systemd it already runs as `User=okapi` with no capabilities;
//! then only the no-new-privileges flag is set (again).

use std::ffi::CString;

use caps::CapSet;
use nix::unistd::{Gid, Group, Uid, User, getgrouplist, setgid, setgroups, setuid};

/// Why privileges could not be dropped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivError {
    /// The configured user or group does not exist.
    #[error("{0}")]
    Lookup(String),
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was attempted.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// Still root after dropping.
    #[error("still running as root after dropping privileges; refusing to go on")]
    StillRoot,
}

fn sys(what: &'static str) -> impl FnOnce(nix::Error) -> PrivError {
    move |e| PrivError::Sys {
        what,
        source: std::io::Error::from(e),
    }
}

fn caps_err(what: &'static str) -> impl FnOnce(caps::errors::CapsError) -> PrivError {
    move |e| PrivError::Sys {
        what,
        source: std::io::Error::other(e.to_string()),
    }
}

/// Drops root if we have it; returns the user we run as afterwards.
pub fn drop_privileges(user: &str, group: &str) -> Result<String, PrivError> {
    if !Uid::effective().is_root() {
        nix::sys::prctl::set_no_new_privs().map_err(sys("prctl(PR_SET_NO_NEW_PRIVS)"))?;
        clear_capabilities()?;
        let me = User::from_uid(Uid::effective()).ok().flatten().map(|u| u.name);
        return Ok(me.unwrap_or_else(|| Uid::effective().to_string()));
    }
    if user == "root" {
        return Err(PrivError::Lookup(
            "run_as_user is root; set it to an unprivileged user such as okapi".into(),
        ));
    }
    let u = User::from_name(user)
        .map_err(sys("looking up run_as_user"))?
        .ok_or_else(|| PrivError::Lookup(format!(
            "run_as_user {user:?} does not exist; create it (e.g. systemd-sysusers, or: adduser --system --group {user})"
        )))?;
    let g = Group::from_name(group)
        .map_err(sys("looking up run_as_group"))?
        .ok_or_else(|| PrivError::Lookup(format!("run_as_group {group:?} does not exist")))?;
    let cname = CString::new(user).map_err(|_| PrivError::Lookup("run_as_user contains a NUL byte".into()))?;
    let mut groups: Vec<Gid> = getgrouplist(&cname, g.gid).map_err(sys("getgrouplist"))?;
    if !groups.contains(&g.gid) {
        groups.push(g.gid);
    }
    // The bounding set can only shrink while we still hold CAP_SETPCAP.
    caps::clear(None, CapSet::Bounding).map_err(caps_err("clearing the capability bounding set"))?;
    setgroups(&groups).map_err(sys("setgroups"))?;
    setgid(g.gid).map_err(sys("setgid"))?;
    setuid(u.uid).map_err(sys("setuid"))?;
    clear_capabilities()?;
    nix::sys::prctl::set_no_new_privs().map_err(sys("prctl(PR_SET_NO_NEW_PRIVS)"))?;
    if Uid::effective().is_root() || Uid::current().is_root() || setuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivError::StillRoot);
    }
    tracing::info!(user, group, "dropped root privileges");
    Ok(user.to_string())
}

/// Empties the ambient, inheritable, effective and permitted sets, touching only those that hold
/// something. Under okapi-server.service the sets are empty already (`CapabilityBoundingSet=`,
/// `User=okapi`) and `capset(2)` is refused with EPERM (`SystemCallFilter=~@privileged`), so an
/// unconditional clear failed every start there (found by the distribution test, issue 5).
fn clear_capabilities() -> Result<(), PrivError> {
    let sets = [
        (CapSet::Ambient, "clearing ambient capabilities"),
        (CapSet::Inheritable, "clearing inheritable capabilities"),
        (CapSet::Effective, "clearing effective capabilities"),
        (CapSet::Permitted, "clearing permitted capabilities"),
    ];
    for (set, what) in sets {
        if !caps::read(None, set).map_err(caps_err(what))?.is_empty() {
            caps::clear(None, set).map_err(caps_err(what))?;
        }
    }
    Ok(())
}
