/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-config.h"
#include "agent/cg-throttle.h"
#include "agent/cg-vault.h"

G_BEGIN_DECLS

/* What the request handlers of both doors (TLS API and admin socket)
 * share.  Everything in it is thread-safe. */
typedef struct
{
  CgConfig *config;
  CgVault *vault;
  CgThrottle *throttle;
  gint64 started;          /* real time, µs */
} CgAgent;

G_END_DECLS
