#!/bin/sh
# Distribution test (issue 5): a Debian 12 root made with debootstrap (cached),
# the built okapi .debs installed there with apt next to mariadb-server,
# apache2 and postfix, booted with systemd as PID 1 under systemd-nspawn on a
# private network, and driven with systemctl.
#
# Usage (root): tests/distro/nspawn-debian12.sh [DEB...]
#   DEB defaults to target/debian/okapi-server_*.deb and okapi-webapp_*.deb
#   (make deb). OKAPI_DISTRO_CACHE (default /var/cache/okapi-distro) keeps the
#   debootstrap tarball between runs; OKAPI_UPGRADE_DEB names a newer
#   okapi-server .deb for the upgrade step.
# Exit status: 0 passed, 1 failed, 77 skipped (not root, no systemd-nspawn or
# debootstrap, or no .deb).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cache=${OKAPI_DISTRO_CACHE:-/var/cache/okapi-distro}
machine=okapi-distro-$$
root=
start=$(date +%s)

skip() { echo "skip: $*" >&2; exit 77; }
say() { echo "== $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
command -v systemd-nspawn >/dev/null 2>&1 || skip "systemd-nspawn missing (apt-get install systemd-container)"
command -v debootstrap >/dev/null 2>&1 || skip "debootstrap missing"
[ -d /run/systemd/system ] || skip "the host does not run systemd (machinectl needs it)"

if [ $# -eq 0 ]; then
    set -- "$top"/target/debian/okapi-server_*.deb "$top"/target/debian/okapi-webapp_*_all.deb
fi
for deb; do [ -f "$deb" ] || skip "no package $deb (make deb)"; done

cleanup() {
    machinectl terminate "$machine" >/dev/null 2>&1 || true
    [ -z "$root" ] || rm -rf "$root"
}
trap cleanup EXIT INT TERM

# The root, from a cached debootstrap tarball.
mkdir -p "$cache"
tarball=$cache/bookworm-systemd.tar
if [ ! -f "$tarball" ]; then
    say "debootstrap bookworm (cached in $tarball)"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,apt-utils,ca-certificates,curl \
        --make-tarball="$tarball.new" bookworm "$cache/tmp-root" http://deb.debian.org/debian
    mv "$tarball.new" "$tarball"
    rm -rf "$cache/tmp-root"
fi
root=$(mktemp -d /var/tmp/okapi-distro.XXXXXX)
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,apt-utils,ca-certificates,curl \
    --unpack-tarball="$tarball" bookworm "$root" http://deb.debian.org/debian >/dev/null
echo "$machine" > "$root/etc/hostname"
mkdir -p "$root/debs"
cp "$@" "$root/debs/"
[ -z "${OKAPI_UPGRADE_DEB:-}" ] || { mkdir -p "$root/upgrade"; cp "$OKAPI_UPGRADE_DEB" "$root/upgrade/"; }

# Boot with systemd as PID 1 on a private network (a veth to the host, which
# gives apt its network through the host's NAT for systemd-networkd).
say "boot $machine"
systemd-nspawn --quiet --boot --network-veth --machine="$machine" --directory="$root" \
    >/dev/null 2>&1 &
for _ in $(seq 60); do
    systemctl --machine="$machine" is-system-running --wait >/dev/null 2>&1 && break
    sleep 1
done
inside() { systemd-run --machine="$machine" --quiet --wait --pipe --setenv=DEBIAN_FRONTEND=noninteractive -- "$@"; }
inside sh -c 'systemctl enable --now systemd-networkd systemd-resolved >/dev/null 2>&1; sleep 3'

say "preseed and install"
inside sh -c 'cat <<PRESEED | debconf-set-selections
okapi-server okapi-server/dbconfig-install boolean true
okapi-server okapi-server/mysql/app-pass password
okapi-server okapi-server/postfix-configure boolean true
okapi-server okapi-server/postfix-domains string example.org
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string mail.example.org
PRESEED'
inside apt-get update -q >/dev/null
t_install=$(date +%s)
inside apt-get install -y -q mariadb-server apache2 postfix >/dev/null
inside sh -c 'apt-get install -y -q /debs/*.deb' >/dev/null

say "units"
inside systemctl is-active okapi-server.socket okapi-server-lmtp.socket okapi-server-local.socket || die "sockets not active"
inside okapi-admin user add alice --address alice@example.org --name Alice --password-file /dev/stdin <<'PW' || die "okapi-admin user add"
secret-password-1
PW
inside systemctl is-active okapi-server.service || die "okapi-server.service not active after okapi-admin"

say "mail through Postfix"
inside sh -c 'printf "Subject: distro test\n\nhello from postfix\n" | /usr/sbin/sendmail -f root@example.org alice@example.org'
delivered=
for _ in $(seq 60); do
    if inside sh -c 'okapi-admin --json store list' 2>/dev/null | grep -q '"messages": *[1-9]'; then delivered=yes; break; fi
    sleep 1
done
[ -n "$delivered" ] || die "no message in alice's store"
echo "apt install to first delivered mail: $(( $(date +%s) - t_install )) s"

say "Apache"
inside curl -fsS http://127.0.0.1/webapp/ | grep -q okapi || die "/webapp"
inside curl -fsS 'http://127.0.0.1/okapi?wsdl' | grep -q definitions || die "/okapi?wsdl through Apache"

say "reload and journal"
inside systemctl reload okapi-server || die "reload"
inside sh -c 'journalctl -u okapi-server -o json --no-pager | grep -q "\"SYSLOG_IDENTIFIER\" *: *\"okapi-server\""' || die "journal"

if [ -n "${OKAPI_UPGRADE_DEB:-}" ]; then
    say "upgrade"
    inside sh -c 'apt-get install -y -q /upgrade/*.deb' >/dev/null
    inside sh -c 'okapi-admin --json store list' | grep -q '"messages": *[1-9]' || die "messages lost in the upgrade"
fi

say "purge"
inside sh -c 'echo "okapi-server okapi-server/dbconfig-remove boolean true" | debconf-set-selections; echo "okapi-server okapi-server/purge boolean true" | debconf-set-selections'
inside apt-get purge -y -q okapi-webapp okapi-server >/dev/null
inside sh -c '! systemctl is-active --quiet okapi-server.service okapi-server.socket' || die "units still active"
inside sh -c '! test -e /etc/okapi && ! test -e /var/lib/okapi && ! getent passwd okapi' || die "purge left files or the user"
inside sh -c '[ "$(postconf -n -h virtual_transport)" != lmtp:inet:127.0.0.1:2003 ]' || die "Postfix not restored"

echo "passed in $(( $(date +%s) - start )) s"
