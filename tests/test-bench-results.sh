#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/results/latest.md explains itself: every goal the table marks missed
# has its paragraph under "Goals missed" (its bold title naming the row's
# figure), saying why and what meeting it would take.  (That the keyring
# row is at the store rows' count is bench/run's to keep: see its note.)
set -euo pipefail
: "${top_srcdir:?}"
md="$top_srcdir/bench/results/latest.md"
status=0
bad () { echo "FAIL: $*" >&2; status=1; }

section=$(sed -n '/^## Goals missed/,$p' "$md")
titles=$(grep -o '^- \*\*[^*]*\*\*' <<<"$section" || true)
n=0
while IFS='|' read -r _ what ours _ _ ratio _ met _; do
  [[ $met == *'**no**'* ]] || continue
  n=$((n + 1))
  what=$(xargs <<<"$what"); ours=$(xargs <<<"$ours"); ratio=$(xargs <<<"$ratio")
  if grep -qF -e "$ours against" -e "${ratio}× " <<<"$titles"; then
    echo "ok - missed: $what ($ours, ${ratio}×) is explained"
  else
    bad "missed goal '$what' ($ours, ratio $ratio) has no paragraph under 'Goals missed'"
  fi
done < <(grep '^| ' "$md")
[ "$n" -gt 0 ] || [ -z "$section" ] || echo "ok - no goal is missed"
# Each paragraph says why and what it would take.
while IFS= read -r t; do
  para=$(awk -v t="$t" 'index($0, t) == 1 {p = 1} p && /^$/ {exit} p && /^- / && index($0, t) != 1 {exit} p' <<<"$section")
  grep -q 'Meeting' <<<"$para" || bad "the paragraph '$t' does not say what meeting the goal would take"
done <<<"$titles"
exit $status
