#!/usr/bin/env bash
# Repacks a .deb with a higher version and nothing else changed, for the
# distribution test's upgrade step: the same binaries, so what the upgrade
# exercises is the packaging (prerm upgrade, postinst configure with the old
# version, the restart, the kept database), not a schema change.
#
# Usage: tests/distro/bump-deb.sh IN.deb OUT-DIR [SUFFIX]
# The new version is the old one with SUFFIX (default "+distro1") appended;
# prints the path of the new package.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 IN.deb OUT-DIR [SUFFIX]" >&2; exit 2; }
in=$1 out=$2 suffix=${3:-+distro1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

dpkg-deb -R "$in" "$work/pkg"
old=$(dpkg-deb -f "$in" Version)
new=$old$suffix
dpkg --compare-versions "$new" gt "$old" || { echo "$new is not newer than $old" >&2; exit 1; }
sed -i "s/^Version: .*/Version: $new/" "$work/pkg/DEBIAN/control"
name=$(dpkg-deb -f "$in" Package) arch=$(dpkg-deb -f "$in" Architecture)
mkdir -p "$out"
dpkg-deb --root-owner-group -Zxz --build "$work/pkg" "$out/${name}_${new}_${arch}.deb" >/dev/null
echo "$out/${name}_${new}_${arch}.deb"
