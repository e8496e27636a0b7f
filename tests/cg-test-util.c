/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "tests/cg-test-util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

char *
cg_test_make_tmpdir (const char *prefix)
{
  const char *work = g_getenv ("CG_TEST_WORK");
  g_autofree char *name = g_strconcat (prefix, "-XXXXXX", NULL);
  char *dir = g_build_filename (work && *work ? work : g_get_tmp_dir (), name, NULL);
  if (!g_mkdtemp (dir))
    g_error ("cannot make a scratch directory %s: %s", dir, g_strerror (errno));
  return dir;
}

char *
cg_test_fresh_state_dir (const char *prefix)
{
  g_autofree char *dir = cg_test_make_tmpdir (prefix);
  return g_build_filename (dir, "state", NULL);
}

void
cg_test_rm_rf (const char *path)
{
  GStatBuf st;
  if (g_lstat (path, &st) < 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          cg_test_rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

char *
cg_test_data_path (const char *name)
{
  const char *srcdir = g_getenv ("top_srcdir");
  return g_build_filename (srcdir ? srcdir : CG_TEST_SRCDIR, "tests", "data", name, NULL);
}

char *
cg_test_make_fixtures (const char *script)
{
  g_autofree char *path = cg_test_data_path (script);
  g_autofree char *dir = cg_test_make_tmpdir ("cg-fixtures");
  const char *argv[] = { path, dir, NULL };
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                    &status, &error)
      && g_spawn_check_wait_status (status, &error))
    return g_steal_pointer (&dir);
  g_printerr ("# %s failed (%s); the fixture tests fail\n", path,
              error ? error->message : "no reason given");
  cg_test_rm_rf (dir);
  return NULL;
}

guint16
cg_test_closed_port (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  close (fd);
  return ntohs (sa.sin_port);
}
