//! `okapi-admin setup postfix --check`: every Postfix setting that keeps mail from reaching okapi,
//! each with the command that fixes it, and the `mydestination` clash that `setup postfix` (and the
//! Debian postinst) resolves.
//!
//! A domain in both `mydestination` and `virtual_mailbox_domains` is Postfix's local domain first:
//! every user is then "User unknown in local recipient table" and nothing reaches okapi. The
//! clash hides behind `$myhostname` and friends, and behind Debian's "mail name", which goes
//! into `mydestination` literally; so the values are expanded here as Postfix does.
//!
//! The logic reads `postconf` output and is unit-tested; the runner in `setup` feeds it the
//! host's settings and probes okapi's LMTP listener.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The keys the check reads (`postconf KEY...`).
pub(crate) const KEYS: &[&str] = &[
    "mydestination",
    "myhostname",
    "mydomain",
    "myorigin",
    "virtual_mailbox_domains",
    "virtual_transport",
    "queue_directory",
];

/// Postfix's effective settings, as `postconf KEY...` prints them (unexpanded).
#[derive(Debug, Default, Clone)]
pub(crate) struct Settings(HashMap<String, String>);

impl Settings {
    /// Reads `key = value` lines; indented lines continue the previous value, as in main.cf.
    pub(crate) fn parse(text: &str) -> Settings {
        let mut map = HashMap::new();
        let mut last: Option<String> = None;
        for line in text.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some(v) = last.as_ref().and_then(|k| map.get_mut(k)) {
                    let v: &mut String = v;
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once('=') {
                let key = k.trim().to_string();
                map.insert(key.clone(), v.trim().to_string());
                last = Some(key);
            }
        }
        Settings(map)
    }

    /// Debian sets `myorigin = /etc/mailname`: a value that is a path means the file's first
    /// line, which `read` gives.
    pub(crate) fn resolve_myorigin(&mut self, read: impl Fn(&Path) -> Option<String>) {
        if let Some(v) = self.0.get_mut("myorigin")
            && v.starts_with('/')
            && let Some(name) = read(Path::new(v.as_str())).and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
        {
            *v = name;
        }
    }

    /// The raw value of `key`; empty when Postfix has none.
    pub(crate) fn raw(&self, key: &str) -> &str {
        self.0.get(key).map_or("", String::as_str)
    }

    /// `value` with `$name`, `${name}` and `$(name)` replaced by their values, recursively.
    pub(crate) fn expand(&self, value: &str) -> String {
        self.expand_depth(value, 0)
    }

    fn expand_depth(&self, value: &str, depth: usize) -> String {
        // Postfix refuses deeper nesting too; it stops a loop like "a = $a".
        if depth > 10 {
            return String::new();
        }
        if !value.contains('$') {
            return value.to_string();
        }
        let mut out = String::with_capacity(value.len());
        let mut rest = value;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, tail) = match after.chars().next() {
                Some(open @ ('{' | '(')) => {
                    let close = if open == '{' { '}' } else { ')' };
                    match after.find(close) {
                        Some(end) => (&after[1..end], &after[end + 1..]),
                        None => ("", after),
                    }
                }
                _ => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&self.expand_depth(self.raw(name), depth + 1));
            }
            rest = tail;
        }
        out.push_str(rest);
        out
    }

    /// The names of a list setting, expanded, lower-case; lookup tables (`hash:/etc/...`) and
    /// files are left out, since their contents are not known here.
    pub(crate) fn names(&self, key: &str) -> Vec<String> {
        list_items(self.raw(key))
            .flat_map(|item| {
                list_items(&self.expand(item))
                    .map(str::to_ascii_lowercase)
                    .collect::<Vec<_>>()
            })
            .filter(|n| !n.contains([':', '/']))
            .collect()
    }
}

/// The items of a Postfix list: separated by commas and white space.
fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split([',', ' ', '\t', '\n']).filter(|s| !s.is_empty())
}

/// `mydestination` without the items that name one of `domains`, as Postfix would read it (the
/// other items unexpanded, as they were); None when no item names one.
pub(crate) fn mydestination_without(settings: &Settings, domains: &[&str]) -> Option<String> {
    let clashes = |item: &str| {
        list_items(&settings.expand(item)).any(|name| domains.iter().any(|d| d.eq_ignore_ascii_case(name)))
    };
    let items: Vec<&str> = list_items(settings.raw("mydestination")).collect();
    let kept: Vec<&str> = items.iter().copied().filter(|i| !clashes(i)).collect();
    (kept.len() != items.len()).then(|| kept.join(", "))
}

/// Where Postfix hands okapi's mail, from `virtual_transport`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// `lmtp:inet:HOST:PORT` (or `lmtp:HOST:PORT`; an IPv6 address in brackets), as
    /// `ToSocketAddrs` takes it.
    Inet(String),
    /// `lmtp:unix:PATH`; a relative path is under `queue_directory`.
    Unix(String),
}

/// The master.cf service and the target of an LMTP transport; None for anything else.
pub(crate) fn lmtp_target(transport: &str) -> Option<(&str, Target)> {
    let (service, dest) = transport.split_once(':')?;
    if service.is_empty() {
        return None;
    }
    let target = if let Some(path) = dest.strip_prefix("unix:") {
        Target::Unix(path.to_string())
    } else {
        Target::Inet(dest.strip_prefix("inet:").unwrap_or(dest).to_string())
    };
    Some((service, target))
}

/// What the check found: the problem and the command that fixes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    /// What is wrong, for a person.
    pub what: String,
    /// The command (or step) that fixes it.
    pub fix: String,
}

/// What the runner learnt about the host besides `postconf`'s settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Host {
    /// Whether the transport's master.cf service runs chrooted (`postconf -M`), if known.
    pub chrooted: Option<bool>,
    /// Whether okapi's LMTP listener answered with a greeting; Err says what happened.
    pub listener: Result<(), String>,
}

/// Every setting that keeps mail for `domains` from reaching okapi over `expected` (the
/// transport okapi's packages set). `domains` empty: those of `virtual_mailbox_domains`.
pub(crate) fn problems(settings: &Settings, domains: &[String], expected: &str, host: &Host) -> Vec<Problem> {
    let mut found = Vec::new();
    let virtual_domains = settings.names("virtual_mailbox_domains");
    let domains: Vec<String> = if domains.is_empty() {
        virtual_domains.clone()
    } else {
        domains.iter().map(|d| d.to_ascii_lowercase()).collect()
    };
    let domain_args = domains.join(" ");
    if domains.is_empty() {
        found.push(Problem {
            what: "no mail domain is delivered to okapi: virtual_mailbox_domains is empty".into(),
            fix: "okapi-admin setup postfix --domains \"YOUR-DOMAINS\"".into(),
        });
    }
    let local = settings.names("mydestination");
    let refs: Vec<&str> = domains.iter().map(String::as_str).collect();
    for d in &domains {
        if local.contains(d) {
            let without = mydestination_without(settings, &refs).unwrap_or_default();
            found.push(Problem {
                what: format!(
                    "{d} is in mydestination ({}): Postfix delivers it locally and rejects okapi's users \
                     with \"User unknown in local recipient table\"",
                    settings.raw("mydestination")
                ),
                fix: format!(
                    "okapi-admin setup postfix --domains \"{domain_args}\" (or: postconf -e \"mydestination = {without}\" \
                     && postfix reload)"
                ),
            });
        }
        if !virtual_domains.contains(d) {
            found.push(Problem {
                what: format!("{d} is not in virtual_mailbox_domains, so Postfix does not hand it to okapi"),
                fix: format!("okapi-admin setup postfix --domains \"{domain_args}\""),
            });
        }
    }
    let transport = settings.expand(settings.raw("virtual_transport"));
    let fix_transport = format!("postconf -e \"virtual_transport = {expected}\" && postfix reload");
    match lmtp_target(&transport) {
        Some((_, Target::Unix(path))) if host.chrooted == Some(true) && path.starts_with('/') => {
            found.push(Problem {
                what: format!(
                    "virtual_transport is {transport}, but Postfix's lmtp client runs chrooted in {}, where {path} \
                     does not exist",
                    settings.raw("queue_directory")
                ),
                fix: fix_transport,
            });
        }
        Some(_) => {
            if let Err(e) = &host.listener {
                found.push(Problem {
                    what: format!("okapi's LMTP listener ({transport}) does not answer: {e}"),
                    fix: "systemctl start okapi-server.socket okapi-server-lmtp.socket, then see \
                          \"systemctl status okapi-server\""
                        .into(),
                });
            }
        }
        None => found.push(Problem {
            what: format!(
                "virtual_transport is {:?}, not okapi's LMTP listener",
                if transport.is_empty() {
                    "virtual"
                } else {
                    transport.as_str()
                }
            ),
            fix: fix_transport,
        }),
    }
    found
}

/// Where a unix-socket target is, seen from outside Postfix's chroot.
pub(crate) fn unix_path(settings: &Settings, path: &str) -> PathBuf {
    if path.starts_with('/') {
        PathBuf::from(path)
    } else {
        Path::new(settings.raw("queue_directory")).join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Debian 12's postfix writes for "Internet Site" with mail name example.org on host
    /// okapi-distro, plus okapi's two settings.
    const DEBIAN_INTERNET_SITE: &str = "\
mydestination = $myhostname, example.org, okapi-distro, localhost.localdomain, localhost
myhostname = okapi-distro
mydomain = localdomain
myorigin = /etc/mailname
virtual_mailbox_domains = example.org
virtual_transport = lmtp:inet:127.0.0.1:2003
queue_directory = /var/spool/postfix
";

    fn ok_host() -> Host {
        Host {
            chrooted: Some(true),
            listener: Ok(()),
        }
    }

    /// Names are expanded as Postfix does; lookup tables are not names.
    #[test]
    fn settings_expand() {
        let s = Settings::parse(
            "myhostname = mail.example.org\nmydomain = example.org\nmydestination = $myhostname, localhost.${mydomain},\n  \
             $(mydomain) hash:/etc/postfix/local\nloop = $loop\n",
        );
        assert_eq!(
            s.names("mydestination"),
            ["mail.example.org", "localhost.example.org", "example.org"]
        );
        assert_eq!(s.expand("$loop"), "");
        assert_eq!(s.expand("a $ b"), "a $ b");
        assert_eq!(s.expand("x.$nonexistent"), "x.");
    }

    /// The domain is the machine's mail name: the check finds the clash, the fix removes only it.
    #[test]
    fn mail_name_in_mydestination_is_found_and_resolved() {
        let s = Settings::parse(DEBIAN_INTERNET_SITE);
        let p = problems(&s, &[], "lmtp:inet:127.0.0.1:2003", &ok_host());
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].what.contains("example.org is in mydestination"), "{}", p[0].what);
        assert!(p[0].fix.contains("okapi-admin setup postfix --domains \"example.org\""));
        assert_eq!(
            mydestination_without(&s, &["example.org"]).as_deref(),
            Some("$myhostname, okapi-distro, localhost.localdomain, localhost")
        );
        assert_eq!(mydestination_without(&s, &["example.net"]), None);
    }

    /// The clash through $myhostname (Postfix's default mydestination, host named after the domain)
    /// and through /etc/mailname.
    #[test]
    fn clash_through_variables() {
        let s = Settings::parse(
            "mydestination = $myhostname, localhost.$mydomain, localhost\nmyhostname = Example.org\nmydomain = org\n",
        );
        assert_eq!(
            mydestination_without(&s, &["example.org"]).as_deref(),
            Some("localhost.$mydomain, localhost")
        );
        let mut s = Settings::parse("mydestination = $myorigin, localhost\nmyorigin = /etc/mailname\n");
        s.resolve_myorigin(|p| (p == Path::new("/etc/mailname")).then(|| "example.org\n".to_string()));
        assert_eq!(
            mydestination_without(&s, &["example.org"]).as_deref(),
            Some("localhost")
        );
    }

    /// A Postfix that okapi's setup left right has nothing to report.
    #[test]
    fn a_good_setup_has_no_problems() {
        let text = DEBIAN_INTERNET_SITE.replace(" example.org, okapi-distro", " okapi-distro");
        let s = Settings::parse(&text);
        assert_eq!(
            problems(&s, &["Example.org".into()], "lmtp:inet:127.0.0.1:2003", &ok_host()),
            []
        );
    }

    /// Every other way mail misses okapi, each with its fix; German, Greek and Chinese in the
    /// listener's error pass through untouched.
    #[test]
    fn other_problems_have_fixes() {
        let s = Settings::parse("mydestination = localhost\nqueue_directory = /var/spool/postfix\n");
        let host = Host {
            chrooted: Some(true),
            listener: Err("Verbindung abgelehnt — σύνδεση 拒绝".into()),
        };
        let p = problems(&s, &["example.org".into()], "lmtp:inet:127.0.0.1:2003", &host);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].what.contains("not in virtual_mailbox_domains"));
        assert!(p[1].what.contains("\"virtual\""), "{}", p[1].what);
        assert!(
            p[1].fix
                .contains("postconf -e \"virtual_transport = lmtp:inet:127.0.0.1:2003\"")
        );

        let none = problems(&s, &[], "lmtp:inet:127.0.0.1:2003", &host);
        assert!(none[0].what.contains("no mail domain"), "{none:?}");

        let chroot = Settings::parse(
            "virtual_mailbox_domains = example.org\nvirtual_transport = lmtp:unix:/run/okapi/lmtp.sock\n\
             queue_directory = /var/spool/postfix\n",
        );
        let p = problems(&chroot, &[], "lmtp:inet:127.0.0.1:2003", &host);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].what.contains("chrooted in /var/spool/postfix"), "{}", p[0].what);

        let down =
            Settings::parse("virtual_mailbox_domains = example.org\nvirtual_transport = lmtp:inet:127.0.0.1:2003\n");
        let p = problems(&down, &[], "lmtp:inet:127.0.0.1:2003", &host);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].what.contains("σύνδεση 拒绝") && p[0].fix.contains("okapi-server.socket"));
    }

    /// Transports name their master.cf service and where they connect.
    #[test]
    fn transports_parse() {
        assert_eq!(
            lmtp_target("lmtp:inet:127.0.0.1:2003"),
            Some(("lmtp", Target::Inet("127.0.0.1:2003".into())))
        );
        assert_eq!(
            lmtp_target("lmtp:[::1]:2003"),
            Some(("lmtp", Target::Inet("[::1]:2003".into())))
        );
        assert_eq!(
            lmtp_target("lmtp:unix:private/okapi"),
            Some(("lmtp", Target::Unix("private/okapi".into())))
        );
        assert_eq!(lmtp_target("virtual"), None);
        let s = Settings::parse("queue_directory = /var/spool/postfix\n");
        assert_eq!(
            unix_path(&s, "private/okapi"),
            PathBuf::from("/var/spool/postfix/private/okapi")
        );
    }
}
