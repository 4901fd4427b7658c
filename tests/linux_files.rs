//! The files okapi installs for Linux: the systemd units in `systemd/`, the
//! sysusers.d and tmpfiles.d snippets, and the AppArmor profiles in
//! `apparmor/`, checked with the tools a distribution checks them with:
//! `systemd-analyze verify` and `security --offline=yes`, `systemd-sysusers`
//! and `systemd-tmpfiles` into a scratch root, and `apparmor_parser`.
//!
//! A missing tool skips its test with a note, except under CI (`CI` set),
//! where it fails: `apt-get install systemd apparmor`.

// Tests fail loudly: unwrap and expect are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SERVER: &str = env!("CARGO_BIN_EXE_okapi-server");
const ADMIN: &str = env!("CARGO_BIN_EXE_okapi-admin");

/// The highest `systemd-analyze security` exposure the service may have (issue 4).
const MAX_EXPOSURE: f64 = 1.5;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn systemd_dir() -> PathBuf {
    repo().join("systemd")
}

/// The unit files in `systemd/`, sorted by name.
fn units() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(systemd_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "service" || e == "socket"))
        .collect();
    units.sort();
    assert!(units.len() >= 2, "no units found in {}", systemd_dir().display());
    units
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The path of `tool` (searched in PATH and the sbin directories, which a
/// non-root PATH may lack), or None after a note; under CI a missing tool fails.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{name} is needed for this test and must be installed in CI: apt-get install {package}"
        );
        eprintln!("note: {name} not found, test skipped (apt-get install {package})");
    }
    found
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    eprintln!(
        "$ {cmd:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `key=value` settings of a unit file, comments left out, in file order.
fn settings(unit: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(unit)
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';') && !l.starts_with('['))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("{}: not key=value: {l}", unit.display()));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn values(unit: &Path, key: &str) -> Vec<String> {
    settings(unit)
        .into_iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

/// `systemd-analyze verify` accepts every unit. It exits 0 even for unknown
/// keys or bad values (it only warns), so any output at all fails the test.
///
/// verify checks that ExecStart='s program exists, so the units are copied to
/// a scratch directory with /usr/sbin/okapi-server replaced by the binary
/// cargo built. `--man=no`: the man pages named in Documentation= are not
/// installed here. User=okapi and SocketUser=okapi need no such user on the
/// machine: systemd 252's verify does not look users up (they are resolved
/// when a unit starts, after sysusers.d/okapi.conf has made the user).
#[test]
fn units_pass_systemd_analyze_verify() {
    let Some(analyze) = tool("systemd-analyze", "systemd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for unit in units() {
        let text = std::fs::read_to_string(&unit).unwrap();
        let text = text
            .replace("ExecStart=/usr/sbin/okapi-server ", &format!("ExecStart={SERVER} "))
            .replace("ExecStart=/usr/sbin/okapi-admin ", &format!("ExecStart={ADMIN} "));
        let copy = dir.path().join(file_name(&unit));
        std::fs::write(&copy, text).unwrap();
        copies.push(copy);
    }
    let service = dir.path().join("okapi-server.service");
    assert!(
        std::fs::read_to_string(&service).unwrap().contains(SERVER),
        "ExecStart= of okapi-server.service no longer starts with /usr/sbin/okapi-server"
    );
    let out = run(Command::new(&analyze).args(["verify", "--man=no"]).args(&copies));
    assert!(out.status.success(), "systemd-analyze verify failed");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.trim().is_empty(), "systemd-analyze verify complained:\n{said}");
}

/// `systemd-analyze security --offline=yes` rates okapi-server.service at
/// 1.5 or less (the figure is printed; it was 0.9 when written).
#[test]
fn service_exposure_is_low() {
    let Some(analyze) = tool("systemd-analyze", "systemd") else {
        return;
    };
    let service = systemd_dir().join("okapi-server.service");
    let out = run(Command::new(&analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&service));
    assert!(out.status.success(), "systemd-analyze security failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no \"Overall exposure level\" line in:\n{stdout}"));
    // "→ Overall exposure level for okapi-server.service: 0.9 SAFE 😀"
    let figure: f64 = line
        .rsplit_once(": ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read the exposure in {line:?}"));
    println!("okapi-server.service: overall exposure level {figure:.1} (at most {MAX_EXPOSURE})");
    assert!(
        figure <= MAX_EXPOSURE,
        "exposure {figure} is above {MAX_EXPOSURE}; the ✗ lines above say what to harden"
    );
}

/// `apparmor_parser` compiles every profile (`-Q`: not loaded into the
/// kernel, `-K`: no cache), with its abstractions and tunables from
/// /etc/apparmor.d.
#[test]
fn apparmor_profiles_compile() {
    let Some(parser) = tool("apparmor_parser", "apparmor") else {
        return;
    };
    let dir = repo().join("apparmor");
    let mut profiles: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    profiles.sort();
    let names: Vec<String> = profiles.iter().map(|p| file_name(p)).collect();
    assert_eq!(names, ["usr.bin.okapi-dagent", "usr.sbin.okapi-server"]);
    for profile in &profiles {
        let out = run(Command::new(&parser).args(["-Q", "-K"]).arg(profile));
        assert!(out.status.success(), "apparmor_parser rejects {}", profile.display());
        // Each profile attaches to the program its file is named after and
        // takes the site's additions from local/.
        let name = file_name(profile);
        let text = std::fs::read_to_string(profile).unwrap();
        let program = format!("/{}", name.replacen('.', "/", 2));
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("profile ") && l.contains(&program)),
            "{name} does not attach to {program}"
        );
        assert!(
            text.contains(&format!("include if exists <local/{name}>")),
            "{name} has no local override include"
        );
    }
}

/// The socket units name their sockets with exactly the names the server
/// understands (one unit per name, since FileDescriptorName= names every
/// socket of a unit alike), at the paths server.cfg's defaults use, and the
/// service is wired to them.
#[test]
fn socket_units_match_the_server() {
    let mut names = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for unit in units().iter().filter(|u| u.extension().is_some_and(|e| e == "socket")) {
        let fd_names = values(unit, "FileDescriptorName");
        assert_eq!(
            fd_names.len(),
            1,
            "{}: one FileDescriptorName= per unit",
            unit.display()
        );
        assert!(
            names.insert(fd_names[0].clone()),
            "{}: name {} used twice",
            unit.display(),
            fd_names[0]
        );
        assert_eq!(values(unit, "Service"), ["okapi-server.service"], "{}", unit.display());
        assert_eq!(values(unit, "WantedBy"), ["sockets.target"], "{}", unit.display());
        for listen in values(unit, "ListenStream") {
            if listen.starts_with('/') {
                paths.insert(listen);
            }
        }
    }
    let known: BTreeSet<String> = okapi::linux::activation::NAMES.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        names, known,
        "FileDescriptorName= values against linux::activation::NAMES"
    );

    let defaults = okapi::config::Config::default();
    let expected: BTreeSet<String> = [&defaults.local_socket, &defaults.lmtp_socket]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(paths, expected, "unix sockets against server.cfg's defaults");

    let service = systemd_dir().join("okapi-server.service");
    let sockets: BTreeSet<String> = values(&service, "Sockets")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for unit in units().iter().filter(|u| u.extension().is_some_and(|e| e == "socket")) {
        let name = file_name(unit);
        // The TLS socket needs a certificate first, so it is left to the administrator.
        assert_eq!(
            sockets.contains(&name),
            name != "okapi-server-https.socket",
            "Sockets= of okapi-server.service and {name}"
        );
    }
    assert_eq!(values(&service, "Type"), ["notify"]);
    assert_eq!(values(&service, "User"), ["okapi"]);
    assert_eq!(values(&service, "CapabilityBoundingSet"), [""]);
}

/// sysusers.d/okapi.conf makes the okapi user and group (system ids, home
/// /var/lib/okapi, no login), and tmpfiles.d/okapi.conf then makes okapi's
/// directories with that owner and their modes, both into a scratch root.
#[test]
fn sysusers_and_tmpfiles_create_user_and_directories() {
    let (Some(sysusers), Some(tmpfiles)) = (tool("systemd-sysusers", "systemd"), tool("systemd-tmpfiles", "systemd"))
    else {
        return;
    };
    if !nix::unistd::Uid::effective().is_root() {
        // tmpfiles has to chown to the new user.
        assert!(std::env::var_os("CI").is_none(), "CI runs the tests as root");
        eprintln!("note: not root, sysusers/tmpfiles test skipped");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let out = run(Command::new(&sysusers)
        .arg(format!("--root={}", root.path().display()))
        .arg(systemd_dir().join("sysusers.d/okapi.conf")));
    assert!(out.status.success(), "systemd-sysusers failed");

    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    let entry: Vec<&str> = passwd
        .lines()
        .find(|l| l.starts_with("okapi:"))
        .unwrap_or_else(|| panic!("no okapi in passwd:\n{passwd}"))
        .split(':')
        .collect();
    let (uid, gid): (u32, u32) = (entry[2].parse().unwrap(), entry[3].parse().unwrap());
    assert!(uid > 0 && uid < 1000, "okapi's uid {uid} is not a system uid");
    assert_eq!(entry[5], "/var/lib/okapi");
    assert_eq!(entry[6], "/usr/sbin/nologin");
    let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
    assert!(
        group.lines().any(|l| l == format!("okapi:x:{gid}:")),
        "no okapi group with gid {gid}:\n{group}"
    );

    // tmpfiles resolves "okapi" in the scratch root's /etc/passwd.
    let out = run(Command::new(&tmpfiles)
        .arg(format!("--root={}", root.path().display()))
        .arg("--create")
        .arg(systemd_dir().join("tmpfiles.d/okapi.conf")));
    assert!(out.status.success(), "systemd-tmpfiles failed");
    for (dir, mode) in [
        ("run/okapi", 0o755),
        ("var/lib/okapi", 0o750),
        ("var/lib/okapi/blobs", 0o750),
        ("var/log/okapi", 0o750),
    ] {
        let meta = std::fs::metadata(root.path().join(dir)).unwrap_or_else(|e| panic!("/{dir}: {e}"));
        assert!(meta.is_dir(), "/{dir} is not a directory");
        assert_eq!(meta.mode() & 0o7777, mode, "mode of /{dir}");
        assert_eq!((meta.uid(), meta.gid()), (uid, gid), "owner of /{dir}");
    }
}
