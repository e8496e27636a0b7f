#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Start-up errors: each is one clear line on stderr and exit status 1.
. "$top_srcdir/tests/lib.sh"

# expect_start_error PATTERN AGENT-ARGS…
expect_start_error () {
  local pattern=$1; shift
  local err="$WORK/err" rc=0
  timeout 10 "$AGENT" --state-dir "$STATE" --admin-socket "$SOCKET" "$@" >/dev/null 2>"$err" || rc=$?
  [ "$rc" = 1 ] || fail "agent $* exited $rc, expected 1 ($(cat "$err"))"
  grep -v '^$' "$err" | has "$pattern" || fail "agent $*: stderr lacks '$pattern': $(cat "$err")"
  [ "$(grep -c . "$err")" -le 2 ] || fail "agent $*: more than a line or two on stderr: $(cat "$err")"
}

printf '[agent]\nport=8050\ncolour=blue\n' > "$WORK/unknown.conf"
expect_start_error 'unknown key "colour"' --config "$WORK/unknown.conf"
printf '[agent]\nport=8050\n' > "$WORK/unreadable.conf"; chmod 000 "$WORK/unreadable.conf"
if [ "$(id -u)" != 0 ]; then expect_start_error 'cannot read config' --config "$WORK/unreadable.conf"; fi
expect_start_error 'cannot read config' --config "$WORK/missing.conf"
printf 'not a key file\n' > "$WORK/garbage.conf"
expect_start_error 'cannot read config' --config "$WORK/garbage.conf"
printf '[server]\nport=1\n' > "$WORK/group.conf"
expect_start_error 'unknown group' --config "$WORK/group.conf"
expect_start_error 'port: "0"' --port 0
expect_start_error 'port: "http"' --port http
expect_start_error 'is not an IPv4 or IPv6 address' --listen 127.0.0.1,nonsense
expect_start_error 'invalid TLS priority string' --priority 'NORMAL:+NO-SUCH-THING'
expect_start_error 'unexpected argument' --port 1234 extra
pass "unknown key, unreadable or malformed config, bad port, bad address, bad priority: one line, exit 1"

# A port already in use.
start_agent
expect_start_error "port $PORT: Address already in use" --port "$PORT" --listen 127.0.0.1 \
  --admin-socket "$WORK/other.sock" --state-dir "$WORK/other-state"
pass "a port in use is named in one line, exit 1"

# A second agent on the same admin socket is refused, the first keeps it.
expect_start_error "already serving the admin socket" --port $((PORT + 1)) --listen 127.0.0.1 \
  --state-dir "$WORK/other-state"
ctl status >/dev/null || fail "the first agent lost its admin socket"
pass "a second agent on the same admin socket is refused"

# Settings from a config file are used; the command line overrides them.
stop_agent
printf '[agent]\nlisten=127.0.0.1\nport=1\nmax_body=2048\n' > "$WORK/good.conf"
start_agent --config "$WORK/good.conf"
big=$(head -c 3000 /dev/zero | tr '\0' 'a')
TOKEN=$(ctl token create cfg)
expect "$(api PUT /v1/credentials/x "$TOKEN" "{\"type\":\"x\",\"secret\":\"$big\"}")" 413 too_large
pass "config file settings apply (max_body), the command line overrides (port)"

# SIGTERM finishes cleanly; the admin socket is removed.
stop_agent
[ -e "$SOCKET" ] && fail "admin socket left behind after SIGTERM"
pass "SIGTERM stops the agent with status 0 and removes its socket"
