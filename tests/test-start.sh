#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# scripts/start as a newcomer runs it: in the background (its own process
# group, as a terminal would), on a free port, with a scratch state
# directory and the programs of this build.  The curl line it prints, run
# as printed, stores a credential the agent then holds; Ctrl-C (SIGINT to
# the group) stops the agent and its keyring.
. "$top_srcdir/tests/lib.sh"

st="$WORK/start-state"
out="$WORK/start.out"
SPID=
stop_start () {
  [ -n "$SPID" ] || return 0
  kill -INT -- "-$SPID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$SPID" 2>/dev/null || true
  wait "$SPID" 2>/dev/null || true
  SPID=
}
trap 'stop_start; cleanup' EXIT

for attempt in 1 2 3 4 5; do
  PORT=$(( 20000 + RANDOM % 40000 ))
  rm -rf "$st"
  setsid "$top_srcdir/scripts/start" --port "$PORT" --state-dir "$st" --build-dir "$top_builddir" \
    >"$out" 2>"$WORK/start.err" </dev/null &
  SPID=$!
  for _ in $(seq 300); do
    has -F 'Ctrl-C stops the agent.' "$out" && break
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
  done
  has -F 'Ctrl-C stops the agent.' "$out" && break
  stop_start
  has 'Address already in use' "$WORK/start.err" && continue
  fail "scripts/start did not come up: $(cat "$out" "$WORK/start.err")"
done
has -F 'Ctrl-C stops the agent.' "$out" || fail "no free port for scripts/start"
has -F "listening:    https://localhost:$PORT/" "$out" || fail "start does not say where it listens: $(cat "$out")"
pass "scripts/start on port $PORT with its state in a scratch directory"

# The line after "Store a credential", exactly as printed, in a shell.
line=$(sed -n '/^Store a credential/,/^Read it back/p' "$out" | grep '^  printf' | sed 's/^  //')
[ -n "$line" ] || fail "no curl line in: $(cat "$out")"
has -F -- "--data-binary @-" <<<"$line" || fail "the printed line puts the body in argv: $line"
reply=$(bash -c "$line" 2>&1) || fail "the printed curl line failed: $reply"
has '"name": *"demo-sql"' <<<"$reply" || fail "the printed curl line got: $reply"

ctl=("$top_builddir/credgatectl" --socket "$st/run/admin.sock")
"${ctl[@]}" credential list | has '^demo-sql  *sqlserver' ||
  fail "the agent does not list demo-sql: $("${ctl[@]}" credential list)"
# The read-back line, as printed, gives the secret the curl line stored.
back=$(sed -n '/^Read it back/,$p' "$out" | grep "credential resolve demo-sql" | sed 's/^  //')
bash -c "$back" | has '"password": *"s3cret-Pa55"' || fail "the printed read-back line: $(bash -c "$back" 2>&1)"
pass "the printed curl line stores demo-sql; credgatectl lists it and the printed line reads it back"

apid=$("${ctl[@]}" --json status | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
[ -n "$apid" ] && kill -0 "$apid" || fail "no agent pid from status"
stop_start
kill -0 "$apid" 2>/dev/null && fail "the agent (pid $apid) outlived Ctrl-C on scripts/start"
[ -S "$st/run/admin.sock" ] && "${ctl[@]}" status >/dev/null 2>&1 && fail "the admin socket still answers"
pass "Ctrl-C stops the agent"
