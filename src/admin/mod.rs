//! okapi-admin, the administrator's command line: users, groups, quotas, stores, out-of-office
//! replies and send-as grants.
//!
//! Why it exists: an administrator on the server's host must be able to manage okapi without a
//! password or a session of their own, from a shell, a script or a configuration-management tool.
//! okapi-admin is that tool. It holds no state and never opens the database: it speaks JSON over
//! HTTP to okapi-server's local socket (`local_socket` in server.cfg, `/run/okapi/server.sock` by
//! default), where the server trusts root and its own user by their peer credentials
//! (SO_PEERCRED). Every change therefore goes through the server's operations
//! (`src/ops/admin.rs`), so checks, logs and the closing of stale sessions happen in one place.
//!
//! # Layout
//! - this file: the command table (names, synopses, help texts), the parsing of the command line
//!   into a typed `Invocation`, the exit status, and [`admin_main`] which ties them together.
//! - `client`: HTTP/1.1 over the unix socket; the server's error bodies become typed errors.
//! - `commands`: one function per command: password input, confirmation, the call, the output;
//!   and the size syntax of quotas.
//! - `setup`: `setup database|apache|postfix`, the host configuration the packages do; these
//!   run the neighbours' tools (mysql, a2enmod, postconf) and never talk to the server.
//!
//! Parsing is hand-written and two-staged, as ripgrep does it: `parse_args` only checks what the
//! user typed; reading a password, asking for confirmation and finding the socket happen later,
//! when the command runs.
//!
//! # Exit status
//! Defined once, in [`Exit`]:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the server refused the command (`okapi-admin: <message> (<MAPI name>)`), or it failed otherwise |
//! | 2 | usage error: unknown command or option, missing argument, unusable password input |
//! | 69 | `EX_UNAVAILABLE`: okapi-server cannot be reached (not running, no socket at the path) |
//! | 77 | `EX_NOPERM`: okapi-server does not trust the caller; run as root or as the okapi user |
//! | 78 | `EX_CONFIG`: the configuration file, read to find the socket, cannot be used |

mod client;
mod commands;
mod postfix_check;
mod setup;

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::startup::DEFAULT_CONFIG;
use client::{Client, ClientError};
use commands::{Limit, OofBody, OofTime, PasswordSource};

const PROGRAM: &str = "okapi-admin";

/// okapi-admin's exit status. This is a contract with scripts: values do not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: the command did what it was asked.
    Success = 0,
    /// 1: the server refused the command, the confirmation was declined, or something else failed;
    /// the message says which.
    Failed = 1,
    /// 2: the command line is wrong, or an input it names (a password file) cannot be used.
    Usage = 2,
    /// 69 (`EX_UNAVAILABLE`): okapi-server cannot be reached at its socket.
    Unavailable = 69,
    /// 77 (`EX_NOPERM`): okapi-server does not trust the caller.
    NoPermission = 77,
    /// 78 (`EX_CONFIG`): the configuration cannot be read to find the socket.
    Config = 78,
}

impl Exit {
    /// Every status, in order, for the help text.
    pub const ALL: [Exit; 6] = [
        Exit::Success,
        Exit::Failed,
        Exit::Usage,
        Exit::Unavailable,
        Exit::NoPermission,
        Exit::Config,
    ];

    /// The numeric status.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// What the status means, as `--help` lists it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "success",
            Exit::Failed => "the server refused the command (the message ends with the MAPI error name), or it failed",
            Exit::Usage => "usage error: unknown command or option, missing argument, unusable password input",
            Exit::Unavailable => "okapi-server cannot be reached (not running, or no socket at the path)",
            Exit::NoPermission => "okapi-server does not trust the caller: run as root or as the okapi user",
            Exit::Config => "the configuration file, read to find the socket, cannot be used",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Entry point of okapi-admin: parses the command line, runs the command, and turns the outcome
/// into a message on stderr and an [`Exit`] status.
pub fn admin_main() -> ExitCode {
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(bad) => {
                eprintln!("{PROGRAM}: the argument {bad:?} is not valid UTF-8; okapi-admin takes only UTF-8 arguments");
                return Exit::Usage.into();
            }
        }
    }
    let invocation = match parse_args(args) {
        Ok(i) => i,
        Err(e) => return report(&Error::Usage(e)).into(),
    };
    match run(invocation) {
        Ok(()) => Exit::Success.into(),
        Err(e) => report(&e).into(),
    }
}

/// Runs a parsed command line, writing its output to stdout.
fn run(invocation: Invocation) -> Result<(), Error> {
    let Invocation { globals, command } = invocation;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match &command {
        Command::Help(topic) => return write_out(&mut out, &help_text(topic)),
        Command::Version => return write_out(&mut out, &format!("{PROGRAM} {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Setup(task) => {
            setup::run(task, &mut out).map_err(Error::Setup)?;
            return out.flush().map_err(Error::Output);
        }
        _ => {}
    }
    let client = Client::new(socket_path(&globals)?).map_err(Error::Client)?;
    let mut cx = commands::Context::new(&client, globals.json, &mut out);
    dispatch(command, &mut cx)?;
    out.flush().map_err(Error::Output)
}

fn write_out(out: &mut impl Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

/// Hands each command to its function in `commands`.
fn dispatch(command: Command, cx: &mut commands::Context<'_>) -> Result<(), Error> {
    match command {
        Command::Help(_) | Command::Version | Command::Setup(_) => Ok(()),
        Command::UserAdd(a) => commands::user_add(cx, a),
        Command::UserDel { login, yes } => commands::user_del(cx, &login, yes),
        Command::UserList => commands::user_list(cx),
        Command::UserShow { login } => commands::user_show(cx, &login),
        Command::UserLogoff { login } => commands::user_logoff(cx, &login),
        Command::UserSet(a) => commands::user_set(cx, a),
        Command::GroupAdd { name } => commands::group_add(cx, &name),
        Command::GroupDel { name } => commands::group_del(cx, &name),
        Command::GroupList => commands::group_list(cx),
        Command::GroupAddUser { group, login } => commands::group_member(cx, &group, &login, true),
        Command::GroupDelUser { group, login } => commands::group_member(cx, &group, &login, false),
        Command::QuotaSet(a) => commands::quota_set(cx, a),
        Command::QuotaShow { login } => commands::quota_show(cx, &login),
        Command::StoreList => commands::store_list(cx),
        Command::OofShow { login } => commands::oof_show(cx, &login),
        Command::OofSet(a) => commands::oof_set(cx, a),
        Command::SendAsGrant { login, address } => commands::send_as(cx, &login, &address, true),
        Command::SendAsRevoke { login, address } => commands::send_as(cx, &login, &address, false),
        Command::SendAsList { login } => commands::send_as_list(cx, &login),
    }
}

/// The socket to talk to: `--socket`, else `local_socket` from the configuration.
fn socket_path(globals: &Globals) -> Result<PathBuf, Error> {
    if let Some(socket) = &globals.socket {
        return Ok(socket.clone());
    }
    // An explicit --config must exist; the default one may be missing (defaults apply then).
    let (path, loaded) = match &globals.config {
        Some(p) => (p.clone(), Config::load(p)),
        None => {
            let p = PathBuf::from(DEFAULT_CONFIG);
            let loaded = Config::load_or_default(&p);
            (p, loaded)
        }
    };
    let config = loaded.map_err(|e| {
        Error::Config(format!(
            "cannot use the configuration {} to find the server's socket:\n{e}\n\
             Fix it, or name the socket with --socket PATH",
            path.display()
        ))
    })?;
    if config.local_socket.as_os_str().is_empty() {
        return Err(Error::Config(format!(
            "local_socket is empty in {}, so okapi-server has no local socket to talk to; \
             set local_socket there (and restart the server), or name a socket with --socket PATH",
            path.display()
        )));
    }
    Ok(config.local_socket)
}

/// Prints an error the way administrators read them, and says which status it means.
fn report(e: &Error) -> Exit {
    let exit = e.exit();
    match e {
        // `okapi-admin user list | head` closing the pipe early is not a failure.
        Error::Output(_) if exit == Exit::Success => {}
        Error::Client(ClientError::Refused(refusal)) if exit == Exit::NoPermission => {
            eprintln!("{PROGRAM}: {refusal}");
            eprintln!(
                "{PROGRAM}: okapi-server trusts only root and its own user on the local socket; \
                 run okapi-admin as root (sudo okapi-admin ...) or as the okapi user (sudo -u okapi okapi-admin ...)"
            );
        }
        _ => eprintln!("{PROGRAM}: {e}"),
    }
    exit
}

/// Why a command did not succeed; each kind maps to one [`Exit`].
#[derive(Debug)]
pub(crate) enum Error {
    /// The command line is wrong.
    Usage(UsageError),
    /// An input the command line points at (password file, stdin, the terminal) cannot be used.
    Input(String),
    /// The configuration could not be read to find the socket.
    Config(String),
    /// The call to the server failed or was refused.
    Client(ClientError),
    /// The administrator answered "no" at a confirmation prompt.
    Declined(String),
    /// Writing to stdout failed.
    Output(io::Error),
    /// A `setup` task failed.
    Setup(setup::SetupError),
}

impl Error {
    /// The exit status this error means.
    fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) | Error::Input(_) => Exit::Usage,
            Error::Config(_) => Exit::Config,
            Error::Client(e) => match e {
                ClientError::Unreachable { .. } | ClientError::Connection { .. } | ClientError::Timeout { .. } => {
                    Exit::Unavailable
                }
                ClientError::Forbidden { .. } => Exit::NoPermission,
                ClientError::Refused(r) if r.is_untrusted() => Exit::NoPermission,
                ClientError::Refused(_)
                | ClientError::BadReply { .. }
                | ClientError::Encode { .. }
                | ClientError::Runtime(_) => Exit::Failed,
            },
            Error::Declined(_) | Error::Setup(_) => Exit::Failed,
            // A reader that went away (`| head`) has all it wanted: Unix tools exit quietly.
            Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => Exit::Success,
            Error::Output(_) => Exit::Failed,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(e) => write!(f, "{e}"),
            Error::Input(m) | Error::Config(m) | Error::Declined(m) => f.write_str(m),
            Error::Client(e) => write!(f, "{e}"),
            Error::Output(e) => write!(f, "cannot write the output: {e}"),
            Error::Setup(e) => write!(f, "setup failed: {e}"),
        }
    }
}

impl From<ClientError> for Error {
    fn from(e: ClientError) -> Error {
        Error::Client(e)
    }
}

// ---------------------------------------------------------------------------------------------
// The command table

/// One command: its two words, synopsis, summary and options. The help texts are generated from
/// this table, and each command's parser is found through it.
pub(crate) struct Spec {
    area: &'static str,
    verb: &'static str,
    /// Arguments as the command overview shows them.
    args: &'static str,
    /// One line for the overview.
    summary: &'static str,
    /// The command's options and notes, for `okapi-admin AREA VERB --help`.
    details: &'static str,
    /// The options the parser accepts, for "did you mean" suggestions.
    options: &'static [&'static str],
    parse: fn(&mut Cx<'_>) -> Result<Command, UsageError>,
}

impl Spec {
    fn name(&self) -> String {
        format!("{} {}", self.area, self.verb)
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Spec({} {})", self.area, self.verb)
    }
}

impl PartialEq for Spec {
    fn eq(&self, other: &Spec) -> bool {
        (self.area, self.verb) == (other.area, other.verb)
    }
}

/// The command areas, in the order the help lists them.
const AREAS: &[&str] = &["user", "group", "quota", "store", "oof", "sendas", "setup"];

/// Options every command accepts.
const GLOBAL_OPTIONS: &[&str] = &["--config", "--socket", "--json", "--help", "--version"];

const SIZE_NOTE: &str = "\
SIZE is a number with an optional unit K, M, G or T (powers of 1024: 500M, 2G, 1.5T);
0 means no limit, and `default` returns to the server's default (quota_warn,
quota_soft and quota_hard in server.cfg). The limits must grow: warn <= soft <= hard.
";

static COMMANDS: &[Spec] = &[
    Spec {
        area: "user",
        verb: "add",
        args: "LOGIN --address ADDR [OPTIONS]",
        summary: "create a user with a private store",
        details: "\
Options:
  --address ADDR        primary e-mail address (required)
  --name NAME           display name (default: the login)
  --alias ADDR          a further address; repeat for more
  --admin               make the user an administrator
  --password-file FILE  read the password from the first line of FILE

The password comes from --password-file, else from the first line of stdin when
stdin is not a terminal, else from a prompt at the terminal (asked twice). It is
never taken on the command line, where every user of the host could read it.
",
        options: &["--address", "--name", "--alias", "--admin", "--password-file"],
        parse: parse_user_add,
    },
    Spec {
        area: "user",
        verb: "del",
        args: "LOGIN [--yes]",
        summary: "delete a user, their store and all their mail",
        details: "\
Options:
  -y, --yes   do not ask for confirmation (required when stdin is not a terminal)

This cannot be undone.
",
        options: &["--yes", "-y"],
        parse: parse_user_del,
    },
    Spec {
        area: "user",
        verb: "list",
        args: "",
        summary: "list users: login, name, address, admin flag, store size",
        details: "",
        options: &[],
        parse: parse_user_list,
    },
    Spec {
        area: "user",
        verb: "show",
        args: "LOGIN",
        summary: "show a user: addresses, groups, store size, quota",
        details: "",
        options: &[],
        parse: parse_user_show,
    },
    Spec {
        area: "user",
        verb: "logoff",
        args: "LOGIN",
        summary: "end every session of a user (web app, SOAP and JSON clients log on again)",
        details: "",
        options: &[],
        parse: parse_user_logoff,
    },
    Spec {
        area: "user",
        verb: "set",
        args: "LOGIN [OPTIONS]",
        summary: "change a user's name, addresses, admin flag or password",
        details: "\
Options:
  --name NAME           new display name
  --address ADDR        new primary address
  --alias ADDR          set the aliases to those given (repeat for more); replaces the list
  --clear-aliases       remove every alias
  --admin, --no-admin   set or clear the administrator flag
  --password-file FILE  new password from the first line of FILE
  --password-stdin      new password from the first line of stdin
  --password-prompt     ask for the new password at the terminal

Changing the password or the admin flag ends the user's open sessions.
",
        options: &[
            "--name",
            "--address",
            "--alias",
            "--clear-aliases",
            "--admin",
            "--no-admin",
            "--password-file",
            "--password-stdin",
            "--password-prompt",
        ],
        parse: parse_user_set,
    },
    Spec {
        area: "group",
        verb: "add",
        args: "NAME",
        summary: "create a group",
        details: "",
        options: &[],
        parse: parse_group_add,
    },
    Spec {
        area: "group",
        verb: "del",
        args: "NAME",
        summary: "delete a group (its members stay)",
        details: "",
        options: &[],
        parse: parse_group_del,
    },
    Spec {
        area: "group",
        verb: "list",
        args: "",
        summary: "list groups and their members",
        details: "",
        options: &[],
        parse: parse_group_list,
    },
    Spec {
        area: "group",
        verb: "adduser",
        args: "GROUP LOGIN",
        summary: "add a user to a group",
        details: "The user's open sessions end, so that the new group rights apply at the next logon.\n",
        options: &[],
        parse: parse_group_adduser,
    },
    Spec {
        area: "group",
        verb: "deluser",
        args: "GROUP LOGIN",
        summary: "remove a user from a group",
        details: "The user's open sessions end, so that the group rights are gone at once.\n",
        options: &[],
        parse: parse_group_deluser,
    },
    Spec {
        area: "quota",
        verb: "set",
        args: "LOGIN [OPTIONS]",
        summary: "set a user's quota limits",
        details: "\
Options:
  --warn SIZE   store size at which the user is warned
  --soft SIZE   store size above which the user can no longer send
  --hard SIZE   store size above which mail to the user is refused
",
        options: &["--warn", "--soft", "--hard"],
        parse: parse_quota_set,
    },
    Spec {
        area: "quota",
        verb: "show",
        args: "LOGIN",
        summary: "show a user's quota limits, usage and state",
        details: "",
        options: &[],
        parse: parse_quota_show,
    },
    Spec {
        area: "store",
        verb: "list",
        args: "",
        summary: "list stores: owner, kind, messages, size",
        details: "",
        options: &[],
        parse: parse_store_list,
    },
    Spec {
        area: "oof",
        verb: "show",
        args: "LOGIN",
        summary: "show a user's out-of-office reply: on or off, subject, body, start, end",
        details: "",
        options: &[],
        parse: parse_oof_show,
    },
    Spec {
        area: "oof",
        verb: "set",
        args: "LOGIN [OPTIONS]",
        summary: "change a user's out-of-office reply",
        details: "\
Options:
  --on, --off              turn the replies on or off
  --subject TEXT           reply subject; empty means \"Auto: \" and the original subject
  --body TEXT              reply text
  --body-file FILE         reply text from FILE, all of it (- for stdin)
  --from TIME              replies start at TIME
  --from-now               replies start now (the start becomes the current time)
  --until TIME             replies end at TIME
  --no-until               replies go on until turned off (removes the end)

TIME is an RFC 3339 time with its offset: 2025-07-01T08:00:00+02:00 or
2025-07-01T06:00:00Z. What is not given stays as it was; the end must be after
the start.
",
        options: &[
            "--on",
            "--off",
            "--subject",
            "--body",
            "--body-file",
            "--from",
            "--from-now",
            "--until",
            "--no-until",
        ],
        parse: parse_oof_set,
    },
    Spec {
        area: "sendas",
        verb: "grant",
        args: "LOGIN ADDRESS",
        summary: "let a user send as another address",
        details: "The user may then put ADDRESS in From: besides their own addresses.\n",
        options: &[],
        parse: parse_sendas_grant,
    },
    Spec {
        area: "sendas",
        verb: "revoke",
        args: "LOGIN ADDRESS",
        summary: "withdraw a send-as grant",
        details: "",
        options: &[],
        parse: parse_sendas_revoke,
    },
    Spec {
        area: "sendas",
        verb: "list",
        args: "LOGIN",
        summary: "list the addresses a user may send as besides their own",
        details: "",
        options: &[],
        parse: parse_sendas_list,
    },
    Spec {
        area: "setup",
        verb: "database",
        args: "[OPTIONS]",
        summary: "create the MySQL/MariaDB database and account, write server.cfg.d/00-database.cfg",
        details: "\
Options:
  --host HOST            database server (default localhost)
  --port PORT            its port (default MySQL's)
  --name NAME            database name (default okapi)
  --user USER            database account (default okapi)
  --grant-host HOST      host part of the account created (default localhost; % for any)
  --password-file FILE   the account's password; a new random one is written there
                         when the file does not exist (default /etc/okapi/database-password)
  --no-create            only write the settings; the database and account exist already
  --config-dir DIR       where 00-database.cfg goes (default /etc/okapi/server.cfg.d)
  --dry-run              print the settings and the SQL instead

The database and account are created with the local mysql client as root (MariaDB's
unix_socket authentication), utf8mb4. Debian's packages do this with dbconfig-common.
Runs locally; okapi-server need not be running.
",
        options: &[
            "--host",
            "--port",
            "--name",
            "--user",
            "--grant-host",
            "--password-file",
            "--no-create",
            "--config-dir",
            "--dry-run",
        ],
        parse: parse_setup_database,
    },
    Spec {
        area: "setup",
        verb: "apache",
        args: "[--dry-run]",
        summary: "enable okapi-webapp's Apache configuration and the proxy modules, reload Apache",
        details: "\
Options:
  --dry-run   print the commands instead

Debian: a2enmod proxy proxy_http headers, a2enconf okapi-webapp. RPM systems: httpd
reads /etc/httpd/conf.d/okapi-webapp.conf as it is. Then apachectl configtest and a
reload of Apache.
",
        options: &["--dry-run"],
        parse: parse_setup_apache,
    },
    Spec {
        area: "setup",
        verb: "postfix",
        args: "--domains DOMAINS | --undo | --check [--domains DOMAINS]",
        summary: "deliver mail domains to okapi over LMTP (postconf -e), or undo that",
        details: "\
Options:
  --domains DOMAINS   the mail domains whose mailboxes are in okapi, separated by
                      spaces or commas; they must not be in Postfix's mydestination
  --transport T       Postfix's transport (default lmtp:inet:127.0.0.1:2003)
  --state FILE        record of the previous values (default /var/lib/okapi-server/postfix-changes)
  --undo              put back the recorded values (keys changed since are left alone)
  --check             change nothing: report each setting that keeps mail for DOMAINS
                      (default: those in virtual_mailbox_domains) from reaching okapi,
                      with the command that fixes it; exit status 1 if there is one
  --dry-run           print the postconf commands instead

Sets virtual_transport and virtual_mailbox_domains, and takes the domains out of
mydestination when it names them (also through $myhostname, $mydomain or $myorigin):
a domain there is delivered locally and its users are \"User unknown\". The values
these keys had are recorded once, in the format okapi's Debian package uses, and
restored by --undo or when the package is purged.
",
        options: &["--domains", "--transport", "--state", "--undo", "--check", "--dry-run"],
        parse: parse_setup_postfix,
    },
];

fn find_spec(area: &str, verb: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|s| s.area == area && s.verb == verb)
}

// ---------------------------------------------------------------------------------------------
// Help

/// What `--help` or `help` was asked about.
#[derive(Debug, PartialEq)]
pub(crate) enum Topic {
    /// Everything: the overview.
    All,
    /// The commands of one area (`okapi-admin user --help`).
    Area(&'static str),
    /// One command.
    One(&'static Spec),
}

fn help_text(topic: &Topic) -> String {
    match topic {
        Topic::All => overview(),
        Topic::Area(area) => {
            let specs: Vec<&Spec> = COMMANDS.iter().filter(|s| s.area == *area).collect();
            format!(
                "Usage: {PROGRAM} {area} COMMAND [ARGUMENTS]\n\nCommands:\n{}\n\
                 Run '{PROGRAM} {area} COMMAND --help' for a command's options.\n",
                command_lines(&specs)
            )
        }
        Topic::One(spec) => {
            let mut text = format!("Usage: {PROGRAM} {} {}\n\n", spec.name(), spec.args).replace(" \n", "\n");
            text.push_str(&capitalise(spec.summary));
            text.push_str(".\n");
            if !spec.details.is_empty() {
                text.push('\n');
                text.push_str(spec.details);
            }
            if spec.area == "quota" && spec.verb == "set" {
                text.push('\n');
                text.push_str(SIZE_NOTE);
            }
            text.push_str(&format!(
                "\nGlobal options: --config PATH, --socket PATH, --json (see {PROGRAM} --help).\n"
            ));
            text
        }
    }
}

fn overview() -> String {
    let specs: Vec<&Spec> = COMMANDS.iter().collect();
    let mut exits = String::new();
    for e in Exit::ALL {
        exits.push_str(&format!("  {:<3} {}\n", e.code(), e.meaning()));
    }
    format!(
        "{PROGRAM} {version}: administer okapi-server: users, groups, quotas, stores,
out-of-office replies and send-as grants

Usage: {PROGRAM} [GLOBAL OPTIONS] COMMAND [ARGUMENTS]

Commands:
{commands}
Global options:
  --config PATH   server configuration to find local_socket in (default {DEFAULT_CONFIG})
  --socket PATH   the server's local socket; overrides the configuration
  --json          print the server's answer as JSON
  -h, --help      this text; after a command, that command's options
  -V, --version   the version

{PROGRAM} talks to okapi-server over its local socket, where the server trusts
root and its own user (the okapi user): run it as one of them. The setup
commands configure this host's MySQL/MariaDB, Apache and Postfix for okapi
instead, as root, without the server.

Exit status:
{exits}",
        version = env!("CARGO_PKG_VERSION"),
        commands = command_lines(&specs),
    )
}

/// The aligned "words args   summary" lines of an overview.
fn command_lines(specs: &[&Spec]) -> String {
    let left: Vec<String> = specs
        .iter()
        .map(|s| format!("{} {}", s.name(), s.args).trim_end().to_string())
        .collect();
    let width = left.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut text = String::new();
    for (l, s) in left.iter().zip(specs) {
        text.push_str(&format!("  {l:<width$}  {}\n", s.summary));
    }
    text.push_str(&format!(
        "  {:<width$}  {}\n",
        "help [COMMAND]", "this text, or a command's options"
    ));
    text
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// What the command line asked for, checked but not yet acted on.
#[derive(Debug, PartialEq)]
pub(crate) struct Invocation {
    /// Options every command takes.
    pub globals: Globals,
    /// The command.
    pub command: Command,
}

/// Options every command takes, wherever they appear on the line.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Globals {
    /// `--config PATH`: where to read `local_socket`.
    pub config: Option<PathBuf>,
    /// `--socket PATH`: the socket itself; the configuration is then not read.
    pub socket: Option<PathBuf>,
    /// `--json`: print the server's answer as it came.
    pub json: bool,
}

/// One command with its arguments.
#[derive(Debug, PartialEq)]
pub(crate) enum Command {
    /// `help`, `--help`.
    Help(Topic),
    /// `--version`.
    Version,
    /// `user add`.
    UserAdd(UserAdd),
    /// `user del`.
    UserDel {
        /// The user.
        login: String,
        /// `--yes`: no confirmation.
        yes: bool,
    },
    /// `user list`.
    UserList,
    /// `user show`.
    UserShow {
        /// The user.
        login: String,
    },
    /// `user logoff`.
    UserLogoff {
        /// The user.
        login: String,
    },
    /// `user set`.
    UserSet(UserSet),
    /// `group add`.
    GroupAdd {
        /// The group.
        name: String,
    },
    /// `group del`.
    GroupDel {
        /// The group.
        name: String,
    },
    /// `group list`.
    GroupList,
    /// `group adduser`.
    GroupAddUser {
        /// The group.
        group: String,
        /// The user.
        login: String,
    },
    /// `group deluser`.
    GroupDelUser {
        /// The group.
        group: String,
        /// The user.
        login: String,
    },
    /// `quota set`.
    QuotaSet(QuotaSet),
    /// `quota show`.
    QuotaShow {
        /// The user.
        login: String,
    },
    /// `store list`.
    StoreList,
    /// `oof show`.
    OofShow {
        /// The user.
        login: String,
    },
    /// `oof set`.
    OofSet(OofSet),
    /// `sendas grant`.
    SendAsGrant {
        /// The user who may send.
        login: String,
        /// The address they may send as.
        address: String,
    },
    /// `sendas revoke`.
    SendAsRevoke {
        /// The user.
        login: String,
        /// The address they may no longer send as.
        address: String,
    },
    /// `sendas list`.
    SendAsList {
        /// The user.
        login: String,
    },
    /// `setup database|apache|postfix`.
    Setup(setup::Task),
}

/// Arguments of `user add`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UserAdd {
    /// Login name.
    pub login: String,
    /// Primary address.
    pub address: String,
    /// Display name.
    pub name: Option<String>,
    /// Further addresses.
    pub aliases: Vec<String>,
    /// Administrator flag.
    pub admin: bool,
    /// `--password-file`; without it, stdin or a prompt.
    pub password_file: Option<PathBuf>,
}

/// Arguments of `user set`: `None` leaves a setting as it is.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct UserSet {
    /// Login name.
    pub login: String,
    /// New display name.
    pub name: Option<String>,
    /// New primary address.
    pub address: Option<String>,
    /// New alias list (empty with `--clear-aliases`).
    pub aliases: Option<Vec<String>>,
    /// New administrator flag.
    pub admin: Option<bool>,
    /// Where the new password comes from.
    pub password: Option<PasswordSource>,
}

/// Arguments of `quota set`: `None` leaves a limit as it is.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct QuotaSet {
    /// Login name.
    pub login: String,
    /// Warning limit.
    pub warn: Option<Limit>,
    /// Soft limit.
    pub soft: Option<Limit>,
    /// Hard limit.
    pub hard: Option<Limit>,
}

/// Arguments of `oof set`: `None` leaves a setting as it is.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct OofSet {
    /// Login name.
    pub login: String,
    /// `--on` (true) or `--off`.
    pub enabled: Option<bool>,
    /// New reply subject.
    pub subject: Option<String>,
    /// New reply text, or where it comes from.
    pub body: Option<OofBody>,
    /// New start: `--from TIME` or `--from-now`.
    pub start: Option<OofTime>,
    /// New end: `--until TIME` or `--no-until`.
    pub end: Option<OofTime>,
}

/// A mistake on the command line, with the command it concerns (for the pointer to its help).
#[derive(Debug, PartialEq)]
pub(crate) struct UsageError {
    command: Option<&'static Spec>,
    message: String,
}

impl UsageError {
    fn new(command: Option<&'static Spec>, message: impl Into<String>) -> UsageError {
        UsageError {
            command,
            message: message.into(),
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.command {
            Some(spec) => write!(
                f,
                "{}: {}; see '{PROGRAM} {} --help'",
                spec.name(),
                self.message,
                spec.name()
            ),
            None => write!(f, "{}; see '{PROGRAM} --help'", self.message),
        }
    }
}

/// Why `--password` is refused, wherever it appears.
const PASSWORD_REFUSED: &str = "--password is not accepted: a password on the command line can be read by every user \
     of this host (ps, /proc) and stays in the shell history. Put it in the first line of a file for \
     --password-file FILE, pipe it on stdin (user set: --password-stdin), or type it when asked \
     (user set: --password-prompt)";

/// One item of the command line.
#[derive(Debug, PartialEq)]
enum Token {
    /// An option name, `--address` or `-y` (a `--name=value` value is kept for [`Args::value`]).
    Opt(String),
    /// Anything else.
    Pos(String),
}

/// The command line as a stream of [`Token`]s. `--opt=value` is split in two; after `--`
/// everything is positional.
struct Args {
    rest: VecDeque<String>,
    /// The value of the last `--opt=value`, until [`Args::value`] takes it.
    pending: Option<(String, String)>,
    only_positionals: bool,
}

impl Args {
    fn new(args: Vec<String>) -> Args {
        Args {
            rest: args.into(),
            pending: None,
            only_positionals: false,
        }
    }

    /// True when `-h` or `--help` comes before any `--`.
    fn wants_help(&self) -> bool {
        self.rest
            .iter()
            .take_while(|a| *a != "--")
            .any(|a| a == "-h" || a == "--help")
    }

    fn next(&mut self) -> Result<Option<Token>, String> {
        if let Some((opt, _)) = self.pending.take() {
            return Err(format!("{opt} takes no value"));
        }
        let Some(arg) = self.rest.pop_front() else {
            return Ok(None);
        };
        if self.only_positionals || arg == "-" || !arg.starts_with('-') {
            return Ok(Some(Token::Pos(arg)));
        }
        if arg == "--" {
            self.only_positionals = true;
            return self.next();
        }
        let name = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                self.pending = Some((name.to_string(), value.to_string()));
                name.to_string()
            }
            _ => arg,
        };
        if name == "--password" {
            return Err(PASSWORD_REFUSED.to_string());
        }
        Ok(Some(Token::Opt(name)))
    }

    /// The value of the option just returned by [`Args::next`].
    fn value(&mut self, opt: &str) -> Result<String, String> {
        if let Some((_, value)) = self.pending.take() {
            return Ok(value);
        }
        match self.rest.front() {
            Some(v) if !(v.starts_with("--") && v.len() > 2) => Ok(self.rest.pop_front().unwrap_or_default()),
            Some(v) => Err(format!("{opt} needs a value, but {v} follows it")),
            None => Err(format!("{opt} needs a value")),
        }
    }

    /// Consumes a global option; false when `opt` is not one.
    fn global(&mut self, opt: &str, globals: &mut Globals) -> Result<bool, String> {
        match opt {
            "--config" => globals.config = Some(PathBuf::from(self.value(opt)?)),
            "--socket" => globals.socket = Some(PathBuf::from(self.value(opt)?)),
            "--json" => globals.json = true,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// Parses okapi-admin's arguments (without the program name).
pub(crate) fn parse_args(args: Vec<String>) -> Result<Invocation, UsageError> {
    let mut args = Args::new(args);
    let mut globals = Globals::default();
    let help = args.wants_help();
    let top = |m: String| UsageError::new(None, m);

    // The command's words, with global options allowed before and between them.
    let mut words: Vec<String> = Vec::new();
    while words.len() < 2 && words.first().is_none_or(|w| w != "help") {
        match args.next().map_err(top)? {
            None => break,
            Some(Token::Pos(w)) => words.push(w),
            Some(Token::Opt(o)) => match o.as_str() {
                "-h" | "--help" => {}
                "-V" | "--version" => {
                    return Ok(Invocation {
                        globals,
                        command: Command::Version,
                    });
                }
                _ if args.global(&o, &mut globals).map_err(top)? => {}
                _ => return Err(top(unknown_option(&o, GLOBAL_OPTIONS))),
            },
        }
    }
    let command = match words.as_slice() {
        [] if help => Command::Help(Topic::All),
        [] => {
            return Err(top(format!(
                "no command given; the commands are {}, help",
                AREAS.join(", ")
            )));
        }
        [help_word] if help_word == "help" => Command::Help(help_topic(&mut args, &mut globals)?),
        [area, rest @ ..] => {
            let Some(area) = known_area(area) else {
                let mut m = format!("unknown command {area:?}");
                if let Some(s) = suggest(area, AREAS.iter().copied().chain(["help"])) {
                    m.push_str(&format!(" (did you mean {s}?)"));
                }
                m.push_str(&format!("; the commands are {}, help", AREAS.join(", ")));
                return Err(top(m));
            };
            let Some(verb) = rest.first() else {
                if help {
                    return Ok(Invocation {
                        globals,
                        command: Command::Help(Topic::Area(area)),
                    });
                }
                return Err(top(format!("{area} needs a subcommand: {}", verbs(area).join(", "))));
            };
            let Some(spec) = find_spec(area, verb) else {
                let mut m = format!("unknown command \"{area} {verb}\"");
                if let Some(s) = suggest(verb, verbs(area)) {
                    m.push_str(&format!(" (did you mean \"{area} {s}\"?)"));
                }
                m.push_str(&format!("; {area} has {}", verbs(area).join(", ")));
                return Err(top(m));
            };
            if help {
                Command::Help(Topic::One(spec))
            } else {
                let mut cx = Cx {
                    args: &mut args,
                    globals: &mut globals,
                    spec,
                    positionals: Vec::new(),
                };
                (spec.parse)(&mut cx)?
            }
        }
    };
    Ok(Invocation { globals, command })
}

/// The `'static` spelling of an area name, if it is one.
fn known_area(word: &str) -> Option<&'static str> {
    AREAS.iter().copied().find(|a| *a == word)
}

fn verbs(area: &str) -> Vec<&'static str> {
    COMMANDS.iter().filter(|s| s.area == area).map(|s| s.verb).collect()
}

/// `help [AREA [VERB]]`.
fn help_topic(args: &mut Args, globals: &mut Globals) -> Result<Topic, UsageError> {
    let mut words = Vec::new();
    while let Some(t) = args.next().map_err(|m| UsageError::new(None, m))? {
        match t {
            Token::Pos(w) => words.push(w),
            Token::Opt(o) if args.global(&o, globals).map_err(|m| UsageError::new(None, m))? => {}
            Token::Opt(_) => {}
        }
    }
    let topic = match words.as_slice() {
        [] => Some(Topic::All),
        [area] => known_area(area).map(Topic::Area),
        [area, verb] => find_spec(area, verb).map(Topic::One),
        _ => None,
    };
    topic.ok_or_else(|| UsageError::new(None, format!("there is no command \"{}\" to explain", words.join(" "))))
}

fn unknown_option(opt: &str, known: &[&str]) -> String {
    match suggest(opt, known.iter().copied()) {
        Some(s) => format!("unknown option {opt} (did you mean {s}?)"),
        None => format!("unknown option {opt}"),
    }
}

/// The candidate closest to `word`, if it is close enough to be a typo.
fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Edit distance by characters, counting a swap of neighbours as one edit (optimal string
/// alignment): "lsit" is one step from "list".
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The parser of one command's arguments: hands out the command's options one by one, consumes
/// the global options wherever they appear, and collects the positionals.
pub(crate) struct Cx<'a> {
    args: &'a mut Args,
    globals: &'a mut Globals,
    spec: &'static Spec,
    positionals: Vec<String>,
}

impl Cx<'_> {
    fn error(&self, message: impl Into<String>) -> UsageError {
        UsageError::new(Some(self.spec), message)
    }

    /// The next option of the command, or `None` at the end of the line.
    fn next_option(&mut self) -> Result<Option<String>, UsageError> {
        loop {
            match self.args.next().map_err(|m| self.error(m))? {
                None => return Ok(None),
                Some(Token::Pos(p)) => self.positionals.push(p),
                Some(Token::Opt(o)) => {
                    if !self.args.global(&o, self.globals).map_err(|m| self.error(m))? {
                        return Ok(Some(o));
                    }
                }
            }
        }
    }

    /// The value of the option just returned.
    fn value(&mut self, opt: &str) -> Result<String, UsageError> {
        self.args.value(opt).map_err(|m| self.error(m))
    }

    /// The error for an option the command does not know.
    fn unknown(&self, opt: &str) -> UsageError {
        let known: Vec<&str> = self.spec.options.iter().chain(GLOBAL_OPTIONS).copied().collect();
        self.error(unknown_option(opt, &known))
    }

    /// The positionals, exactly as many as `names`.
    fn positionals<const N: usize>(&mut self, names: [&str; N]) -> Result<[String; N], UsageError> {
        let got = self.positionals.len();
        if got < N {
            return Err(self.error(format!("{} is missing", names[got])));
        }
        if got > N {
            return Err(self.error(format!("unexpected argument {:?}", self.positionals[N])));
        }
        std::mem::take(&mut self.positionals)
            .try_into()
            .map_err(|_| self.error("internal error counting arguments"))
    }

    /// Reads the rest of a command that takes no options.
    fn plain<const N: usize>(&mut self, names: [&str; N]) -> Result<[String; N], UsageError> {
        if let Some(opt) = self.next_option()? {
            return Err(self.unknown(&opt));
        }
        self.positionals(names)
    }
}

fn parse_user_add(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut a = UserAdd::default();
    let mut address = None;
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--address" => address = Some(cx.value(&opt)?),
            "--name" => a.name = Some(cx.value(&opt)?),
            "--alias" => a.aliases.push(cx.value(&opt)?),
            "--admin" => a.admin = true,
            "--password-file" => a.password_file = Some(PathBuf::from(cx.value(&opt)?)),
            _ => return Err(cx.unknown(&opt)),
        }
    }
    let [login] = cx.positionals(["LOGIN"])?;
    a.login = login;
    a.address = address.ok_or_else(|| cx.error("--address ADDR is required: every user needs a primary address"))?;
    Ok(Command::UserAdd(a))
}

fn parse_user_del(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut yes = false;
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--yes" | "-y" => yes = true,
            _ => return Err(cx.unknown(&opt)),
        }
    }
    let [login] = cx.positionals(["LOGIN"])?;
    Ok(Command::UserDel { login, yes })
}

fn parse_user_list(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    cx.plain([])?;
    Ok(Command::UserList)
}

fn parse_user_logoff(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login] = cx.plain(["LOGIN"])?;
    Ok(Command::UserLogoff { login })
}

fn parse_user_show(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login] = cx.plain(["LOGIN"])?;
    Ok(Command::UserShow { login })
}

fn parse_user_set(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut a = UserSet::default();
    let mut aliases: Vec<String> = Vec::new();
    let mut clear_aliases = false;
    let mut sources: Vec<(String, PasswordSource)> = Vec::new();
    let mut admin_flags: Vec<String> = Vec::new();
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--name" => a.name = Some(cx.value(&opt)?),
            "--address" => a.address = Some(cx.value(&opt)?),
            "--alias" => aliases.push(cx.value(&opt)?),
            "--clear-aliases" => clear_aliases = true,
            "--admin" => {
                a.admin = Some(true);
                admin_flags.push(opt);
            }
            "--no-admin" => {
                a.admin = Some(false);
                admin_flags.push(opt);
            }
            "--password-file" => {
                let file = PathBuf::from(cx.value(&opt)?);
                sources.push((opt, PasswordSource::File(file)));
            }
            "--password-stdin" => sources.push((opt, PasswordSource::Stdin)),
            "--password-prompt" => sources.push((opt, PasswordSource::Prompt)),
            _ => return Err(cx.unknown(&opt)),
        }
    }
    let [login] = cx.positionals(["LOGIN"])?;
    a.login = login;
    if admin_flags.iter().any(|f| f == "--admin") && admin_flags.iter().any(|f| f == "--no-admin") {
        return Err(cx.error("--admin and --no-admin contradict each other; give one"));
    }
    if clear_aliases && !aliases.is_empty() {
        return Err(cx.error(
            "--clear-aliases and --alias together: --alias already replaces the whole list, so give only --alias",
        ));
    }
    if clear_aliases || !aliases.is_empty() {
        a.aliases = Some(aliases);
    }
    if sources.len() > 1 {
        let names: Vec<&str> = sources.iter().map(|(n, _)| n.as_str()).collect();
        return Err(cx.error(format!("{} each give the password; choose one", names.join(" and "))));
    }
    a.password = sources.pop().map(|(_, s)| s);
    let unchanged = UserSet {
        login: a.login.clone(),
        ..UserSet::default()
    };
    if a == unchanged {
        return Err(cx.error(
            "nothing to change; give at least one of --name, --address, --alias, --clear-aliases, \
             --admin, --no-admin, --password-file, --password-stdin, --password-prompt",
        ));
    }
    Ok(Command::UserSet(a))
}

fn parse_group_add(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [name] = cx.plain(["NAME"])?;
    Ok(Command::GroupAdd { name })
}

fn parse_group_del(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [name] = cx.plain(["NAME"])?;
    Ok(Command::GroupDel { name })
}

fn parse_group_list(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    cx.plain([])?;
    Ok(Command::GroupList)
}

fn parse_group_adduser(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [group, login] = cx.plain(["GROUP", "LOGIN"])?;
    Ok(Command::GroupAddUser { group, login })
}

fn parse_group_deluser(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [group, login] = cx.plain(["GROUP", "LOGIN"])?;
    Ok(Command::GroupDelUser { group, login })
}

fn parse_quota_set(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut a = QuotaSet::default();
    while let Some(opt) = cx.next_option()? {
        let slot = match opt.as_str() {
            "--warn" => &mut a.warn,
            "--soft" => &mut a.soft,
            "--hard" => &mut a.hard,
            _ => return Err(cx.unknown(&opt)),
        };
        let text = cx.value(&opt)?;
        *slot = Some(commands::parse_limit(&text).map_err(|m| cx.error(format!("{opt}: {m}")))?);
    }
    let [login] = cx.positionals(["LOGIN"])?;
    a.login = login;
    if a.warn.is_none() && a.soft.is_none() && a.hard.is_none() {
        return Err(cx.error("nothing to change; give at least one of --warn, --soft, --hard"));
    }
    Ok(Command::QuotaSet(a))
}

fn parse_quota_show(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login] = cx.plain(["LOGIN"])?;
    Ok(Command::QuotaShow { login })
}

fn parse_setup_database(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let name = |cx: &Cx<'_>, what: &str, v: &str| setup::Name::parse(what, v).map_err(|m| cx.error(m));
    let mut d = setup::Database {
        host: name(cx, "host", "localhost")?,
        port: None,
        name: name(cx, "database name", "okapi")?,
        user: name(cx, "user", "okapi")?,
        grant_host: name(cx, "host", "localhost")?,
        password_file: PathBuf::from(setup::PASSWORD_FILE),
        create: true,
        config_dir: PathBuf::from(setup::CONFIG_DIR),
        dry_run: false,
    };
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--host" => {
                let v = cx.value(&opt)?;
                d.host = name(cx, "host", &v)?;
            }
            "--port" => {
                let v = cx.value(&opt)?;
                d.port = Some(
                    v.parse()
                        .map_err(|_| cx.error(format!("--port {v:?} is not a port number")))?,
                );
            }
            "--name" => {
                let v = cx.value(&opt)?;
                d.name = name(cx, "database name", &v)?;
            }
            "--user" => {
                let v = cx.value(&opt)?;
                d.user = name(cx, "user", &v)?;
            }
            "--grant-host" => {
                let v = cx.value(&opt)?;
                d.grant_host = name(cx, "host", &v)?;
            }
            "--password-file" => d.password_file = PathBuf::from(cx.value(&opt)?),
            "--no-create" => d.create = false,
            "--config-dir" => d.config_dir = PathBuf::from(cx.value(&opt)?),
            "--dry-run" => d.dry_run = true,
            _ => return Err(cx.unknown(&opt)),
        }
    }
    cx.positionals([])?;
    Ok(Command::Setup(setup::Task::Database(d)))
}

fn parse_setup_apache(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut dry_run = false;
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--dry-run" => dry_run = true,
            _ => return Err(cx.unknown(&opt)),
        }
    }
    cx.positionals([])?;
    Ok(Command::Setup(setup::Task::Apache { dry_run }))
}

fn parse_setup_postfix(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut p = setup::Postfix {
        domains: Vec::new(),
        transport: setup::LMTP_TRANSPORT.to_string(),
        state: PathBuf::from(setup::POSTFIX_STATE),
        undo: false,
        check: false,
        dry_run: false,
    };
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--domains" => {
                let v = cx.value(&opt)?;
                for d in v.split([' ', ',', '\t']).filter(|d| !d.is_empty()) {
                    p.domains
                        .push(setup::Name::parse("domain", d).map_err(|m| cx.error(m))?);
                }
            }
            "--transport" => p.transport = cx.value(&opt)?,
            "--state" => p.state = PathBuf::from(cx.value(&opt)?),
            "--undo" => p.undo = true,
            "--check" => p.check = true,
            "--dry-run" => p.dry_run = true,
            _ => return Err(cx.unknown(&opt)),
        }
    }
    cx.positionals([])?;
    if p.undo && (p.check || !p.domains.is_empty()) {
        return Err(cx.error("--undo takes no --domains and no --check"));
    }
    if !p.undo && !p.check && p.domains.is_empty() {
        return Err(cx.error("--domains is missing (or --undo, or --check)"));
    }
    if p.transport.is_empty() || p.transport.contains(char::is_whitespace) {
        return Err(cx.error(format!("--transport {:?} is not a Postfix transport", p.transport)));
    }
    Ok(Command::Setup(setup::Task::Postfix(p)))
}

fn parse_store_list(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    cx.plain([])?;
    Ok(Command::StoreList)
}

fn parse_oof_show(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login] = cx.plain(["LOGIN"])?;
    Ok(Command::OofShow { login })
}

fn parse_oof_set(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let mut a = OofSet::default();
    // Every option given, to name contradictions: `--on --off`, `--body --body-file`, ...
    let mut given: Vec<String> = Vec::new();
    while let Some(opt) = cx.next_option()? {
        match opt.as_str() {
            "--on" => a.enabled = Some(true),
            "--off" => a.enabled = Some(false),
            "--subject" => a.subject = Some(cx.value(&opt)?),
            "--body" => a.body = Some(OofBody::Text(cx.value(&opt)?)),
            "--body-file" => a.body = Some(OofBody::File(PathBuf::from(cx.value(&opt)?))),
            "--from" | "--until" => {
                let text = cx.value(&opt)?;
                let time = commands::parse_rfc3339(&text).map_err(|m| cx.error(format!("{opt}: {m}")))?;
                let slot = if opt == "--from" { &mut a.start } else { &mut a.end };
                *slot = Some(OofTime::At(time));
            }
            "--from-now" => a.start = Some(OofTime::Now),
            "--no-until" => a.end = Some(OofTime::Unset),
            _ => return Err(cx.unknown(&opt)),
        }
        given.push(opt);
    }
    let [login] = cx.positionals(["LOGIN"])?;
    a.login = login;
    for pair in [
        ["--on", "--off"],
        ["--body", "--body-file"],
        ["--from", "--from-now"],
        ["--until", "--no-until"],
    ] {
        if pair.iter().all(|o| given.iter().any(|g| g == o)) {
            return Err(cx.error(format!("{} and {} contradict each other; give one", pair[0], pair[1])));
        }
    }
    for once in ["--subject", "--body", "--body-file", "--from", "--until"] {
        if given.iter().filter(|g| *g == once).count() > 1 {
            return Err(cx.error(format!("{once} is given more than once; give it once")));
        }
    }
    if let (Some(OofTime::At(from)), Some(OofTime::At(until))) = (a.start, a.end)
        && until <= from
    {
        return Err(cx.error("the --until time is not after the --from time; the end must follow the start"));
    }
    let unchanged = OofSet {
        login: a.login.clone(),
        ..OofSet::default()
    };
    if a == unchanged {
        return Err(cx.error(
            "nothing to change; give at least one of --on, --off, --subject, --body, --body-file, \
             --from, --from-now, --until, --no-until",
        ));
    }
    Ok(Command::OofSet(a))
}

fn parse_sendas_grant(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login, address] = cx.plain(["LOGIN", "ADDRESS"])?;
    Ok(Command::SendAsGrant { login, address })
}

fn parse_sendas_revoke(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login, address] = cx.plain(["LOGIN", "ADDRESS"])?;
    Ok(Command::SendAsRevoke { login, address })
}

fn parse_sendas_list(cx: &mut Cx<'_>) -> Result<Command, UsageError> {
    let [login] = cx.plain(["LOGIN"])?;
    Ok(Command::SendAsList { login })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Invocation, UsageError> {
        parse_args(line.split_whitespace().map(String::from).collect())
    }

    fn command(line: &str) -> Command {
        parse(line).unwrap().command
    }

    fn error(line: &str) -> String {
        parse(line).unwrap_err().to_string()
    }

    /// `setup database` has defaults for everything and checks names before anything runs.
    #[test]
    fn setup_database_defaults_and_checks() {
        let Command::Setup(setup::Task::Database(d)) = command("setup database") else {
            panic!("not setup database");
        };
        assert_eq!(
            (d.host.to_string(), d.name.to_string(), d.user.to_string()),
            ("localhost".into(), "okapi".into(), "okapi".into())
        );
        assert!(d.create && !d.dry_run && d.port.is_none());
        assert_eq!(d.password_file, PathBuf::from("/etc/okapi/database-password"));
        let Command::Setup(setup::Task::Database(d)) =
            command("setup database --host db.example.org --port 3307 --grant-host % --no-create --dry-run")
        else {
            panic!("not setup database");
        };
        assert_eq!(d.port, Some(3307));
        assert_eq!(d.grant_host.to_string(), "%");
        assert!(!d.create && d.dry_run);
        assert!(error("setup database --name ok;drop").contains("only letters"));
        assert!(error("setup database --port x").contains("not a port number"));
        assert!(error("setup database --hots x").contains("did you mean --host?"));
    }

    /// `setup postfix` takes domains separated by spaces or commas, or `--undo`, not both; `--check`
    /// with or without domains.
    #[test]
    fn setup_postfix_domains_or_undo() {
        let inv = parse_args(vec![
            "setup".into(),
            "postfix".into(),
            "--domains".into(),
            "example.org, example.net".into(),
        ])
        .unwrap();
        let Command::Setup(setup::Task::Postfix(p)) = inv.command else {
            panic!("not setup postfix");
        };
        let domains: Vec<String> = p.domains.iter().map(ToString::to_string).collect();
        assert_eq!(domains, ["example.org", "example.net"]);
        assert_eq!(p.transport, "lmtp:inet:127.0.0.1:2003");
        assert!(matches!(
            command("setup postfix --undo"),
            Command::Setup(setup::Task::Postfix(setup::Postfix { undo: true, .. }))
        ));
        assert!(error("setup postfix").contains("--domains is missing"));
        assert!(error("setup postfix --undo --domains a.org").contains("--undo takes no --domains"));
        assert!(error("setup postfix --domains a'b").contains("only letters"));
        // --check needs no domains, and takes them to check those.
        assert!(matches!(
            command("setup postfix --check"),
            Command::Setup(setup::Task::Postfix(setup::Postfix { check: true, ref domains, .. })) if domains.is_empty()
        ));
        assert!(matches!(
            command("setup postfix --check --domains example.org"),
            Command::Setup(setup::Task::Postfix(setup::Postfix { check: true, ref domains, .. })) if domains.len() == 1
        ));
        assert!(error("setup postfix --undo --check").contains("no --check"));
        assert_eq!(
            command("setup apache --dry-run"),
            Command::Setup(setup::Task::Apache { dry_run: true })
        );
        assert!(error("setup nginx").contains("setup has database, apache, postfix"));
    }

    #[test]
    fn user_add_takes_its_options_in_any_order() {
        let inv =
            parse("--socket /tmp/s user add alice --alias a@x --address alice@x --admin --alias b@x --json").unwrap();
        assert_eq!(inv.globals.socket, Some(PathBuf::from("/tmp/s")));
        assert!(inv.globals.json);
        assert_eq!(
            inv.command,
            Command::UserAdd(UserAdd {
                login: "alice".into(),
                address: "alice@x".into(),
                name: None,
                aliases: vec!["a@x".into(), "b@x".into()],
                admin: true,
                password_file: None,
            })
        );
    }

    #[test]
    fn values_may_follow_an_equals_sign() {
        let Command::UserAdd(a) = command("user add bob --address=bob@x --password-file=/tmp/pw") else {
            panic!("not user add");
        };
        assert_eq!(a.address, "bob@x");
        assert_eq!(a.password_file, Some(PathBuf::from("/tmp/pw")));
        assert!(error("user add bob --address x --admin=yes").contains("--admin takes no value"));
    }

    #[test]
    fn display_names_with_spaces_survive() {
        let args = ["user", "add", "carol", "--address", "c@x", "--name", "Carol Example"];
        let inv = parse_args(args.iter().map(|s| s.to_string()).collect()).unwrap();
        let Command::UserAdd(a) = inv.command else {
            panic!("not user add");
        };
        assert_eq!(a.name.as_deref(), Some("Carol Example"));
    }

    #[test]
    fn missing_pieces_are_named() {
        assert_eq!(
            error("user add"),
            "user add: LOGIN is missing; see 'okapi-admin user add --help'"
        );
        assert!(error("user add alice").contains("--address ADDR is required"));
        assert!(error("user add alice --address").contains("--address needs a value"));
        assert!(error("user add alice --address --admin").contains("--address needs a value, but --admin follows"));
        assert!(error("group adduser staff").contains("LOGIN is missing"));
        assert!(error("user show alice bob").contains("unexpected argument \"bob\""));
    }

    #[test]
    fn unknown_options_are_named_with_a_suggestion() {
        assert_eq!(
            error("user add alice --adress a@x"),
            "user add: unknown option --adress (did you mean --address?); see 'okapi-admin user add --help'"
        );
        assert!(error("user list --frobnicate").contains("unknown option --frobnicate;"));
        assert!(error("--sockte /x user list").contains("(did you mean --socket?)"));
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        assert!(error("frob").starts_with("unknown command \"frob\"; the commands are user, group, quota, store"));
        assert!(error("usr list").contains("did you mean user?"));
        assert!(error("user lsit").contains("did you mean \"user list\"?"));
        assert!(error("user").contains("user needs a subcommand: add, del, list, show, logoff, set"));
        assert!(error("").contains("no command given"));
    }

    #[test]
    fn a_password_argument_is_refused_with_the_reason() {
        for line in [
            "user add alice --address a@x --password secret",
            "user set alice --password=secret",
            "--password x user list",
        ] {
            let e = error(line);
            assert!(e.contains("--password is not accepted"), "{line}: {e}");
            assert!(e.contains("--password-file"), "{line}: {e}");
        }
    }

    #[test]
    fn user_del_and_yes() {
        assert_eq!(
            command("user del bob"),
            Command::UserDel {
                login: "bob".into(),
                yes: false
            }
        );
        assert_eq!(
            command("user del -y bob"),
            Command::UserDel {
                login: "bob".into(),
                yes: true
            }
        );
    }

    #[test]
    fn user_set_checks_its_combinations() {
        let Command::UserSet(a) = command("user set bob --no-admin --clear-aliases --password-stdin") else {
            panic!("not user set");
        };
        assert_eq!(a.admin, Some(false));
        assert_eq!(a.aliases, Some(vec![]));
        assert_eq!(a.password, Some(PasswordSource::Stdin));
        assert!(error("user set bob").contains("nothing to change"));
        assert!(error("user set bob --admin --no-admin").contains("contradict"));
        assert!(error("user set bob --alias a --clear-aliases").contains("--alias already replaces"));
        assert!(error("user set bob --password-stdin --password-prompt").contains("choose one"));
    }

    #[test]
    fn quota_set_parses_sizes() {
        let Command::QuotaSet(q) = command("quota set bob --warn 450M --soft default --hard 0") else {
            panic!("not quota set");
        };
        assert_eq!(q.warn, Some(Limit::Bytes(450 << 20)));
        assert_eq!(q.soft, Some(Limit::ServerDefault));
        assert_eq!(q.hard, Some(Limit::Bytes(0)));
        assert!(error("quota set bob --warn lots").starts_with("quota set: --warn: "));
        assert!(error("quota set bob").contains("nothing to change"));
    }

    #[test]
    fn oof_set_takes_every_setting() {
        let args = [
            "oof",
            "set",
            "alice",
            "--on",
            "--subject",
            "Away until July",
            "--body-file",
            "/tmp/reply.txt",
            "--from",
            "2025-07-01T08:00:00+02:00",
            "--until=2025-07-15T06:00:00Z",
        ];
        let inv = parse_args(args.iter().map(|s| s.to_string()).collect()).unwrap();
        assert_eq!(
            inv.command,
            Command::OofSet(OofSet {
                login: "alice".into(),
                enabled: Some(true),
                subject: Some("Away until July".into()),
                body: Some(OofBody::File(PathBuf::from("/tmp/reply.txt"))),
                start: Some(OofTime::At(1_751_349_600_000_000)),
                end: Some(OofTime::At(1_752_559_200_000_000)),
            })
        );
        let Command::OofSet(a) = command("oof set bob --off --body Gone --from-now --no-until") else {
            panic!("not oof set");
        };
        assert_eq!(a.enabled, Some(false));
        assert_eq!(a.subject, None);
        assert_eq!(a.body, Some(OofBody::Text("Gone".into())));
        assert_eq!((a.start, a.end), (Some(OofTime::Now), Some(OofTime::Unset)));
        let Command::OofSet(a) = command("oof set bob --body-file -") else {
            panic!("not oof set");
        };
        assert_eq!(a.body, Some(OofBody::File(PathBuf::from("-"))));
        assert_eq!(command("oof show bob"), Command::OofShow { login: "bob".into() });
    }

    #[test]
    fn oof_set_checks_its_combinations() {
        assert!(error("oof set bob").contains("nothing to change"));
        assert!(error("oof set").contains("LOGIN is missing"));
        assert!(error("oof set bob --on --off").contains("--on and --off contradict"));
        assert!(error("oof set bob --body x --body-file f").contains("--body and --body-file contradict"));
        assert!(
            error("oof set bob --from 2025-07-01T00:00:00Z --from-now").contains("--from and --from-now contradict")
        );
        assert!(error("oof set bob --until 2025-07-01T00:00:00Z --no-until").contains("contradict"));
        assert!(error("oof set bob --subject a --subject b").contains("--subject is given more than once"));
        assert!(
            error("oof set bob --from 2025-07-02T00:00:00Z --until 2025-07-01T00:00:00Z")
                .contains("the end must follow the start")
        );
        assert!(
            error("oof set bob --from 2025-07-01T02:00:00+02:00 --until 2025-07-01T00:00:00Z")
                .contains("the end must follow the start"),
            "the same instant is not after itself"
        );
        let e = error("oof set bob --until 2025-07-01");
        assert!(
            e.starts_with("oof set: --until: \"2025-07-01\" is not an RFC 3339 time"),
            "{e}"
        );
        assert!(error("oof set bob --from").contains("--from needs a value"));
        assert!(error("oof set bob --subjet x").contains("(did you mean --subject?)"));
        assert!(error("oof show").contains("LOGIN is missing"));
    }

    #[test]
    fn sendas_commands() {
        assert_eq!(
            command("sendas grant alice sales@example.org"),
            Command::SendAsGrant {
                login: "alice".into(),
                address: "sales@example.org".into()
            }
        );
        assert_eq!(
            command("sendas revoke alice sales@example.org --json"),
            Command::SendAsRevoke {
                login: "alice".into(),
                address: "sales@example.org".into()
            }
        );
        assert_eq!(
            command("sendas list alice"),
            Command::SendAsList { login: "alice".into() }
        );
        assert!(error("sendas grant alice").contains("ADDRESS is missing"));
        assert!(error("sendas list alice bob").contains("unexpected argument \"bob\""));
        assert!(error("sendas allow alice x@y").contains("sendas has grant, revoke, list"));
        assert!(error("sendsa list alice").contains("did you mean sendas?"));
    }

    #[test]
    fn help_in_every_place() {
        assert_eq!(command("--help"), Command::Help(Topic::All));
        assert_eq!(command("help"), Command::Help(Topic::All));
        assert_eq!(command("user --help"), Command::Help(Topic::Area("user")));
        assert_eq!(command("help quota"), Command::Help(Topic::Area("quota")));
        let Command::Help(Topic::One(spec)) = command("user add --help") else {
            panic!("not one command's help");
        };
        assert_eq!(spec.name(), "user add");
        assert_eq!(command("help group adduser"), command("group adduser -h"));
        assert!(error("help user frob").contains("no command \"user frob\""));
        assert_eq!(command("-V"), Command::Version);
    }

    #[test]
    fn double_dash_ends_the_options() {
        assert_eq!(command("user show -- -odd"), Command::UserShow { login: "-odd".into() });
    }

    #[test]
    fn every_command_has_help_that_lists_its_options() {
        for spec in COMMANDS {
            let help = help_text(&Topic::One(spec));
            assert!(
                help.starts_with(&format!("Usage: okapi-admin {}", spec.name())),
                "{help}"
            );
            for opt in spec.options.iter().filter(|o| o.starts_with("--")) {
                assert!(help.contains(opt), "{} help lacks {opt}", spec.name());
            }
        }
        let all = help_text(&Topic::All);
        for spec in COMMANDS {
            assert!(all.contains(&spec.name()), "overview lacks {}", spec.name());
        }
        for e in Exit::ALL {
            assert!(all.contains(&format!("  {:<3} {}", e.code(), e.meaning())));
        }
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 69, 77, 78]);
    }

    #[test]
    fn errors_map_to_exit_codes() {
        let refused = |name: &str| {
            Error::Client(ClientError::Refused(client::ServerError {
                status: 400,
                code: String::new(),
                name: name.into(),
                message: "no".into(),
            }))
        };
        assert_eq!(refused("MAPI_E_COLLISION").exit(), Exit::Failed);
        assert_eq!(refused("MAPI_E_END_OF_SESSION").exit(), Exit::NoPermission);
        let unreachable = Error::Client(ClientError::Unreachable {
            socket: PathBuf::from("/nowhere"),
            source: io::Error::from(io::ErrorKind::NotFound),
        });
        assert_eq!(unreachable.exit(), Exit::Unavailable);
        assert_eq!(
            Error::Output(io::Error::from(io::ErrorKind::BrokenPipe)).exit(),
            Exit::Success
        );
        assert_eq!(Error::Usage(UsageError::new(None, "x")).exit(), Exit::Usage);
    }

    #[test]
    fn suggestions_need_a_near_miss() {
        assert_eq!(suggest("--adress", ["--address", "--admin"]), Some("--address"));
        assert_eq!(suggest("--zzz", ["--address", "--admin"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("lsit", "list"), 1);
    }
}
