#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every credgatectl command and subcommand that 'credgatectl --help' lists
# answers --help (and -h) with its own synopsis and the options the overview
# gives it, exits 0, and reaches no agent (the socket here does not exist).
. "$top_srcdir/tests/lib.sh"
nosock="$WORK/no-agent.sock"
c () { "$CTL" --socket "$nosock" "$@"; }

overview=$("$CTL" --help)
# The "Commands:" block: lines indented by exactly two spaces.  The command
# part ends at the first run of two spaces (the description after it);
# alternatives are separated by " | " (token create NAME | token list …).
commands=$(printf '%s\n' "$overview" | sed -n '/^Commands:/,/^$/p' | grep '^  [a-z]' |
  sed 's/^  //; s/  .*//')
[ -n "$commands" ] || fail "no commands found in credgatectl --help"

declare -A subs=() synopsis=()
while IFS= read -r line; do
  group=${line%% *}
  subs[$group]=${subs[$group]:-}
  IFS='|' read -ra alts <<<"$line"
  for alt in "${alts[@]}"; do
    read -ra w <<<"$alt"
    [ "${w[0]}" = "$group" ] && w=("${w[@]:1}")   # "token list" after "token create NAME |"
    if [[ ${w[0]:-} =~ ^[a-z][a-z-]*$ ]]; then
      sub=${w[0]}
      subs[$group]="${subs[$group]} $sub"
      synopsis["$group $sub"]="${w[*]:1}"
    else
      synopsis[$group]="${synopsis[$group]:-} ${w[*]}"
    fi
  done
done <<<"$commands"

# Each option an overview line gives a command must be in that command's help.
check_options () {
  local what=$1 help=$2 opt
  for opt in $(grep -o -- '--[a-z][a-z-]*' <<<"${synopsis[$what]:-}" | sort -u); do
    grep -qF -- "$opt" <<<"$help" || fail "'credgatectl $what --help' does not mention $opt"
  done
}

n=0
for group in "${!subs[@]}"; do
  for flag in --help -h; do
    out=$(c "$group" $flag 2>"$WORK/err") || fail "'credgatectl $group $flag' exits $?: $(cat "$WORK/err")"
    [ ! -s "$WORK/err" ] || fail "'credgatectl $group $flag' wrote to stderr: $(cat "$WORK/err")"
    grep -q "^Usage: credgatectl $group\b" <<<"$out" ||
      fail "'credgatectl $group $flag' shows no synopsis: $out"
  done
  check_options "$group" "$out"
  n=$((n + 1))
  for sub in ${subs[$group]}; do
    for flag in --help -h; do
      out=$(c "$group" "$sub" $flag 2>"$WORK/err") ||
        fail "'credgatectl $group $sub $flag' exits $?: $(cat "$WORK/err")"
      grep -q "^Usage: credgatectl $group $sub\b" <<<"$out" ||
        fail "'credgatectl $group $sub $flag' shows no synopsis of its own: $out"
    done
    check_options "$group $sub" "$out"
    n=$((n + 1))
  done
done
# A sanity floor: today's overview has eight commands and eighteen subcommands.
[ "$n" -ge 20 ] || fail "only $n commands and subcommands parsed from the overview"
pass "$n commands and subcommands answer --help and -h with their synopsis and options"

# --help after other arguments still teaches; it never runs the command.
out=$(c key retire some-kid --force --help) && grep -q "^Usage: credgatectl key retire" <<<"$out" ||
  fail "'key retire KID --force --help' did not show the help"
out=$(c backup --output "$WORK/x.cgb" --help) && [ ! -e "$WORK/x.cgb" ] ||
  fail "'backup --output FILE --help' did not just show the help"
pass "--help after other arguments shows the help and does nothing else"

# What is not a command or an option stays a usage error (2).
set +e
c token bogus --help >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "unknown subcommand 'bogus'" "$WORK/err" ||
  fail "'token bogus --help' exits $rc: $(cat "$WORK/err")"
set +e
c backup --bogus >/dev/null 2>"$WORK/err"; rc=$?
set -e
[ "$rc" = 2 ] || fail "'backup --bogus' exits $rc, not 2"
pass "an unknown subcommand or option is still a usage error"

# The synopsis says what restore --escrow takes.
c restore --help | has -- '--escrow DIR .*--recipient-key' ||
  fail "restore --help does not say --escrow takes a DIR"
c restore --help | has -- '--escrow DIR  *recover the keys from an escrow directory' ||
  fail "restore --help does not say what DIR is"
pass "restore --escrow DIR: the synopsis names the directory"
