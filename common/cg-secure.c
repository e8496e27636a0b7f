/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "common/cg-secure.h"
#include "common/cg-error.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void
cg_wipe (void *p, gsize len)
{
  if (p && len)
    gnutls_memset (p, 0, len);
}

void
cg_wipe_str (char *s)
{
  if (s)
    {
      cg_wipe (s, strlen (s));
      g_free (s);
    }
}

gboolean
cg_equal_ct (const void *a, const void *b, gsize len)
{
  return gnutls_memcmp (a, b, len) == 0;
}

CgBuf *
cg_buf_new (gsize len)
{
  CgBuf *buf = g_new0 (CgBuf, 1);
  buf->data = g_malloc0 (len + 1);
  buf->len = len;
  return buf;
}

CgBuf *
cg_buf_new_copy (const void *data, gsize len)
{
  CgBuf *buf = cg_buf_new (len);
  if (len)
    memcpy (buf->data, data, len);
  return buf;
}

void
cg_buf_free (CgBuf *buf)
{
  if (!buf)
    return;
  cg_wipe (buf->data, buf->len + 1);
  g_free (buf->data);
  g_free (buf);
}

gboolean
cg_harden_process (GError **error)
{
  const struct rlimit zero = { 0, 0 };
  if (setrlimit (RLIMIT_CORE, &zero) < 0 || prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_FAILED,
                   "cannot turn off core dumps and ptrace for this process: %s", g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
