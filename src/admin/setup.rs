//! `okapi-admin setup database|apache|postfix`: the host-side configuration that the packages
//! do at install time, as commands an administrator (or an RPM scriptlet, or a Debian
//! maintainer script) can run again.
//!
//! Unlike every other okapi-admin command these never talk to okapi-server: they run the
//! neighbours' own tools (`mysql`, `a2enmod`/`a2enconf`, `apachectl`, `postconf`) and write files
//! under `/etc/okapi` and `/var/lib/okapi`. Each task is split in two: a pure *plan* (the SQL, the
//! settings file, the commands, the Postfix changes), unit-tested below, and a small runner that
//! carries the plan out. `--dry-run` prints the plan instead.
//!
//! The Postfix record (`/var/lib/okapi-server/postfix-changes`) has the format the Debian maintainer
//! scripts use, one `key<TAB>old<TAB>new` line per setting, `old` empty when main.cf did not set
//! the key, so that either side can undo what the other did. It lives in root's own directory
//! (`/var/lib/okapi-server`, 0700), never in one the okapi user can write, because root runs
//! `postconf` for what it names; and only the keys in [`POSTFIX_KEYS`] are ever put back.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use super::postfix_check;

/// Where the Debian packages and this command record Postfix's previous settings.
pub(crate) const POSTFIX_STATE: &str = "/var/lib/okapi-server/postfix-changes";
/// Where earlier versions kept that record: in the okapi user's directory, so it is taken
/// over only when root wrote it ([`take_old_record`]).
const OLD_POSTFIX_STATE: &str = "/var/lib/okapi/postfix-changes";
/// The Postfix keys okapi sets, and so the only ones a restore may touch: a record naming any
/// other key was not written by okapi. The Debian postinst and postrm carry the same list
/// (`POSTFIX_KEYS=`, checked by a test below).
pub(crate) const POSTFIX_KEYS: &[&str] = &["virtual_transport", "virtual_mailbox_domains", "mydestination"];
/// The transport okapi's packages give Postfix: okapi-server's LMTP listener on loopback.
/// (Postfix's lmtp client runs chrooted on Debian, where /run/okapi/lmtp.sock is out of reach.)
pub(crate) const LMTP_TRANSPORT: &str = "lmtp:inet:127.0.0.1:2003";
/// The drop-in directory server.cfg reads after itself.
pub(crate) const CONFIG_DIR: &str = "/etc/okapi/server.cfg.d";
/// The database password file the generated settings name.
pub(crate) const PASSWORD_FILE: &str = "/etc/okapi/database-password";

/// One setup task, as parsed from the command line.
#[derive(Debug, PartialEq)]
pub(crate) enum Task {
    /// `setup database`.
    Database(Database),
    /// `setup apache`.
    Apache {
        /// Print the commands instead of running them.
        dry_run: bool,
    },
    /// `setup postfix`.
    Postfix(Postfix),
}

/// Arguments of `setup database`.
#[derive(Debug, PartialEq)]
pub(crate) struct Database {
    /// Database server host (`localhost`: the local server).
    pub host: Name,
    /// Port, when not MySQL's default.
    pub port: Option<u16>,
    /// Database name.
    pub name: Name,
    /// Database user.
    pub user: Name,
    /// The host part of the account created (`localhost`, or `%` for a remote server).
    pub grant_host: Name,
    /// Where the password is, or is to be written.
    pub password_file: PathBuf,
    /// Create the database and the account with the local `mysql` client.
    pub create: bool,
    /// Where `00-database.cfg` goes.
    pub config_dir: PathBuf,
    /// Print instead of doing.
    pub dry_run: bool,
}

/// Arguments of `setup postfix`.
#[derive(Debug, PartialEq)]
pub(crate) struct Postfix {
    /// The mail domains delivered to okapi; empty with `--undo`.
    pub domains: Vec<Name>,
    /// Postfix's transport to okapi.
    pub transport: String,
    /// The record of the previous values.
    pub state: PathBuf,
    /// Put the recorded values back instead.
    pub undo: bool,
    /// Only report what keeps mail from reaching okapi (`--check`).
    pub check: bool,
    /// Print instead of doing.
    pub dry_run: bool,
}

/// A database, user or host name, or a mail domain: letters, digits and `._-%` only, so that it
/// needs no quoting in SQL, in a URL, in main.cf or on a command line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Name(String);

impl Name {
    /// Checks `s`; the error says which characters are allowed.
    pub(crate) fn parse(what: &str, s: &str) -> Result<Name, String> {
        let ok = !s.is_empty()
            && s.len() <= 255
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '%'));
        if ok {
            Ok(Name(s.to_string()))
        } else {
            Err(format!(
                "{what} {s:?} is not usable: only letters, digits, '.', '_', '-' and '%' are accepted"
            ))
        }
    }

    fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a setup task failed.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// A program could not be started, or it failed.
    Program {
        /// The command line.
        command: String,
        /// What happened: its exit status and stderr, or why it did not start.
        detail: String,
    },
    /// A file could not be read or written.
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The host is not set up the way the task needs.
    Unsupported(String),
    /// `setup postfix --check` found this many problems (each printed with its fix).
    MailBlocked(usize),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Program { command, detail } => write!(f, "{command}: {detail}"),
            SetupError::File { path, source } => write!(f, "{}: {source}", path.display()),
            SetupError::Unsupported(m) => f.write_str(m),
            SetupError::MailBlocked(n) => write!(
                f,
                "{n} Postfix setting(s) keep mail from reaching okapi; the fix for each is printed above"
            ),
        }
    }
}

impl std::error::Error for SetupError {}

/// Runs `task`, reporting each step on `out`.
pub(crate) fn run(task: &Task, out: &mut impl Write) -> Result<(), SetupError> {
    match task {
        Task::Database(d) => database(d, out),
        Task::Apache { dry_run } => apache(*dry_run, out),
        Task::Postfix(p) => postfix(p, out),
    }
}

// ---------------------------------------------------------------------------------------------
// database

/// The statements that create the database (utf8mb4) and the account, and (re)set its password.
/// Names are [`Name`]s; the password is quoted for a MySQL string literal.
pub(crate) fn database_sql(d: &Database, password: &str) -> String {
    let pw = sql_string(password);
    let account = format!("'{}'@'{}'", d.user, d.grant_host);
    format!(
        "CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;\n\
         CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {pw};\n\
         ALTER USER {account} IDENTIFIED BY {pw};\n\
         GRANT ALL PRIVILEGES ON `{db}`.* TO {account};\n\
         FLUSH PRIVILEGES;\n",
        db = d.name,
    )
}

/// A MySQL string literal.
fn sql_string(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('\'');
    for c in s.chars() {
        match c {
            '\'' => q.push_str("''"),
            '\\' => q.push_str("\\\\"),
            '\0' => q.push_str("\\0"),
            c => q.push(c),
        }
    }
    q.push('\'');
    q
}

/// The settings file server.cfg reads from its drop-in directory.
pub(crate) fn database_include(d: &Database) -> String {
    let port = d.port.map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "# okapi-server's database, written by \"okapi-admin setup database\".\n\
         # The password is in {pw} (root:okapi 0640).\n\
         database_url = mysql://{user}@{host}{port}/{name}\n\
         database_password_file = {pw}\n",
        user = d.user,
        host = d.host,
        name = d.name,
        pw = d.password_file.display(),
    )
}

/// A new random password: 32 letters and digits.
fn new_password() -> String {
    use rand::Rng as _;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

fn database(d: &Database, out: &mut impl Write) -> Result<(), SetupError> {
    let include = d.config_dir.join("00-database.cfg");
    let existing = match std::fs::read_to_string(&d.password_file) {
        Ok(s) => s.lines().next().map(str::to_string).filter(|l| !l.is_empty()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(SetupError::File {
                path: d.password_file.clone(),
                source,
            });
        }
    };
    let password = existing.clone().unwrap_or_else(new_password);
    if d.dry_run {
        say(out, &format!("# would write {}:", include.display()));
        say(out, &database_include(d));
        if existing.is_none() {
            say(
                out,
                &format!("# would write a new password to {}", d.password_file.display()),
            );
        }
        if d.create {
            say(out, "# would run mysql with:");
            say(out, &database_sql(d, "PASSWORD"));
        }
        return Ok(());
    }
    if existing.is_none() {
        write_private(&d.password_file, &format!("{password}\n"))?;
        say(out, &format!("wrote a new password to {}", d.password_file.display()));
    }
    if d.create {
        // The local client as root: the unix socket and MariaDB's unix_socket authentication.
        run_program("mysql", &["--batch"], Some(&database_sql(d, &password)))?;
        say(
            out,
            &format!(
                "created database {} and account '{}'@'{}'",
                d.name, d.user, d.grant_host
            ),
        );
    }
    std::fs::create_dir_all(&d.config_dir).map_err(|source| SetupError::File {
        path: d.config_dir.clone(),
        source,
    })?;
    write_private(&include, &database_include(d))?;
    say(
        out,
        &format!(
            "wrote {}; restart okapi-server to use it (systemctl restart okapi-server)",
            include.display()
        ),
    );
    Ok(())
}

/// Writes `text` to `path` through a temporary file, mode 0640 and group okapi when that group
/// exists (the server reads these files; others must not).
fn write_private(path: &Path, text: &str) -> Result<(), SetupError> {
    let group = nix::unistd::Group::from_name("okapi")
        .ok()
        .flatten()
        .map(|g| g.gid.as_raw());
    write_new_then_rename(path, text, 0o640, group)
}

/// Writes `text` to a new file next to `path` and renames it over `path`. The new file is
/// created exclusively (`O_EXCL`: a symlink or file planted at its name makes this fail instead
/// of being followed) and its mode and group are set on the open file, never by name.
fn write_new_then_rename(path: &Path, text: &str, mode: u32, group: Option<u32>) -> Result<(), SetupError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let err = |source| SetupError::File {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("new");
    // A leftover from an interrupted run; removing a name never follows it.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(err)?;
    f.set_permissions(std::fs::Permissions::from_mode(mode)).map_err(err)?;
    if let Some(gid) = group {
        std::os::unix::fs::fchown(&f, None, Some(gid)).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

// ---------------------------------------------------------------------------------------------
// apache

/// How Apache is laid out on this host.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ApacheLayout {
    /// Debian: `/etc/apache2/conf-available`, a2enmod and a2enconf.
    Debian,
    /// Fedora, RHEL, SUSE-like: `/etc/httpd/conf.d`, read as it is; modules in conf.modules.d.
    Httpd,
}

impl ApacheLayout {
    /// Finds the layout under `etc` (`/etc`).
    pub(crate) fn detect(etc: &Path) -> Option<ApacheLayout> {
        if etc.join("apache2/conf-available").is_dir() {
            Some(ApacheLayout::Debian)
        } else if etc.join("httpd/conf.d").is_dir() {
            Some(ApacheLayout::Httpd)
        } else {
            None
        }
    }
}

/// The commands that enable okapi's Apache configuration, then check it and reload Apache.
pub(crate) fn apache_plan(layout: ApacheLayout) -> Vec<Vec<&'static str>> {
    match layout {
        ApacheLayout::Debian => vec![
            vec!["a2enmod", "-q", "proxy", "proxy_http", "headers"],
            vec!["a2enconf", "-q", "okapi-webapp"],
            vec!["apache2ctl", "configtest"],
            vec!["systemctl", "try-reload-or-restart", "apache2.service"],
        ],
        // The httpd package loads mod_proxy, mod_proxy_http and mod_headers by default and
        // reads every file in conf.d: nothing to enable.
        ApacheLayout::Httpd => vec![
            vec!["apachectl", "configtest"],
            vec!["systemctl", "try-reload-or-restart", "httpd.service"],
        ],
    }
}

fn apache(dry_run: bool, out: &mut impl Write) -> Result<(), SetupError> {
    let layout = ApacheLayout::detect(Path::new("/etc")).ok_or_else(|| {
        SetupError::Unsupported(
            "no Apache here: neither /etc/apache2/conf-available nor /etc/httpd/conf.d exists; \
             install apache2 (Debian) or httpd (RPM) and the okapi-webapp package first"
                .into(),
        )
    })?;
    let conf = match layout {
        ApacheLayout::Debian => "/etc/apache2/conf-available/okapi-webapp.conf",
        ApacheLayout::Httpd => "/etc/httpd/conf.d/okapi-webapp.conf",
    };
    if !dry_run && !Path::new(conf).exists() {
        return Err(SetupError::Unsupported(format!(
            "{conf} is missing: install the okapi-webapp package"
        )));
    }
    for argv in apache_plan(layout) {
        if dry_run {
            say(out, &argv.join(" "));
        } else {
            run_program(argv[0], &argv[1..], None)?;
            say(out, &format!("ran {}", argv.join(" ")));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// postfix

/// One change to main.cf.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PostconfChange {
    /// `postconf -e "key = value"`.
    Set(String, String),
    /// `postconf -X key`: back to Postfix's default.
    Remove(String),
}

impl PostconfChange {
    fn argv(&self) -> Vec<String> {
        match self {
            PostconfChange::Set(k, v) => vec!["-e".into(), format!("{k} = {v}")],
            PostconfChange::Remove(k) => vec!["-X".into(), k.clone()],
        }
    }
}

/// One line of the record: the key, the value before okapi (empty: not set in main.cf), and the
/// value okapi set.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recorded {
    key: String,
    old: String,
    new: String,
}

/// The record as read: the lines for okapi's keys, and the other keys it names, which are
/// refused (never changed, never written back).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Record {
    lines: Vec<Recorded>,
    /// Keys not in [`POSTFIX_KEYS`], in the order they appear.
    pub refused: Vec<String>,
}

/// Reads the record; lines that do not have three tab-separated fields are skipped, and a key
/// okapi never sets goes to [`Record::refused`].
pub(crate) fn parse_record(text: &str) -> Record {
    let mut record = Record::default();
    for line in text.lines() {
        let mut f = line.splitn(3, '\t');
        let (Some(key), Some(old), Some(new)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        if !POSTFIX_KEYS.contains(&key) {
            record.refused.push(key.into());
            continue;
        }
        record.lines.push(Recorded {
            key: key.into(),
            old: old.into(),
            new: new.into(),
        });
    }
    record
}

fn format_record(record: &[Recorded]) -> String {
    record
        .iter()
        .map(|r| format!("{}\t{}\t{}\n", r.key, r.old, r.new))
        .collect()
}

/// What pointing Postfix at okapi changes, and the record to keep. `current` gives a key's value
/// in main.cf (`postconf -n -h`), empty when unset. `mydestination` is its new value when it named
/// one of the domains ([`postfix_check::mydestination_without`]). An existing record keeps its old
/// values (the ones from before okapi's first change) and takes the new ones; a key it records
/// that okapi no longer changes keeps its line, so that purge still puts it back; a key okapi
/// never sets is dropped.
pub(crate) fn postfix_plan(
    domains: &[Name],
    transport: &str,
    mydestination: Option<String>,
    record: Option<&str>,
    current: impl Fn(&str) -> String,
) -> (Vec<PostconfChange>, String) {
    let domains = domains.iter().map(Name::as_str).collect::<Vec<_>>().join(" ");
    let mut wanted = vec![
        ("virtual_transport", transport.to_string()),
        ("virtual_mailbox_domains", domains),
    ];
    if let Some(m) = mydestination {
        wanted.push(("mydestination", m));
    }
    let before = record.map(parse_record).unwrap_or_default().lines;
    let mut lines = Vec::new();
    let mut changes = Vec::new();
    for kept in before.iter().filter(|r| !wanted.iter().any(|(k, _)| *k == r.key)) {
        lines.push(kept.clone());
    }
    for (key, new) in wanted {
        let old = before
            .iter()
            .find(|r| r.key == key)
            .map(|r| r.old.clone())
            .unwrap_or_else(|| current(key));
        changes.push(PostconfChange::Set(key.into(), new.clone()));
        lines.push(Recorded {
            key: key.into(),
            old,
            new,
        });
    }
    (changes, format_record(&lines))
}

/// What undoing okapi's changes does: each recorded key whose value is still the one okapi set
/// goes back to its old value (or to Postfix's default); a key changed since is left alone, and
/// so is a key okapi never sets.
pub(crate) fn postfix_undo_plan(record: &str, current: impl Fn(&str) -> String) -> Vec<PostconfChange> {
    parse_record(record)
        .lines
        .into_iter()
        .filter(|r| current(&r.key) == r.new)
        .map(|r| {
            if r.old.is_empty() {
                PostconfChange::Remove(r.key)
            } else {
                PostconfChange::Set(r.key, r.old)
            }
        })
        .collect()
}

fn postconf_value(key: &str) -> String {
    match Process::new("postconf")
        .args(["-n", "-h", key])
        .stderr(Stdio::null())
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => String::new(),
    }
}

/// Postfix's effective values of `keys` (`postconf KEY...`), `myorigin` read from its file.
fn postconf_settings(keys: &[&str]) -> postfix_check::Settings {
    let text = match Process::new("postconf").args(keys).stderr(Stdio::null()).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        _ => String::new(),
    };
    let mut settings = postfix_check::Settings::parse(&text);
    settings.resolve_myorigin(|path| std::fs::read_to_string(path).ok());
    settings
}

fn postfix(p: &Postfix, out: &mut impl Write) -> Result<(), SetupError> {
    if p.check {
        return postfix_check(p, out);
    }
    if p.state == Path::new(POSTFIX_STATE) && !p.dry_run {
        take_old_record(Path::new(OLD_POSTFIX_STATE), &p.state, out)?;
    }
    let record = read_record(&p.state)?;
    if let Some(text) = &record {
        for key in parse_record(text).refused {
            say(
                out,
                &format!(
                    "warning: {} names {key}, which okapi never sets: left alone",
                    p.state.display()
                ),
            );
        }
    }
    let (changes, new_record) = if p.undo {
        let Some(record) = &record else {
            say(out, &format!("nothing to undo: no record at {}", p.state.display()));
            return Ok(());
        };
        (postfix_undo_plan(record, postconf_value), None)
    } else {
        let settings = postconf_settings(postfix_check::KEYS);
        let domains: Vec<&str> = p.domains.iter().map(Name::as_str).collect();
        let mydestination = postfix_check::mydestination_without(&settings, &domains);
        let (c, r) = postfix_plan(
            &p.domains,
            &p.transport,
            mydestination,
            record.as_deref(),
            postconf_value,
        );
        (c, Some(r))
    };
    for change in &changes {
        let argv = change.argv();
        if p.dry_run {
            say(out, &format!("postconf {}", shell_words(&argv)));
        } else {
            let args: Vec<&str> = argv.iter().map(String::as_str).collect();
            run_program("postconf", &args, None)?;
            say(out, &format!("ran postconf {}", shell_words(&argv)));
        }
    }
    if p.dry_run {
        return Ok(());
    }
    match new_record {
        Some(r) => {
            write_record(&p.state, &r)?;
            say(out, &format!("recorded the previous values in {}", p.state.display()));
        }
        None => {
            std::fs::remove_file(&p.state).map_err(|source| SetupError::File {
                path: p.state.clone(),
                source,
            })?;
        }
    }
    // A stopped Postfix reads main.cf when it starts; a running one is told now.
    if Process::new("postfix")
        .arg("status")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        run_program("postfix", &["reload"], None)?;
        say(out, "ran postfix reload");
    }
    Ok(())
}

/// Reads `path` without following a symlink, and only if it is a regular file with one link,
/// owned by root or (`also_mine`) by this user: the record decides what root hands to
/// `postconf`. The checks are made on the open file, so the name cannot be swapped in between.
/// `None`: no file.
fn read_trusted(path: &Path, also_mine: bool) -> Result<Option<String>, SetupError> {
    use std::io::Read as _;
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let err = |source| SetupError::File {
        path: path.to_path_buf(),
        source,
    };
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(err(source)),
    };
    let meta = file.metadata().map_err(err)?;
    let owner_ok = meta.uid() == 0 || (also_mine && meta.uid() == nix::unistd::geteuid().as_raw());
    if !meta.is_file() || !owner_ok || meta.nlink() != 1 {
        return Err(SetupError::Unsupported(format!(
            "{} is not a file that root (or you) wrote: refused; remove it and run the command again",
            path.display()
        )));
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(err)?;
    Ok(Some(text))
}

/// The record's text, `None` when there is none.
fn read_record(path: &Path) -> Result<Option<String>, SetupError> {
    read_trusted(path, true)
}

/// Writes the record: its directory made root-only (0700) when it is created, the text to a new
/// file there (which fails rather than follow anything already at that name), then renamed over
/// the record.
fn write_record(path: &Path, text: &str) -> Result<(), SetupError> {
    use std::os::unix::fs::DirBuilderExt as _;
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| SetupError::File {
                path: dir.to_path_buf(),
                source,
            })?;
    }
    write_new_then_rename(path, text, 0o600, None)
}

/// Takes over the record an earlier version kept at `old` (a directory the okapi user can
/// write), when root wrote it and there is none at `new` yet; anything else there is ignored
/// with a message, since whoever runs as okapi may have put it there.
fn take_old_record(old: &Path, new: &Path, out: &mut impl Write) -> Result<(), SetupError> {
    if std::fs::symlink_metadata(old).is_err() {
        return Ok(());
    }
    if std::fs::symlink_metadata(new).is_ok() {
        return Ok(());
    }
    // Owned by this user is not enough here: only root wrote the record in that place.
    let text = match read_trusted(old, false) {
        Ok(Some(text)) => text,
        _ => {
            say(
                out,
                &format!(
                    "warning: ignored {}: not a file that okapi's packages wrote as root (remove it)",
                    old.display()
                ),
            );
            return Ok(());
        }
    };
    write_record(new, &text)?;
    // Unlinking a name never follows it.
    let _ = std::fs::remove_file(old);
    say(out, &format!("moved the record {} to {}", old.display(), new.display()));
    Ok(())
}

/// `setup postfix --check`: prints each problem with its fix; an error when there is one.
fn postfix_check(p: &Postfix, out: &mut impl Write) -> Result<(), SetupError> {
    if Process::new("postconf").args(["-h", "mail_version"]).output().is_err() {
        return Err(SetupError::Unsupported(
            "postconf is not installed: this check is for Postfix (see /usr/share/doc/okapi-server/MTA.md)".into(),
        ));
    }
    let settings = postconf_settings(postfix_check::KEYS);
    let transport = settings.expand(settings.raw("virtual_transport"));
    let target = postfix_check::lmtp_target(&transport);
    let host = postfix_check::Host {
        chrooted: target.as_ref().and_then(|(service, _)| master_chrooted(service)),
        listener: match &target {
            Some((_, t)) => lmtp_greeting(&settings, t),
            None => Ok(()),
        },
    };
    let domains: Vec<String> = p.domains.iter().map(|d| d.as_str().to_string()).collect();
    let found = postfix_check::problems(&settings, &domains, &p.transport, &host);
    if found.is_empty() {
        say(
            out,
            &format!(
                "Postfix hands mail for {} to okapi over {transport}",
                settings.raw("virtual_mailbox_domains")
            ),
        );
        return Ok(());
    }
    for problem in &found {
        say(out, &format!("problem: {}", problem.what));
        say(out, &format!("    fix: {}", problem.fix));
    }
    Err(SetupError::MailBlocked(found.len()))
}

/// Whether master.cf runs `service` (type unix) chrooted: `postconf -M service/unix`, 5th column.
fn master_chrooted(service: &str) -> Option<bool> {
    let o = Process::new("postconf")
        .args(["-M", &format!("{service}/unix")])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&o.stdout);
    // "-" is the default, chroot=n since Postfix 3.0 (Debian's own master.cf says y).
    Some(text.split_whitespace().nth(4)? == "y")
}

/// Connects to the LMTP target as Postfix would and reads okapi's greeting.
fn lmtp_greeting(settings: &postfix_check::Settings, target: &postfix_check::Target) -> Result<(), String> {
    use std::io::BufReader;
    use std::net::{TcpStream, ToSocketAddrs as _};
    use std::os::unix::net::UnixStream;
    // Long enough for a socket-activated okapi-server to start and open its database.
    let wait = std::time::Duration::from_secs(20);
    let line = match target {
        postfix_check::Target::Inet(addr) => {
            let a = addr
                .to_socket_addrs()
                .map_err(|e| format!("{addr}: {e}"))?
                .next()
                .ok_or_else(|| format!("{addr}: no address"))?;
            let s = TcpStream::connect_timeout(&a, wait).map_err(|e| format!("{addr}: {e}"))?;
            s.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            read_line(BufReader::new(s))
        }
        postfix_check::Target::Unix(path) => {
            let path = postfix_check::unix_path(settings, path);
            let s = UnixStream::connect(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            s.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
            read_line(BufReader::new(s))
        }
    }?;
    if line.starts_with("220") && line.contains("okapi") {
        Ok(())
    } else if line.is_empty() {
        Err("it closed the connection without a greeting".into())
    } else {
        Err(format!(
            "it greets with {:?}, which is not okapi's LMTP",
            line.trim_end()
        ))
    }
}

/// The first line the peer sends (the greeting).
fn read_line(mut r: impl io::BufRead) -> Result<String, String> {
    let mut line = String::new();
    r.read_line(&mut line).map_err(|e| format!("no greeting: {e}"))?;
    Ok(line)
}

// ---------------------------------------------------------------------------------------------
// helpers

fn say(out: &mut impl Write, line: &str) {
    // Progress lines only: a closed stdout must not stop a half-done setup.
    let _ = writeln!(out, "{}", line.trim_end());
}

fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a program, with `input` on its stdin; its stderr becomes the error when it fails.
fn run_program(program: &str, args: &[&str], input: Option<&str>) -> Result<(), SetupError> {
    let command = std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ");
    let fail = |detail: String| SetupError::Program {
        command: command.clone(),
        detail,
    };
    let mut child = Process::new(program)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {e}")))?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| fail(format!("cannot write its input: {e}")))?;
    }
    let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(fail(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse("name", s).unwrap()
    }

    fn db() -> Database {
        Database {
            host: n("localhost"),
            port: None,
            name: n("okapi"),
            user: n("okapi"),
            grant_host: n("localhost"),
            password_file: PathBuf::from(PASSWORD_FILE),
            create: true,
            config_dir: PathBuf::from(CONFIG_DIR),
            dry_run: false,
        }
    }

    /// Names that would need quoting anywhere are refused with a reason.
    #[test]
    fn names_are_checked() {
        assert!(Name::parse("database", "okapi_1").is_ok());
        assert!(Name::parse("host", "db.example.org").is_ok());
        for bad in ["", "a b", "x'y", "a`b", "a;b", "a/b", "ü"] {
            let e = Name::parse("database", bad).unwrap_err();
            assert!(e.contains("database") && e.contains("only letters"), "{e}");
        }
    }

    /// The SQL creates a utf8mb4 database and an account, and quotes the password.
    #[test]
    fn database_sql_quotes_the_password() {
        let sql = database_sql(&db(), r"a'b\c");
        assert!(sql.contains("CREATE DATABASE IF NOT EXISTS `okapi` CHARACTER SET utf8mb4"));
        assert!(sql.contains(r"CREATE USER IF NOT EXISTS 'okapi'@'localhost' IDENTIFIED BY 'a''b\\c';"));
        assert!(sql.contains("GRANT ALL PRIVILEGES ON `okapi`.* TO 'okapi'@'localhost';"));
        assert_eq!(sql.lines().count(), 5);
    }

    /// The settings file names the database without the password, which stays in its own file.
    #[test]
    fn database_include_keeps_the_password_out() {
        let mut d = db();
        assert!(database_include(&d).contains("\ndatabase_url = mysql://okapi@localhost/okapi\n"));
        d.host = n("db.example.org");
        d.port = Some(3307);
        let text = database_include(&d);
        assert!(text.contains("database_url = mysql://okapi@db.example.org:3307/okapi\n"));
        assert!(text.contains("database_password_file = /etc/okapi/database-password\n"));
        // It parses as okapi's configuration.
        let c = crate::config::Config::from_text(&text, "00-database.cfg").unwrap();
        assert_eq!(c.database_password_file, Some(PathBuf::from(PASSWORD_FILE)));
    }

    /// Generated passwords are long and differ.
    #[test]
    fn passwords_are_random() {
        let (a, b) = (new_password(), new_password());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    /// Debian's layout is enabled with a2enmod/a2enconf; httpd's conf.d needs only a check.
    #[test]
    fn apache_plans() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(ApacheLayout::detect(dir.path()), None);
        std::fs::create_dir_all(dir.path().join("httpd/conf.d")).unwrap();
        assert_eq!(ApacheLayout::detect(dir.path()), Some(ApacheLayout::Httpd));
        std::fs::create_dir_all(dir.path().join("apache2/conf-available")).unwrap();
        assert_eq!(ApacheLayout::detect(dir.path()), Some(ApacheLayout::Debian));

        let debian = apache_plan(ApacheLayout::Debian);
        assert_eq!(debian[0], ["a2enmod", "-q", "proxy", "proxy_http", "headers"]);
        assert_eq!(debian[1], ["a2enconf", "-q", "okapi-webapp"]);
        assert!(apache_plan(ApacheLayout::Httpd).iter().all(|c| c[0] != "a2enmod"));
    }

    /// The first setup records main.cf's values (empty when unset) in the Debian scripts'
    /// format; a second one with other domains keeps the values from before okapi.
    #[test]
    fn postfix_records_the_values_before_okapi() {
        let main_cf = |k: &str| match k {
            "virtual_transport" => "virtual".to_string(),
            _ => String::new(),
        };
        let (changes, record) = postfix_plan(&[n("example.org")], LMTP_TRANSPORT, None, None, main_cf);
        assert_eq!(
            changes,
            [
                PostconfChange::Set("virtual_transport".into(), LMTP_TRANSPORT.into()),
                PostconfChange::Set("virtual_mailbox_domains".into(), "example.org".into()),
            ]
        );
        assert_eq!(
            record,
            "virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\nvirtual_mailbox_domains\t\texample.org\n"
        );

        // Now main.cf holds okapi's values; the record must keep "virtual" and "".
        let after = |k: &str| match k {
            "virtual_transport" => LMTP_TRANSPORT.to_string(),
            _ => "example.org".to_string(),
        };
        let (_, record2) = postfix_plan(
            &[n("example.org"), n("example.net")],
            LMTP_TRANSPORT,
            None,
            Some(&record),
            after,
        );
        assert_eq!(
            record2,
            "virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n\
             virtual_mailbox_domains\t\texample.org example.net\n"
        );
    }

    /// mydestination is changed and recorded like the other keys; a later run that no longer
    /// needs to change it keeps its line, so that purge still restores it.
    #[test]
    fn postfix_records_mydestination() {
        let main_cf = |k: &str| match k {
            "mydestination" => "$myhostname, example.org, localhost".to_string(),
            _ => String::new(),
        };
        let (changes, record) = postfix_plan(
            &[n("example.org")],
            LMTP_TRANSPORT,
            Some("$myhostname, localhost".into()),
            None,
            main_cf,
        );
        assert_eq!(
            changes[2],
            PostconfChange::Set("mydestination".into(), "$myhostname, localhost".into())
        );
        assert!(record.ends_with("mydestination\t$myhostname, example.org, localhost\t$myhostname, localhost\n"));
        let (changes2, record2) = postfix_plan(&[n("example.org")], LMTP_TRANSPORT, None, Some(&record), main_cf);
        assert_eq!(changes2.len(), 2);
        assert!(record2.starts_with("mydestination\t$myhostname, example.org, localhost\t$myhostname, localhost\n"));
        let undo = postfix_undo_plan(&record2, |k| match k {
            "mydestination" => "$myhostname, localhost".to_string(),
            _ => String::new(),
        });
        assert_eq!(
            undo,
            [PostconfChange::Set(
                "mydestination".into(),
                "$myhostname, example.org, localhost".into()
            )]
        );
    }

    /// Undo restores old values, removes keys okapi added, and leaves alone what an
    /// administrator changed since.
    #[test]
    fn postfix_undo_restores_only_what_is_still_okapis() {
        let record = "virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n\
                      virtual_mailbox_domains\t\texample.org\n\
                      garbage line\n";
        let untouched = |k: &str| match k {
            "virtual_transport" => LMTP_TRANSPORT.to_string(),
            _ => "example.org".to_string(),
        };
        assert_eq!(
            postfix_undo_plan(record, untouched),
            [
                PostconfChange::Set("virtual_transport".into(), "virtual".into()),
                PostconfChange::Remove("virtual_mailbox_domains".into()),
            ]
        );
        let edited = |k: &str| match k {
            "virtual_transport" => "lmtp:unix:private/dovecot-lmtp".to_string(),
            _ => "example.org".to_string(),
        };
        assert_eq!(
            postfix_undo_plan(record, edited),
            [PostconfChange::Remove("virtual_mailbox_domains".into())]
        );
        assert_eq!(
            PostconfChange::Set("k".into(), "a b".into()).argv(),
            ["-e".to_string(), "k = a b".to_string()]
        );
    }

    /// The Postfix part of the Debian postinst reads the record this module writes: same fields,
    /// same separators (checked against the script's own awk and cut usage).
    #[test]
    fn record_format_matches_the_debian_scripts() {
        let script = include_str!("../../debian/okapi-server.postinst");
        assert!(script.contains(r"printf 'virtual_transport\t%s\t%s\n'"));
        assert!(script.contains("cut -f1") && script.contains("cut -f2") && script.contains("cut -f3-"));
        assert!(script.contains(LMTP_TRANSPORT));
        assert!(script.contains("STATE_DIR=/var/lib/okapi-server\nPOSTFIX_STATE=$STATE_DIR/postfix-changes\n"));
        assert!(POSTFIX_STATE.starts_with("/var/lib/okapi-server/"));
    }

    /// The maintainer scripts restore only the keys this module does: one allow-list, spelled
    /// the same in postinst, postrm and here.
    #[test]
    fn the_scripts_share_the_allow_list() {
        let line = format!("\nPOSTFIX_KEYS=\"{}\"\n", POSTFIX_KEYS.join(" "));
        for script in [
            include_str!("../../debian/okapi-server.postinst"),
            include_str!("../../debian/okapi-server.postrm"),
        ] {
            assert!(script.contains(&line), "{line:?} missing");
            assert!(script.contains(r#"case " $POSTFIX_KEYS " in"#));
        }
    }

    /// A key okapi never sets is refused by the reader, so neither undo nor a new setup touches
    /// or keeps it, whatever the record says its values are.
    #[test]
    fn keys_outside_the_allow_list_are_refused() {
        let record = "virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n\
                      smtpd_recipient_restrictions\tpermit_mynetworks\tpermit\n\
                      default_privs\tnobody\troot\n\
                      Virtual_Transport\tx\ty\n";
        let parsed = parse_record(record);
        assert_eq!(
            parsed.refused,
            ["smtpd_recipient_restrictions", "default_privs", "Virtual_Transport"]
        );
        // main.cf holds exactly what the record says okapi set, for every key.
        let as_recorded = |k: &str| match k {
            "virtual_transport" => LMTP_TRANSPORT.to_string(),
            "smtpd_recipient_restrictions" => "permit".to_string(),
            "default_privs" => "root".to_string(),
            _ => "y".to_string(),
        };
        assert_eq!(
            postfix_undo_plan(record, as_recorded),
            [PostconfChange::Set("virtual_transport".into(), "virtual".into())]
        );
        let (changes, rewritten) = postfix_plan(&[n("example.org")], LMTP_TRANSPORT, None, Some(record), as_recorded);
        assert!(changes.iter().all(|c| match c {
            PostconfChange::Set(k, _) | PostconfChange::Remove(k) => POSTFIX_KEYS.contains(&k.as_str()),
        }));
        assert!(!rewritten.contains("smtpd_recipient") && !rewritten.contains("default_privs"));
        assert!(rewritten.starts_with("virtual_transport\tvirtual\t"));
    }

    /// A symlink at the record's name is refused, not followed.
    #[test]
    fn a_symlinked_record_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "virtual_transport\tx\ty\n").unwrap();
        let record = dir.path().join("postfix-changes");
        std::os::unix::fs::symlink(&victim, &record).unwrap();
        assert!(read_record(&record).is_err());
        assert_eq!(read_record(&dir.path().join("none")).unwrap(), None);
    }

    /// Writing the record goes through a new file and a rename: a symlink planted at the
    /// temporary name or at the record's name is replaced, and what it pointed to is untouched.
    #[test]
    fn writing_the_record_follows_no_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "root's file\n").unwrap();
        let state = dir.path().join("state/postfix-changes");
        std::fs::create_dir(dir.path().join("state")).unwrap();
        std::os::unix::fs::symlink(&victim, state.with_extension("new")).unwrap();
        std::os::unix::fs::symlink(&victim, &state).unwrap();
        write_record(&state, "virtual_transport\ta\tb\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "root's file\n");
        let meta = std::fs::symlink_metadata(&state).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(
            read_record(&state).unwrap().as_deref(),
            Some("virtual_transport\ta\tb\n")
        );

        // A new directory for the record is root-only.
        let fresh = dir.path().join("fresh/postfix-changes");
        write_record(&fresh, "").unwrap();
        let mode = std::fs::metadata(dir.path().join("fresh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    /// An old record that is a symlink (planted by whoever runs as okapi) is not taken over, and
    /// what it points to is neither read nor changed.
    #[test]
    fn a_planted_old_record_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "default_privs\tnobody\troot\n").unwrap();
        let old = dir.path().join("old-postfix-changes");
        std::os::unix::fs::symlink(&victim, &old).unwrap();
        let new = dir.path().join("new/postfix-changes");
        let mut out = Vec::new();
        take_old_record(&old, &new, &mut out).unwrap();
        assert!(String::from_utf8_lossy(&out).contains("ignored"));
        assert!(std::fs::symlink_metadata(&new).is_err());
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap(),
            "default_privs\tnobody\troot\n"
        );
    }

    /// A failing program's stderr reaches the error.
    #[test]
    fn program_failures_carry_stderr() {
        let e = run_program("sh", &["-c", "echo broken >&2; exit 3"], None).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("broken") && text.contains('3'), "{text}");
        assert!(run_program("cat", &[], Some("input")).is_ok());
        let e = run_program("/nonexistent/okapi-x", &[], None).unwrap_err();
        assert!(e.to_string().contains("cannot start"), "{e}");
    }
}
