#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The connection limits are the agent's, over all its listening addresses:
# max_connections in all, max_connections_per_ip per client, however the
# connections are spread over the listeners.  And a client under the limits
# is never refused: many short connections (h2load, Connection: close)
# churned for several rounds see no refused or failed request, and the
# agent's CPU is idle afterwards.
. "$top_srcdir/tests/lib.sh"
command -v h2load >/dev/null || fail "h2load is missing (Debian nghttp2-client; scripts/setup installs it)"

cpu_ticks () { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }

# 1. Totals over three listeners: 127.0.0.1, 127.0.0.2 and ::1.
cat > "$WORK/limits.conf" <<CONF
[agent]
max_connections=6
max_connections_per_ip=4
threads=2
CONF
start_agent --config "$WORK/limits.conf" --listen 127.0.0.1,127.0.0.2,::1
export PORT CA="$STATE/tls/server.crt"
python3 - <<'PY' || fail "connection limits over all listeners"
import os, socket, ssl, time
port, ca = int(os.environ["PORT"]), os.environ["CA"]
ctx = ssl.create_default_context(cafile=ca)
ctx.check_hostname = False

def open_conn(dst, src=None):
    """A TLS connection with one request answered on it, kept open; None if
    the agent refused it (closed before the handshake ended)."""
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    raw = socket.socket(fam, socket.SOCK_STREAM)
    raw.settimeout(5)
    if src:
        raw.bind((src, 0))
    t0 = time.monotonic()
    raw.connect((dst, port))
    try:
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        s.sendall(b"GET /v1/info HTTP/1.1\r\nHost: localhost\r\n\r\n")
        data = s.recv(65536)
        if not data.startswith(b"HTTP/1.1 200"):
            raise ConnectionError("not served: %r" % data[:40])
        return s
    except (ssl.SSLError, ConnectionError, OSError) as e:
        took = time.monotonic() - t0
        raw.close()
        # Refused means closed at once, not left waiting.
        assert took < 3, "%s to %s: no answer for %.1fs (%s)" % (src, dst, took, e)
        return None

def served_again(dst, src=None, within=5):
    """After a close: the agent takes the place back within seconds."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        s = open_conn(dst, src)
        if s:
            return s
        time.sleep(0.1)
    return None

# Six over two listeners (3 + 3): all served; the seventh refused on either
# listener, from a client that has none yet too.
held = [open_conn("127.0.0.1") for _ in range(3)] + [open_conn("::1") for _ in range(3)]
print("6 connections, 3 on 127.0.0.1 and 3 on ::1: %d served" % sum(s is not None for s in held))
assert all(held), held
for dst, src in (("::1", None), ("127.0.0.2", "127.0.0.3"), ("127.0.0.1", None)):
    s = open_conn(dst, src)
    print("the 7th, from %s to %s: %s" % (src or "default", dst, "served" if s else "refused"))
    assert s is None, "a 7th connection was served with max_connections=6"
# One closed: one place free, on any listener.
held.pop().close()
s = served_again("127.0.0.2", "127.0.0.3")
assert s, "a place given back was not taken up"
assert open_conn("::1") is None, "two taken up for one given back"
held.append(s)
for s in held:
    s.close()

# One client (127.0.0.1) on two listeners (127.0.0.1 and 127.0.0.2): four
# in all, however spread; the fifth refused; other clients still served.
mine = [served_again(dst, "127.0.0.1") for dst in ("127.0.0.1", "127.0.0.2") * 2]
assert all(mine), mine
fifth = [open_conn(dst, "127.0.0.1") for dst in ("127.0.0.2", "127.0.0.1")]
other = open_conn("::1")
print("one client with 4 over two listeners: a fifth %s; another client %s"
      % ("refused" if not any(fifth) else "served", "served" if other else "refused"))
assert not any(fifth), "a client got a fifth connection with max_connections_per_ip=4"
assert other, "another client was refused while only one client was at its limit"
for s in mine + [other]:
    s.close()
PY
stop_agent
pass "max_connections and max_connections_per_ip hold over all listeners together; a freed place is taken up"

# 2. Churn under the limits: 122 h2load clients from 127.0.0.1, each
#    request on its own connection (Connection: close), against
#    max_connections_per_ip=128.  libmicrohttpd counted a closed connection
#    until its worker thread had finished the whole pass of its event loop,
#    so a worker held up mid-pass (preempted, a slow handshake) kept the
#    connections it had already answered and closed counted while their
#    clients reconnected through the other worker: clients under the limit
#    were refused at connect (one run in ten with 50 clients against 64).
#    The race needs two workers on one listener; the agent's threads share
#    one CPU here (as on a busy host) so that it shows within a few rounds:
#    before the fix 2 runs in 3 failed within two rounds; now a connection
#    stops counting once its last answer is sent, and none may fail.
ROUNDS=5
REQUESTS=500
CLIENTS=122
cat > "$WORK/churn.conf" <<CONF
[agent]
max_connections=512
max_connections_per_ip=128
threads=2
CONF
start_agent --config "$WORK/churn.conf"
taskset -a -cp 0 "$AGENT_PID" >/dev/null || fail "cannot pin the agent's threads to CPU 0"
pin_client=()
[ "$(nproc)" -ge 2 ] && pin_client=(taskset -c 1)
for round in $(seq "$ROUNDS"); do
  out=$(timeout 120 "${pin_client[@]}" h2load --h1 -n "$REQUESTS" -c "$CLIENTS" -t 1 \
    -H 'Connection: close' "https://127.0.0.1:$PORT/v1/info" 2>&1) || fail "h2load round $round: $out"
  line=$(echo "$out" | grep '^requests:')
  echo "round $round: $line ($(echo "$out" | grep '^finished in'))"
  echo "$line" | grep "^requests: $REQUESTS total, $REQUESTS started, $REQUESTS done, $REQUESTS succeeded, 0 failed, 0 errored, 0 timeout" >/dev/null \
    || fail "round $round of $ROUNDS: clients under the limits were refused: $line"
  echo "$out" | grep "^status codes: $REQUESTS 2xx" >/dev/null \
    || fail "round $round: $(echo "$out" | grep '^status codes')"
done
pass "$ROUNDS rounds of $REQUESTS requests from $CLIENTS clients, each on its own connection, against a limit of 128 per client: none refused or failed"

# 3. Quiet again: over 2 seconds the agent uses under 5% of a CPU, and
#    still serves.
sleep 0.5
t0=$(cpu_ticks); sleep 2; t1=$(cpu_ticks)
used=$(( (t1 - t0) * 1000 / $(getconf CLK_TCK) ))
[ "$used" -lt 100 ] || fail "the agent used ${used} ms of CPU in 2 s after the churn ended"
expect "$(api GET /v1/info)" 200
stop_agent
pass "after the churn the agent is idle (${used} ms CPU in 2 s) and stops cleanly"
