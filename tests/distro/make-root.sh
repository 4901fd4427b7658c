#!/usr/bin/env bash
# Builds (or finds in the cache) the Debian 12 root of the distribution test:
# debootstrap minbase with systemd as init, then mariadb-server, apache2,
# postfix and curl installed without starting anything, and the packages
# okapi depends on downloaded (not installed) into /var/cache/apt/archives so
# that apt can install okapi inside the booted container without a network.
#
# Usage (root): tests/distro/make-root.sh   prints the path of the tarball
# OKAPI_DISTRO_CACHE (default /var/cache/okapi-distro) holds the tarballs,
# named after a hash of what goes in them; OKAPI_DISTRO_MIRROR the mirror.
set -euo pipefail

cache=${OKAPI_DISTRO_CACHE:-/var/cache/okapi-distro}
mirror=${OKAPI_DISTRO_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
base_pkgs=systemd,systemd-sysv,dbus,ca-certificates
# Installed in the root: okapi's neighbours.
install_pkgs=(mariadb-server apache2 postfix curl)
# Downloaded only: what okapi-server and okapi-webapp depend on or recommend,
# so that "apt-get install /debs/*.deb" inside the container finds them.
fetch_pkgs=(dbconfig-common dbconfig-mysql ucf adduser debconf apparmor)

# The key changes whenever this script changes what goes into the root.
key=$(printf '%s\n' "$suite" "$mirror" "$base_pkgs" "${install_pkgs[*]}" "${fetch_pkgs[*]}" v2 |
    sha256sum | cut -c1-12)
tarball=$cache/bookworm-$key.tar.zst
if [ -f "$tarball" ]; then
    echo "$tarball"
    exit 0
fi

say() { echo "make-root: $*" >&2; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

started=$(date +%s)
# Two stages, each cached: the bare debootstrap (slow, rarely changes), then
# the packages on top of it.
base=$cache/bookworm-base-$(printf '%s\n' "$suite" "$mirror" "$base_pkgs" | sha256sum | cut -c1-12).tar.zst
if [ ! -f "$base" ]; then
    say "debootstrap $suite (minbase, systemd as init); cached in $base"
    debootstrap --variant=minbase --include="$base_pkgs" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
    tar --numeric-owner --xattrs -C "$root" -I 'zstd -T0 -3' -cf "$base.new" .
    mv "$base.new" "$base"
else
    say "unpacking $base"
    mkdir -p "$root"
    tar --numeric-owner --xattrs -C "$root" -I zstd -xf "$base"
fi

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb http://deb.debian.org/debian-security $suite-security main
SOURCES
# Nothing starts while the root is being filled (the container is not booted).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
# Keep what apt downloads: it is the container's only package source later.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' >"$root/etc/apt/apt.conf.d/90okapi-keep"
rm -f "$root/etc/apt/apt.conf.d/docker-clean"

in_root() {
    systemd-nspawn --quiet --register=no --keep-unit --machine=okapi-make-root -D "$root" \
        --setenv=DEBIAN_FRONTEND=noninteractive "$@" </dev/null
}

# Postfix as a single-domain office server has it: "Internet Site" whose mail
# name is the domain okapi serves (Debian puts it into mydestination).
say "installing ${install_pkgs[*]}"
cat >"$root/var/tmp/preseed" <<'DEBCONF'
postfix postfix/main_mailer_type select Internet Site
postfix postfix/mailname string example.org
DEBCONF
in_root debconf-set-selections /var/tmp/preseed
rm -f "$root/var/tmp/preseed"
in_root apt-get update -q >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
in_root apt-get install -y -q --no-install-recommends "${install_pkgs[@]}" >>"$work/apt.log" 2>&1 ||
    { tail -n 40 "$work/apt.log" >&2; exit 1; }
in_root apt-get install -y -q --download-only --no-install-recommends "${fetch_pkgs[@]}" >>"$work/apt.log" 2>&1 ||
    { tail -n 40 "$work/apt.log" >&2; exit 1; }
rm -f "$root/usr/sbin/policy-rc.d"

say "packing $tarball"
tar --numeric-owner --xattrs -C "$root" -I 'zstd -T0 -3' -cf "$tarball.new" .
mv "$tarball.new" "$tarball"
say "root ready in $(($(date +%s) - started)) s: $(du -h "$tarball" | cut -f1)"
echo "$tarball"
