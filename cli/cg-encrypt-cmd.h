/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* credgate-encrypt-value's options, as cli/main.c parsed and checked them
 * (all borrowed). */
typedef struct
{
  const char *agent;          /* --agent HOST[:PORT][,HOST[:PORT]…]: tried in order */
  const char *input;          /* --input FILE */
  const char *token_file;     /* --token-file FILE */
  const char *pin;            /* --pin sha256:... */
  gboolean trust_on_first_use;
  const char *context;        /* --context NAME */
  gboolean json;
  const char *linked_service; /* --linked-service FILE|- */
  gboolean in_place;          /* -i */
  gboolean force;
  const char *fetch_key;      /* --fetch-key HOST[:PORT][,…] */
  const char *key_file;       /* --key FILE */
  gboolean verify;
  gboolean rewrap;            /* --rewrap */
  gboolean enroll;            /* --enroll: the code on stdin, --input or a prompt */
  const char *client_cert;    /* --client-cert FILE */
  const char *client_key;     /* --client-key FILE */
  gboolean verbose;           /* -v: which agent answered, and why others did not */
} CgEncryptOptions;

/* The agents of an --agent list, in order, each checked as HOST[:PORT]
 * (transfer full), or NULL with the reason. */
GStrv cg_encrypt_agent_list (const char *text, GError **error);


/* Run the command; returns the exit status (cli/cg-exit.h) after printing
 * any error on one line of stderr. */
int cg_encrypt_cmd_run (const CgEncryptOptions *opts);

G_END_DECLS
