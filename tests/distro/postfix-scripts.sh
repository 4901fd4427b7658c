#!/bin/sh
# The debconf and postfix stubs and the variables below are used by the
# functions eval'd from the postinst, which shellcheck cannot see.
# $myhostname and friends in single quotes are Postfix's, not the shell's.
# shellcheck disable=SC2034,SC2317,SC2016
# The Postfix part of okapi-server's maintainer scripts, against a throwaway
# Postfix configuration (MAIL_CONFIG): postinst records the old values and
# points Postfix at okapi; a second configure with other domains keeps the
# first record; postrm's restore puts main.cf back as it was. Then the
# machine's own mail name as okapi's domain (Debian's "Internet Site"): the
# domain leaves mydestination, recorded and put back like the other keys.
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
eval "$(extract "$top/debian/okapi-server.postinst" mydestination_without)"
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

# What Debian's postfix writes for "Internet Site" with mail name example.org.
rm -f "$POSTFIX_STATE"
echo example.org > "$tmp/mailname"
printf '%s\n' 'myhostname = okapi-distro' "myorigin = $tmp/mailname" \
    'mydestination = $myhostname, example.org, okapi-distro, localhost' > "$MAIL_CONFIG/main.cf"
cp "$MAIL_CONFIG/main.cf" "$tmp/main.cf.orig"
answer_domains=Example.org
configure_postfix 2>/dev/null
expect "mail name out of mydestination" "$(postconf -h mydestination)" '$myhostname, okapi-distro, localhost'
expect "mydestination recorded" "$(grep '^mydestination' "$POSTFIX_STATE" | cut -f2)" \
    '$myhostname, example.org, okapi-distro, localhost'
# Through $myorigin (the mail name file) too, on a second configure.
postconf -e 'mydestination = $myorigin, localhost'
configure_postfix 2>/dev/null
expect "mail name through myorigin out" "$(postconf -h mydestination)" localhost
expect "first old value kept" "$(grep '^mydestination' "$POSTFIX_STATE" | cut -f2)" \
    '$myhostname, example.org, okapi-distro, localhost'
restore_postfix
expect "main.cf with mydestination restored" "$(cat "$MAIL_CONFIG/main.cf")" "$(cat "$tmp/main.cf.orig")"
exit $failed
