#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# credgatectl is a client of the admin socket: it links the admin protocol's
# client half, common/, the JOSE formats and certs/, never the agent's
# server (libmicrohttpd), the secret store (libsecret) or the database
# (SQLite).  Checked twice: the libraries it names itself (readelf NEEDED)
# and everything the loader maps for it (ldd).  The agent is the control:
# the same patterns must find all three there, so a test that matches
# nothing cannot pass.
set -euo pipefail
: "${top_builddir:?run through make check}"
CTL="$top_builddir/credgatectl"
AGENT="$top_builddir/credgate-agent"
fail () { echo "FAIL: $*" >&2; exit 1; }

forbidden='libmicrohttpd|libsecret-1|libsqlite3'

[ -x "$CTL" ] || fail "$CTL is not built"
needed=$(readelf -d "$CTL" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || fail "readelf found no NEEDED entries in $CTL"
mapped=$(ldd "$CTL")
grep -q 'libjansson' <<<"$mapped" || fail "ldd output of $CTL looks wrong: $mapped"

bad=$(grep -E "$forbidden" <<<"$needed" || true)
[ -z "$bad" ] || fail "credgatectl names $(echo $bad) itself (readelf -d)"
bad=$(grep -Eo "$forbidden[^ ]*" <<<"$mapped" || true)
[ -z "$bad" ] || fail "credgatectl maps $(echo $bad) (ldd)"
echo "ok - credgatectl links none of libmicrohttpd, libsecret, SQLite"

# The control: the agent does link all three, so the patterns are right.
agent_mapped=$(ldd "$AGENT")
for lib in libmicrohttpd libsecret-1 libsqlite3; do
  grep -q "$lib" <<<"$agent_mapped" || fail "control: credgate-agent does not map $lib"
done
echo "ok - control: credgate-agent maps all three"
