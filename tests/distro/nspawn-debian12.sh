#!/usr/bin/env bash
# Distribution test (issue 5): a Debian 12 root made with debootstrap (cached,
# tests/distro/make-root.sh) with mariadb-server, apache2 and postfix in it;
# okapi's .debs installed with apt inside the container booted with systemd
# as PID 1 under systemd-nspawn, on a private network (loopback only), and
# driven with systemctl. Postfix is "Internet Site" with the machine's mail
# name example.org, which is also okapi's domain (so it starts out in
# mydestination). Then: an account, a mail through Postfix read back through
# Apache, the web app, reload, the journal, the next step okapi-server's
# status names when the database is down or refuses it, an upgrade, symlinks
# planted as okapi at the Postfix record's old and new place and a bogus key in
# the record (dpkg-reconfigure and purge change nothing outside okapi's files),
# and a purge. Second, in a fresh root: the .debs installed while nothing runs (an
# image build: nspawn without --boot, services kept down by policy-rc.d),
# then booted, and the first mail delivered without any set-up command.
#
# Usage (root):
#   tests/distro/nspawn-debian12.sh SERVER.deb WEBAPP.deb UPGRADE-SERVER.deb
# UPGRADE-SERVER.deb is a newer okapi-server (tests/distro/bump-deb.sh makes
# one from SERVER.deb). Needs debootstrap, systemd-container (nspawn,
# nsenter comes with util-linux), curl and jq on the host.
#
# Exit status: 0 passed, 1 failed, 77 skipped (a tool is missing; with CI set
# a missing tool fails instead). Figures are printed as "figure: NAME VALUE"
# lines; the run's logs stay in $OKAPI_DISTRO_LOGS (default target/distro).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
logs=${OKAPI_DISTRO_LOGS:-$top/target/distro}
started=$(date +%s)

say() { printf '[distro %3ds] %s\n' "$(($(date +%s) - started))" "$*"; }
figure() { echo "figure: $1 $2"; }
skip() {
    if [ -n "${CI:-}" ]; then
        echo "FAIL: $* (CI is set: a missing tool fails the run)" >&2
        exit 1
    fi
    echo "skip: $*" >&2
    exit 77
}

[ $# -eq 3 ] || { echo "usage: $0 SERVER.deb WEBAPP.deb UPGRADE-SERVER.deb" >&2; exit 2; }
server_deb=$(realpath "$1") webapp_deb=$(realpath "$2") upgrade_deb=$(realpath "$3")
[ "$(id -u)" = 0 ] || skip "needs root"
for tool in debootstrap systemd-nspawn nsenter curl jq zstd; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool missing (apt-get install debootstrap systemd-container curl jq zstd)"
done
for deb in "$server_deb" "$webapp_deb" "$upgrade_deb"; do
    [ -f "$deb" ] || skip "no package $deb (make deb)"
done

mkdir -p "$logs"
rm -f "$logs"/*.log
root=
nspawn_pid=
pid1=

# --- helpers ---------------------------------------------------------------

# A command inside the booted container, in all its namespaces, with a clean
# environment.
inside() {
    nsenter -t "$pid1" -a -- /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# curl from the host's binaries in the container's network namespace only.
curl_in() { nsenter -t "$pid1" -n -- curl -sS --max-time 30 "$@"; }

dump_logs() {
    [ -n "$pid1" ] && [ -d "/proc/$pid1" ] || return 0
    echo "---- failed units" >&2
    inside systemctl --failed --no-pager >&2 || true
    echo "---- status of okapi-server" >&2
    inside systemctl status --no-pager --lines=0 okapi-server.service okapi-server.socket >&2 || true
    inside journalctl -b --no-pager >"$logs/journal.log" 2>&1 || true
    echo "---- journal of okapi-server (last 60 lines; all of the boot in $logs/journal.log)" >&2
    inside journalctl -u okapi-server --no-pager -n 60 >&2 || true
    echo "---- journal of postfix (last 30 lines)" >&2
    inside journalctl -u 'postfix*' -t postfix/lmtp -t postfix/smtpd -t postfix/qmgr -t postfix/cleanup \
        --no-pager -n 30 >&2 || true
    echo "---- apache2 error.log (last 20 lines)" >&2
    inside tail -n 20 /var/log/apache2/error.log >&2 || true
}

fail() {
    echo "FAIL: $*" >&2
    dump_logs
    exit 1
}

cleanup() {
    local status=$?
    stop_container
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second.
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$(($(date +%s) + limit))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for $what"
        sleep 0.5
    done
}

# The container's PID 1: the descendant of systemd-nspawn whose innermost PID
# is 1.
find_pid1() {
    local p
    for p in $(ps -e -o pid= --ppid "$nspawn_pid") $(pgrep -P "$(pgrep -d, -P "$nspawn_pid" || echo 0)" 2>/dev/null || true); do
        if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$p/status" 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# --- the root ----------------------------------------------------------------

tarball=
# A fresh root from the cached tarball, with okapi's dependencies downloaded
# and the debconf answers an administrator would give; sets $root.
prepare_root() {
    [ -n "$tarball" ] || tarball=$("$top/tests/distro/make-root.sh")
    root=$(mktemp -d /var/tmp/okapi-distro.XXXXXX)
    chmod 0755 "$root"
    tar --numeric-owner --xattrs -C "$root" -I zstd -xf "$tarball"
    echo okapi-distro >"$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tokapi-distro mail.example.org\n::1\tlocalhost ip6-localhost\n' >"$root/etc/hosts"
    # nspawn mounts a fresh /tmp: the packages go to /var/tmp.
    install -d "$root/var/tmp/debs" "$root/var/tmp/upgrade"
    cp "$server_deb" "$webapp_deb" "$root/var/tmp/debs/"
    cp "$upgrade_deb" "$root/var/tmp/upgrade/"

    # Not booted, with the host's network: whatever okapi needs that the
    # cached root lacks is downloaded (not installed) now, since the booted
    # container has no network.
    setup_root apt-get install -y -q --download-only "${debs_in[@]}" >"$logs/download.log" 2>&1 ||
        { cat "$logs/download.log" >&2; fail "apt-get --download-only"; }

    # The debconf answers an administrator would give.
    cat >"$root/var/tmp/preseed" <<'PRESEED'
okapi-server okapi-server/dbconfig-install boolean true
okapi-server okapi-server/database-type select mysql
okapi-server okapi-server/mysql/method select Unix socket
okapi-server okapi-server/mysql/app-pass password
okapi-server okapi-server/postfix-configure boolean true
okapi-server okapi-server/postfix-domains string example.org
PRESEED
    setup_root debconf-set-selections /var/tmp/preseed
    # Postfix was installed as "Internet Site" with the mail name example.org
    # (make-root.sh), okapi's domain: Debian put it into mydestination.
    mydestination_before=$(sed -n 's/^mydestination = //p' "$root/etc/postfix/main.cf")
    mail_name_in "$mydestination_before" || fail "the mail name example.org is not in mydestination ($mydestination_before)"
}

# Whether the Postfix list $1 has the item example.org.
mail_name_in() { printf '%s\n' "$1" | tr ',' '\n' | sed 's/^ *//' | grep -qx example.org; }

# Runs a command with no service started (an image build): a policy-rc.d
# that refuses every start, as debootstrap and mkosi use.
services_down() {
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    local status=0
    "$@" || status=$?
    rm -f "$root/usr/sbin/policy-rc.d"
    return "$status"
}

setup_root() {
    systemd-nspawn --quiet --register=no --keep-unit --machine=okapi-distro -D "$root" \
        --setenv=DEBIAN_FRONTEND=noninteractive "$@" </dev/null
}

# Boots the container in $root (systemd as PID 1, private network) and waits
# until it runs; sets $nspawn_pid and $pid1.
boot() {
    systemd-nspawn --quiet --boot --register=no --keep-unit --private-network -D "$root" \
        --machine=okapi-distro >"$logs/console$1.log" 2>&1 </dev/null &
    nspawn_pid=$!
    local deadline=$(($(date +%s) + 30))
    until pid1=$(find_pid1); do
        kill -0 "$nspawn_pid" 2>/dev/null || { cat "$logs/console$1.log" >&2; fail "systemd-nspawn exited"; }
        [ "$(date +%s)" -lt "$deadline" ] || fail "no PID 1 in the container after 30 s"
        sleep 0.2
    done
    [ "$(inside cat /proc/1/comm)" = systemd ] || fail "PID 1 in the container is not systemd"
    # PID 1 answers on its bus only once it has set it up: ask until it does.
    local state=
    deadline=$(($(date +%s) + 120))
    while :; do
        state=$(inside systemctl is-system-running --wait 2>/dev/null || true)
        case $state in running | degraded | maintenance | stopping | offline) break ;; esac
        [ "$(date +%s)" -lt "$deadline" ] || break
        sleep 0.5
    done
    say "system state: $state"
    [ "$state" = running ] || [ "$state" = degraded ] || fail "the container did not boot (state $state)"
}

# Powers the container off and removes its root.
stop_container() {
    if [ -n "$pid1" ] && [ -d "/proc/$pid1" ]; then
        # SIGRTMIN+4 asks systemd for a clean poweroff (as machinectl does).
        kill -s RTMIN+4 "$pid1" 2>/dev/null || true
    fi
    if [ -n "$nspawn_pid" ]; then
        for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$nspawn_pid" 2>/dev/null || true
        wait "$nspawn_pid" 2>/dev/null || true
    fi
    nspawn_pid='' pid1=''
    [ -z "$root" ] || rm -rf "$root"
    root=
}

debs_in=(/var/tmp/debs/"$(basename "$server_deb")" /var/tmp/debs/"$(basename "$webapp_deb")")
upgrade_in=/var/tmp/upgrade/$(basename "$upgrade_deb")

say "root: cached debootstrap of Debian 12 with mariadb-server, apache2, postfix; mail name example.org"
prepare_root

# --- boot ----------------------------------------------------------------------

say "boot the container (systemd as PID 1, private network)"
boot ""
wait_for 60 "MariaDB to answer" inside mariadb-admin ping
inside systemctl is-active --quiet apache2 postfix || fail "apache2 or postfix is not running"

# --- install --------------------------------------------------------------------

say "apt-get install okapi-server okapi-webapp (no network: from the pre-downloaded archives)"
t_install=$(date +%s.%N)
inside apt-get install -y -q "${debs_in[@]}" >"$logs/install.log" 2>&1 ||
    { tail -n 40 "$logs/install.log" >&2; fail "apt-get install of the okapi packages"; }
t_installed=$(date +%s.%N)
figure apt_install_seconds "$(echo "$t_installed - $t_install" | bc)"

say "units: the sockets are enabled and listening"
for unit in okapi-server.socket okapi-server-lmtp.socket okapi-server-local.socket okapi-server-lmtp-local.socket; do
    inside systemctl is-enabled --quiet "$unit" || fail "$unit is not enabled"
    inside systemctl is-active --quiet "$unit" || fail "$unit is not active"
done

say "the database settings dbconfig-common wrote"
inside test -f /etc/okapi/server.cfg.d/00-database.cfg || fail "no /etc/okapi/server.cfg.d/00-database.cfg"
inside grep -q '^database_url = mysql://okapi@' /etc/okapi/server.cfg.d/00-database.cfg ||
    fail "00-database.cfg has no MySQL database_url: $(inside cat /etc/okapi/server.cfg.d/00-database.cfg)"
[ "$(inside stat -c '%U:%G %a' /etc/okapi/database-password)" = "root:okapi 640" ] ||
    fail "/etc/okapi/database-password is not root:okapi 0640"
inside mariadb -N -e 'SHOW DATABASES' | grep -qx okapi || fail "no okapi database in MariaDB"

say "okapi-admin user add (starts the service through the local socket)"
printf 'distro-secret-1\n' | inside okapi-admin user add alice --address alice@example.org --name 'Alice Distro' ||
    fail "okapi-admin user add"
inside systemctl is-active --quiet okapi-server.service || fail "okapi-server.service is not active"
inside mariadb -N -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='okapi'" |
    grep -qv '^0$' || fail "okapi's tables are not in MariaDB"

say "Postfix is pointed at okapi, and the mail name left mydestination"
[ "$(inside postconf -h virtual_transport)" = lmtp:inet:127.0.0.1:2003 ] || fail "virtual_transport not set"
[ "$(inside postconf -h virtual_mailbox_domains)" = example.org ] || fail "virtual_mailbox_domains not set"
mydestination=$(inside postconf -h mydestination)
expected=$(printf '%s\n' "$mydestination_before" | tr ',' '\n' | sed 's/^ *//' | grep -vx example.org | paste -sd, | sed 's/,/, /g')
[ "$mydestination" = "$expected" ] || fail "mydestination is \"$mydestination\", not \"$expected\""
inside okapi-admin setup postfix --check >"$logs/postfix-check.log" 2>&1 ||
    { cat "$logs/postfix-check.log" >&2; fail "okapi-admin setup postfix --check found a problem"; }

# The API through Apache: logon, the Inbox, its messages.
api() { curl_in -f -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1/api/v1/$1"; }
logon() {
    session=$(api logon '{"user":"alice","password":"distro-secret-1"}' | jq -r .session) ||
        fail "logon through Apache"
    [ -n "$session" ] || fail "logon through Apache: no session"
    inbox=$(api getStore "{\"session\":\"$session\"}" | jq -r .inbox) || fail "getStore through Apache"
    [ -n "$inbox" ] || fail "getStore: no Inbox"
}
inbox_subjects() {
    api queryRows "{\"session\":\"$session\",\"folder\":\"$inbox\",\"columns\":[\"PR_SUBJECT\"]}" |
        jq -r '.rows[] | (.PR_SUBJECT // .props.PR_SUBJECT // empty)'
}
has_subject() { inbox_subjects | grep -qxF "$1"; }

say "a mail through Postfix to alice@example.org, read back through Apache"
logon
inside sh -c 'printf "From: root@mail.example.org\nTo: alice@example.org\nSubject: distro test 1\n\nhello from postfix\n" |
    /usr/sbin/sendmail -f root@mail.example.org alice@example.org' || fail "sendmail"
deadline=$(($(date +%s) + 60))
until has_subject "distro test 1"; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "the mail did not reach alice's Inbox within 60 s"
    sleep 0.2
done
t_delivered=$(date +%s.%N)
figure install_to_first_mail_seconds "$(echo "$t_delivered - $t_install" | bc)"

say "the web app and the SOAP endpoint through Apache"
# Whole answers first: grep -q stopping early would fail curl (pipefail).
page=$(curl_in -f http://127.0.0.1/webapp/) || fail "/webapp/ through Apache"
grep -qi okapi <<<"$page" || fail "/webapp/ through Apache is not okapi's page"
wsdl=$(curl_in -f 'http://127.0.0.1/okapi?wsdl') || fail "/okapi?wsdl through Apache"
grep -q 'definitions' <<<"$wsdl" || fail "/okapi?wsdl through Apache is no WSDL"
inside apache2ctl -M 2>/dev/null | grep -q proxy_http_module || fail "mod_proxy_http not enabled"

say "systemctl reload okapi-server"
pid_before=$(inside systemctl show -P MainPID okapi-server.service)
since=$(inside date '+%Y-%m-%d %H:%M:%S')
inside systemctl reload okapi-server.service || fail "systemctl reload"
[ "$(inside systemctl show -P MainPID okapi-server.service)" = "$pid_before" ] || fail "reload restarted the server"
inside systemctl is-active --quiet okapi-server.service || fail "not active after the reload"
wait_for 10 "the reload in the journal" \
    sh -c "nsenter -t $pid1 -a journalctl -u okapi-server --since '$since' --no-pager | grep -qi reload"

say "journalctl -u okapi-server -o json: okapi's structured fields"
inside journalctl -u okapi-server -o json --no-pager >"$logs/journal-okapi.json"
for field in OKAPI_USER OKAPI_SESSION OKAPI_REMOTE OKAPI_MESSAGE_ID; do
    jq -se --arg f "$field" 'any(.[]; has($f))' "$logs/journal-okapi.json" >/dev/null ||
        fail "no $field in the journal of okapi-server (see $logs/journal-okapi.json)"
done
grep -q '"SYSLOG_IDENTIFIER":"okapi-server"' "$logs/journal-okapi.json" || fail "no SYSLOG_IDENTIFIER=okapi-server"

# okapi-server's STATUS= while it waits for the database names the next step.
status_text() { inside systemctl show -P StatusText okapi-server.service; }
say "status while the database is down, and while it refuses okapi"
inside systemctl stop mariadb
inside systemctl restart --no-block okapi-server.service
wait_for 60 "a STATUS= naming systemctl start mariadb" sh -c "nsenter -t $pid1 -a systemctl show -P StatusText okapi-server.service | grep -q 'systemctl start mariadb'"
say "  $(status_text)"
inside systemctl start mariadb
wait_for 60 "okapi-server to start once MariaDB runs" inside systemctl is-active --quiet okapi-server.service
inside mariadb -e "ALTER USER 'okapi'@'localhost' IDENTIFIED BY 'not-the-password'"
inside systemctl restart --no-block okapi-server.service
wait_for 60 "a STATUS= naming okapi-admin setup database" sh -c "nsenter -t $pid1 -a systemctl show -P StatusText okapi-server.service | grep -q 'Access denied.*okapi-admin setup database'"
say "  $(status_text)"
# The command it names is the fix: the password file is kept, the account set to it.
inside okapi-admin setup database >"$logs/setup-database.log" 2>&1 ||
    { cat "$logs/setup-database.log" >&2; fail "okapi-admin setup database"; }
inside systemctl restart okapi-server.service || fail "okapi-server did not start after okapi-admin setup database"
logon

say "upgrade to $(basename "$upgrade_deb")"
inside sh -c 'printf "From: root@mail.example.org\nSubject: distro test 2\n\nsecond\n" |
    /usr/sbin/sendmail -f root@mail.example.org alice@example.org'
wait_for 60 "the second mail" has_subject "distro test 2"
count_before=$(inbox_subjects | wc -l)
pid_before=$(inside systemctl show -P MainPID okapi-server.service)
inside apt-get install -y -q "$upgrade_in" >"$logs/upgrade.log" 2>&1 ||
    { tail -n 40 "$logs/upgrade.log" >&2; fail "apt-get install of the upgrade"; }
new_version=$(dpkg-deb -f "$upgrade_deb" Version)
# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not the shell's
[ "$(inside dpkg-query -W -f '${Version}' okapi-server)" = "$new_version" ] || fail "okapi-server is not at $new_version"
inside systemctl is-active --quiet okapi-server.service || fail "okapi-server is not active after the upgrade"
[ "$(inside systemctl show -P MainPID okapi-server.service)" != "$pid_before" ] || fail "the upgrade did not restart the server"
logon
count_after=$(inbox_subjects | wc -l)
[ "$count_after" -eq "$count_before" ] || fail "the Inbox had $count_before messages before the upgrade, $count_after after"
has_subject "distro test 1" || fail "the first message is missing after the upgrade"
has_subject "distro test 2" || fail "the second message is missing after the upgrade"
inside sh -c 'printf "Subject: distro test 3\n\nafter the upgrade\n" | /usr/sbin/sendmail alice@example.org'
wait_for 60 "a mail after the upgrade" has_subject "distro test 3"

# What whoever runs code as okapi could try against root's scripts: symlinks
# at the Postfix record's old place and at its temporary name, and at the old
# set-up marker, all pointing at a root file; the record's new place tried
# too. Run as okapi, with okapi's uid and groups only.
as_okapi() { inside setpriv --reuid okapi --regid okapi --init-groups -- "$@"; }
plant_as_okapi() {
    as_okapi ln -sfn /etc/okapi-distro-victim /var/lib/okapi/postfix-changes
    as_okapi ln -sfn /etc/okapi-distro-victim /var/lib/okapi/postfix-changes.new
    as_okapi ln -sfn /etc/okapi-distro-victim /var/lib/okapi/database-setup-pending
    ! as_okapi ln -s /etc/okapi-distro-victim /var/lib/okapi-server/postfix-changes 2>/dev/null ||
        fail "the okapi user could put a symlink at the record's new place"
    ! as_okapi sh -c 'printf "smtpd_banner\tx\ty\n" >> /var/lib/okapi-server/postfix-changes' 2>/dev/null ||
        fail "the okapi user could write the Postfix record"
}
victim_state() { inside stat -c '%U:%G %a %s %Y' /etc/okapi-distro-victim; inside md5sum /etc/okapi-distro-victim; }
# A Postfix key okapi never sets, recorded with the value main.cf holds: a
# restore that trusted the record would put the "old" value back.
# shellcheck disable=SC2016 # Postfix's $myhostname, not the shell's
banner='$myhostname ESMTP okapi-distro'

say "a symlink planted as okapi and a bogus key in the record: dpkg-reconfigure changes nothing outside okapi's files"
[ "$(inside stat -c '%U:%G %a' /var/lib/okapi-server)" = "root:root 700" ] || fail "/var/lib/okapi-server is not root:root 0700"
[ "$(inside stat -c '%U:%G %a' /var/lib/okapi-server/postfix-changes)" = "root:root 600" ] ||
    fail "the Postfix record is not root:root 0600"
inside sh -c 'printf "root'"'"'s own file\n" > /etc/okapi-distro-victim && chmod 0640 /etc/okapi-distro-victim'
victim_before=$(victim_state)
inside postconf -e "smtpd_banner = $banner"
inside sh -c "printf 'smtpd_banner\t%s\t%s\n' '\$myhostname ESMTP planted' '$banner' >> /var/lib/okapi-server/postfix-changes"
plant_as_okapi
inside dpkg-reconfigure -f noninteractive okapi-server >"$logs/reconfigure.log" 2>&1 ||
    { tail -n 40 "$logs/reconfigure.log" >&2; fail "dpkg-reconfigure okapi-server"; }
[ "$(victim_state)" = "$victim_before" ] || fail "dpkg-reconfigure changed /etc/okapi-distro-victim: $(victim_state)"
grep -q 'ignored /var/lib/okapi/postfix-changes' "$logs/reconfigure.log" ||
    fail "dpkg-reconfigure did not say that it ignored the planted record"
for planted in postfix-changes postfix-changes.new database-setup-pending; do
    ! inside test -L "/var/lib/okapi-server/$planted" || fail "/var/lib/okapi-server/$planted is a symlink"
done
! inside test -e /var/lib/okapi-server/database-setup-pending || fail "a planted marker made root run the set-up"
[ "$(inside postconf -h smtpd_banner)" = "$banner" ] || fail "dpkg-reconfigure changed smtpd_banner"
[ "$(inside postconf -h virtual_transport)" = lmtp:inet:127.0.0.1:2003 ] || fail "virtual_transport lost at dpkg-reconfigure"
inside systemctl is-active --quiet okapi-server.service || fail "okapi-server is not active after dpkg-reconfigure"

say "apt-get purge (dbconfig-common asked to drop the database)"
plant_as_okapi
setup_answers='okapi-server okapi-server/dbconfig-remove boolean true
okapi-server okapi-server/purge boolean true'
printf '%s\n' "$setup_answers" | inside debconf-set-selections
inside apt-get purge -y -q okapi-webapp okapi-server >"$logs/purge.log" 2>&1 ||
    { tail -n 40 "$logs/purge.log" >&2; fail "apt-get purge"; }
for unit in okapi-server.service okapi-server.socket okapi-server-lmtp.socket okapi-server-local.socket okapi-server-lmtp-local.socket; do
    ! inside systemctl is-active --quiet "$unit" || fail "$unit is still active after the purge"
done
for path in /etc/okapi /var/lib/okapi /var/log/okapi /run/okapi /usr/sbin/okapi-server \
    /etc/apache2/conf-available/okapi-webapp.conf /etc/apache2/conf-enabled/okapi-webapp.conf; do
    ! inside test -e "$path" || fail "$path is still there after the purge"
done
! inside getent passwd okapi >/dev/null || fail "the okapi user is still there after the purge"
! inside getent group okapi >/dev/null || fail "the okapi group is still there after the purge"
! inside mariadb -N -e 'SHOW DATABASES' | grep -qx okapi || fail "the okapi database is still there"
# dbconfig-common revokes the account's rights and leaves the account itself
# (its "dropuser" is a REVOKE: an account may be shared); no right may remain.
[ "$(inside mariadb -N -e "SELECT COUNT(*) FROM mysql.db WHERE User='okapi' OR Db='okapi'")" = 0 ] ||
    fail "the okapi MySQL account still has rights after the purge"
[ -z "$(inside postconf -n -h virtual_transport)" ] || fail "Postfix's virtual_transport was not restored"
[ -z "$(inside postconf -n -h virtual_mailbox_domains)" ] || fail "Postfix's virtual_mailbox_domains was not restored"
[ "$(inside postconf -h smtpd_banner)" = "$banner" ] || fail "the purge restored smtpd_banner, a key okapi never sets"
grep -q 'names smtpd_banner, which okapi never sets' "$logs/purge.log" || fail "the purge did not warn about smtpd_banner"
[ "$(victim_state)" = "$victim_before" ] || fail "the purge changed /etc/okapi-distro-victim: $(victim_state)"
! inside test -e /var/lib/okapi-server || fail "/var/lib/okapi-server is still there after the purge"
inside systemctl is-active --quiet apache2 || fail "apache2 stopped after the purge"
inside dpkg -l | awk '$2 ~ /^okapi/ { found = 1 } END { exit found }' || fail "dpkg still lists an okapi package"

stop_container

# --- installed while nothing runs, then booted ---------------------------------

say "second root: apt-get install while nothing runs (not booted, policy-rc.d)"
prepare_root
services_down setup_root apt-get install -y -q "${debs_in[@]}" >"$logs/install-unbooted.log" 2>&1 ||
    { tail -n 40 "$logs/install-unbooted.log" >&2; fail "apt-get install into the unbooted root"; }
[ -e "$root/var/lib/okapi-server/database-setup-pending" ] ||
    { tail -n 40 "$logs/install-unbooted.log" >&2; fail "the postinst left no database-setup-pending marker"; }
grep -q 'okapi-server-setup.service does it' "$logs/install-unbooted.log" ||
    fail "the install did not say that the database is set up at the next start"
! mail_name_in "$(sed -n 's/^mydestination = //p' "$root/etc/postfix/main.cf")" ||
    fail "example.org is still in mydestination: $(grep ^mydestination "$root/etc/postfix/main.cf")"

say "boot it; nobody runs a set-up command"
t_boot=$(date +%s.%N)
boot "-unbooted"
wait_for 120 "okapi-server to start at boot" inside systemctl is-active --quiet okapi-server.service
if [ "$(inside systemctl show -P ActiveState okapi-server-setup.service)" != active ] ||
    [ "$(inside systemctl show -P Result okapi-server-setup.service)" != success ]; then
    fail "okapi-server-setup.service did not run: $(inside systemctl status --no-pager okapi-server-setup.service)"
fi
! inside test -e /var/lib/okapi-server/database-setup-pending || fail "the marker is still there after the set-up"
inside mariadb -N -e 'SHOW DATABASES' | grep -qx okapi || fail "no okapi database in MariaDB after the first boot"
printf 'distro-secret-1\n' | inside okapi-admin user add alice --address alice@example.org --name 'Alice Distro' ||
    fail "okapi-admin user add after the first boot"
inside sh -c 'printf "From: root@mail.example.org\nTo: alice@example.org\nSubject: first boot\n\nhello\n" |
    /usr/sbin/sendmail -f root@mail.example.org alice@example.org' || fail "sendmail after the first boot"
logon
wait_for 60 "the first mail after the first boot" has_subject "first boot"
t_first_mail=$(date +%s.%N)
figure boot_to_first_mail_seconds "$(echo "$t_first_mail - $t_boot" | bc)"
inside journalctl -u okapi-server -u okapi-server-setup --no-pager >"$logs/journal-first-boot.log" 2>&1 || true

say "passed"
figure distro_test_seconds "$(($(date +%s) - started))"
