#!/bin/sh
# Apache in front of okapi-server, without packages: starts okapi-server
# (SQLite in a temporary directory, its local socket there too) and an apache2
# on 127.0.0.1:PORT with apache/okapi-webapp.conf (its socket path rewritten
# and the web app's directory pointed at webapp/), then checks the web app
# page and the proxied /okapi?wsdl and /api paths.
#
# Usage: tests/distro/apache-proxy.sh [path/to/okapi-server]
# Exit status: 0 passed, 1 failed, 77 skipped (no apache2 or no server binary).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
server=${1:-$top/target/debug/okapi-server}
port=${OKAPI_APACHE_PORT:-18080}
[ -x "$server" ] || { echo "skip: no $server (cargo build)"; exit 77; }
command -v apache2 >/dev/null 2>&1 || { echo "skip: apache2 missing"; exit 77; }

tmp=$(mktemp -d)
chmod 0755 "$tmp"
spid=
cleanup() {
    [ -z "$spid" ] || kill "$spid" 2>/dev/null || true
    [ ! -f "$tmp/apache.pid" ] || kill "$(cat "$tmp/apache.pid")" 2>/dev/null || true
    sleep 1
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat > "$tmp/server.cfg" <<CFG
server_listen =
server_listen_tls =
lmtp_listen =
lmtp_socket = $tmp/lmtp.sock
local_socket = $tmp/server.sock
database_url = sqlite://$tmp/okapi.db
attachment_path = $tmp/blobs
CFG
mkdir -p "$tmp/blobs"
# As root the server would switch to the okapi user: run it as nobody instead.
if [ "$(id -u)" = 0 ]; then
    chown -R nobody "$tmp"
    set -- setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups --
else
    set --
fi
"$@" "$server" --config "$tmp/server.cfg" > "$tmp/server.log" 2>&1 &
spid=$!
for _ in $(seq 50); do
    [ -S "$tmp/server.sock" ] && curl -s --unix-socket "$tmp/server.sock" -o /dev/null http://localhost/ && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.2
done
kill -0 "$spid" 2>/dev/null || { echo "FAIL: okapi-server did not start:"; cat "$tmp/server.log"; exit 1; }
chmod 0666 "$tmp/server.sock"

sed -e "s|/run/okapi/server.sock|$tmp/server.sock|g" -e "s|/usr/share/okapi/webapp|$top/webapp|g" \
    "$top/apache/okapi-webapp.conf" > "$tmp/okapi-webapp.conf"
mods=/etc/apache2/mods-available
cat > "$tmp/apache2.conf" <<CONF
ServerRoot /etc/apache2
ServerName localhost
PidFile $tmp/apache.pid
Mutex file:$tmp
Include $mods/mpm_event.load
Include $mods/authz_core.load
Include $mods/authz_host.load
Include $mods/alias.load
Include $mods/dir.load
Include $mods/mime.load
TypesConfig /etc/mime.types
Include $mods/proxy.load
Include $mods/proxy_http.load
Include $mods/headers.load
Listen 127.0.0.1:$port
ErrorLog $tmp/apache-error.log
Include $tmp/okapi-webapp.conf
CONF
apache2 -f "$tmp/apache2.conf" -k start
sleep 1

failed=0
check() { # name, curl arguments..., then a grep pattern via $want
    name=$1; shift
    if out=$(curl -sS -i "$@" 2>&1) && printf '%s' "$out" | grep -q "$want"; then
        echo "ok: $name"
    else
        echo "FAIL: $name"; printf '%s\n' "$out" | head -20; failed=1
    fi
}
want='okapi' check "/webapp/ served by Apache" "http://127.0.0.1:$port/webapp/"
want='X-Content-Type-Options: nosniff' check "security headers" "http://127.0.0.1:$port/webapp/"
want='definitions' check "/okapi?wsdl proxied to the local socket" "http://127.0.0.1:$port/okapi?wsdl"
want='^HTTP/1.1 [2-4]' check "/api/v1/ proxied (an answer from okapi-server)" -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$port/api/v1/logon"
grep -q "proxy" "$tmp/apache-error.log" 2>/dev/null && { echo "apache error log:"; cat "$tmp/apache-error.log"; } || true
exit $failed
