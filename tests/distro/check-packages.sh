#!/bin/sh
# Static checks of okapi's packaging, runnable without root or a container:
# maintainer scripts parse, man pages render without warnings and list every
# configuration key, the RPM spec parses and its scriptlets are valid shell,
# and, when the packages have been built (make deb), lintian on them.
#
# Usage: tests/distro/check-packages.sh   (from the top of the source tree)
# Exit status: 0 all passed, 1 a check failed, 77 nothing could be checked.
set -eu
cd "$(dirname "$0")/../.."

failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }
pass() { echo "ok: $*"; }

for f in debian/okapi-server.config debian/okapi-server.postinst debian/okapi-server.prerm \
         debian/okapi-server.postrm debian/okapi-webapp.postinst debian/okapi-webapp.prerm \
         debian/okapi-webapp.postrm; do
    if sh -n "$f"; then pass "sh -n $f"; else fail "sh -n $f"; fi
    grep -q '^#DEBHELPER#$' "$f" || fail "$f has no #DEBHELPER# line"
    tail -n 1 "$f" | grep -q '^exit 0$' || fail "$f does not end with exit 0"
done

for m in man/okapi-server.8 man/okapi-admin.8 man/okapi-dagent.8 man/okapi-server.cfg.5; do
    out=$(LC_ALL=C.UTF-8 man --warnings -l "$m" 2>&1 >/dev/null || true)
    if [ -z "$out" ]; then pass "man $m"; else fail "man $m: $out"; fi
done
grep -q '^\.SH EXIT STATUS' man/okapi-dagent.8 || fail "okapi-dagent.8 has no EXIT STATUS"
for code in 0 64 67 70 75; do
    grep -q "^\.B $code\$" man/okapi-dagent.8 || fail "okapi-dagent.8 does not list exit status $code"
done

# Every key in the sample configuration is in okapi-server.cfg(5), and the
# page is what the generator makes now.
keys_cfg=$(sed -n 's/^#\([a-z_]*\) =.*/\1/p' config/server.cfg | sort)
keys_man=$(sed -n 's/^\.B \([a-z_]*\)$/\1/p' man/okapi-server.cfg.5 | sort)
if [ "$keys_cfg" = "$keys_man" ]; then pass "okapi-server.cfg.5 lists every key"; else fail "okapi-server.cfg.5 keys differ from config/server.cfg"; fi
if sh man/gen-server-cfg.sh config/server.cfg | cmp -s - man/okapi-server.cfg.5; then
    pass "okapi-server.cfg.5 is up to date"
else
    fail "okapi-server.cfg.5 is stale: make man"
fi
for bin in target/debug/okapi-server target/release/okapi-server; do
    [ -x "$bin" ] || continue
    keys_bin=$("$bin" --print-config --config /dev/null 2>/dev/null | sed -n 's/^\([a-z_]*\) =.*/\1/p' | sort) || true
    if [ -z "$keys_bin" ]; then
        :
    elif [ "$keys_bin" = "$keys_man" ]; then
        pass "$bin --print-config keys match"
    else
        fail "$bin --print-config keys differ from the man page"
    fi
    break
done

# The debconf templates: translatable, questions end in ? (boolean) or :.
if grep -q '^_Description: .*?$' debian/okapi-server.templates; then pass "boolean question ends with ?"; else fail "templates"; fi

# Apache: the configuration parses (needs apache2 with the modules).
if command -v apache2ctl >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    cat > "$tmp/apache2.conf" <<CONF
ServerRoot /etc/apache2
PidFile $tmp/pid
Include /etc/apache2/mods-available/mpm_event.load
Include /etc/apache2/mods-available/authz_core.load
Include /etc/apache2/mods-available/alias.load
Include /etc/apache2/mods-available/dir.load
Include /etc/apache2/mods-available/proxy.load
Include /etc/apache2/mods-available/proxy_http.load
Include /etc/apache2/mods-available/headers.load
Listen 127.0.0.1:8080
ErrorLog $tmp/error.log
Include $(pwd)/apache/okapi-webapp.conf
CONF
    if out=$(apache2 -t -f "$tmp/apache2.conf" 2>&1); then pass "apache2 -t"; else fail "apache2 -t: $out"; fi
    rm -rf "$tmp"
else
    echo "skip: apache2 not installed"
fi

# RPM: the spec parses, and its scriptlets are shell once the systemd macros
# are expanded (stubs here when systemd-rpm-macros is missing, as on Debian).
if command -v rpmspec >/dev/null 2>&1; then
    if ! rpm --eval '%{?systemd_post:yes}' | grep -q yes; then
        # shellcheck disable=SC2016 # $1 is the scriptlet's, expanded by rpm's shell
        set -- \
          --define 'systemd_post() systemctl preset "$@" >/dev/null 2>&1 || :' \
          --define 'systemd_preun() if [ $1 -eq 0 ]; then systemctl --no-reload disable --now %{?*} >/dev/null 2>&1 || :; fi' \
          --define 'systemd_postun_with_restart() if [ $1 -ge 1 ]; then systemctl try-restart %{?*} >/dev/null 2>&1 || :; fi' \
          --define 'sysusers_create_compat() getent group okapi >/dev/null || groupadd -r okapi; getent passwd okapi >/dev/null || useradd -r -g okapi -d /var/lib/okapi -s /sbin/nologin okapi' \
          --define 'tmpfiles_create() systemd-tmpfiles --create %{?*} >/dev/null 2>&1 || :' \
          --define '_unitdir /usr/lib/systemd/system' --define '_sysusersdir /usr/lib/sysusers.d' \
          --define '_tmpfilesdir /usr/lib/tmpfiles.d'
    else
        set --
    fi
    if rpmspec "$@" -P rpm/okapi.spec > /tmp/okapi-spec.$$ 2>&1; then
        pass "rpmspec -P rpm/okapi.spec"
        for section in '%pre server' '%post server' '%preun server' '%postun server' '%post webapp' '%postun webapp'; do
            awk -v s="$section" '$0 == s {on=1; next} /^%(pre|post|preun|postun|files|changelog|package|description)( |$)/ {on=0} on' \
                /tmp/okapi-spec.$$ > /tmp/okapi-scriptlet.$$
            if sh -n /tmp/okapi-scriptlet.$$; then pass "scriptlet $section"; else fail "scriptlet $section"; fi
        done
    else
        fail "rpmspec -P: $(cat /tmp/okapi-spec.$$)"
    fi
    rm -f /tmp/okapi-spec.$$ /tmp/okapi-scriptlet.$$
else
    echo "skip: rpmspec not installed"
fi

# lintian on whatever "make deb" built.
if command -v lintian >/dev/null 2>&1 && ls target/debian/*.deb >/dev/null 2>&1; then
    for deb in target/debian/okapi-server_*.deb target/debian/okapi-webapp_*.deb; do
        [ -e "$deb" ] || continue
        if out=$(lintian --fail-on error --suppress-tags-from-file /dev/null "$deb" 2>&1); then
            pass "lintian $deb"
        else
            fail "lintian $deb: $out"
        fi
        [ -z "$out" ] || printf '%s\n' "$out"
    done
else
    echo "skip: lintian or the .deb files missing (make deb)"
fi

exit $failed
