/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A main() for a fuzz target without libFuzzer: feeds it every file in the
 * directories named on the command line (or in CG_FUZZ_DIRS, colon
 * separated), so that the seeds and each crash found once stay tests. */
#include "config.h"

#include "tests/fuzz/cg-fuzz.h"

#include <glib.h>
#include <stdio.h>

static int
replay_dir (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (path, 0, &error);
  if (!dir)
    {
      fprintf (stderr, "cg-fuzz-replay: %s\n", error->message);
      return -1;
    }
  int n = 0;
  const char *name;
  while ((name = g_dir_read_name (dir)))
    {
      g_autofree char *file = g_build_filename (path, name, NULL);
      g_autofree char *data = NULL;
      gsize len;
      if (g_file_test (file, G_FILE_TEST_IS_DIR) || name[0] == '.')
        continue;
      if (!g_file_get_contents (file, &data, &len, &error))
        {
          fprintf (stderr, "cg-fuzz-replay: %s\n", error->message);
          return -1;
        }
      LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
      n++;
    }
  return n;
}

int
main (int argc, char **argv)
{
  g_auto (GStrv) dirs = NULL;
  if (argc > 1)
    dirs = g_strdupv (argv + 1);
  else
    dirs = g_strsplit (g_getenv ("CG_FUZZ_DIRS") ? g_getenv ("CG_FUZZ_DIRS") : CG_FUZZ_DIRS,
                       ":", -1);
  int total = 0;
  for (char **d = dirs; *d; d++)
    {
      if (!**d || !g_file_test (*d, G_FILE_TEST_IS_DIR))
        continue;
      int n = replay_dir (*d);
      if (n < 0)
        return 1;
      printf ("ok - %d inputs from %s\n", n, *d);
      total += n;
    }
  if (total == 0)
    {
      fprintf (stderr, "cg-fuzz-replay: no inputs\n");
      return 1;
    }
  return 0;
}
