#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The admin socket answers only root and the agent's own user.  Run as root
# (CI does): credgatectl as nobody (setpriv) against root's agent is refused
# with a clear message and nothing done, both by the socket's mode and, with
# the mode opened up, by the agent's peer-uid check; against an agent that
# nobody runs itself, on its own socket, it is accepted, and a third uid is
# refused there too.
. "$top_srcdir/tests/lib.sh"
if [ "$(id -u)" != 0 ]; then
  echo "SKIP: needs root to run credgatectl and an agent as another user (CI runs it as root)"
  exit 77
fi
command -v setpriv >/dev/null || fail "setpriv (util-linux) is not installed"
as_uid () { local u=$1; shift; setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"; }

# Everything nobody touches lives in a directory of its own that others may
# traverse (0711) but not list; the test's own $WORK stays 0700.
pub=$(mktemp -d /tmp/cg-peer.XXXXXX)
chmod 0711 "$pub"
cp "$CTL" "$pub/credgatectl"
chmod 0755 "$pub/credgatectl"
NPID=
trap 'if [ -n "$NPID" ]; then kill -TERM "$NPID" 2>/dev/null; wait "$NPID" 2>/dev/null; fi
      rm -rf "$pub"; cleanup' EXIT

SOCKET="$pub/root/admin.sock"
mkdir -m 0711 "$pub/root"
start_agent
TOKEN=$(ctl token create it-peer-root)
expect "$(api PUT /v1/credentials/peer-secret "$TOKEN" '{"type":"mysql","secret":"peer-canary-1"}')" 201
pass "root's agent: its admin socket is $(stat -c '%a %U' "$SOCKET")"

# 1. As the agent made it (0600, root's): nobody cannot even connect.
set +e
out=$(as_uid 65534 "$pub/credgatectl" --socket "$SOCKET" token create by-nobody 2>&1); rc=$?
set -e
[ "$rc" = 3 ] || fail "nobody against a 0600 root socket: exit $rc, not 3: $out"
has "permission denied (the admin socket is for root and the agent's own user)" <<<"$out" ||
  fail "nobody against a 0600 root socket, unclear: $out"
pass "nobody against root's 0600 socket: exit 3, '$out'"

# 2. The mode opened up (as by a mistaken chmod): the agent itself refuses
#    the peer's uid, says so, and does nothing.
chmod 0666 "$SOCKET"
for cmd in "token create by-nobody" "credential resolve peer-secret" "credential delete peer-secret" \
           "key rotate" "status"; do
  set +e
  # shellcheck disable=SC2086
  out=$(as_uid 65534 "$pub/credgatectl" --socket "$SOCKET" $cmd 2>&1); rc=$?
  set -e
  [ "$rc" = 1 ] || fail "nobody's '$cmd' on root's agent: exit $rc, not 1: $out"
  has "answers only root and the agent's own user (uid 0); uid 65534 was refused and nothing was done" <<<"$out" ||
    fail "nobody's '$cmd' refused without saying why: $out"
  has -- peer-canary <<<"$out" && fail "nobody's '$cmd' saw the secret"
done
ctl token list | has -- by-nobody && fail "nobody's token create made a token"
ctl credential resolve peer-secret | has -- peer-canary-1 || fail "nobody's delete removed the credential"
[ "$(ctl key list | grep -c '^[A-Za-z0-9_-]\{43\} ')" = 1 ] || fail "nobody's key rotate made a key: $(ctl key list)"
n=$(grep -c 'refused a client with uid 65534' "$AGENT_LOG" || true)
[ "$n" -ge 5 ] || fail "the agent logged $n refusals of uid 65534, not 5"
pass "nobody on root's socket opened to 0666: exit 1, a clear refusal, nothing done, $n refusals logged"

# And root itself is still served on it.
ctl status | has '^secret store: *ready' || fail "root is not served after the refusals"
pass "root is still served"

# 3. An agent that nobody runs, with its own socket: nobody's credgatectl
#    is accepted; another unprivileged uid (1, daemon) is refused there.
nd="$pub/nobody"
mkdir -m 0700 "$nd"
cp "$AGENT" "$nd/credgate-agent"
chown -R 65534:65534 "$nd"
np=$(( 20000 + RANDOM % 40000 ))
# setpriv execs the agent, so $! is the agent itself.
HOME="$nd" XDG_RUNTIME_DIR="$nd" DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent \
  setpriv --reuid=65534 --regid=65534 --clear-groups -- "$nd/credgate-agent" --port "$np" --listen 127.0.0.1 --state-dir "$nd/state" \
    --admin-socket "$nd/run/admin.sock" >"$pub/nobody.out" 2>"$pub/nobody.err" &
NPID=$!
nctl () { as_uid 65534 "$pub/credgatectl" --socket "$nd/run/admin.sock" "$@"; }
for _ in $(seq 200); do nctl status >/dev/null 2>&1 && break; sleep 0.05; done
out=$(nctl status 2>&1) || fail "nobody's credgatectl on nobody's agent: $out; agent: $(cat "$pub/nobody.err")"
has "^state dir: *$nd/state" <<<"$out" || fail "nobody's status is not its agent's: $out"
[ "$(stat -c %U "$nd/run/admin.sock")" = nobody ] || fail "nobody's agent's socket is not nobody's"
out=$(nctl token list 2>&1) || fail "nobody's token list on nobody's agent: $out"
pass "nobody's credgatectl on nobody's own agent and socket: accepted"

chmod 0711 "$nd" "$nd/run"
chmod 0666 "$nd/run/admin.sock"
# uid 1's credgatectl does not even connect: the socket is another user's
# (neither root's nor its own), so it could be a trap (test-client-hygiene.sh).
set +e
out=$(as_uid 1 "$pub/credgatectl" --socket "$nd/run/admin.sock" status 2>&1); rc=$?
set -e
[ "$rc" = 1 ] && has "refusing to talk to .*uid 65534" <<<"$out" ||
  fail "uid 1's credgatectl on nobody's socket: exit $rc: $out"
! has 'refused a client with uid 1$' "$pub/nobody.err" || fail "uid 1's credgatectl connected anyway"
# A raw client of uid 1 that does connect is refused by the agent.
out=$(as_uid 1 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
try:
    s.sendall(b"{\"command\":\"status\"}\n")
except OSError:
    pass
print(s.makefile("rb").readline().decode())' "$nd/run/admin.sock" 2>&1) || true
has "uid 1 was refused and nothing was done" <<<"$out" || fail "uid 1 on nobody's agent: $out"
has 'refused a client with uid 1$' "$pub/nobody.err" || fail "nobody's agent did not log the refusal"
pass "uid 1 on nobody's socket: its credgatectl refuses to connect (exit 1); a raw client is refused by the agent, logged"
