/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-write-clock.h"

static __thread gint64 since;

void
cg_write_clock_start (gint64 arrived)
{
  since = arrived;
}

void
cg_write_clock_restart (void)
{
  if (since)
    since = g_get_monotonic_time ();
}

void
cg_write_clock_stop (void)
{
  since = 0;
}

gint64
cg_write_clock_since (void)
{
  return since;
}
