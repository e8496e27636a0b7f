#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# README.md's cross-references hold: every section a text refers to by its
# quoted title (as in "…", see "…", README.md, "…") is a heading of
# README.md; and the synopsis of restore --escrow says it takes a directory.
# README.md says what exists: no "Not yet" sentence names a command or an
# option that the programs' --help already lists, and every credgatectl
# command its --help lists is in README.md.
set -euo pipefail
: "${top_srcdir:?}" "${top_builddir:?}"
top_builddir=$(cd "$top_builddir" && pwd)
cd "$top_srcdir"
status=0
headings=$(sed -n 's/^#\{1,6\} //p' README.md)
# Whole files as one line, so that a reference broken over two lines counts.
# The sources' comments too ("(README.md, "…")"): the tree has no other
# design document to point at, so a reference to one is refused below.
sources=$(find agent certs cli common gui protocol store tests web bench -type f \
  \( -name '*.c' -o -name '*.h' -o -name '*.sh' -o -name '*.js' -o -name '*.py' \) \
  ! -path tests/test-readme.sh | sort)
for f in README.md scripts/start scripts/check scripts/setup data/agent.conf $sources; do
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
# shellcheck disable=SC2086
if dangling=$(grep -l 'DESIGN[.]md' $sources); then
  echo "FAIL: these name DESIGN.md, which the tree does not have: $dangling" >&2
  status=1
fi
grep -q 'credgatectl restore --escrow DIR --recipient-key ADMIN.jwk .*DIR: an escrow directory' README.md ||
  { echo "FAIL: README's restore --escrow synopsis does not say DIR is a directory" >&2; status=1; }

help=$("$top_builddir/credgatectl" --help; "$top_builddir/credgate-encrypt-value" --help)
# Each "Not yet" paragraph, joined into one line, and the `code` in it.
stale=$(awk 'BEGIN { RS = "" } /Not yet/ { gsub(/\n/, " "); print }' README.md \
  | grep -o 'Not yet[^.]*' | grep -o '`[^`]*`' | tr -d '`' || true)
while IFS= read -r item; do
  [ -n "$item" ] || continue
  if grep -qF -- "${item#credgatectl }" <<<"$help"; then
    echo "FAIL: README.md says 'Not yet: $item', but --help lists it" >&2
    status=1
  fi
done <<<"$stale"
[ "$status" != 0 ] || echo "ok - no 'Not yet' in README.md names what --help lists"
while read -r cmd; do
  grep -qF -- "$cmd" README.md || { echo "FAIL: credgatectl $cmd is not in README.md" >&2; status=1; }
done < <("$top_builddir/credgatectl" --help | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\?\) .*/\1/p')
# The Layout section names every top-level folder of the source tree (one
# line each) and no folder that is not there.
layout=$(awk '/^## Layout/ { on = 1; next } /^## / { on = 0 } on' README.md)
listed=$(sed -n 's/^- `\([a-z][a-z0-9-]*\)\/`.*/\1/p' <<<"$layout" | sort)
if git -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null | grep -qxF "$(cd "$top_srcdir" && pwd -P)"; then
  tree=$(git -C "$top_srcdir" ls-files | sed -n 's|^\([^/]*\)/.*|\1|p' | grep -v '^\.' | sort -u)
else
  # A release tarball (make distcheck): every folder with a build fragment.
  tree=$(cd "$top_srcdir" && ls -d */Makefile-*.am | sed 's|/.*||' | sort -u)
  listed=$(comm -12 <(echo "$listed") <(echo "$tree"))
fi
if [ -z "$listed" ]; then
  echo "FAIL: README.md's Layout section lists no folders" >&2; status=1
elif [ "$listed" != "$tree" ]; then
  echo "FAIL: README.md's Layout section does not match the tree:" >&2
  diff <(echo "$listed") <(echo "$tree") >&2 || true
  status=1
else
  echo "ok - README.md's Layout section lists every folder: $(echo $listed)"
fi
exit $status
