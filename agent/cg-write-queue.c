/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "agent/cg-write-queue.h"

#include "agent/cg-api.h"
#include "agent/cg-write-clock.h"

/* Threads answering writes at once.  They take the vault's lock one after
 * the other, so more would only wait there; these are enough that a
 * burst's writes wait with their clocks running (a write refused at once
 * once another found etcd unavailable) rather than unseen in the queue. */
#define WRITE_THREADS 8

struct CgWriteQueue
{
  CgAgent *agent;
  GMutex lock; /* guards pool: NULL once stopping */
  GThreadPool *pool;
};

static void
answer (gpointer data, gpointer user_data)
{
  CgRequest *req = data;
  CgWriteQueue *queue = user_data;
  cg_write_clock_start (req->arrived);
  cg_http_keep_answers (req);
  cg_api_dispatch (queue->agent, req);
  cg_http_keep_answers (NULL);
  cg_write_clock_stop ();
  MHD_resume_connection (req->connection);
}

CgWriteQueue *
cg_write_queue_new (CgAgent *agent)
{
  CgWriteQueue *queue = g_new0 (CgWriteQueue, 1);
  queue->agent = agent;
  g_mutex_init (&queue->lock);
  queue->pool = g_thread_pool_new (answer, queue, WRITE_THREADS, FALSE, NULL);
  return queue;
}

gboolean
cg_write_queue_take (CgWriteQueue *queue, CgRequest *req)
{
  if (!cg_api_is_cluster_write (queue->agent, req))
    return FALSE;
  g_mutex_lock (&queue->lock);
  gboolean taken = queue->pool != NULL;
  if (taken)
    {
      req->handed_off = TRUE;
      MHD_suspend_connection (req->connection);
      g_thread_pool_push (queue->pool, req, NULL);
    }
  g_mutex_unlock (&queue->lock);
  return taken;
}

void
cg_write_queue_free (CgWriteQueue *queue)
{
  if (!queue)
    return;
  g_mutex_lock (&queue->lock);
  GThreadPool *pool = g_steal_pointer (&queue->pool);
  g_mutex_unlock (&queue->lock);
  if (pool)
    g_thread_pool_free (pool, FALSE, TRUE);
  g_mutex_clear (&queue->lock);
  g_free (queue);
}
