/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The admin socket's framing, which both ends use, and where the socket
 * lives.  The agent's end is agent/cg-admin.c, credgatectl's
 * ctl/cg-admin-call.c. */
#include "config.h"

#include "admin/cg-admin-proto.h"
#include "common/cg-error.h"
#include "common/cg-json.h"
#include "common/cg-secure.h"

#include <string.h>
#include <unistd.h>

char *
cg_admin_read_message (GInputStream *in, gsize *len, GCancellable *cancel, GError **error)
{
  /* One buffer of the maximum size, never reallocated: it may hold a
   * secret, and a grown copy would be left behind unwiped.  The kernel
   * backs only the pages we write, so a large cap costs nothing until a
   * large message comes; wiping covers only what was read. */
  gsize cap = CG_ADMIN_MAX_MESSAGE;
  char *buf = g_malloc (cap + 1);
  gsize used = 0, raw = 0;

  /* From a buffered stream, byte by byte up to the newline and no
   * further: the next message stays in the buffer for the next call. */
  if (G_IS_BUFFERED_INPUT_STREAM (in))
    for (;;)
      {
        if (used == cap)
          {
            g_set_error_literal (error, CG_ERROR, CG_ERROR_TOO_LARGE, "admin message too large");
            goto fail;
          }
        GError *local = NULL;
        int c = g_buffered_input_stream_read_byte (G_BUFFERED_INPUT_STREAM (in), cancel, &local);
        if (c < 0 && local)
          {
            g_propagate_error (error, local);
            goto fail;
          }
        if (c < 0 || c == '\n')
          goto done;
        buf[used++] = (char) c;
        raw = used;
      }
  for (;;)
    {
      if (used == cap)
        {
          g_set_error_literal (error, CG_ERROR, CG_ERROR_TOO_LARGE, "admin message too large");
          goto fail;
        }
      gssize n = g_input_stream_read (in, buf + used, cap - used, cancel, error);
      if (n < 0)
        goto fail;
      if (n == 0)
        break;
      char *nl = memchr (buf + used, '\n', n);
      used += n;
      raw = used;
      if (nl)
        {
          used = nl - buf;
          /* Nothing may follow the newline; whatever did is wiped now. */
          cg_wipe (nl, raw - used);
          break;
        }
    }
done:
  if (used == 0)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID, "empty admin message");
      goto fail;
    }
  buf[used] = '\0';
  *len = used;
  return buf;

fail:
  cg_wipe (buf, MAX (raw, used));
  g_free (buf);
  return NULL;
}

char *
cg_admin_default_socket (void)
{
  const char *env = g_getenv ("CREDGATE_ADMIN_SOCKET");
  if (env && *env)
    return g_strdup (env);
  const char *runtime = g_getenv ("XDG_RUNTIME_DIR");
  if (geteuid () != 0 && runtime && *runtime)
    return g_build_filename (runtime, "credgate", "admin.sock", NULL);
  return g_strdup ("/run/credgate/admin.sock");
}
