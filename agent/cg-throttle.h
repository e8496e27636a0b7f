/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Failed-authentication counter per client address over a sliding minute.
 * Past @limit failures the address is refused (429) until its minute ends,
 * without even looking at the token, so guessing costs the guesser time and
 * the agent nothing.  Bounded in memory: under a flood of distinct
 * addresses the oldest entries are dropped. */
typedef struct CgThrottle CgThrottle;

CgThrottle *cg_throttle_new (guint limit);
void cg_throttle_free (CgThrottle *t);
gboolean cg_throttle_is_blocked (CgThrottle *t, const char *client);
/* Records a failure; TRUE if the address is now blocked. */
gboolean cg_throttle_fail (CgThrottle *t, const char *client);
void cg_throttle_succeed (CgThrottle *t, const char *client);

G_END_DECLS
