/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the C tests share: scratch directories, their removal, and the
 * fixtures made by the scripts in tests/data/.  Failures to make them are
 * assertion failures: a test never runs on without its ground. */

#include <glib.h>

G_BEGIN_DECLS

/* A new empty directory PREFIX-XXXXXX under $CG_TEST_WORK (the work
 * directory tests/cg-test-env removes after the test) or, outside it, the
 * system's temporary directory (transfer full). */
char *cg_test_make_tmpdir (const char *prefix);

/* A path DIR/state inside a new cg_test_make_tmpdir (@prefix): the state
 * directory of an agent or vault that does not exist yet, so that the code
 * under test makes it (transfer full). */
char *cg_test_fresh_state_dir (const char *prefix);

/* Removes @path and everything below it, not following symbolic links;
 * a missing @path is not an error. */
void cg_test_rm_rf (const char *path);

/* $top_srcdir/tests/data/@name (the source tree, also under distcheck)
 * (transfer full). */
char *cg_test_data_path (const char *name);

/* Runs tests/data/@script with a new scratch directory as its one
 * argument and returns that directory, or NULL (the directory removed and
 * the reason printed as a TAP comment) when the script fails; the tests
 * that need the fixtures then fail, naming the script (transfer full). */
char *cg_test_make_fixtures (const char *script);

/* A TCP port on 127.0.0.1 that nothing listens on: bound, then closed
 * (for "the agent cannot be reached"). */
guint16 cg_test_closed_port (void);

G_END_DECLS
