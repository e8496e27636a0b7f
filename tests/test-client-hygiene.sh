#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The clients hold plaintexts, passphrases and tokens, so they are hardened
# as the agent is: credgatectl (waiting for an EncryptedCredential on
# stdin), credgate-encrypt-value (waiting for a value on stdin) and
# credgate-manager (its window open under Xvfb), each run as nobody next to
# a control process as nobody, have core size 0 and are not dumpable (the
# kernel gives their /proc/PID to root and closes their environ to other
# processes of their user).  And credgatectl sends nothing to an admin
# socket that belongs to, or is served by, another user: a python3
# listener run as nobody catches no passphrase, key or request.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/xvfb.sh"

[ "$(id -u)" = 0 ] || fail "run as root: the test starts processes as nobody (setpriv)"
command -v setpriv >/dev/null || fail "need setpriv (util-linux)"
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
ND=$(mktemp -d /tmp/cg-client-hygiene.XXXXXX)
chmod 755 "$ND"; mkdir -p "$ND/home"; chown 65534:65534 "$ND/home"
PIDS=()
XVFB_PID=
trap 'for p in "${PIDS[@]}" $XVFB_PID; do kill "$p" 2>/dev/null || true; done; rm -rf "$ND"; cleanup' EXIT
cp "$CTL" "$top_builddir/credgate-encrypt-value" "$top_builddir/credgate-manager" "$ND/"
# A simple command, not a function: run in the background it is the
# process $! names (a function would run in a subshell of root's).
as_nobody=(env HOME="$ND/home" XDG_RUNTIME_DIR="$ND/home" XDG_CONFIG_HOME="$ND/home"
           DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent "${nobody[@]}")

proc_owner () { stat -c %u "/proc/$1/status"; }
core_zero () { grep -Eq '^Max core file size +0 +0 ' "/proc/$1/limits"; }
environ_open () { "${as_nobody[@]}" cat "/proc/$1/environ" >/dev/null 2>&1; }

# A control process as nobody: its /proc is its own, its environ open.
mkfifo "$ND/control.in"; chmod 666 "$ND/control.in"
"${as_nobody[@]}" cat "$ND/control.in" >/dev/null &
control=$!; PIDS+=("$control")
exec 5<>"$ND/control.in"
for _ in $(seq 50); do [ "$(proc_owner "$control")" = 65534 ] && break; sleep 0.05; done
[ "$(proc_owner "$control")" = 65534 ] || fail "control: /proc/$control belongs to $(proc_owner "$control")"
environ_open "$control" || fail "control: nobody cannot read its own process's environ"

# check_hardened PID WHAT: core 0, /proc/PID root's, environ closed.
check_hardened () {
  local pid=$1 what=$2 uid
  kill -0 "$pid" 2>/dev/null || fail "$what exited early"
  uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
  [ "$uid" = 65534 ] || fail "$what does not run as nobody (uid $uid)"
  core_zero "$pid" || fail "$what: core limit $(grep core "/proc/$pid/limits")"
  [ "$(proc_owner "$pid")" = 0 ] || fail "$what: /proc/$pid belongs to $(proc_owner "$pid"): it is dumpable"
  environ_open "$pid" && fail "$what: another nobody process reads its environ"
  pass "$what as nobody: core size 0, not dumpable (/proc/PID is root's, environ closed; control: $(proc_owner "$control"), open)"
}

# wait_blocked PID: until the process sleeps (reading its input).
wait_blocked () {
  for _ in $(seq 100); do
    [ "$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)" = S ] && return 0
    sleep 0.05
  done
}

# 1. credgatectl waiting for an EncryptedCredential on a pipe kept open.
mkfifo "$ND/ctl.in"; chmod 666 "$ND/ctl.in"
"${as_nobody[@]}" "$ND/credgatectl" --socket "$ND/none.sock" decrypt <"$ND/ctl.in" >/dev/null 2>&1 &
pid=$!; PIDS+=("$pid")
exec 6>"$ND/ctl.in"
wait_blocked "$pid"
check_hardened "$pid" credgatectl
exec 6>&-

# 2. credgate-encrypt-value waiting for the value on a pipe kept open.
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$ND/agent.key.jwk"
jose jwk pub -i "$ND/agent.key.jwk" -o "$ND/agent.jwk"
chmod 644 "$ND/agent.jwk"
mkfifo "$ND/ev.in"; chmod 666 "$ND/ev.in"
"${as_nobody[@]}" "$ND/credgate-encrypt-value" --key "$ND/agent.jwk" <"$ND/ev.in" >/dev/null 2>"$ND/ev.err" &
pid=$!; PIDS+=("$pid")
exec 7>"$ND/ev.in"
wait_blocked "$pid"
kill -0 "$pid" 2>/dev/null || fail "credgate-encrypt-value exited: $(cat "$ND/ev.err")"
check_hardened "$pid" credgate-encrypt-value
exec 7>&-

# 3. credgate-manager with its window open.
start_xvfb "$ND"
DISPLAY=$DISPLAY GDK_BACKEND=x11 LANGUAGE=en "${as_nobody[@]}" "$ND/credgate-manager" >"$ND/gui.log" 2>&1 &
pid=$!; PIDS+=("$pid")
for _ in $(seq 300); do
  xwininfo -root -tree 2>/dev/null | has '"credgate Manager"' && break
  kill -0 "$pid" 2>/dev/null || fail "credgate-manager exited: $(cat "$ND/gui.log") $(xvfb_state)"
  sleep 0.1
done
xwininfo -root -tree 2>/dev/null | has '"credgate Manager"' || fail "no window"
check_hardened "$pid" credgate-manager

# 4. An admin socket of another user.  A python3 listener as nobody logs
#    every connection and what came on it, and answers like an agent.
cat > "$ND/listener.py" <<'PY'
import socket, sys
path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(8)
open(log, "ab").close()
while True:
    c, _ = s.accept()
    c.settimeout(2)
    data = b""
    try:
        while not data.endswith(b"\n"):
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    with open(log, "ab") as f:
        f.write(b"CONNECTION %d\n" % len(data) + data)
    try:
        c.sendall(b'{"result":{"agent":"impostor","version":"0","pid":1}}\n')
    except OSError:
        pass
    c.close()
PY
chmod 644 "$ND/listener.py"
mkdir "$ND/trap"; chown 65534:65534 "$ND/trap"
"${as_nobody[@]}" /usr/bin/python3 "$ND/listener.py" "$ND/trap/admin.sock" "$ND/trap/log" &
PIDS+=("$!")
for _ in $(seq 100); do [ -S "$ND/trap/admin.sock" ] && [ -e "$ND/trap/log" ] && break; sleep 0.05; done
[ -S "$ND/trap/admin.sock" ] || fail "the listener did not start"
[ "$(stat -c %u "$ND/trap/admin.sock")" = 65534 ] || fail "the socket is not nobody's"

SECRET="cgpassphrase-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$SECRET" > "$ND/pass"
host=$(hostname)
certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile "$ND/c.key" 2>/dev/null
printf 'cn = "c"\ndns_name = "%s"\ndns_name = "localhost"\ntls_www_server\nsigning_key\n' "$host" >"$ND/c.tmpl"
certtool --generate-self-signed --load-privkey "$ND/c.key" --template "$ND/c.tmpl" --outfile "$ND/c.crt" 2>/dev/null
jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o "$ND/admin.jwk"
jose jwk pub -i "$ND/admin.jwk" -o "$ND/admin.pub.jwk"
# A real backup to restore (its header is checked before the socket).
start_agent
ctl backup --output "$ND/x.cgb" --passphrase-fd 3 3<"$ND/pass" >/dev/null
stop_agent
trapped () { # trapped WHAT CTL-ARGS…: as root, refused, nothing sent
  local what=$1; shift
  set +e; "$CTL" --socket "$ND/trap/admin.sock" "$@" 3<"$ND/pass" </dev/null >"$ND/out" 2>"$ND/err"; local rc=$?; set -e
  [ "$rc" = 1 ] || fail "$what to a socket of nobody's: exit $rc: $(cat "$ND/out" "$ND/err")"
  has -F 'refusing to talk to' "$ND/err" || fail "$what: unclear message: $(cat "$ND/err")"
  has -F 'uid 65534' "$ND/err" || fail "$what: the message does not name the owner: $(cat "$ND/err")"
  ! has impostor "$ND/out" || fail "$what: printed the impostor's answer"
}
trapped "backup" backup --output "$ND/b.cgb" --passphrase-fd 3
[ ! -e "$ND/b.cgb" ] || fail "a backup file was written"
trapped "restore" restore "$ND/x.cgb" --passphrase-fd 3
trapped "cert install" cert install "$ND/c.crt" "$ND/c.key"
trapped "escrow add" escrow add "$ND/admin.pub.jwk"
trapped "status" status
[ ! -s "$ND/trap/log" ] || fail "the listener got something: $(cat "$ND/trap/log")"
pass "a socket that belongs to nobody: backup, restore, cert install (with a key), escrow add, status refused by its owner; the listener got no connection"

# The file swapped under a listener of nobody's: owned by root, served by
# nobody.  The file passes, the peer's credentials (SO_PEERCRED) do not.
chown 0:0 "$ND/trap/admin.sock"
trapped "backup (root's file, nobody listening)" backup --output "$ND/b.cgb" --passphrase-fd 3
trapped "cert install (root's file, nobody listening)" cert install "$ND/c.crt" "$ND/c.key"
! has -F "$SECRET" "$ND/trap/log" || fail "the passphrase reached the listener"
! has -v '^CONNECTION 0$' "$ND/trap/log" || fail "something was sent: $(cat "$ND/trap/log")"
[ "$(grep -c '^CONNECTION 0$' "$ND/trap/log")" -ge 2 ] || fail "the listener saw no connection: was the peer checked at all?"
pass "a root-owned socket file served by nobody: refused after connecting (peer uid 65534), nothing sent"

# Control: nobody's own credgatectl talks to nobody's socket.
chown 65534:65534 "$ND/trap/admin.sock"
"${as_nobody[@]}" "$ND/credgatectl" --socket "$ND/trap/admin.sock" --json status >"$ND/out" 2>"$ND/err" \
  || fail "nobody's credgatectl refused nobody's socket: $(cat "$ND/err")"
has impostor "$ND/out" || fail "no answer: $(cat "$ND/out")"
pass "control: a socket of the user's own is used"
