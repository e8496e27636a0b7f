#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The translations are complete and current: every string the sources mark
# for translation today (xgettext over po/POTFILES.in, with po/Makevars'
# keywords) has a translation in every language of po/LINGUAS, none fuzzy;
# printf formats agree (msgfmt --check); and a label with a mnemonic keeps
# one in translation, so the keyboard still reaches it.
set -euo pipefail
: "${top_srcdir:?}"
for tool in xgettext msgmerge msgfmt msgattrib; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed (gettext: scripts/setup installs it)"; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$top_srcdir"

keywords=$(sed -n 's/^XGETTEXT_OPTIONS *= *//p' po/Makevars)
# shellcheck disable=SC2086
xgettext $keywords --package-name=credgate -o "$work/credgate.pot" \
  --files-from=<(grep -v '^#' po/POTFILES.in | grep .)
total=$(( $(grep -c "^msgid " "$work/credgate.pot") - 1 ))
[ "$total" -gt 50 ] || { echo "FAIL: only $total strings found in the sources"; exit 1; }

status=0
for lang in $(grep -v '^#' po/LINGUAS); do
  before=$status
  msgmerge --quiet --no-fuzzy-matching -o "$work/$lang.po" "po/$lang.po" "$work/credgate.pot"
  missing=$(msgattrib --untranslated --no-obsolete "$work/$lang.po" | grep -c '^msgid ' || true)
  fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$work/$lang.po" | grep -c '^msgid ' || true)
  # msgattrib prints the header entry (msgid "") as untranslated-looking when
  # there is anything to print; count real entries only.
  [ "$missing" -le 1 ] || { echo "FAIL: $lang lacks $((missing - 1)) of the sources' strings:"; \
    msgattrib --untranslated --no-obsolete "$work/$lang.po" | grep '^msgid ' | sed 1d | head; status=1; }
  [ "$fuzzy" -le 1 ] || { echo "FAIL: $lang has $((fuzzy - 1)) fuzzy entries"; status=1; }
  if ! msgfmt --check --check-accelerators=_ -o /dev/null "po/$lang.po" 2>"$work/$lang.err"; then
    echo "FAIL: $lang: $(head -5 "$work/$lang.err")"; status=1
  fi
  [ "$status" != "$before" ] || echo "ok - $lang: all $total strings of the sources translated, none fuzzy, formats and mnemonics checked"
done
exit "$status"
