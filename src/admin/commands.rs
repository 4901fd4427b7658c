//! One function per okapi-admin command: gather what the command needs (a password, a
//! confirmation), make the call, print the answer. Also the size syntax of quotas, both ways, and
//! the times of out-of-office replies.
//!
//! Parsing the command line is `mod.rs`'s job and the wire is `client.rs`'s; the functions here
//! get typed arguments and a [`Context`] holding the client and the output. With `--json` each
//! prints the server's answer as it came instead of its own rendering.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::client::{Client, decode};
use super::{Error, OofSet, QuotaSet, UserAdd, UserSet};
use crate::api::types::{
    AdminRequest, GetOutOfOfficeRequest, GroupListResponse, GroupMemberRequest, NameRequest, OutOfOffice, QuotaInfo,
    QuotaSetRequest, SendAsListResponse, SendAsRequest, SetOutOfOfficeRequest, StoreListResponse, UserAddRequest,
    UserInfo, UserListResponse, UserLogoffResponse, UserSetRequest, UserShowResponse,
};
use crate::props::{format_time, now_micros, parse_time};

/// What every command works with.
pub(crate) struct Context<'a> {
    client: &'a Client,
    json: bool,
    out: &'a mut dyn Write,
}

impl<'a> Context<'a> {
    /// A context printing to `out`; `json` selects the raw answer over the rendering.
    pub(crate) fn new(client: &'a Client, json: bool, out: &'a mut dyn Write) -> Context<'a> {
        Context { client, json, out }
    }

    fn call(&self, op: &str, request: &impl serde::Serialize) -> Result<Json, Error> {
        Ok(self.client.call(op, request)?)
    }

    fn print(&mut self, text: &str) -> Result<(), Error> {
        self.out.write_all(text.as_bytes()).map_err(Error::Output)
    }

    fn print_json(&mut self, answer: &Json) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(answer).unwrap_or_else(|_| answer.to_string());
        self.print(&format!("{text}\n"))
    }

    /// Ends a command that changed something: the raw answer with `--json`, else `message`.
    fn done(&mut self, answer: &Json, message: &str) -> Result<(), Error> {
        if self.json {
            self.print_json(answer)
        } else {
            self.print(&format!("{message}\n"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users

/// `user add`.
pub(crate) fn user_add(cx: &mut Context<'_>, a: UserAdd) -> Result<(), Error> {
    let source = match a.password_file {
        Some(file) => PasswordSource::File(file),
        None if io::stdin().is_terminal() => PasswordSource::Prompt,
        None => PasswordSource::Stdin,
    };
    let password = read_password(&source, &a.login)?;
    let request = UserAddRequest {
        session: None,
        login: a.login.clone(),
        password,
        display_name: a.name,
        address: a.address.clone(),
        aliases: a.aliases,
        admin: Some(a.admin),
    };
    let answer = cx.call("userAdd", &request)?;
    let role = if a.admin { "administrator" } else { "user" };
    cx.done(
        &answer,
        &format!("created {role} {} <{}> with a private store", a.login, a.address),
    )
}

/// `user del`: asks first on a terminal, refuses without `--yes` elsewhere.
pub(crate) fn user_del(cx: &mut Context<'_>, login: &str, yes: bool) -> Result<(), Error> {
    if !yes {
        if !io::stdin().is_terminal() {
            return Err(Error::Input(format!(
                "user del: not deleting {login} without confirmation, and stdin is not a terminal to ask on; \
                 add --yes to delete the user, their store and all their mail"
            )));
        }
        let question = format!("Delete user {login}, their store and all their mail? This cannot be undone. [y/N] ");
        if !confirm(&question)? {
            return Err(Error::Declined(format!("user del: {login} was not deleted")));
        }
    }
    let answer = cx.call(
        "userDel",
        &NameRequest {
            session: None,
            name: login.to_string(),
        },
    )?;
    cx.done(&answer, &format!("deleted user {login} and their store"))
}

/// `user logoff`: ends every session of the user.
pub(crate) fn user_logoff(cx: &mut Context<'_>, login: &str) -> Result<(), Error> {
    let answer = cx.call("userLogoff", &name_request(login))?;
    let ended: UserLogoffResponse = decode("userLogoff", answer.clone())?;
    let sessions = match ended.sessions {
        1 => "1 session".to_string(),
        n => format!("{n} sessions"),
    };
    cx.done(&answer, &format!("ended {sessions} of {login}"))
}

/// `user list`: a table.
pub(crate) fn user_list(cx: &mut Context<'_>) -> Result<(), Error> {
    let answer = cx.call("userList", &AdminRequest { session: None })?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let list: UserListResponse = decode("userList", answer)?;
    let rows = list
        .users
        .iter()
        .map(|u| {
            vec![
                u.login.clone(),
                u.display_name.clone(),
                u.address.clone(),
                if u.admin { "yes" } else { "no" }.to_string(),
                format_size(u.store_size),
            ]
        })
        .collect::<Vec<_>>();
    cx.print(&table(
        &["LOGIN", "NAME", "ADDRESS", "ADMIN", "SIZE"],
        &[false, false, false, false, true],
        &rows,
    ))
}

/// `user show`: one field a line.
pub(crate) fn user_show(cx: &mut Context<'_>, login: &str) -> Result<(), Error> {
    let answer = cx.call("userShow", &name_request(login))?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let UserShowResponse { user } = decode("userShow", answer)?;
    cx.print(&show_user(&user))
}

fn show_user(u: &UserInfo) -> String {
    let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(", ") };
    let own_limit = |v: Option<i64>| match v {
        None => "default".to_string(),
        Some(v) => format_limit(v),
    };
    fields(&[
        ("login", u.login.clone()),
        ("name", u.display_name.clone()),
        ("address", u.address.clone()),
        ("aliases", list(&u.aliases)),
        ("admin", if u.admin { "yes" } else { "no" }.to_string()),
        ("groups", list(&u.groups)),
        ("store", format_size(u.store_size)),
        (
            "quota",
            format!(
                "warn {}, soft {}, hard {}",
                own_limit(u.quota_warn),
                own_limit(u.quota_soft),
                own_limit(u.quota_hard)
            ),
        ),
    ])
}

/// `user set`.
pub(crate) fn user_set(cx: &mut Context<'_>, a: UserSet) -> Result<(), Error> {
    let password = match &a.password {
        Some(source) => Some(read_password(source, &a.login)?),
        None => None,
    };
    let mut changed = Vec::new();
    if a.name.is_some() {
        changed.push("name");
    }
    if a.address.is_some() {
        changed.push("address");
    }
    if a.aliases.is_some() {
        changed.push("aliases");
    }
    if a.admin.is_some() {
        changed.push("admin flag");
    }
    if password.is_some() {
        changed.push("password");
    }
    let request = UserSetRequest {
        session: None,
        login: a.login.clone(),
        password,
        display_name: a.name,
        address: a.address,
        aliases: a.aliases,
        admin: a.admin,
    };
    let answer = cx.call("userSet", &request)?;
    cx.done(
        &answer,
        &format!("changed the {} of user {}", and_list(&changed), a.login),
    )
}

// ---------------------------------------------------------------------------------------------
// Groups

/// `group add`.
pub(crate) fn group_add(cx: &mut Context<'_>, name: &str) -> Result<(), Error> {
    let answer = cx.call("groupAdd", &name_request(name))?;
    cx.done(&answer, &format!("created group {name}"))
}

/// `group del`.
pub(crate) fn group_del(cx: &mut Context<'_>, name: &str) -> Result<(), Error> {
    let answer = cx.call("groupDel", &name_request(name))?;
    cx.done(&answer, &format!("deleted group {name}"))
}

/// `group list`: a table of groups and members.
pub(crate) fn group_list(cx: &mut Context<'_>) -> Result<(), Error> {
    let answer = cx.call("groupList", &AdminRequest { session: None })?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let list: GroupListResponse = decode("groupList", answer)?;
    let rows = list
        .groups
        .iter()
        .map(|g| {
            vec![
                g.name.clone(),
                if g.members.is_empty() {
                    "-".into()
                } else {
                    g.members.join(", ")
                },
            ]
        })
        .collect::<Vec<_>>();
    cx.print(&table(&["GROUP", "MEMBERS"], &[false, false], &rows))
}

/// `group adduser` (`add` true) and `group deluser`.
pub(crate) fn group_member(cx: &mut Context<'_>, group: &str, login: &str, add: bool) -> Result<(), Error> {
    let request = GroupMemberRequest {
        session: None,
        group: group.to_string(),
        user: login.to_string(),
    };
    let (op, message) = if add {
        ("groupAddUser", format!("added {login} to group {group}"))
    } else {
        ("groupDelUser", format!("removed {login} from group {group}"))
    };
    let answer = cx.call(op, &request)?;
    cx.done(&answer, &message)
}

// ---------------------------------------------------------------------------------------------
// Quotas

/// A quota limit as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// A size in bytes; 0 is no limit.
    Bytes(u64),
    /// Back to the server's default (`quota_*` in server.cfg).
    ServerDefault,
}

impl Limit {
    /// The wire value: bytes, or -1 for the server default.
    fn wire(self) -> i64 {
        match self {
            // parse_size keeps sizes below i64::MAX.
            Limit::Bytes(b) => i64::try_from(b).unwrap_or(i64::MAX),
            Limit::ServerDefault => -1,
        }
    }
}

/// `quota set`.
pub(crate) fn quota_set(cx: &mut Context<'_>, q: QuotaSet) -> Result<(), Error> {
    let request = QuotaSetRequest {
        session: None,
        login: q.login.clone(),
        warn: q.warn.map(Limit::wire),
        soft: q.soft.map(Limit::wire),
        hard: q.hard.map(Limit::wire),
    };
    let answer = cx.call("quotaSet", &request)?;
    let mut parts = Vec::new();
    for (name, limit) in [("warn", q.warn), ("soft", q.soft), ("hard", q.hard)] {
        match limit {
            Some(Limit::ServerDefault) => parts.push(format!("{name} server default")),
            Some(Limit::Bytes(b)) => {
                parts.push(format!("{name} {}", format_limit(i64::try_from(b).unwrap_or(i64::MAX))))
            }
            None => {}
        }
    }
    cx.done(&answer, &format!("quota of {}: {}", q.login, parts.join(", ")))
}

/// `quota show`: the effective limits (and whether they are the user's own or the server's
/// default), the usage and the state.
pub(crate) fn quota_show(cx: &mut Context<'_>, login: &str) -> Result<(), Error> {
    let answer = cx.call("quotaShow", &name_request(login))?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let q: QuotaInfo = decode("quotaShow", answer)?;
    let UserShowResponse { user } = decode("userShow", cx.call("userShow", &name_request(login))?)?;
    let limit = |effective: i64, own: Option<i64>| {
        let text = format_limit(effective);
        if own.is_none() {
            format!("{text} (server default)")
        } else {
            text
        }
    };
    let text = fields(&[
        ("user", q.login.clone()),
        ("used", format_size(q.used)),
        ("warn", limit(q.warn, user.quota_warn)),
        ("soft", limit(q.soft, user.quota_soft)),
        ("hard", limit(q.hard, user.quota_hard)),
        ("state", format!("{}: {}", q.state, state_meaning(&q.state))),
    ]);
    cx.print(&text)
}

fn state_meaning(state: &str) -> &'static str {
    match state {
        "ok" => "below every limit",
        "warn" => "warning limit reached; the user is warned",
        "soft" => "soft limit reached; the user cannot send until they delete mail",
        "hard" => "hard limit reached; mail to the user is refused",
        _ => "unknown state",
    }
}

/// Parses a quota limit: a size (see [`parse_size`]), `0` or `none` for no limit, or `default`.
pub(crate) fn parse_limit(text: &str) -> Result<Limit, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("default") {
        return Ok(Limit::ServerDefault);
    }
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(Limit::Bytes(0));
    }
    parse_size(t).map(Limit::Bytes)
}

/// Parses a size: a number (decimals allowed) with an optional unit `B`, `K`, `M`, `G` or `T`
/// (also `KB`/`KiB` and so on; all are powers of 1024, as mail administrators use them).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let invalid = || {
        format!(
            "{text:?} is not a size; write a number with an optional unit K, M, G or T (powers of 1024), \
             such as 500M or 2G; 0 means no limit and `default` the server's default"
        )
    };
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        "t" | "tb" | "tib" => 40,
        _ => return Err(invalid()),
    };
    let unit: u64 = 1 << shift;
    let max = i64::MAX as u64;
    let bytes = match number.split_once('.') {
        None => number
            .parse::<u64>()
            .map_err(|_| invalid())?
            .checked_mul(unit)
            .ok_or_else(invalid)?,
        Some((whole, fraction)) => {
            if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
                return Err(invalid());
            }
            let value: f64 = number.parse().map_err(|_| invalid())?;
            let bytes = (value * unit as f64).round();
            if !bytes.is_finite() || bytes >= max as f64 {
                return Err(invalid());
            }
            bytes as u64
        }
    };
    if bytes > max {
        return Err(invalid());
    }
    Ok(bytes)
}

/// A size for people: `512 B`, `1.5 KiB`, `500 MiB`, `2 GiB`.
pub(crate) fn format_size(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut value = bytes as f64;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if bytes % (1_i64 << (10 * unit)) == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A limit for people: `none` for 0 (or anything not positive), else a size.
fn format_limit(bytes: i64) -> String {
    if bytes <= 0 {
        "none".to_string()
    } else {
        format_size(bytes)
    }
}

// ---------------------------------------------------------------------------------------------
// Stores

/// `store list`: a table.
pub(crate) fn store_list(cx: &mut Context<'_>) -> Result<(), Error> {
    let answer = cx.call("storeList", &AdminRequest { session: None })?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let list: StoreListResponse = decode("storeList", answer)?;
    let rows = list
        .stores
        .iter()
        .map(|s| {
            vec![
                if s.owner.is_empty() {
                    "-".to_string()
                } else {
                    s.owner.clone()
                },
                s.kind.clone(),
                s.messages.to_string(),
                format_size(s.size),
                s.store_id.clone(),
            ]
        })
        .collect::<Vec<_>>();
    cx.print(&table(
        &["OWNER", "KIND", "MESSAGES", "SIZE", "STORE ID"],
        &[false, false, true, true, false],
        &rows,
    ))
}

// ---------------------------------------------------------------------------------------------
// Out-of-office replies

/// Where the reply text of `oof set` comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OofBody {
    /// `--body TEXT`.
    Text(String),
    /// `--body-file FILE`: all of the file; `-` is stdin.
    File(PathBuf),
}

/// A start or end of out-of-office replies as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OofTime {
    /// `--from TIME`, `--until TIME`: microseconds since the epoch.
    At(i64),
    /// `--from-now`: the time the command runs.
    Now,
    /// `--no-until`: no end.
    Unset,
}

impl OofTime {
    /// The wire value: an RFC 3339 time, or none. `now` is in microseconds.
    fn wire(self, now: i64) -> Option<String> {
        match self {
            OofTime::At(t) => Some(format_time(t)),
            // Whole seconds: the time is shown to people.
            OofTime::Now => Some(format_time(now - now.rem_euclid(1_000_000))),
            OofTime::Unset => None,
        }
    }
}

/// Parses an RFC 3339 time with its offset into microseconds since the epoch.
pub(crate) fn parse_rfc3339(text: &str) -> Result<i64, String> {
    parse_time(text.trim()).ok_or_else(|| {
        format!(
            "{text:?} is not an RFC 3339 time; write the date, the time and the offset, \
             such as 2025-07-01T08:00:00+02:00 or 2025-07-01T06:00:00Z"
        )
    })
}

fn oof_request(login: &str) -> GetOutOfOfficeRequest {
    GetOutOfOfficeRequest {
        session: None,
        user: Some(login.to_string()),
    }
}

/// `oof show`: one field a line, and whether replies go out now.
pub(crate) fn oof_show(cx: &mut Context<'_>, login: &str) -> Result<(), Error> {
    let answer = cx.call("getOutOfOffice", &oof_request(login))?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let o: OutOfOffice = decode("getOutOfOffice", answer)?;
    cx.print(&show_oof(&o, now_micros()))
}

fn show_oof(o: &OutOfOffice, now: i64) -> String {
    let subject = if o.subject.is_empty() {
        "- (\"Auto: \" and the original subject)".to_string()
    } else {
        o.subject.clone()
    };
    let body = o.body.trim_end_matches(['\r', '\n']);
    fields(&[
        ("enabled", if o.enabled { "yes" } else { "no" }.to_string()),
        ("subject", subject),
        (
            "body",
            if body.is_empty() {
                "-".to_string()
            } else {
                body.to_string()
            },
        ),
        ("start", o.start.clone().unwrap_or_else(|| "- (at once)".to_string())),
        (
            "end",
            o.end.clone().unwrap_or_else(|| "- (until turned off)".to_string()),
        ),
        ("state", oof_state(o, now)),
    ])
}

/// Whether replies go out at `now`, by the server's rule: enabled, started, not ended.
fn oof_state(o: &OutOfOffice, now: i64) -> String {
    let time = |t: &Option<String>| t.as_deref().and_then(parse_time);
    if !o.enabled {
        return "off: no replies are sent".to_string();
    }
    match (time(&o.start), time(&o.end)) {
        (Some(start), _) if now < start => {
            format!("scheduled: replies start at {}", o.start.as_deref().unwrap_or_default())
        }
        (_, Some(end)) if now >= end => "ended: on, but the end has passed; no replies are sent".to_string(),
        (_, Some(_)) => format!("replying until {}", o.end.as_deref().unwrap_or_default()),
        (_, None) => "replying".to_string(),
    }
}

/// `oof set`: reads the current state, changes what was given and writes it back.
pub(crate) fn oof_set(cx: &mut Context<'_>, a: OofSet) -> Result<(), Error> {
    // The body is read first: a file that cannot be used changes nothing.
    let body = match &a.body {
        Some(OofBody::Text(text)) => Some(text.clone()),
        Some(OofBody::File(path)) => Some(read_body(path)?),
        None => None,
    };
    let mut o: OutOfOffice = decode("getOutOfOffice", cx.call("getOutOfOffice", &oof_request(&a.login))?)?;
    let now = now_micros();
    let mut changed = Vec::new();
    if let Some(on) = a.enabled {
        o.enabled = on;
        changed.push("state");
    }
    if let Some(subject) = a.subject {
        o.subject = subject;
        changed.push("subject");
    }
    if let Some(body) = body {
        o.body = body;
        changed.push("body");
    }
    if let Some(start) = a.start {
        o.start = start.wire(now);
        changed.push("start");
    }
    if let Some(end) = a.end {
        o.end = end.wire(now);
        changed.push("end");
    }
    let request = SetOutOfOfficeRequest {
        session: None,
        user: Some(a.login.clone()),
        settings: o.clone(),
    };
    let answer = cx.call("setOutOfOffice", &request)?;
    cx.done(
        &answer,
        &format!(
            "changed the {} of the out-of-office reply of {}; now {}",
            and_list(&changed),
            a.login,
            oof_state(&o, now)
        ),
    )
}

/// The reply text from a file, or from stdin for `-`: all of it, as UTF-8.
fn read_body(path: &Path) -> Result<String, Error> {
    let (bytes, name) = if path == Path::new("-") {
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::stdin().lock(), &mut bytes)
            .map_err(|e| Error::Input(format!("cannot read the reply text from stdin: {e}")))?;
        (bytes, "stdin".to_string())
    } else {
        let bytes = fs::read(path)
            .map_err(|e| Error::Input(format!("cannot read the reply text file {}: {e}", path.display())))?;
        (bytes, path.display().to_string())
    };
    String::from_utf8(bytes).map_err(|_| Error::Input(format!("the reply text in {name} is not UTF-8 text")))
}

// ---------------------------------------------------------------------------------------------
// Send-as grants

/// The addresses `login` may send as besides their own.
fn send_as_of(cx: &mut Context<'_>, login: &str) -> Result<Vec<String>, Error> {
    let list: SendAsListResponse = decode("sendAsList", cx.call("sendAsList", &name_request(login))?)?;
    Ok(list.addresses)
}

/// `sendas grant` (`grant` true) and `sendas revoke`. Says so when there was nothing to do.
pub(crate) fn send_as(cx: &mut Context<'_>, login: &str, address: &str, grant: bool) -> Result<(), Error> {
    // The server keeps addresses trimmed and in lower case.
    let wanted = address.trim().to_lowercase();
    let had = send_as_of(cx, login)?.contains(&wanted);
    let request = SendAsRequest {
        session: None,
        login: login.to_string(),
        address: address.to_string(),
    };
    let (op, message) = match (grant, had) {
        (true, false) => ("sendAsGrant", format!("{login} may now send as {wanted}")),
        (true, true) => (
            "sendAsGrant",
            format!("{login} could already send as {wanted}; nothing changed"),
        ),
        (false, true) => ("sendAsRevoke", format!("{login} may no longer send as {wanted}")),
        (false, false) => (
            "sendAsRevoke",
            format!("{login} had no grant to send as {wanted}; nothing changed"),
        ),
    };
    let answer = cx.call(op, &request)?;
    cx.done(&answer, &message)
}

/// `sendas list`: a one-column table.
pub(crate) fn send_as_list(cx: &mut Context<'_>, login: &str) -> Result<(), Error> {
    let answer = cx.call("sendAsList", &name_request(login))?;
    if cx.json {
        return cx.print_json(&answer);
    }
    let list: SendAsListResponse = decode("sendAsList", answer)?;
    let rows: Vec<Vec<String>> = list.addresses.into_iter().map(|a| vec![a]).collect();
    cx.print(&table(&["SEND AS"], &[false], &rows))
}

// ---------------------------------------------------------------------------------------------
// Input: passwords and confirmation

/// Where a password comes from. Never the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PasswordSource {
    /// The first line of a file.
    File(PathBuf),
    /// The first line of stdin.
    Stdin,
    /// A prompt at the terminal, asked twice.
    Prompt,
}

fn read_password(source: &PasswordSource, login: &str) -> Result<String, Error> {
    let password = match source {
        PasswordSource::File(path) => password_from_file(path)?,
        PasswordSource::Stdin => {
            let mut line = String::new();
            io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| Error::Input(format!("cannot read the password from stdin: {e}")))?;
            let password = first_line(&line).to_string();
            if password.is_empty() {
                return Err(Error::Input(
                    "no password on stdin: its first line is empty. Pipe the password in, \
                     or use --password-file FILE"
                        .into(),
                ));
            }
            password
        }
        PasswordSource::Prompt => {
            let ask = |prompt: &str| {
                rpassword::prompt_password(prompt).map_err(|e| {
                    Error::Input(format!(
                        "cannot ask for the password at the terminal: {e}; use --password-file FILE \
                         or pipe the password on stdin"
                    ))
                })
            };
            let first = ask(&format!("Password for {login}: "))?;
            if first.is_empty() {
                return Err(Error::Input("the password is empty; nothing was changed".into()));
            }
            if ask("Again, to check: ")? != first {
                return Err(Error::Input(
                    "the two passwords differ; nothing was changed. Run the command again".into(),
                ));
            }
            first
        }
    };
    Ok(password)
}

/// The first line of a password file. A file others can read is used, with a warning: the password
/// is meant to be set and the file removed.
fn password_from_file(path: &Path) -> Result<String, Error> {
    let bytes =
        fs::read(path).map_err(|e| Error::Input(format!("cannot read the password file {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Input(format!("the password file {} is not UTF-8 text", path.display())))?;
    let password = first_line(&text);
    if password.is_empty() {
        return Err(Error::Input(format!(
            "the first line of the password file {} is empty; put the password there",
            path.display()
        )));
    }
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o004 != 0 {
            eprintln!(
                "okapi-admin: warning: the password file {} can be read by every user (mode {mode:04o}); \
                 remove it when done, and next time create it with chmod 600",
                path.display()
            );
        }
    }
    Ok(password.to_string())
}

/// The text before the first line break (`\n` or `\r\n`).
fn first_line(text: &str) -> &str {
    let line = text.split('\n').next().unwrap_or_default();
    line.strip_suffix('\r').unwrap_or(line)
}

/// Asks a yes/no question on stderr and reads the answer from stdin; only "y" or "yes" is yes.
fn confirm(question: &str) -> Result<bool, Error> {
    eprint!("{question}");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::Input(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

// ---------------------------------------------------------------------------------------------
// Output helpers

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn name_request(name: &str) -> NameRequest {
    NameRequest {
        session: None,
        name: name.to_string(),
    }
}

/// An aligned table with a header; `right` marks the columns aligned right (numbers).
fn table(header: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            let width = widths.get(i).copied().unwrap_or(0);
            if i > 0 {
                line.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                line.push_str(&format!("{cell:>width$}"));
            } else {
                line.push_str(&format!("{cell:<width$}"));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// `name:  value` lines with the values aligned; the further lines of a value are indented to it.
fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
    let indent = " ".repeat(width + 2);
    let mut text = String::new();
    for (k, v) in rows {
        let mut lines = v.lines();
        text.push_str(&format!(
            "{:<width$}  {}\n",
            format!("{k}:"),
            lines.next().unwrap_or_default()
        ));
        for line in lines {
            if !line.is_empty() {
                text.push_str(&indent);
                text.push_str(line);
            }
            text.push('\n');
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_with_units() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("500 MB"), Ok(500 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2gib"), Ok(2 << 30));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("10k"), Ok(10 << 10));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
    }

    #[test]
    fn sizes_that_are_not() {
        for bad in ["", "M", "lots", "5X", "1.2.3M", "-5M", ".", "99999999999T", "1e3"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("is not a size"), "{bad}: {e}");
        }
    }

    #[test]
    fn limits_know_default_and_none() {
        assert_eq!(parse_limit("default"), Ok(Limit::ServerDefault));
        assert_eq!(parse_limit("DEFAULT"), Ok(Limit::ServerDefault));
        assert_eq!(parse_limit("0"), Ok(Limit::Bytes(0)));
        assert_eq!(parse_limit("none"), Ok(Limit::Bytes(0)));
        assert_eq!(Limit::ServerDefault.wire(), -1);
        assert_eq!(Limit::Bytes(5).wire(), 5);
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1 KiB");
        assert_eq!(format_size(1536), "1.5 KiB");
        assert_eq!(format_size(500 << 20), "500 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_limit(0), "none");
        assert_eq!(format_limit(2 << 30), "2 GiB");
    }

    #[test]
    fn sizes_round_trip_through_the_help_examples() {
        for text in ["500M", "2G", "1.5T"] {
            let bytes = parse_size(text).unwrap();
            let shown = format_size(bytes as i64);
            assert_eq!(parse_size(&shown.replace(' ', "")).unwrap(), bytes, "{text} -> {shown}");
        }
    }

    #[test]
    fn first_lines() {
        assert_eq!(first_line("secret\nrest"), "secret");
        assert_eq!(first_line("secret\r\n"), "secret");
        assert_eq!(first_line("with spaces \n"), "with spaces ");
        assert_eq!(first_line(""), "");
    }

    #[test]
    fn tables_align() {
        let t = table(
            &["LOGIN", "SIZE"],
            &[false, true],
            &[
                vec!["al".into(), "1 KiB".into()],
                vec!["bartholomew".into(), "12 B".into()],
            ],
        );
        assert_eq!(t, "LOGIN         SIZE\nal           1 KiB\nbartholomew   12 B\n");
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(and_list(&["name"]), "name");
        assert_eq!(and_list(&["name", "password"]), "name and password");
        assert_eq!(and_list(&["name", "aliases", "password"]), "name, aliases and password");
    }

    #[test]
    fn fields_align() {
        assert_eq!(
            fields(&[("user", "a".into()), ("state", "ok".into())]),
            "user:   a\nstate:  ok\n"
        );
        assert_eq!(
            fields(&[("body", "one\r\n\ntwo".into()), ("end", "-".into())]),
            "body:  one\n\n       two\nend:   -\n"
        );
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z"), Ok(1_000_000));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:01+01:00"), Ok(1_000_000));
        for bad in ["", "2025-07-01", "2025-07-01 08:00", "2025-07-01T08:00:00", "tomorrow"] {
            let e = parse_rfc3339(bad).unwrap_err();
            assert!(e.contains("is not an RFC 3339 time"), "{bad}: {e}");
        }
        assert_eq!(OofTime::At(1_000_000).wire(0).as_deref(), Some("1970-01-01T00:00:01Z"));
        assert_eq!(OofTime::Now.wire(2_500_000).as_deref(), Some("1970-01-01T00:00:02Z"));
        assert_eq!(OofTime::Unset.wire(0), None);
    }

    #[test]
    fn oof_states_follow_the_servers_rule() {
        let at = |s: i64| Some(format_time(s * 1_000_000));
        let mut o = OutOfOffice {
            enabled: false,
            subject: String::new(),
            body: "Away.\nBack soon.\n".into(),
            start: at(100),
            end: at(200),
        };
        assert!(oof_state(&o, 150_000_000).starts_with("off"));
        o.enabled = true;
        assert!(oof_state(&o, 50_000_000).starts_with("scheduled: replies start at 1970-01-01T00:01:40Z"));
        assert_eq!(oof_state(&o, 150_000_000), "replying until 1970-01-01T00:03:20Z");
        assert!(oof_state(&o, 200_000_000).starts_with("ended"));
        o.start = None;
        o.end = None;
        assert_eq!(oof_state(&o, 0), "replying");
        let text = show_oof(&o, 0);
        assert_eq!(
            text,
            "enabled:  yes\n\
             subject:  - (\"Auto: \" and the original subject)\n\
             body:     Away.\n          Back soon.\n\
             start:    - (at once)\n\
             end:      - (until turned off)\n\
             state:    replying\n"
        );
    }
}
