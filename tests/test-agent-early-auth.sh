#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A request is authenticated on its headers: one with a bad or missing token
# (or from a throttled client) is answered 401/429 before its body is read,
# the body is never kept, the connection closes after the answer so the rest
# of the upload is not taken for a next request.  A good token keeps
# keep-alive, bodies included.
. "$top_srcdir/tests/lib.sh"

MAX_BODY=65536
cat > "$WORK/agent.conf" <<CONF
[agent]
max_body=$MAX_BODY
auth_failures=4
CONF
start_agent --config "$WORK/agent.conf"
TOKEN=$(ctl token create it-early)
CA="$STATE/tls/server.crt"
export PORT CA

# 1. The answer comes on the headers.  A client sends headers and the first
#    piece of a body and then waits: an agent that reads bodies before it
#    checks the token waits for the rest (until idle_timeout) and never
#    answers within the 5 s allowed here.
python3 - <<'PY' || fail "early answer to a bad token"
import os, socket, ssl, time
port, ca = int(os.environ["PORT"]), os.environ["CA"]
ctx = ssl.create_default_context(cafile=ca)

def ask(head, first_piece):
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    s = ctx.wrap_socket(raw, server_hostname="localhost")
    t0 = time.monotonic()
    s.sendall(head + first_piece)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        raise SystemExit("no answer and no close within 5 s; got %r" % data[:200])
    except (ssl.SSLError, ConnectionResetError):
        pass  # the end of the stream, possibly without close_notify
    return data, time.monotonic() - t0

cases = [
    ("bad token, chunked", b"PUT /v1/credentials/x HTTP/1.1\r\nHost: localhost\r\n"
     b"Authorization: Bearer cgt_not-a-token\r\nTransfer-Encoding: chunked\r\n\r\n",
     b"1000\r\n" + b"{" * 4096 + b"\r\n"),
    ("no token, 60000 declared", b"POST /v1/encrypt HTTP/1.1\r\nHost: localhost\r\n"
     b"Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n",
     b"{\"value\": \"" + b"a" * 1000),
]
for what, head, piece in cases:
    data, took = ask(head, piece)
    status = data.split(b"\r\n", 1)[0]
    print("%s: %r after %.2fs, %d bytes, then closed" % (what, status, took, len(data)))
    assert status.startswith(b"HTTP/1.1 401"), (what, data[:300])
    assert b"\r\nConnection: close\r\n" in data, (what, data[:300])
    assert took < 3, (what, took)

# 2. The rest of the upload is not a request.  The body of a refused
#    request is itself a complete GET /v1/info: exactly one answer (the 401)
#    comes back, then the end of the stream.
smuggled = b"GET /v1/info HTTP/1.1\r\nHost: localhost\r\n\r\n"
head = (b"PUT /v1/credentials/y HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer cgt_not-a-token\r\nContent-Length: %d\r\n\r\n" % len(smuggled))
data, took = ask(head, smuggled)
print("a body that is a request: %d answer(s): %r" % (data.count(b"HTTP/1.1 "), data[:12]))
assert data.count(b"HTTP/1.1 ") == 1 and data.startswith(b"HTTP/1.1 401"), data
PY
pass "bad and missing tokens answered 401 on the headers, body unread, connection closed, leftover not parsed"

# 3. 50 MB over the body limit, streamed by curl (chunked, no Expect: the
#    body starts at once): 401 within seconds, and the agent's peak memory
#    does not grow by anything like the body.
hwm () { awk '/^VmHWM:/ { print $2 }' "/proc/$AGENT_PID/status"; }
hdr="$WORK/bad-token.hdr"
printf 'Authorization: Bearer cgt_not-a-token\n' > "$hdr"
hwm0=$(hwm)
t0=$(date +%s%N)
code=$(head -c $(( 50 * 1024 * 1024 + MAX_BODY )) /dev/zero \
  | curl -sS -o /dev/null -w '%{http_code}' --cacert "$CA" -H @"$hdr" -H 'Expect:' \
      -H 'Content-Type: application/json' --resolve "localhost:$PORT:::1" \
      -T - "https://localhost:$PORT/v1/credentials/big" \
      2>/dev/null || true)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
hwm1=$(hwm)
echo "50 MB upload with a bad token: HTTP $code after ${ms} ms; VmHWM ${hwm0} kB -> ${hwm1} kB"
[ "$code" = 401 ] || fail "a bad token with a 50 MB body got HTTP $code"
[ "$ms" -lt 5000 ] || fail "a bad token with a 50 MB body took ${ms} ms to answer"
[ $(( hwm1 - hwm0 )) -lt 8192 ] || fail "the agent's peak memory grew by $(( hwm1 - hwm0 )) kB"
pass "a bad token with 50 MB streamed: 401 in ${ms} ms, peak memory +$(( hwm1 - hwm0 )) kB"

# 4. A good token keeps the connection: curl reuses it for the second URL,
#    after a body as well as after a GET.
good="$WORK/good-token.hdr"
printf 'Authorization: Bearer %s\n' "$TOKEN" > "$good"
body='{"type":"mysql","properties":{"server":"db"},"secret":{"password":"p"}}'
out=$(printf '%s' "$body" | curl -sS -o /dev/null -w '%{http_code} %{num_connects}\n' \
  --cacert "$CA" -H @"$good" -H 'Content-Type: application/json' \
  -X PUT --data-binary @- "https://localhost:$PORT/v1/credentials/kept" \
  --next -o /dev/null -w '%{http_code} %{num_connects}\n' --cacert "$CA" -H @"$good" \
  "https://localhost:$PORT/v1/credentials/kept" \
  --next -o /dev/null -w '%{http_code} %{num_connects}\n' --cacert "$CA" -H @"$good" \
  "https://localhost:$PORT/v1/credentials")
echo "good token, three requests on one curl: $(echo $out)"
[ "$out" = "$(printf '201 1\n200 0\n200 0')" ] || fail "good token: expected 201 1 / 200 0 / 200 0, got: $out"
pass "a good token keeps keep-alive (PUT with a body, then two GETs on one connection)"

# 5. A failed one does not: after a 401 the next request needs a new
#    connection.  A fresh client (127.0.0.2) fails 4 times, then gets 429,
#    also on its headers.
url="https://localhost:$PORT/v1/credentials"
out=$(curl -sS -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
  -w '%{http_code} %{num_connects}\n' --cacert "$CA" -H @"$hdr" \
  --interface 127.0.0.2 --resolve "localhost:$PORT:127.0.0.1" "$url" "$url" "$url" "$url" "$url")
echo "bad token, five requests on one curl: $(echo $out)"
[ "$out" = "$(printf '401 1\n401 1\n401 1\n401 1\n429 1')" ] \
  || fail "bad token: expected four times 401 1, then 429 1, got: $out"
python3 - <<'PY' || fail "early 429"
import os, socket, ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CA"])
raw = socket.socket(); raw.settimeout(5); raw.bind(("127.0.0.2", 0))
raw.connect(("127.0.0.1", int(os.environ["PORT"])))
s = ctx.wrap_socket(raw, server_hostname="localhost")
t0 = time.monotonic()
s.sendall(b"PUT /v1/credentials/z HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n{")
data = s.recv(4096)
print("throttled client: %r after %.2fs" % (data.split(b"\r\n", 1)[0], time.monotonic() - t0))
assert data.startswith(b"HTTP/1.1 429"), data[:200]
PY
expect "$(api GET /v1/info)" 200
stop_agent
pass "a refused request closes its connection; 429 also comes on the headers; the agent serves on"
