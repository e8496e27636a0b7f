#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What protocol/cg-curl-dl.c is for: credgate-encrypt-value does not name
# libcurl (so an offline run maps none of it) but still reaches an agent
# (tests/test-encrypt-value.sh), while the GUI links libcurl as usual.
# Built only when configure found libcurl's soname (CURL_DLOPEN).
set -euo pipefail
: "${top_builddir:?run through make check}"
EV="$top_builddir/credgate-encrypt-value"
fail () { echo "FAIL: $*" >&2; exit 1; }

needed=$(readelf -d "$EV" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
grep -q 'libjansson' <<<"$needed" || fail "readelf found no usable NEEDED list in $EV: $needed"
grep -q 'libcurl' <<<"$needed" && fail "$EV links libcurl: $needed"
# Offline, the loader maps no libcurl either.
mapped=$(ldd "$EV")
grep -q 'libcurl' <<<"$mapped" && fail "ldd maps libcurl for $EV: $mapped"
echo "ok - credgate-encrypt-value names no libcurl; it opens it on first use"
# The control: the GUI links it.
readelf -d "$top_builddir/credgate-manager" | grep 'NEEDED.*libcurl' >/dev/null \
  || fail "credgate-manager does not link libcurl: the check above proves nothing"
echo "ok - credgate-manager links libcurl (the control)"
