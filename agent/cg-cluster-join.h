/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "common/cg-secure.h"
#include "jose/cg-jwk.h"

G_BEGIN_DECLS

/* Join codes (issue 13): "cgj_" + base64url (cluster id (16 bytes) ||
 * code id (16) || secret (32)), 90 characters, printed once by
 * "cluster invite", single use, expiring.
 *
 * etcd holds P/join/<code-id> = {"hmac": base64url (HMAC-SHA256 (secret,
 * "credgate cluster join " || code-id)), "expires", "by"}: one-way, so a
 * reader of etcd learns nothing that makes a code, and the joining node,
 * which has the secret, checks its code (used: the entry is gone; expired;
 * forged: the HMAC differs) before it writes anything.
 *
 * The joining node writes P/pending/<name> = {"name","pub","address","pin",
 * "code": code-id, "proof": {MEMBER: JWE}}: for each member, a JWE to that
 * member's node key (ctx "cluster-join:<code-id>") of {"secret", "name",
 * "kid": the joining node key's thumbprint}.  Only members can open it, and
 * it binds the code to this name and this key: a pending entry copied with
 * another key, or replayed after the code was used, is refused.  (The
 * shared plan's "proof" was an HMAC keyed with the code's secret; members
 * hold only the one-way HMAC, so they could not have checked it.)
 *
 * The proof carries the code's secret, so it goes only to real members: a
 * node entry written into etcd by someone with an etcd certificate would
 * otherwise receive it and could use the code for a key of its own.  The
 * joining node cannot check node entries (it holds no master key), so the
 * invite names the members it trusts in the join entry, "members": {NAME:
 * kid}, with "membersMac": base64url (HMAC-SHA256 (secret, "credgate
 * cluster join members v1" || each NAME and kid, sorted by NAME,
 * length-prefixed)): only the holder of the code can check it, and
 * nobody without the code can make one.  The joining node seals a proof only
 * to a listed member whose entry holds the listed key. */

#define CG_CLUSTER_CODE_PREFIX "cgj_"
#define CG_CLUSTER_CODE_LEN (4 + 86)
#define CG_CLUSTER_ID_RAW 16

/* The one message for every refused code. */
#define CG_CLUSTER_JOIN_REFUSED "the join code is not valid (unknown, used, expired or not for this cluster)"

typedef struct
{
  char *cluster_id; /* base64url */
  char *code_id;    /* base64url */
  CgBuf *secret;    /* 32 bytes */
} CgClusterCode;

void cg_cluster_code_free (CgClusterCode *code);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgClusterCode, cg_cluster_code_free)

/* A new cluster id: 16 random bytes, base64url (transfer full). */
char *cg_cluster_new_id (GError **error);

/* A new code for @cluster_id; @text receives its text (transfer full, wipe
 * it). */
CgClusterCode *cg_cluster_code_new (const char *cluster_id, char **text, GError **error);
/* Parse a code's text; CG_ERROR_JOIN_REFUSED for anything malformed. */
CgClusterCode *cg_cluster_code_parse (const char *text, GError **error);
/* The join entry's "hmac" for @code (transfer full). */
char *cg_cluster_code_hmac (const CgClusterCode *code);
/* The join entry's "membersMac" over @members (NAME → kid) (transfer full). */
char *cg_cluster_code_members_mac (const CgClusterCode *code, json_t *members);
/* Does the join entry @entry admit @code at @now (unix seconds), its
 * member list intact?  FALSE with CG_ERROR_JOIN_REFUSED otherwise (one
 * message for every reason). */
gboolean cg_cluster_code_check (const CgClusterCode *code, json_t *entry, gint64 now,
                                GError **error);

/* The proof for one member (transfer full). */
char *cg_cluster_proof_seal (CgSealKey *member_pub, const CgClusterCode *code, const char *name,
                             const char *kid, GError **error);
/* Opens the proof with the member's node key and checks that it names
 * @name and @kid and carries @code_id; gives the code (transfer full). */
CgClusterCode *cg_cluster_proof_open (CgSealKey *member_key, const char *jwe,
                                      const char *cluster_id, const char *code_id,
                                      const char *name, const char *kid, GError **error);

G_END_DECLS
