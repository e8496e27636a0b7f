#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Failed logins cannot fill the audit disk: 1,550 of them from two clients
# (bad tokens from 127.0.0.1; no token and bad enrollment codes from ::1)
# give a handful of audit lines,
# at most one per client per interval plus the first at once and the rest
# at shutdown, whose counts add up to every failure.  The throttle is set
# out of the way so that every request reaches the token check.
. "$top_srcdir/tests/lib.sh"

AUDIT="$WORK/audit.log"
INTERVAL=2
printf '[agent]\naudit_log=%s\naudit_auth_interval=%d\nauth_failures=100000\n' \
  "$AUDIT" "$INTERVAL" > "$WORK/agent.conf"
start_agent --config "$WORK/agent.conf"
TOKEN=$(ctl token create it-audit-auth)
export PORT TOKEN CA="$STATE/tls/server.crt"

# fail_logins HOST N WITH_TOKEN: N failed logins on one kept-alive
# connection; the good token keeps working from the same client.
fail_logins () {
  python3 - "$@" <<'PY'
import http.client, os, ssl, sys
host, n, with_token = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "yes"
ctx = ssl.create_default_context(cafile=os.environ["CA"])
ctx.check_hostname = False
c = http.client.HTTPSConnection(host, int(os.environ["PORT"]), context=ctx, timeout=10)
for i in range(n):
    h = {"Authorization": "Bearer cgt_wrong%05d" % i} if with_token else {}
    c.request("GET", "/v1/credentials", headers=h)
    r = c.getresponse(); r.read()
    assert r.status == 401, "attempt %d: %d" % (i, r.status)
c.request("GET", "/v1/credentials", headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
r = c.getresponse(); r.read()
assert r.status == 200, "the good token after %d failures: %d" % (n, r.status)
PY
}

# bad_enrollments HOST N: N enrollment codes that are no code.
bad_enrollments () {
  python3 - "$@" <<'PY'
import http.client, json, os, ssl, sys
host, n = sys.argv[1], int(sys.argv[2])
ctx = ssl.create_default_context(cafile=os.environ["CA"])
ctx.check_hostname = False
body = json.dumps({"code": "not-a-code", "csr": "-----BEGIN CERTIFICATE REQUEST-----"})
for i in range(n):
    c = http.client.HTTPSConnection(host, int(os.environ["PORT"]), context=ctx, timeout=10)
    c.request("POST", "/v1/enroll", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse(); r.read(); c.close()
    assert r.status == 403, "attempt %d: %d" % (i, r.status)
PY
}

# auth_summary: "LINES COUNT" per client group, from the audit file.
auth_summary () {
  python3 - "$AUDIT" "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
mine = [l for l in lines if l["audit"] == "auth" and l["client"] == sys.argv[2]]
for l in mine:
    kinds = ("noToken", "badToken", "badClientCertificate", "badEnrollmentCode")
    assert l["count"] == sum(l[k] for k in kinds) and l["count"] > 0, l
print(len(mine), sum(l["count"] for l in mine), sum(l["badToken"] for l in mine),
      sum(l["badEnrollmentCode"] for l in mine))
PY
}

t0=$(date +%s)
fail_logins 127.0.0.1 1000 yes || fail "bad tokens from 127.0.0.1"
fail_logins ::1 300 no || fail "no token from ::1"
bad_enrollments ::1 50 || fail "bad enrollment codes from ::1"
read -r lines count bad _ < <(auth_summary 127.0.0.1)
[ "$lines" -ge 1 ] || fail "the first failed login is not audited at once"
# The timer writes what was counted once the client's interval is over.
for _ in $(seq 100); do
  read -r lines count bad _ < <(auth_summary 127.0.0.1)
  [ "$count" = 1000 ] && break
  sleep 0.1
done
[ "$count" = 1000 ] || fail "after the interval 127.0.0.1 shows $count of 1000 failures"
[ "$bad" = 1000 ] || fail "127.0.0.1: $bad bad tokens, expected 1000"
pass "1,000 bad tokens from 127.0.0.1: $lines audit lines carry all 1000, written once the interval was over"

fail_logins 127.0.0.1 200 yes || fail "more bad tokens from 127.0.0.1"
stop_agent
t1=$(date +%s)
read -r lines4 count4 bad4 _ < <(auth_summary 127.0.0.1)
read -r lines6 count6 bad6 enroll6 < <(auth_summary ::/64)
[ "$count4" = 1200 ] || fail "127.0.0.1: $count4 failures in the audit log, expected 1200"
[ "$count6" = 350 ] && [ "$bad6" = 0 ] && [ "$enroll6" = 50 ] ||
  fail "::1 (as ::/64): $count6 failures ($bad6 with a token, $enroll6 enrollment codes), expected 300 without a token and 50 codes"
# At most one line per client per interval, the first at once and the
# shutdown's own.
bound=$(( (t1 - t0) / INTERVAL + 3 ))
[ "$lines4" -le "$bound" ] && [ "$lines6" -le "$bound" ] \
  || fail "$lines4 and $lines6 lines in $((t1 - t0)) s (bound $bound)"
total=$(wc -l < "$AUDIT")
[ "$total" -le $((2 * bound + 5)) ] || fail "the audit log has $total lines for 1,500 failed logins"
pass "1,550 failed logins from two clients: $total audit lines ($lines4 for 127.0.0.1 with 1200, $lines6 for ::/64 with 300 without a token and 50 bad enrollment codes); the rest written at shutdown"
