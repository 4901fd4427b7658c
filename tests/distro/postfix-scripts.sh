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
# Then what keeps root safe from the okapi user: a key okapi never sets in the
# record is left alone by both restores; the record is only ever written
# through a new file in root's directory; an old record in okapi's directory
# is taken over only when it is root's own regular file, and a symlink there
# is neither followed nor kept (the file it points to is unchanged); and no
# maintainer script writes into a directory the okapi user can write.
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
eval "$(extract "$top/debian/okapi-server.postinst" take_old_state)"
eval "$(grep '^POSTFIX_KEYS=' "$top/debian/okapi-server.postinst")"
STATE_DIR=$tmp/state LMTP_TRANSPORT=lmtp:inet:127.0.0.1:2003
POSTFIX_STATE=$STATE_DIR/postfix-changes
mkdir -m 0700 "$STATE_DIR"

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

# A key okapi never sets, recorded with the value main.cf holds: neither
# restore touches it, and each says so.
eval "$(extract "$top/debian/okapi-server.postinst" restore_postfix)"
rm -f "$POSTFIX_STATE"
printf '%s\n' 'virtual_transport = virtual' 'default_privs = root' 'smtpd_recipient_restrictions = permit' \
    > "$MAIL_CONFIG/main.cf"
cp "$MAIL_CONFIG/main.cf" "$tmp/main.cf.orig"
answer_domains=example.org
configure_postfix 2>/dev/null
printf 'default_privs\tnobody\troot\nsmtpd_recipient_restrictions\t\tpermit\n' >> "$POSTFIX_STATE"
restore_postfix 2> "$tmp/warnings"
expect "bogus keys left alone (postinst)" "$(cat "$MAIL_CONFIG/main.cf")" "$(cat "$tmp/main.cf.orig")"
expect "bogus keys named" "$(grep -c 'which okapi never sets' "$tmp/warnings")" 2
configure_postfix 2>/dev/null
printf 'default_privs\tnobody\troot\n' >> "$POSTFIX_STATE"
eval "$(extract "$top/debian/okapi-server.postrm" restore_postfix)"
restore_postfix 2>/dev/null
expect "bogus key left alone (postrm)" "$(postconf -h default_privs)" root
expect "okapi's keys restored beside it" "$(cat "$MAIL_CONFIG/main.cf")" "$(cat "$tmp/main.cf.orig")"
expect "only temporary files of its own in the state directory" "$(ls -A "$STATE_DIR")" postfix-changes

# The old record's place (/var/lib/okapi, the okapi user's): a symlink there
# is not followed, not kept, and what it points to is unchanged.
old=$tmp/okapi-home/postfix-changes
mkdir -p "$tmp/okapi-home"
rm -f "$POSTFIX_STATE"
printf 'virtual_transport\tx\ty\n' > "$tmp/root-file"
ln -s "$tmp/root-file" "$old"
take_old_state "$old" "$POSTFIX_STATE" 2>/dev/null
expect "planted symlink not taken" "$(ls -A "$STATE_DIR")" ""
expect "planted symlink gone" "$(ls -A "$tmp/okapi-home")" ""
expect "its target unchanged" "$(cat "$tmp/root-file")" "$(printf 'virtual_transport\tx\ty')"
# A directory there (which mv cannot put over a file) fails nothing.
mkdir "$old"
take_old_state "$old" "$POSTFIX_STATE" 2>/dev/null
expect "a directory at the old place ignored" "$(ls -A "$STATE_DIR")" ""
rmdir "$old"
if [ "$(id -u)" = 0 ]; then
    # A file someone else owns is not taken either; root's own is.
    printf 'virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n' > "$old"
    chown nobody "$old"
    take_old_state "$old" "$POSTFIX_STATE" 2>/dev/null
    expect "another user's record not taken" "$(ls -A "$STATE_DIR")" ""
    printf 'virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n' > "$old"
    ln "$old" "$tmp/second-link"
    take_old_state "$old" "$POSTFIX_STATE" 2>/dev/null
    expect "a record with a second link not taken" "$(ls -A "$STATE_DIR")" ""
    printf 'virtual_transport\tvirtual\tlmtp:inet:127.0.0.1:2003\n' > "$old"
    take_old_state "$old" "$POSTFIX_STATE"
    expect "root's old record taken over" "$(cut -f2 "$POSTFIX_STATE")" virtual
    expect "taken record root-only" "$(stat -c %a "$POSTFIX_STATE")" 600
else
    echo "skip: the ownership cases need root"
fi

# Statically: the state lives in root's directory, and no maintainer script
# or scriptlet writes, moves, or changes modes in a directory a service
# account can write (the spec's %install lines write into the build root).
expect "postinst's state in /var/lib/okapi-server" \
    "$(grep -c '^STATE_DIR=/var/lib/okapi-server$' "$top/debian/okapi-server.postinst")" 1
expect "postrm's state in /var/lib/okapi-server" \
    "$(grep -c '^STATE_DIR=/var/lib/okapi-server$' "$top/debian/okapi-server.postrm")" 1
expect "the set-up marker in /var/lib/okapi-server" \
    "$(grep '^ConditionPathExists=' "$top/systemd/okapi-server-setup.service")" \
    ConditionPathExists=/var/lib/okapi-server/database-setup-pending
okapi_dirs='(/var/lib/okapi|/var/log/okapi|/run/okapi)/'
writes=$(grep -nE "(>|\<(mv|cp|install|chmod|chown|touch|ln|tee)\>)[^#]*$okapi_dirs" \
    "$top"/debian/okapi-server.postinst "$top"/debian/okapi-server.postrm "$top"/debian/okapi-server.prerm \
    "$top"/debian/okapi-server.config "$top"/debian/okapi-webapp.postinst "$top"/debian/okapi-webapp.postrm \
    "$top"/debian/okapi-webapp.prerm "$top"/rpm/okapi.spec | grep -v '%{buildroot}' || true)
expect "no writes into okapi's directories" "$writes" ""
expect "no chown that follows a symlink" \
    "$(grep -nE '\<chown\>' "$top/debian/okapi-server.postinst" | grep -vE 'chown (-h|root:okapi "\$DB_PASSWORD)' || true)" ""
exit $failed
