#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian packages as an admin meets them.  Run by scripts/check, not by
# make check: it packages HEAD from git (scripts/package) and installs on
# this machine as root, which CI's throwaway machine is.
#
# Builds the packages and lints them; installs them with apt-get; checks the
# files are where README.md says, the programs run from /usr, the unit,
# desktop file and metainfo validate, the user and directories exist and
# nothing else appeared in /etc; follows README.Debian (the credential, the
# unit's start condition, the agent run as the unit runs it); reinstalls as
# an upgrade does (state, keyring and conffile kept); purges (state gone,
# and said so; nothing left but the user); and checks that a second build
# of the same commit from a fresh copy gives byte-identical packages.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-debian.XXXXXX")
chmod 0711 "$WORK"   # the agent's user reaches its credentials directory in it
fail () { echo "FAIL: $*" >&2; exit 1; }
pass () { echo "ok - $*"; }
has () { grep "$@" >/dev/null; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
pkgs=(credgate-agent credgate-tools credgate-manager)
cred=/etc/credstore.encrypted/credgate-keyring-password.cred
export DEBIAN_FRONTEND=noninteractive
apt_get () { $sudo apt-get -o DPkg::Lock::Timeout=600 "$@"; }

# One run at a time on a machine (several checkouts may run scripts/check):
# a second waits here rather than finding the first one's packages.
exec 9>/tmp/credgate-test-debian-packages.lock
flock 9

# This machine must not hold a credgate of its own: the test purges.
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | has '^.i' &&
    fail "$p is installed here; the test installs and purges it (apt-get purge ${pkgs[*]} first)"
done
for f in /var/lib/credgate "$cred"; do
  [ ! -e "$f" ] || fail "$f exists: this machine has a credgate of its own, which the test would delete"
done
# The user a purge keeps (by policy) goes, so that installing must make it.
if getent passwd credgate >/dev/null; then
  echo "# removing the user credgate that an earlier purge left"
  $sudo userdel credgate
  ! getent group credgate >/dev/null || $sudo groupdel credgate
fi
credstore_made= hostkey_made= installed= agent_pid=
[ -e /etc/credstore.encrypted ] || credstore_made=1
[ -e /var/lib/systemd/credential.secret ] || hostkey_made=1
cleanup () {
  [ -z "$agent_pid" ] || { $sudo pkill -TERM -P "$agent_pid"; $sudo kill -TERM "$agent_pid"; sleep 0.5; } 2>/dev/null
  [ -z "$installed" ] || apt_get purge -y -qq "${pkgs[@]}" >/dev/null 2>&1 || true
  $sudo rm -f "$cred"
  [ -z "$credstore_made" ] || $sudo rmdir /etc/credstore.encrypted 2>/dev/null || true
  [ -z "$hostkey_made" ] || $sudo rm -f /var/lib/systemd/credential.secret
  [ -z "${build2_pid:-}" ] || { kill -TERM -- "-$build2_pid"; wait "$build2_pid"; } 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- Build (twice: the second, from its own fresh copy, in the background
# while the first is checked) and lint.
SECONDS=0
"$top/scripts/package" --output "$WORK/out1" >"$WORK/package1.txt" 2>"$WORK/package1.err" ||
  { cat "$WORK/package1.err" >&2; fail "scripts/package"; }
build1=$SECONDS
# In its own process group, so that a failure below stops all of it.
setsid bash -c 'SECONDS=0; rc=0; "$0" --output "$1" >"$2/package2.txt" 2>"$2/package2.err" || rc=$?
                echo "$rc $SECONDS" > "$2/build2.done"' "$top/scripts/package" "$WORK/out2" "$WORK" &
build2_pid=$!
for p in "${pkgs[@]}"; do has -x "${p}_.*\.deb" "$WORK/package1.txt" || fail "scripts/package did not list $p"; done
deb () { echo "$WORK/out1/$(grep -x "${1}_.*\.deb" "$WORK/package1.txt")"; }
pass "scripts/package built ${pkgs[*]} in ${build1}s"

lint=$(lintian --fail-on error,warning "$WORK"/out1/credgate_*.changes 2>&1 |
       { grep -v 'running with root privileges' || true; }) ||
  fail "lintian: $lint"
pass "lintian: no errors, no warnings left without an override${lint:+ ($(echo "$lint" | wc -l) info lines)}"

# --- Install as the README says.
find /etc -xdev | sort > "$WORK/etc.before"
apt_get install -y -qq "$(deb credgate-agent)" "$(deb credgate-tools)" "$(deb credgate-manager)" \
  >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log" >&2; fail "apt-get install"; }
installed=1
pass "apt-get install ./credgate-{agent,tools,manager}_*.deb"

# Every path the README's Debian section names is installed, from the
# package it names.
section=$(sed -n '/^## Installing on Debian/,/^## /p' "$top/README.md")
[ -n "$section" ] || fail "README.md has no \"Installing on Debian\" section"
while read -r pkg path; do
  printf '%s\n' "$section" | has -F "\`$path\`" || fail "README.md's Debian section does not say where $path is"
  [ -e "$path" ] || fail "$path is not installed"
  dpkg -S "$path" 2>/dev/null | has "^$pkg: " || fail "$path is not from $pkg"
done <<'EOF'
credgate-agent /usr/sbin/credgate-agent
credgate-agent /usr/libexec/credgate-agent-session
credgate-agent /lib/systemd/system/credgate-agent.service
credgate-agent /usr/lib/sysusers.d/credgate.conf
credgate-agent /usr/lib/tmpfiles.d/credgate.conf
credgate-agent /etc/credgate/agent.conf
credgate-agent /usr/share/doc/credgate-agent/README.Debian
credgate-agent /usr/share/doc/credgate-agent/README.md
credgate-tools /usr/bin/credgatectl
credgate-tools /usr/bin/credgate-encrypt-value
credgate-manager /usr/bin/credgate-manager
credgate-manager /usr/share/applications/org.credgate.Manager.desktop
credgate-manager /usr/share/metainfo/org.credgate.Manager.metainfo.xml
credgate-manager /usr/share/icons/hicolor/scalable/apps/org.credgate.Manager.svg
credgate-manager /usr/share/locale/de/LC_MESSAGES/credgate.mo
credgate-manager /usr/share/locale/nl/LC_MESSAGES/credgate.mo
EOF
dpkg-query -W -f='${Conffiles}\n' credgate-agent | has '^ /etc/credgate/agent.conf ' || fail "agent.conf is not a conffile"
unit=/lib/systemd/system/credgate-agent.service
has '^Documentation=file:///usr/share/doc/credgate-agent/README.md$' "$unit" || fail "the unit's Documentation= is not the installed README.md"
pass "files where README.md's Debian section says; agent.conf a conffile"

version=$(/usr/sbin/credgate-agent --version) || fail "credgate-agent --version"
printf '%s\n' "$version" | has "$(dpkg-query -W -f='${Version}' credgate-agent)" || fail "credgate-agent --version: $version"
/usr/bin/credgatectl --help | has 'token create' || fail "credgatectl --help"
/usr/bin/credgate-encrypt-value --help | has -- '--agent' || fail "credgate-encrypt-value --help"
# The manual pages, read from the packages (a Docker image's dpkg may be
# told to leave /usr/share/man out).
while read -r pkg page; do
  printf '%s\n' "$section" | has -F "\`/usr/share/man/$page\`" || fail "README.md's Debian section does not name $page"
  dpkg-deb --fsys-tarfile "$(deb "$pkg")" | tar -xO "./usr/share/man/$page" > "$WORK/page.gz" 2>/dev/null ||
    fail "$pkg has no /usr/share/man/$page"
  man -l -P cat "$WORK/page.gz" 2>/dev/null | has '^NAME' || fail "man cannot read $page"
done <<'EOF'
credgate-agent man8/credgate-agent.8.gz
credgate-tools man1/credgatectl.1.gz
credgate-tools man1/credgate-encrypt-value.1.gz
credgate-manager man1/credgate-manager.1.gz
EOF
dpkg-deb --fsys-tarfile "$(deb credgate-tools)" | tar -xO ./usr/share/man/man1/credgatectl.1.gz > "$WORK/page.gz"
man -l -P cat "$WORK/page.gz" 2>/dev/null | has 'token create' || fail "the credgatectl manual page does not show its commands"
pass "credgate-agent --version ($version), credgatectl --help, credgate-encrypt-value --help from /usr; their manual pages"

out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
desktop-file-validate /usr/share/applications/org.credgate.Manager.desktop || fail "desktop-file-validate"
appstreamcli validate --no-net --pedantic /usr/share/metainfo/org.credgate.Manager.metainfo.xml >"$WORK/as.log" 2>&1 ||
  { cat "$WORK/as.log" >&2; fail "appstreamcli validate"; }
pass "systemd-analyze verify, desktop-file-validate and appstreamcli validate accept the installed files"

IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd credgate)"
[ -n "$uid" ] && [ "$home:$shell" = /var/lib/credgate:/usr/sbin/nologin ] || fail "no credgate system user: $(getent passwd credgate)"
[ "$uid" -lt 1000 ] || fail "credgate is not a system user (uid $uid)"
for d in /var/lib/credgate /var/log/credgate; do
  [ "$(stat -c '%a %u %g' "$d" 2>/dev/null)" = "700 $uid $gid" ] || fail "$d is not 0700 credgate: $(ls -lnd "$d" 2>&1)"
done
[ -L /etc/systemd/system/multi-user.target.wants/credgate-agent.service ] || fail "the unit is not enabled"
find /etc -xdev | sort > "$WORK/etc.after"
new=$(comm -13 "$WORK/etc.before" "$WORK/etc.after" |
      grep -vx -e /etc/credgate -e /etc/credgate/agent.conf \
               -e /etc/systemd/system/multi-user.target.wants \
               -e /etc/systemd/system/multi-user.target.wants/credgate-agent.service \
               -e '/etc/\(passwd\|group\|shadow\|gshadow\)-' || true)
[ -z "$new" ] || fail "the packages made in /etc what the admin did not ask for: $new"
pass "user credgate (uid $uid) and its 0700 directories exist, the unit is enabled, /etc has only the conffile and the enable link"

# The maintainer scripts as debhelper wrote them: a removal stops the
# agent, an upgrade restarts it, a purge clears the enable link.
info=/var/lib/dpkg/info/credgate-agent
has "\"\$1\" = remove.*/run/systemd/system" "$info.prerm" && has "deb-systemd-invoke stop 'credgate-agent.service'" "$info.prerm" ||
  fail "prerm does not stop the agent on removal"
has '_dh_action=restart' "$info.postinst" || fail "postinst does not restart the agent after an upgrade"
has '^ *systemd-sysusers .*credgate.conf' "$info.postinst" || fail "postinst does not make the user"
pass "maintainer scripts: stop on removal, restart on upgrade, sysusers and tmpfiles on configure"

# --- README.Debian: until the credential exists the unit's condition is
# unmet; its two commands make it; then it holds, and the credential opens
# to the password the unit hands to the wrapper.
readme_debian=/usr/share/doc/credgate-agent/README.Debian
cmd1='install -d -m 0700 /etc/credstore.encrypted'
cmd2="head -c 32 /dev/urandom | base64 | tr -d '\\n' | systemd-creds encrypt --name=keyring-password - $cred"
for c in "$cmd1" "$cmd2"; do
  has -Fx "    $c" "$readme_debian" || fail "README.Debian does not say: $c"
  printf '%s\n' "$section" | has -F "$c" || fail "README.md's Debian section does not say: $c"
done
condition=$(grep '^ConditionPathExists=' "$unit") || fail "the unit has no ConditionPathExists="
[ "$condition" = "ConditionPathExists=$cred" ] || fail "the unit waits for something else: $condition"
systemd-analyze condition "$condition" >/dev/null 2>&1 && fail "the start condition holds before the credential exists"
$sudo sh -c "$cmd1" && $sudo sh -c "$cmd2" || fail "README.Debian's commands failed"
out=$(systemd-analyze condition "$condition" 2>&1) || fail "after README.Debian's commands the start condition is still unmet: $out"
[ "$(stat -c %a /etc/credstore.encrypted)" = 700 ] || fail "/etc/credstore.encrypted is not 0700"
pass "the unit's start condition is unmet until README.Debian's two commands make $cred, then met"

# The agent as the unit runs it, from the installed files: its user, its
# environment, its ExecStart=, the credential decrypted into a credentials
# directory, the runtime directory made; only the sandboxing is missing
# without systemd as PID 1.
unit_value () { sed -n "s/^$1=//p" "$unit"; }
creds="$WORK/credentials"
install -d -m 0700 -o credgate -g credgate "$creds"
$sudo systemd-creds decrypt --name=keyring-password "$(unit_value LoadCredentialEncrypted | sed 's/^keyring-password://')" \
  "$creds/keyring-password" || fail "systemd-creds decrypt of the credential"
[ "$(wc -c < "$creds/keyring-password")" -eq 44 ] || fail "the decrypted password is not 32 random bytes in base64"
chown credgate:credgate "$creds/keyring-password"; chmod 0400 "$creds/keyring-password"
[ "$(unit_value User)" = credgate ] && [ "$(unit_value RuntimeDirectory)" = credgate ] || fail "unit User=/RuntimeDirectory= changed"
read -r -a env_assign <<<"$(unit_value Environment)"
read -r -a exec_start <<<"$(unit_value ExecStart)"
start_unit_agent () {
  local i
  install -d -m 0700 -o credgate -g credgate /run/credgate /var/cache/credgate
  for i in 1 2 3 4 5; do
    port=$(( 20000 + RANDOM % 40000 ))
    : > "$WORK/agent.log"
    (umask 0077; exec setpriv --reuid=credgate --regid=credgate --init-groups \
       env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${env_assign[@]}" CREDENTIALS_DIRECTORY="$creds" \
       "${exec_start[@]}" --port "$port" --listen 127.0.0.1) >"$WORK/agent.out" 2>"$WORK/agent.log" &
    agent_pid=$!
    for _ in $(seq 300); do
      /usr/bin/credgatectl status >/dev/null 2>&1 && return 0
      kill -0 "$agent_pid" 2>/dev/null || break
      sleep 0.05
    done
    wait "$agent_pid" 2>/dev/null || true; agent_pid=
    has 'Address already in use' "$WORK/agent.log" || { cat "$WORK/agent.log" >&2; fail "the agent as the unit runs it did not start"; }
  done
  fail "no free port"
}
stop_unit_agent () {
  local pid
  pid=$(ps -o pid= -o comm= --ppid "$agent_pid" | awk '$2 == "credgate-agent" { print $1 }')
  [ -n "$pid" ] || fail "no credgate-agent under the unit's dbus-run-session"
  kill -TERM "$pid"; wait "$agent_pid" || true; agent_pid=
}
start_unit_agent
status=$(/usr/bin/credgatectl status) || fail "credgatectl status"
printf '%s\n' "$status" | has 'secret store: *ready' || fail "the installed agent's keyring is not ready: $status"
[ -s /var/lib/credgate/keyring/keyrings/login.keyring ] || fail "no keyring under /var/lib/credgate/keyring"
[ "$(stat -c %U /var/lib/credgate/keyring/keyrings/login.keyring)" = credgate ] || fail "the keyring is not credgate's"
token=$(/usr/bin/credgatectl token create pkg-test) || fail "credgatectl token create"
printf 'Authorization: Bearer %s\n' "$token" > "$WORK/token.header"
printf '%s' '{"type":"mysql","properties":{"server":"db1"},"secret":"pkg-s3cret"}' |
  curl -sS --fail --cacert /var/lib/credgate/tls/server.crt -H @"$WORK/token.header" -X PUT --data-binary @- \
    "https://127.0.0.1:$port/v1/credentials/pkg" >/dev/null || fail "PUT to the installed agent"
pass "README.Debian's next steps: the agent as the unit runs it (user credgate, its wrapper, the credential) is ready; status, token, a stored credential"
stop_unit_agent

# --- Upgrade (the same version reinstalled takes dpkg's upgrade path):
# state, keyring and the admin's conffile change stay; the record opens.
echo '# changed by the admin' >> /etc/credgate/agent.conf
(cd /var/lib/credgate && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$WORK/state.before"
apt_get install -y -qq --reinstall "$(deb credgate-agent)" >"$WORK/upgrade.log" 2>&1 ||
  { cat "$WORK/upgrade.log" >&2; fail "apt-get install --reinstall"; }
(cd /var/lib/credgate && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$WORK/state.after"
diff "$WORK/state.before" "$WORK/state.after" >&2 || fail "the upgrade changed the agent's state"
tail -n 1 /etc/credgate/agent.conf | has -x '# changed by the admin' || fail "the upgrade lost the admin's agent.conf"
start_unit_agent
/usr/bin/credgatectl credential resolve pkg | has 'pkg-s3cret' || fail "after the upgrade the record does not open"
stop_unit_agent
pass "upgrade: state and keyring unchanged, agent.conf kept, the record opens after the restart"

# --- Remove keeps the state and the conffile; purge says what it deletes,
# then nothing is left but the user (and the credential, the admin's).
dpkg -L "${pkgs[@]}" | sort -u > "$WORK/files"
apt_get remove -y -qq credgate-agent >"$WORK/remove.log" 2>&1 || { cat "$WORK/remove.log" >&2; fail "apt-get remove"; }
[ ! -e /usr/sbin/credgate-agent ] || fail "apt-get remove left the agent"
[ -s /var/lib/credgate/state.db ] && [ -s /var/lib/credgate/keyring/keyrings/login.keyring ] || fail "apt-get remove deleted the state"
[ -f /etc/credgate/agent.conf ] || fail "apt-get remove deleted the conffile"
apt_get purge -y "${pkgs[@]}" >"$WORK/purge.log" 2>&1 || { cat "$WORK/purge.log" >&2; fail "apt-get purge"; }
installed=
has 'credgate-agent: purge: deleting /var/lib/credgate' "$WORK/purge.log" || fail "purge did not say what it deletes"
left=
while read -r f; do
  [ "$f" != /. ] || continue
  [ -e "$f" ] || [ -L "$f" ] || continue
  # A directory other packages share, or merged /usr's /lib link.
  [ -d "$f" ] && { [ -L "$f" ] || dpkg -S "$f" >/dev/null 2>&1; } && continue
  left="$left $f"
done < "$WORK/files"
for f in /var/lib/credgate /var/log/credgate /var/cache/credgate /run/credgate /etc/credgate \
         /etc/systemd/system/multi-user.target.wants/credgate-agent.service \
         /var/lib/systemd/deb-systemd-helper-enabled/credgate-agent.service; do
  [ ! -e "$f" ] && [ ! -L "$f" ] || left="$left $f"
done
[ -z "$left" ] || fail "left after purge:$left"
for p in "${pkgs[@]}"; do
  ! dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | has '^[a-z][ic]' || fail "$p is still known to dpkg"
done
getent passwd credgate >/dev/null || fail "purge removed the user credgate (Debian keeps system users)"
[ -e "$cred" ] || fail "purge removed the admin's credential"
pass "remove kept state and conffile; purge said what it deletes and left only the user credgate and the admin's credential"

# --- Reproducible: the second build, from its own fresh copy, made the
# same files, byte for byte.
wait "$build2_pid" || true; build2_pid=
read -r rc build2 < "$WORK/build2.done"
[ "$rc" -eq 0 ] || { cat "$WORK/package2.err" >&2; fail "the second scripts/package"; }
diff "$WORK/package1.txt" "$WORK/package2.txt" >&2 || fail "the two builds made different package files"
while read -r f; do
  cmp -s "$WORK/out1/$f" "$WORK/out2/$f" && continue
  diffoscope --text - "$WORK/out1/$f" "$WORK/out2/$f" 2>&1 | head -n 80 >&2 || true
  fail "$f differs between two builds of one commit"
done < "$WORK/package1.txt"
pass "a second build of the same commit gives byte-identical packages ($(wc -l < "$WORK/package1.txt") files; builds ${build1}s and ${build2}s, the second alongside the checks; ${SECONDS}s in all)"
