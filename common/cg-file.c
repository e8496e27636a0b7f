/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "common/cg-file.h"
#include "common/cg-error.h"
#include "common/cg-secure.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static gboolean
write_all (int fd, const guint8 *p, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

static void
fsync_parent (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      (void) fsync (dfd);
      close (dfd);
    }
}

gboolean
cg_file_write_atomic (const char *path, const void *data, gsize len, mode_t mode, GError **error)
{
  g_autofree char *tmp = NULL;
  int fd = -1;

  for (int attempt = 0; attempt < 16 && fd < 0; attempt++)
    {
      g_free (tmp);
      tmp = g_strdup_printf ("%s.tmp.%08x", path, g_random_int ());
      fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot create %s: %s", tmp, g_strerror (e));
      return FALSE;
    }

  /* open() honours the umask; the mode asked for is what we mean. */
  if (fchmod (fd, mode) < 0 || !write_all (fd, data, len) || fsync (fd) < 0)
    {
      int e = errno;
      close (fd);
      unlink (tmp);
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot write %s: %s", path,
                   g_strerror (e ? e : EIO));
      return FALSE;
    }
  if (close (fd) < 0 || rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot replace %s: %s", path, g_strerror (e));
      return FALSE;
    }
  fsync_parent (path);
  return TRUE;
}

gboolean
cg_fd_read_capped (int fd, const char *what, gsize max, char **contents, gsize *len,
                   GError **error)
{
  /* What is read may be a secret: grow by copying into a new buffer and
   * wiping the old one, never by realloc, which would leave copies behind. */
  gsize cap = MIN (max, 4096) + 1, used = 0;
  char *buf = g_malloc (cap);

  for (;;)
    {
      if (used == cap - 1)
        {
          if (used >= max)
            {
              /* One more byte tells a file of exactly max from a larger one. */
              char probe;
              ssize_t n = read (fd, &probe, 1);
              if (n == 0)
                break;
              g_set_error (error, CG_ERROR, CG_ERROR_TOO_LARGE,
                           "%s is larger than %" G_GSIZE_FORMAT " bytes", what, max);
              goto fail;
            }
          gsize bigger = MIN (max, (cap - 1) * 2) + 1;
          char *grown = g_malloc (bigger);
          memcpy (grown, buf, used);
          cg_wipe (buf, cap);
          g_free (buf);
          buf = grown;
          cap = bigger;
        }
      ssize_t n = read (fd, buf + used, cap - 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot read %s: %s", what, g_strerror (e));
          goto fail;
        }
      if (n == 0)
        break;
      used += n;
    }
  buf[used] = '\0';
  if (len)
    *len = used;
  *contents = buf;
  return TRUE;

fail:
  cg_wipe (buf, cap);
  g_free (buf);
  return FALSE;
}

gboolean
cg_file_read_capped (const char *path, gsize max, char **contents, gsize *len, GError **error)
{
  if (g_str_equal (path, "-"))
    return cg_fd_read_capped (STDIN_FILENO, "standard input", max, contents, len, error);

  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, e == ENOENT ? CG_ERROR_NOT_FOUND : CG_ERROR_IO,
                   "cannot open %s: %s", path, g_strerror (e));
      return FALSE;
    }
  gboolean ok = cg_fd_read_capped (fd, path, max, contents, len, error);
  close (fd);
  return ok;
}

gboolean
cg_mkdir_private (const char *path, mode_t mode, GError **error)
{
  if (g_mkdir_with_parents (path, mode) < 0)
    {
      int e = errno;
      g_set_error (error, CG_ERROR, CG_ERROR_IO, "cannot create directory %s: %s", path,
                   g_strerror (e));
      return FALSE;
    }
  return TRUE;
}
