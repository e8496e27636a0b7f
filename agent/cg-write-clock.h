/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* When the request this thread serves arrived, so that a cluster write
 * counts its time from there (issue 13: a write answers 503
 * cluster_unavailable within 5 s of arriving, never later).
 *
 * A write waits for the vault's lock before the store sees it, maybe
 * behind other writes that each wait on etcd; measured from the lock, the
 * second of two writes sent together would answer after twice a write's
 * budget.  So whoever receives a request (the API's access handler, the
 * admin socket) starts the clock at its arrival, and the etcd store
 * (cg-vault-store-etcd.c) reads it at each write: the write gets what is
 * left of its budget, and one that was already waiting when etcd was found
 * unavailable is refused at once.  The store never sees the request: the
 * clock is the one thing passed down, and it is per thread because a
 * request runs on one thread from arrival to answer.
 *
 * Monotonic microseconds (g_get_monotonic_time); 0: no request, the write
 * counts from its own start. */
void cg_write_clock_start (gint64 arrived);
/* After a write: the request's next write (key rotate --all makes many in
 * one command) counts from now, not from the request's arrival.  Nothing
 * when the clock is not running. */
void cg_write_clock_restart (void);
void cg_write_clock_stop (void);
/* The time the thread's next write counts from, 0 when none. */
gint64 cg_write_clock_since (void);

G_END_DECLS
