/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The certificate loader: a chain and a key, from files as the agent reads
 * STATE_DIR/tls (cg_cert_pair_load_files, through memfds) and from memory
 * as credgatectl cert install sends them (cg_cert_pair_load_data), plus the
 * PKCS#12 path.  Input: the chain, the line "=====KEY=====\n", the key (a
 * seed without the line is tried as a chain with itself as the key). */
#include "config.h"

#include "tests/fuzz/cg-fuzz.h"

#include "certs/cg-cert.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char SEPARATOR[] = "=====KEY=====\n";

static char *
memfd_path (const uint8_t *data, size_t size, int *fd)
{
  *fd = memfd_create ("cg-fuzz", MFD_CLOEXEC);
  g_assert (*fd >= 0);
  g_assert (size == 0 || write (*fd, data, size) == (ssize_t) size);
  return g_strdup_printf ("/proc/self/fd/%d", *fd);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *chain = data, *key = data;
  size_t chain_len = size, key_len = size;
  const uint8_t *sep = memmem (data, size, SEPARATOR, strlen (SEPARATOR));
  if (sep)
    {
      chain_len = sep - data;
      key = sep + strlen (SEPARATOR);
      key_len = size - (key - data);
    }

  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  CgCertPair *pair = cg_cert_pair_load_data (chain, chain_len, key, key_len, NULL, warnings, &error);
  if (pair)
    {
      g_assert (cg_cert_pair_get_spki_pin (pair) != NULL);
      const char *names[] = { "localhost", NULL };
      g_autoptr (GError) verror = NULL;
      cg_cert_pair_validate (pair, names, CG_CERT_VALIDATE_DEFAULT, NULL, &verror);
      cg_cert_pair_unref (pair);
    }
  else
    g_assert (error != NULL);
  g_clear_error (&error);

  int cfd, kfd;
  g_autofree char *cpath = memfd_path (chain, chain_len, &cfd);
  g_autofree char *kpath = memfd_path (key, key_len, &kfd);
  pair = cg_cert_pair_load_files (cpath, kpath, &error);
  if (pair)
    cg_cert_pair_unref (pair);
  else
    g_assert (error != NULL);
  g_clear_error (&error);
  close (cfd);
  close (kfd);

  pair = cg_cert_pair_load_pkcs12 (data, size, NULL, warnings, &error);
  if (pair)
    cg_cert_pair_unref (pair);
  return 0;
}
