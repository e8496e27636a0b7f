#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README.md's cross-references hold: every section a text refers to by its
# quoted title (as in "…", see "…", README.md, "…") is a heading of
# README.md; and the synopsis of restore --escrow says it takes a directory.
set -euo pipefail
: "${top_srcdir:?}"
cd "$top_srcdir"
status=0
headings=$(sed -n 's/^#\{1,6\} //p' README.md)
# Whole files as one line, so that a reference broken over two lines counts.
for f in README.md scripts/start scripts/check scripts/setup data/agent.conf; do
  [ -f "$f" ] || continue
  refs=$(tr '\n' ' ' < "$f" | sed 's/ *# */ /g; s/  */ /g' |
    grep -o '\(as in\|[Ss]ee\|README\.md,\) "[^"]*"' | sed 's/^[^"]*"//; s/"$//' || true)
  while IFS= read -r ref; do
    [ -n "$ref" ] || continue
    if grep -qxF -- "$ref" <<<"$headings"; then
      echo "ok - $f: \"$ref\" is a section of README.md"
    else
      echo "FAIL: $f refers to \"$ref\", which is no heading of README.md" >&2
      status=1
    fi
  done <<<"$refs"
done
grep -q 'credgatectl restore --escrow DIR --recipient-key ADMIN.jwk .*DIR: an escrow directory' README.md ||
  { echo "FAIL: README's restore --escrow synopsis does not say DIR is a directory" >&2; status=1; }
exit $status
