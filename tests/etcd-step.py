# SPDX-License-Identifier: LGPL-2.1-or-later
# etcd-step.py PID STEPPING-FILE DONE-FILE WHEN THEN: runs process PID (an
# agent) in short steps until etcd shows WHEN, then does THEN, so that a
# fault lands at one chosen point of a multi-step etcd write, whatever the
# machine's speed.  Each step: PID stopped (SIGSTOP, until /proc says so),
# etcd read (linearizable, $ETCD_ENDPOINT_3 with $ETCD_CA, $ETCD_CERT,
# $ETCD_KEY: paths only), PID let go for a millisecond.  PID being stopped
# while etcd is read, at most the one request it had already sent can land
# after the read.  STEPPING-FILE appears once PID runs in steps (start the
# operation then), DONE-FILE with what etcd held when WHEN was seen.
#
#   WHEN  records:N   some but not all N records are under /credgate/*/rec/,
#                     and no "ready" key yet (a cluster init half-way)
#         rotating    a prefix's meta/master_old names master keys other than
#                     meta/master_current and at least 2 records are still
#                     sealed under them (key rotate --all half-way: one more
#                     re-seal and its end to come)
#   THEN  stop:PID,…  SIGSTOP those processes (etcd members), then PID goes on
#         kill        SIGKILL PID itself (a crash at that point)
import base64
import http.client
import json
import os
import signal
import ssl
import sys
import time
import urllib.parse

pid, stepping, done, when, then = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
url = urllib.parse.urlparse(os.environ["ETCD_ENDPOINT_3"])
ctx = ssl.create_default_context(cafile=os.environ["ETCD_CA"])
ctx.load_cert_chain(os.environ["ETCD_CERT"], os.environ["ETCD_KEY"])
conn = http.client.HTTPSConnection(url.hostname, url.port, context=ctx, timeout=10)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def kvs():
    """Every key under /credgate/ with its value (JSON; None for records:N,
    which counts keys only), linearizable."""
    conn.request("POST", "/v3/kv/range",
                 json.dumps({"key": b64("/credgate/"), "range_end": b64("/credgate0"),
                             "keys_only": when.startswith("records:")}))
    out = {}
    for kv in json.loads(conn.getresponse().read()).get("kvs", []):
        value = base64.b64decode(kv.get("value", ""))
        out[base64.b64decode(kv["key"]).decode()] = json.loads(value) if value[:1] == b"{" else None
    return out


def master_of(sealed):
    raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
    return "0" if raw[0] == 1 else raw[2:2 + raw[1]].decode()


def seen(state):
    """What etcd holds, if it is the point WHEN names; else None."""
    recs = {k: v for k, v in state.items() if "/rec/" in k}
    if when.startswith("records:"):
        total = int(when.split(":")[1])
        if any(k.endswith("/ready") for k in state):
            sys.exit("the init ended before it was caught half-way (%d records)" % len(recs))
        return "%d of %d records" % (len(recs), total) if 0 < len(recs) < total else None
    if when == "rotating":
        old, current = set(), set()
        for k, v in state.items():
            if k.endswith("/meta/master_old") and v:
                old |= set(v.get("value", "").split())
            if k.endswith("/meta/master_current") and v:
                current.add(v.get("value", ""))
        old -= current  # named old before the new one is current: not begun yet
        under = sum(1 for v in recs.values() if v and master_of(v["sealed"]) in old)
        return "%d records under master %s" % (under, " ".join(sorted(old))) if under >= 2 else None
    sys.exit("unknown WHEN " + when)


def stop(p):
    os.kill(p, signal.SIGSTOP)
    while open("/proc/%d/stat" % p).read().rsplit(")", 1)[1].split()[0] != "T":
        time.sleep(0.0005)


steps, killed = 0, False
signal.signal(signal.SIGTERM, lambda *_: sys.exit("ended by SIGTERM"))  # PID goes on (finally)
try:
    deadline = time.time() + 180
    while time.time() < deadline:
        stop(pid)
        what = seen(kvs())
        if what:
            if then == "kill":
                os.kill(pid, signal.SIGKILL)
                killed = True
            else:
                for p in then.split(":", 1)[1].split(","):
                    os.kill(int(p), signal.SIGSTOP)
            with open(done, "w") as f:
                f.write("%s (step %d)\n" % (what, steps))
            break
        os.kill(pid, signal.SIGCONT)
        if steps == 0:
            open(stepping, "w").close()
        steps += 1
        time.sleep(0.001)
    else:
        sys.exit("etcd never showed %s in 180 s" % when)
finally:
    if not killed:
        os.kill(pid, signal.SIGCONT)
