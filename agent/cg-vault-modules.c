/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The vault as the agent runs it: the core (cg-vault.c) and the modules
 * that hang on it through hooks.  This is the one file that knows them
 * all; the core knows none, and each module knows only the core. */
#include "config.h"

#include "agent/cg-vault-private.h"

CgVault *
cg_vault_open (const char *state_dir, GError **error)
{
  g_autoptr (CgVault) v = cg_vault_core_open (state_dir, error);
  if (!v || !cg_vault_tokens_attach (v, error))
    return NULL;
  cg_vault_key_use_attach (v);
  cg_vault_clients_attach (v);
  cg_vault_escrow_attach (v);
  return g_steal_pointer (&v);
}
