#!/usr/bin/env bash
# The RPMs, checked as far as a Debian host allows: rpmlint (no errors; the
# filters in rpm/okapi.rpmlintrc carry their reasons), the file lists, the
# scriptlets parsed by sh -n, and an install into an "rpm --root" (the
# distribution test's Debian root: it has sh, getent, useradd and
# systemd-tmpfiles for the scriptlets), then an erase.
#
# Usage (root): tests/distro/rpm-check.sh SERVER.rpm WEBAPP.rpm
# Exit status: 0 passed, 1 failed, 77 skipped (no rpm; with CI set, fails).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "[rpm] $*"; }
if ! command -v rpm >/dev/null 2>&1 || ! command -v rpmlint >/dev/null 2>&1; then
    [ -z "${CI:-}" ] || fail "rpm or rpmlint missing (apt-get install rpm rpmlint)"
    echo "skip: rpm or rpmlint missing" >&2
    exit 77
fi
[ $# -eq 2 ] || { echo "usage: $0 SERVER.rpm WEBAPP.rpm" >&2; exit 2; }
server=$(realpath "$1") webapp=$(realpath "$2")

say "rpmlint"
out=$(rpmlint -c "$top/rpm/rpmlint.toml" -r "$top/rpm/okapi.rpmlintrc" "$server" "$webapp" "$top/rpm/okapi.spec" 2>&1) ||
    { printf '%s\n' "$out" >&2; fail "rpmlint reports errors"; }
printf '%s\n' "$out" | sed 's/^/    /'

say "contents (rpm -qlp)"
files=$(rpm -qlp "$server" "$webapp")
for f in /usr/sbin/okapi-server /usr/sbin/okapi-admin /usr/bin/okapi-dagent \
    /usr/lib/systemd/system/okapi-server.service /usr/lib/systemd/system/okapi-server.socket \
    /usr/lib/systemd/system/okapi-server-local.socket /usr/lib/systemd/system/okapi-server-lmtp.socket \
    /usr/lib/sysusers.d/okapi.conf /usr/lib/tmpfiles.d/okapi.conf /etc/okapi/server.cfg \
    /usr/share/man/man8/okapi-admin.8.gz /usr/share/man/man5/okapi-server.cfg.5.gz \
    /etc/httpd/conf.d/okapi-webapp.conf /usr/share/okapi/webapp/index.html; do
    grep -qxF "$f" <<<"$files" || fail "$f is not in the packages"
done
# The documentation directory is okapi-server (Fedora) or okapi-server-VERSION
# (rpm's default, as on Debian).
for f in README.rpm MTA.md examples/server.cfg; do
    grep -qE "^/usr/share/doc/okapi-server(-[0-9.]+)?/$f\$" <<<"$files" || fail "$f is not in okapi-server's documentation"
done
[ "$(rpm -qp --queryformat '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$server" |
    awk '$3 == "/etc/okapi/server.cfg" { print $1, $2 }')" = "-rw-r----- root:okapi" ] ||
    fail "/etc/okapi/server.cfg is not root:okapi 0640"

say "scriptlets (sh -n)"
for pkg in "$server" "$webapp"; do
    scripts=$(rpm -qp --scripts "$pkg")
    # One file per "... scriptlet (using /bin/sh):" section.
    tmp=$(mktemp -d)
    awk -v dir="$tmp" '/^[a-z]+ scriptlet \(using \/bin\/sh\):$/ { n++; name = $1; next }
        n { print > (dir "/" n "-" name) }' <<<"$scripts"
    for s in "$tmp"/*; do
        [ -e "$s" ] || continue
        sh -n "$s" || fail "$(basename "$pkg"): $(basename "$s") does not parse"
        echo "    $(basename "$pkg") $(basename "$s" | cut -d- -f2): ok"
    done
    rm -rf "$tmp"
done

say "install into rpm --root, then erase"
root=$(mktemp -d /var/tmp/okapi-rpmroot.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$root"' EXIT
tar --numeric-owner -C "$root" -I zstd -xf "$("$top/tests/distro/make-root.sh")"
rpm --root "$root" --initdb
# --nodeps: the Debian root has no RPM database of what it holds (httpd is
# apache2 there).
rpm --root "$root" -i --nodeps "$server" "$webapp" || fail "rpm -i"
chroot "$root" getent passwd okapi >/dev/null || fail "%pre did not create the okapi user"
[ "$(chroot "$root" stat -c '%U:%G %a' /var/lib/okapi)" = "okapi:okapi 750" ] || fail "/var/lib/okapi is not okapi:okapi 0750"
[ "$(chroot "$root" stat -c '%U:%G %a' /etc/okapi/server.cfg)" = "root:okapi 640" ] || fail "server.cfg is not root:okapi 0640"
chroot "$root" /usr/sbin/okapi-admin --version | grep -q '^okapi-admin ' || fail "okapi-admin does not run in the root"
chroot "$root" /usr/sbin/okapi-admin setup postfix --domains example.org --dry-run | grep -q 'virtual_mailbox_domains = example.org' ||
    fail "okapi-admin setup postfix --dry-run"
[ "$(rpm --root "$root" -q okapi-server okapi-webapp | wc -l)" = 2 ] || fail "rpm -q after the install"
rpm --root "$root" -e okapi-webapp okapi-server || fail "rpm -e"
[ ! -e "$root/usr/sbin/okapi-server" ] || fail "rpm -e left /usr/sbin/okapi-server"
say "passed"
