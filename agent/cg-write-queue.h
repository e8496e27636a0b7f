/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent/cg-agent.h"
#include "agent/cg-http.h"

G_BEGIN_DECLS

/* CgWriteQueue: a cluster's writes, answered off libmicrohttpd's threads.
 *
 * A write in a cluster may wait seconds on etcd (its quorum check, its
 * txn), holding the vault's lock.  Answered on a libmicrohttpd worker, it
 * would hold that thread too, and every other connection the thread
 * serves (reads included) would wait unread: the agent could not even see
 * those writes arrive, so their 5 s (issue 13) would start late.  So the
 * server suspends a write's connection, a thread of this queue answers it
 * (cg_api_dispatch, its responses kept in the request: cg-http.h) and
 * resumes the connection, and the access handler queues the answer on its
 * next call.  The write's clock (cg-write-clock.h) runs from the request's
 * arrival, its time in this queue included.  A single node's writes are
 * answered where they arrive, as before. */
typedef struct CgWriteQueue CgWriteQueue;

CgWriteQueue *cg_write_queue_new (CgAgent *agent);
/* With @req complete, on libmicrohttpd's thread: TRUE when the queue took
 * it (a cluster write: its connection is suspended, the access handler
 * returns MHD_YES and queues req->answer on its next call); FALSE: answer
 * it here. */
gboolean cg_write_queue_take (CgWriteQueue *queue, CgRequest *req);
/* Stops taking writes, answers every write it holds, frees; before the
 * daemons stop (libmicrohttpd cannot stop with a connection suspended). */
void cg_write_queue_free (CgWriteQueue *queue);

G_END_DECLS
