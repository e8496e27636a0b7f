/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "common/cg-secure.h"

G_BEGIN_DECLS

/* The linked-service transformer: pure functions, no network, so the CLI,
 * the GUI and the fuzzers share one implementation.
 *
 * Input: an Azure-Data-Factory-style linked service, either
 *   {"name", "properties": {"type", "typeProperties": {... "password" ...}}}
 * or the older shape whose typeProperties hold a "connectionString" (plain
 * string or SecureString object) and a "gatewayName".
 *
 * Secrets found under typeProperties, at any depth:
 *   - members named password, pwd, accountKey, sasToken, servicePrincipalKey
 *     (case-insensitive) whose value is a string or a SecureString object;
 *   - any other SecureString object {"type": "SecureString", "value": "..."};
 *     one directly inside an array, or one whose value is not a string, is
 *     refused (CG_ERROR_INVALID, naming its path): it could not be removed,
 *     and a secret is never left behind in the clear;
 *   - inside a member named connectionString (string or SecureString), the
 *     pairs Password=, PWD=, AccountKey=, SharedAccessSignature=,
 *     SharedAccessKey= (keys case-insensitive, spaces around them allowed,
 *     values plain, 'quoted', "quoted" or {braced}).
 * A reference such as {"type": "AzureKeyVaultSecret", ...} is not a secret
 * and stays.
 *
 * The plaintext that gets sealed (cg_linked_service_get_secrets) is a compact
 * JSON object, one string member per secret, in document order.  A member's
 * key is the secret's path below typeProperties, dot-joined; a secret from a
 * connection string is the string's path, a dot, and the pair's key as
 * written:
 *   {"password":"s3cret","connectionString.Password":"p@ss;word"}
 *
 * The output is the same document with the secrets removed (a connection
 * string keeps its other pairs, as written) and
 * typeProperties.encryptedCredential added last; every other member keeps
 * its value and its position.  The encrypted credential is meant to be bound
 * to the linked service's name (its "ctx"). */

typedef struct CgLinkedService CgLinkedService;

/* Parse and analyse @text (@len bytes).  Errors (CG_ERROR_INVALID): bad JSON
 * ("invalid JSON at line L, column C: ..."), not a linked service, no name,
 * no secret found, a SecureString that cannot be removed
 * ("properties.typeProperties.PATH: ...").  A document that already holds
 * typeProperties.encryptedCredential is CG_ERROR_EXISTS unless @force (then
 * the old value is replaced in place). */
CgLinkedService *cg_linked_service_parse (const char *text, gsize len, gboolean force,
                                          GError **error);
/* A linked service already sealed, as --rewrap takes it: the same shape
 * checks, and a typeProperties.encryptedCredential string
 * (CG_ERROR_INVALID without one); no secrets are looked for. */
CgLinkedService *cg_linked_service_parse_sealed (const char *text, gsize len, GError **error);
void cg_linked_service_free (CgLinkedService *ls); /* wipes the secrets */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CgLinkedService, cg_linked_service_free)

/* The linked service's "name" (borrowed): the ctx to bind. */
const char *cg_linked_service_get_name (CgLinkedService *ls);

/* The typeProperties.encryptedCredential it holds (borrowed), or NULL. */
const char *cg_linked_service_get_encrypted_credential (CgLinkedService *ls);

/* The secrets that will be removed, as the plaintext's keys, in order
 * (borrowed, NULL-terminated).  What the GUI shows before it encrypts. */
const char *const *cg_linked_service_preview (CgLinkedService *ls);

/* The plaintext to seal, described above (transfer full, wiped on free). */
CgBuf *cg_linked_service_get_secrets (CgLinkedService *ls);

/* The rewritten document, 2-space indented with a final newline, holding
 * @encrypted_credential (transfer full). */
char *cg_linked_service_rewrite (CgLinkedService *ls, const char *encrypted_credential,
                                 GError **error);

/* Split a connection string: the secret pairs go into @secrets (key as
 * written → unquoted value, in order), the rest is returned as written, the
 * pairs joined with ';' (transfer full).  Exposed for tests and fuzzing. */
char *cg_connection_string_strip (const char *text, GPtrArray *secret_keys,
                                  GPtrArray *secret_values);

G_END_DECLS
