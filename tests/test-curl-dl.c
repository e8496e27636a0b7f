/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* protocol/cg-curl-dl.c, the libcurl that credgate-encrypt-value opens on
 * first use: every kind of setopt argument (long, pointer, function,
 * curl_off_t) reaches the real libcurl intact, and a real transfer fails
 * the way libcurl says.  Built a second time with a library name that does
 * not exist (CG_CURL_DL_MISSING): every call fails cleanly, and
 * curl_easy_strerror says what could not be loaded.
 *
 * Both builds also run protocol/cg-client.c over it against a listening
 * socket that stands for the agent: with libcurl there, a pinned request
 * reaches it; when the pin cannot be set (here: libcurl could not be
 * loaded, so every setopt fails), the client refuses before anything is
 * sent and nothing connects. */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cg-error.h"
#include "protocol/cg-client.h"

#define PIN_A "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

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

/* A TCP socket on loopback that accepts nothing by itself: a client's
 * connection waits in its backlog, where accepted_one () finds it. */
static int
listen_loopback (guint *port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (fd, 8), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  g_assert_cmpint (fcntl (fd, F_SETFL, O_NONBLOCK), ==, 0);
  *port = ntohs (sa.sin_port);
  return fd;
}

static gboolean
accepted_one (int fd)
{
  int c = accept (fd, NULL, NULL);
  if (c < 0)
    {
      g_assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
      return FALSE;
    }
  close (c);
  return TRUE;
}

/* A request whose pin is malformed is refused before the network, with or
 * without libcurl. */
static void
test_client_bad_pin (void)
{
  guint port;
  int fd = listen_loopback (&port);
  g_autoptr (CgClient) client = cg_client_new ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  cg_client_set_pins (client, "sha256:not-a-pin", NULL);
  cg_client_set_token (client, "cgt_canary");
  g_assert_null (cg_client_request (client, "GET", "/v1/credentials", NULL, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH);
  g_assert_false (accepted_one (fd));
  close (fd);
}

#ifndef CG_CURL_DL_MISSING
/* The control: with libcurl loaded the pin is set and the request goes out
 * (the listener speaks no TLS, so it then times out). */
static void
test_client_sends (void)
{
  guint port;
  int fd = listen_loopback (&port);
  g_autoptr (CgClient) client = cg_client_new ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  cg_client_set_pins (client, PIN_A, NULL);
  cg_client_set_timeouts (client, 2, 2);
  g_assert_null (cg_client_request (client, "GET", "/v1/info", NULL, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE);
  g_assert_true (accepted_one (fd));
  close (fd);
}
#else
/* Pinning fails (the option is refused: libcurl is not there), so the
 * client must not send: the error says so and the "agent" saw nothing. */
static void
test_client_cannot_pin (void)
{
  guint port;
  int fd = listen_loopback (&port);
  g_autoptr (CgClient) client = cg_client_new ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  cg_client_set_pins (client, PIN_A, NULL);
  cg_client_set_token (client, "cgt_canary");
  json_t *body = json_pack ("{s:s}", "value", "canary");
  g_assert_null (cg_client_request (client, "POST", "/v1/encrypt", body, &error));
  json_decref (body);
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_TLS);
  if (!strstr (error->message, "cannot pin") || !strstr (error->message, "nothing was sent"))
    g_error ("the error says: %s", error->message);
  g_assert_false (accepted_one (fd));
  close (fd);
}

/* The first-contact probe says why it cannot reach anything, and does not
 * try. */
static void
test_client_probe_missing (void)
{
  guint port;
  int fd = listen_loopback (&port);
  g_autoptr (CgClient) client = cg_client_new ("127.0.0.1", port);
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_client_probe (client, &error));
  g_assert_error (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE);
  if (!strstr (error->message, "libcurl could not be loaded"))
    g_error ("the error says: %s", error->message);
  g_assert_false (accepted_one (fd));
  close (fd);
}
#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#ifndef CG_CURL_DL_MISSING
  g_test_add_func ("/curl-dl/loaded", test_loaded);
  g_test_add_func ("/curl-dl/client-sends", test_client_sends);
#else
  g_test_add_func ("/curl-dl/missing", test_missing);
  g_test_add_func ("/curl-dl/client-cannot-pin", test_client_cannot_pin);
  g_test_add_func ("/curl-dl/client-probe", test_client_probe_missing);
#endif
  g_test_add_func ("/curl-dl/client-bad-pin", test_client_bad_pin);
  return g_test_run ();
}
