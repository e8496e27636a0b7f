/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol/cg-curl-dl.c, the libcurl that credgate-encrypt-value opens on
 * first use: every kind of setopt argument (long, pointer, function,
 * curl_off_t) reaches the real libcurl intact, and a real transfer fails
 * the way libcurl says.  Built a second time with a library name that does
 * not exist (CG_CURL_DL_MISSING): every call fails cleanly, and
 * curl_easy_strerror says what could not be loaded. */
#include "config.h"

#include <curl/curl.h>
#include <glib.h>
#include <string.h>

static size_t
discard (char *ptr, size_t size, size_t nmemb, void *data)
{
  return size * nmemb;
}

#ifndef CG_CURL_DL_MISSING
static void
test_loaded (void)
{
  g_assert_cmpint (curl_global_init (CURL_GLOBAL_DEFAULT), ==, CURLE_OK);
  CURL *curl = curl_easy_init ();
  g_assert_nonnull (curl);
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *headers = curl_slist_append (NULL, "X-Test: 1");
  g_assert_nonnull (headers);
  /* Port 1 on loopback: nothing listens, the refusal is immediate. */
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_URL, "http://127.0.0.1:1/"), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, 5L), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), ==,
                   CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, discard), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers), ==, CURLE_OK);
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf), ==, CURLE_OK);

  g_assert_cmpint (curl_easy_perform (curl), ==, CURLE_COULDNT_CONNECT);
  g_assert_cmpstr (errbuf, !=, "");
  long code = -1;
  g_assert_cmpint (curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &code), ==, CURLE_OK);
  g_assert_cmpint (code, ==, 0);
  g_assert_cmpstr (curl_easy_strerror (CURLE_OK), ==, "No error");
  curl_easy_reset (curl);
  /* An option libcurl refuses for its value is refused through the shim. */
  g_assert_cmpint (curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "no-such-protocol"), !=,
                   CURLE_OK);
  curl_slist_free_all (headers);
  curl_easy_cleanup (curl);
}
#else
static void
test_missing (void)
{
  g_assert_cmpint (curl_global_init (CURL_GLOBAL_DEFAULT), ==, CURLE_FAILED_INIT);
  g_assert_null (curl_easy_init ());
  g_assert_null (curl_slist_append (NULL, "X-Test: 1"));
  g_assert_cmpint (curl_easy_setopt (NULL, CURLOPT_TIMEOUT, 5L), ==, CURLE_FAILED_INIT);
  g_assert_cmpint (curl_easy_perform (NULL), ==, CURLE_FAILED_INIT);
  long code = 0;
  g_assert_cmpint (curl_easy_getinfo (NULL, CURLINFO_RESPONSE_CODE, &code), ==, CURLE_FAILED_INIT);
  curl_easy_cleanup (NULL);
  curl_slist_free_all (NULL);
  const char *why = curl_easy_strerror (CURLE_FAILED_INIT);
  if (!strstr (why, "libcurl could not be loaded") || !strstr (why, CG_CURL_DL_NAME))
    g_error ("curl_easy_strerror said: %s", why);
}
#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#ifndef CG_CURL_DL_MISSING
  g_test_add_func ("/curl-dl/loaded", test_loaded);
#else
  g_test_add_func ("/curl-dl/missing", test_missing);
#endif
  return g_test_run ();
}
