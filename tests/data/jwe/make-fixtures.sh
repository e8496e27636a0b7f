#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Remakes the known-answer fixtures of tests/test-jwe.c with an independent
# JOSE implementation (the `jose` CLI, libjose).  The key is a test-only key.
# The results are checked in so the tests run where jose is not installed;
# after running this, commit the new files together.
set -eu
cd "$(dirname "$0")"

jose jwk gen -i '{"kty":"EC","crv":"P-256"}' -o key.jwk
kid=$(jose jwk thp -i key.jwk -a S256)
printf '%s\n' "$kid" > kid

printf 'hello' | jose jwe enc -c -I- -k key.jwk -o hello.jwe \
  -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$kid\"}}"
printf 'p4ssw0rd' | jose jwe enc -c -I- -k key.jwk -o hello-ctx.jwe \
  -i "{\"protected\":{\"alg\":\"ECDH-ES\",\"enc\":\"A256GCM\",\"kid\":\"$kid\",\"ctx\":\"linked-sql\"}}"
