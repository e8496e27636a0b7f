/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract of CgVaultStore (agent/cg-vault-store.h) as checks any
 * implementation must pass, each on an empty store: tests/test-vault-store.c
 * runs them on the SQLite store, tests/test-vault-store-etcd.c on the etcd
 * store. */

#include "agent/cg-vault-store.h"

G_BEGIN_DECLS

typedef struct
{
  gint64 version; /* the version the store asked to seal for */
  gboolean called;
} CgTestSeal;

/* A CgVaultSealFunc: "sealed-vN" for version N; @user_data a CgTestSeal. */
GBytes *cg_test_store_seal_cb (gint64 version, gpointer user_data);

void cg_test_store_contract_records (CgVaultStore *store);
void cg_test_store_contract_keys (CgVaultStore *store);
void cg_test_store_contract_tokens (CgVaultStore *store);
void cg_test_store_contract_meta (CgVaultStore *store);
void cg_test_store_contract_reseal (CgVaultStore *store);
void cg_test_store_contract_clients (CgVaultStore *store);

G_END_DECLS
