#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The vault's layers hold (agent/cg-vault-private.h): the core
# (cg-vault.c, cg-vault-keys.c) names none of the modules built on it
# (tokens, key use, client certificates, escrow) and they reach it only
# through its hooks; only cg-vault-modules.c puts them together; the core
# and the tokens, key-use and client-certificate modules keep no SQL of
# their own: their storage goes through CgVaultStore (cg-vault-store.h).
set -euo pipefail
: "${top_srcdir:?}"
cd "$top_srcdir/agent"
status=0
fail () { echo "FAIL: $*" >&2; status=1; }

core="cg-vault.c cg-vault-keys.c"
modules="cg_vault_escrow_|cg_vault_tokens_|cg_vault_token_|cg_vault_key_use_|cg_vault_clients_|cg_vault_client_"
for f in $core; do
  [ -f "$f" ] || fail "$f is missing"
  if grep -nE "#include \"agent/cg-(escrow|vault-backup)\.h\"" "$f"; then
    fail "$f includes a module built on the vault"
  fi
  if grep -nE "($modules)[a-z_]* \(" "$f"; then
    fail "$f calls a module built on the vault"
  fi
done
echo "ok - the core names no module"

# The modules are put together in one place.
for attach in cg_vault_tokens_attach cg_vault_key_use_attach cg_vault_clients_attach \
              cg_vault_escrow_attach; do
  users=$(grep -lE "$attach \(v" ./*.c | grep -v -e "^./cg-vault-modules.c$" || true)
  for u in $users; do
    grep -qE "^$attach \(" "$u" || fail "$u attaches a module ($attach) outside cg-vault-modules.c"
  done
  grep -q "$attach (v" cg-vault-modules.c || fail "cg-vault-modules.c does not attach $attach"
done
echo "ok - cg-vault-modules.c alone attaches the modules"

# No SQL outside the store in the core and the modules moved behind it
# (the core opens and closes the file the store and the other modules use).
for f in $core cg-vault-tokens.c cg-vault-key-use.c cg-vault-clients.c; do
  if grep -nE "sqlite3_|cg_db_|\"(SELECT|INSERT|UPDATE|DELETE) " "$f" |
      grep -vE "= cg_db_open \(|sqlite3_close \(v->db\)"; then
    fail "$f reaches the database past CgVaultStore"
  fi
done
echo "ok - records, key rows, tokens and client certificates go through CgVaultStore"

# No hand-written transaction anywhere: cg_db_transaction is the one.
if grep -nE "\"(BEGIN|COMMIT|ROLLBACK)|; *(BEGIN|COMMIT|ROLLBACK)" ./*.c | grep -v "^./cg-db.c:"; then
  fail "a transaction is opened or ended outside cg_db_transaction"
fi
echo "ok - every transaction goes through cg_db_transaction"
exit $status
