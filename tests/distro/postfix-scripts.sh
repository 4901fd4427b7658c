#!/bin/sh
# The debconf and postfix stubs and the variables below are used by the
# functions eval'd from the postinst, which shellcheck cannot see.
# shellcheck disable=SC2034,SC2317
# The Postfix part of okapi-server's maintainer scripts, against a throwaway
# Postfix configuration (MAIL_CONFIG): postinst records the old values and
# points Postfix at okapi; a second configure with other domains keeps the
# first record; postrm's restore puts main.cf back as it was.
#
# Usage: tests/distro/postfix-scripts.sh     Exit status: 0, 1, or 77 (no postconf).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v postconf >/dev/null 2>&1 || { echo "skip: postconf missing"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MAIL_CONFIG=$tmp/postfix; export MAIL_CONFIG
mkdir -p "$MAIL_CONFIG"
printf 'virtual_transport = virtual\nmyhostname = mail.example.net\n' > "$MAIL_CONFIG/main.cf"
: > "$MAIL_CONFIG/master.cf"
cp "$MAIL_CONFIG/main.cf" "$tmp/main.cf.orig"

# The functions from the scripts, with debconf stubbed and the state file moved.
answer_configure=true answer_domains="example.org, example.net"
db_get() { case $1 in */postfix-configure) RET=$answer_configure ;; */postfix-domains) RET=$answer_domains ;; esac; }
postfix() { :; }
extract() { sed -n "/^$2() {/,/^}/p" "$1"; }
eval "$(extract "$top/debian/okapi-server.postinst" configure_postfix)"
eval "$(extract "$top/debian/okapi-server.postinst" restore_postfix)"
POSTFIX_STATE=$tmp/postfix-changes LMTP_TRANSPORT=lmtp:inet:127.0.0.1:2003

failed=0
expect() { if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: got '$2', want '$3'"; failed=1; fi; }

configure_postfix
expect "virtual_transport set" "$(postconf -h virtual_transport)" lmtp:inet:127.0.0.1:2003
expect "virtual_mailbox_domains set" "$(postconf -h virtual_mailbox_domains)" "example.org example.net"
expect "state recorded" "$(cut -f1,2 "$POSTFIX_STATE" | tr '\t\n' '=;')" "virtual_transport=virtual;virtual_mailbox_domains=;"

answer_domains=example.com
configure_postfix
expect "domains changed" "$(postconf -h virtual_mailbox_domains)" example.com
expect "old values kept" "$(cut -f1,2 "$POSTFIX_STATE" | tr '\t\n' '=;')" "virtual_transport=virtual;virtual_mailbox_domains=;"

# postrm's copy of restore_postfix (purge).
eval "$(extract "$top/debian/okapi-server.postrm" restore_postfix)"
restore_postfix
expect "main.cf restored" "$(cat "$MAIL_CONFIG/main.cf")" "$(cat "$tmp/main.cf.orig")"

# A value the administrator changed after okapi is left alone.
configure_postfix
postconf -e 'virtual_transport=smtp:[relay.example.net]'
restore_postfix
expect "admin's later change kept" "$(postconf -h virtual_transport)" "smtp:[relay.example.net]"
expect "okapi's domain list removed" "$(postconf -n -h virtual_mailbox_domains)" ""
exit $failed
