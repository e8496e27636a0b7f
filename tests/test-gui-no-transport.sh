#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The GUI talks to the agent only through protocol/'s typed client
# (cg-client.h) and reads certificates only through certs/: no libcurl call
# and no X.509/GnuTLS code in gui/ (a second HTTP client or certificate
# parser there is how the two drifted apart before).
set -euo pipefail
: "${top_srcdir:?run through make check}"
cd "$top_srcdir"
found=$(grep -nE 'curl_|<curl/|gnutls_|<gnutls/|x509|X509' gui/*.c gui/*.h || true)
if [ -n "$found" ]; then
  echo "FAIL: gui/ holds transport or certificate code of its own:" >&2
  echo "$found" >&2
  exit 1
fi
echo "ok - gui/ has no curl_ call and no X.509/GnuTLS code"
