/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cli/ and the HTTPS client without the agent or a network: a small TLS
 * server in a thread on loopback stands for the agent (a self-signed
 * certificate made by certs/, canned replies chosen by path).  Checked:
 * the client's pin checks (the pin, the staged next pin, a wrong one sends
 * no request), the mapping of every reply and transport failure to
 * credgate-encrypt-value's exit codes, and cg_agent_trust_connect's
 * known_agents updates (first use, known, changed key, staged key
 * remembered, then served). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/cg-cert.h"
#include "cli/cg-agent-trust.h"
#include "cli/cg-encrypt-cmd.h"
#include "cli/cg-exit.h"
#include "common/cg-error.h"
#include "protocol/cg-client.h"
#include "tests/cg-test-util.h"

/* ---- the stand-in agent -------------------------------------------------- */

typedef struct
{
  int fd;
  guint16 port;
  gboolean plain; /* accept and close: no TLS at all */
  gnutls_certificate_credentials_t creds[2];
  char *pins[2];
  GMutex lock;
  int serving;        /* which certificate */
  char *next_pin;     /* published as nextTlsPin in /v1/info */
  int requests;       /* HTTP requests read after a handshake */
  char *last_request; /* its head */
  GThread *thread;
} Fake;

static char *tmpdir;

static gnutls_certificate_credentials_t
make_creds (char **pin)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CgCertPair) pair = cg_cert_pair_generate_self_signed (CG_KEY_TYPE_ECDSA_P256, 30,
                                                                   &error);
  g_assert_no_error (error);
  static int n;
  g_autofree char *crt = g_strdup_printf ("%s/c%d.crt", tmpdir, n);
  g_autofree char *key = g_strdup_printf ("%s/c%d.key", tmpdir, n++);
  g_assert_true (cg_cert_pair_save_files (pair, crt, key, &error));
  g_assert_no_error (error);
  gnutls_certificate_credentials_t c;
  g_assert_cmpint (gnutls_certificate_allocate_credentials (&c), ==, 0);
  g_assert_cmpint (gnutls_certificate_set_x509_key_file (c, crt, key, GNUTLS_X509_FMT_PEM), >=, 0);
  *pin = g_strdup (cg_cert_pair_get_spki_pin (pair));
  return c;
}

static void
reply (gnutls_session_t s, int status, const char *body)
{
  g_autofree char *msg = g_strdup_printf ("HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                          status, strlen (body), body);
  gnutls_record_send (s, msg, strlen (msg));
}

/* GET /v1/info: the members clients need; GET /status/NNN/CODE: an API
 * error NNN with that code ("raw": a body that is not JSON). */
static void
serve (Fake *f, gnutls_session_t s)
{
  char buf[4096];
  size_t len = 0;
  while (len < sizeof buf - 1 && !g_strstr_len (buf, len, "\r\n\r\n"))
    {
      ssize_t r = gnutls_record_recv (s, buf + len, sizeof buf - 1 - len);
      if (r <= 0)
        return;
      len += r;
      buf[len] = 0;
    }
  g_mutex_lock (&f->lock);
  f->requests++;
  g_free (f->last_request);
  f->last_request = g_strndup (buf, len);
  const char *pin = f->pins[f->serving];
  g_autofree char *next = g_strdup (f->next_pin);
  g_mutex_unlock (&f->lock);

  int status;
  char code[64];
  if (g_str_has_prefix (buf, "GET /v1/info "))
    {
      g_autofree char *info = g_strdup_printf (
          "{\"tlsPin\": \"%s\", \"sealingKey\": {\"kty\": \"EC\", \"kid\": \"k1\"}%s%s%s}", pin,
          next ? ", \"nextTlsPin\": \"" : "", next ? next : "", next ? "\"" : "");
      reply (s, 200, info);
    }
  else if (sscanf (buf, "GET /status/%d/%63[a-z_] ", &status, code) == 2)
    {
      if (g_str_equal (code, "raw"))
        reply (s, status, "<html>not json</html>");
      else
        {
          g_autofree char *body = g_strdup_printf (
              "{\"error\": {\"code\": \"%s\", \"message\": \"canned %d\"}}", code, status);
          reply (s, status, body);
        }
    }
  else
    reply (s, 404, "{\"error\": {\"code\": \"not_found\", \"message\": \"no route\"}}");
}

static gpointer
fake_thread (gpointer data)
{
  Fake *f = data;
  for (;;)
    {
      int c = accept (f->fd, NULL, NULL);
      if (c < 0)
        return NULL; /* shut down */
      if (f->plain)
        {
          close (c);
          continue;
        }
      gnutls_session_t s;
      gnutls_init (&s, GNUTLS_SERVER | GNUTLS_NO_TICKETS);
      gnutls_set_default_priority (s);
      g_mutex_lock (&f->lock);
      gnutls_credentials_set (s, GNUTLS_CRD_CERTIFICATE, f->creds[f->serving]);
      g_mutex_unlock (&f->lock);
      gnutls_transport_set_int (s, c);
      gnutls_handshake_set_timeout (s, 10000);
      int r;
      do
        r = gnutls_handshake (s);
      while (r < 0 && !gnutls_error_is_fatal (r));
      if (r == 0)
        {
          serve (f, s);
          gnutls_bye (s, GNUTLS_SHUT_WR);
        }
      gnutls_deinit (s);
      close (c);
    }
}

static Fake *
fake_new (gboolean plain)
{
  Fake *f = g_new0 (Fake, 1);
  g_mutex_init (&f->lock);
  f->plain = plain;
  f->creds[0] = make_creds (&f->pins[0]);
  f->creds[1] = make_creds (&f->pins[1]);
  f->fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (f->fd, >=, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t alen = sizeof a;
  g_assert_cmpint (bind (f->fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (listen (f->fd, 16), ==, 0);
  g_assert_cmpint (getsockname (f->fd, (struct sockaddr *) &a, &alen), ==, 0);
  f->port = ntohs (a.sin_port);
  f->thread = g_thread_new ("fake-agent", fake_thread, f);
  return f;
}

static void
fake_free (Fake *f)
{
  shutdown (f->fd, SHUT_RDWR);
  g_thread_join (f->thread);
  close (f->fd);
  for (int i = 0; i < 2; i++)
    {
      gnutls_certificate_free_credentials (f->creds[i]);
      g_free (f->pins[i]);
    }
  g_free (f->next_pin);
  g_free (f->last_request);
  g_mutex_clear (&f->lock);
  g_free (f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Fake, fake_free)

static int
fake_requests (Fake *f)
{
  g_mutex_lock (&f->lock);
  int n = f->requests;
  g_mutex_unlock (&f->lock);
  return n;
}

static void
fake_set (Fake *f, int serving, const char *next_pin)
{
  g_mutex_lock (&f->lock);
  f->serving = serving;
  g_free (f->next_pin);
  f->next_pin = g_strdup (next_pin);
  g_mutex_unlock (&f->lock);
}

static CgClient *
client_for (Fake *f)
{
  CgClient *c = cg_client_new ("127.0.0.1", f->port);
  cg_client_set_timeouts (c, 5, 20);
  return c;
}

#define OTHER_PIN "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

/* ---- exit codes ------------------------------------------------------------ */

static void
test_exit_mapping (void)
{
  static const struct
  {
    GQuark (*domain) (void);
    int code;
    CgExit exit;
  } cases[] = {
    { cg_client_error_quark, CG_CLIENT_ERROR_UNREACHABLE, CG_EXIT_UNREACHABLE },
    { cg_client_error_quark, CG_CLIENT_ERROR_TLS, CG_EXIT_UNREACHABLE },
    { cg_client_error_quark, CG_CLIENT_ERROR_PIN_MISMATCH, CG_EXIT_PIN },
    { cg_client_error_quark, CG_CLIENT_ERROR_BUSY, CG_EXIT_UNAUTHORIZED },
    { cg_client_error_quark, CG_CLIENT_ERROR_PROTOCOL, CG_EXIT_FAILED },
    { cg_error_quark, CG_ERROR_UNAUTHORIZED, CG_EXIT_UNAUTHORIZED },
    { cg_error_quark, CG_ERROR_FORBIDDEN, CG_EXIT_UNAUTHORIZED },
    { cg_error_quark, CG_ERROR_INVALID, CG_EXIT_BAD_INPUT },
    { cg_error_quark, CG_ERROR_TOO_LARGE, CG_EXIT_BAD_INPUT },
    { cg_error_quark, CG_ERROR_UNSUPPORTED, CG_EXIT_BAD_INPUT },
    { cg_error_quark, CG_ERROR_NOT_FOUND, CG_EXIT_BAD_INPUT },
    { cg_error_quark, CG_ERROR_EXISTS, CG_EXIT_REFUSED },
    { cg_error_quark, CG_ERROR_CONFLICT, CG_EXIT_REFUSED },
    { cg_error_quark, CG_ERROR_DECRYPT, CG_EXIT_REFUSED },
    { cg_error_quark, CG_ERROR_LOCKED, CG_EXIT_FAILED },
    { cg_error_quark, CG_ERROR_UNAVAILABLE, CG_EXIT_FAILED },
    { cg_error_quark, CG_ERROR_CLUSTER_UNAVAILABLE, CG_EXIT_FAILED },
    { cg_error_quark, CG_ERROR_IO, CG_EXIT_FAILED },
    { cg_error_quark, CG_ERROR_FAILED, CG_EXIT_FAILED },
    { g_file_error_quark, G_FILE_ERROR_NOENT, CG_EXIT_FAILED },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e = g_error_new_literal (cases[i].domain (), cases[i].code, "x");
      g_assert_cmpint (cg_exit_for_error (e), ==, cases[i].exit);
    }
}

/* An API error reply, through the client, to the exit status. */
static int
exit_for_path (Fake *f, const char *path, GError **out)
{
  g_autoptr (CgClient) c = client_for (f);
  cg_client_set_pins (c, f->pins[0], NULL);
  g_autoptr (GError) error = NULL;
  json_t *r = cg_client_request (c, "GET", path, NULL, &error);
  g_assert_null (r);
  g_assert_nonnull (error);
  int e = cg_exit_for_error (error);
  if (out)
    *out = g_steal_pointer (&error);
  return e;
}

static void
test_exit_replies (void)
{
  g_autoptr (Fake) f = fake_new (FALSE);
  g_autoptr (GError) e = NULL;
  g_assert_cmpint (exit_for_path (f, "/status/401/unauthorized", &e), ==, CG_EXIT_UNAUTHORIZED);
  g_assert_true (strstr (e->message, "rejected the access token"));
  g_clear_error (&e);
  g_assert_cmpint (exit_for_path (f, "/status/401/raw", NULL), ==, CG_EXIT_UNAUTHORIZED);
  g_assert_cmpint (exit_for_path (f, "/status/429/too_many_requests", &e), ==,
                   CG_EXIT_UNAUTHORIZED);
  g_assert_true (g_error_matches (e, CG_CLIENT_ERROR, CG_CLIENT_ERROR_BUSY));
  g_clear_error (&e);
  g_assert_cmpint (exit_for_path (f, "/status/400/invalid_request", NULL), ==, CG_EXIT_BAD_INPUT);
  g_assert_cmpint (exit_for_path (f, "/status/413/too_large", NULL), ==, CG_EXIT_BAD_INPUT);
  g_assert_cmpint (exit_for_path (f, "/status/404/not_found", NULL), ==, CG_EXIT_BAD_INPUT);
  g_assert_cmpint (exit_for_path (f, "/status/409/already_exists", NULL), ==, CG_EXIT_REFUSED);
  g_assert_cmpint (exit_for_path (f, "/status/422/cannot_decrypt", &e), ==, CG_EXIT_REFUSED);
  g_assert_true (strstr (e->message, "canned 422") && strstr (e->message, "(cannot_decrypt)"));
  g_clear_error (&e);
  g_assert_cmpint (exit_for_path (f, "/status/503/secret_store_locked", NULL), ==, CG_EXIT_FAILED);
  g_assert_cmpint (exit_for_path (f, "/status/500/raw", &e), ==, CG_EXIT_FAILED);
  g_assert_true (strstr (e->message, "HTTP status 500"));
  g_clear_error (&e);
  /* An unknown code from a newer agent: a plain failure, its code named. */
  g_assert_cmpint (exit_for_path (f, "/status/418/brand_new_code", &e), ==, CG_EXIT_FAILED);
  g_assert_true (strstr (e->message, "brand_new_code"));
  g_clear_error (&e);
  /* A 200 that is not a JSON object is a protocol error. */
  g_assert_cmpint (exit_for_path (f, "/status/200/raw", &e), ==, CG_EXIT_FAILED);
  g_assert_true (g_error_matches (e, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PROTOCOL));
}

static void
test_exit_transport (void)
{
  g_autoptr (CgClient) c = cg_client_new ("127.0.0.1", cg_test_closed_port ());
  cg_client_set_pins (c, OTHER_PIN, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (cg_client_request (c, "GET", "/v1/info", NULL, &error));
  g_assert_true (g_error_matches (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_UNREACHABLE));
  g_assert_cmpint (cg_exit_for_error (error), ==, CG_EXIT_UNREACHABLE);
  g_clear_error (&error);

  /* Something that is not TLS: it accepts and hangs up. */
  g_autoptr (Fake) plain = fake_new (TRUE);
  g_autoptr (CgClient) c2 = client_for (plain);
  cg_client_set_pins (c2, OTHER_PIN, NULL);
  g_assert_null (cg_client_request (c2, "GET", "/v1/info", NULL, &error));
  g_assert_true (error->domain == CG_CLIENT_ERROR
                 && (error->code == CG_CLIENT_ERROR_TLS
                     || error->code == CG_CLIENT_ERROR_UNREACHABLE));
  g_assert_cmpint (cg_exit_for_error (error), ==, CG_EXIT_UNREACHABLE);
}

/* ---- pins ------------------------------------------------------------------ */

static void
test_pins (void)
{
  g_autoptr (Fake) f = fake_new (FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (CgClient) c = client_for (f);

  /* No pin: refused before anything is sent. */
  g_assert_null (cg_client_request (c, "GET", "/v1/info", NULL, &error));
  g_assert_true (g_error_matches (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH));
  g_clear_error (&error);
  g_assert_cmpint (fake_requests (f), ==, 0);

  /* The right pin: the request goes, the peer pin is the served one, the
   * token travels in the header. */
  cg_client_set_pins (c, f->pins[0], NULL);
  cg_client_set_token (c, "cgt_unit-test-token");
  json_t *info = cg_client_get_info (c, &error);
  g_assert_no_error (error);
  json_decref (info);
  g_assert_cmpstr (cg_client_get_peer_pin (c), ==, f->pins[0]);
  g_assert_cmpint (fake_requests (f), ==, 1);
  g_assert_true (strstr (f->last_request, "\r\nAuthorization: Bearer cgt_unit-test-token\r\n"));

  /* A wrong pin: exit 4, both keys named, and no request (nor the token)
   * reached the server. */
  g_autoptr (CgClient) w = client_for (f);
  cg_client_set_pins (w, OTHER_PIN, NULL);
  cg_client_set_token (w, "cgt_must-not-be-sent");
  g_assert_null (cg_client_request (w, "GET", "/v1/info", NULL, &error));
  g_assert_true (g_error_matches (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH));
  g_assert_cmpint (cg_exit_for_error (error), ==, CG_EXIT_PIN);
  g_assert_true (strstr (error->message, f->pins[0]) && strstr (error->message, OTHER_PIN));
  g_clear_error (&error);
  g_assert_cmpint (fake_requests (f), ==, 1);

  /* The staged next pin is accepted too, in either place. */
  g_autoptr (CgClient) n = client_for (f);
  cg_client_set_pins (n, OTHER_PIN, f->pins[0]);
  info = cg_client_get_info (n, &error);
  g_assert_no_error (error);
  json_decref (info);

  /* An invalid pin is never used, even as the next one. */
  g_autoptr (CgClient) bad = client_for (f);
  cg_client_set_pins (bad, f->pins[0], "sha256:short");
  g_assert_null (cg_client_request (bad, "GET", "/v1/info", NULL, &error));
  g_assert_true (g_error_matches (error, CG_CLIENT_ERROR, CG_CLIENT_ERROR_PIN_MISMATCH));
  g_clear_error (&error);

  /* fetch_pin reads the key without trusting it, and sends nothing. */
  int before = fake_requests (f);
  g_autofree char *seen = cg_client_fetch_pin (w, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (seen, ==, f->pins[0]);
  g_assert_cmpint (fake_requests (f), ==, before);
}

/* ---- known_agents ---------------------------------------------------------- */

static char *
known_text (void)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "credgate", "known_agents",
                                            NULL);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  struct stat st;
  g_assert_cmpint (stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  return text;
}

static CgClient *
trust (Fake *f, const char *pin, gboolean tofu, GError **error)
{
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", f->port);
  json_t *info = NULL;
  CgClient *c = cg_agent_trust_connect (address, pin, tofu, &info, error);
  g_assert_true ((c == NULL) == (info == NULL));
  json_decref (info);
  return c;
}

static void
test_known_agents (void)
{
  g_autoptr (Fake) f = fake_new (FALSE);
  g_autoptr (GError) error = NULL;
  g_autofree char *line0 = g_strdup_printf ("127.0.0.1:%u %s\n", f->port, f->pins[0]);
  CgClient *c;

  /* Unknown, no first use: exit 4 with the key seen; nothing recorded. */
  g_autofree char *before = known_text ();
  c = trust (f, NULL, FALSE, &error);
  g_assert_null (c);
  g_assert_cmpint (cg_exit_for_error (error), ==, CG_EXIT_PIN);
  g_assert_true (strstr (error->message, "not known") && strstr (error->message, f->pins[0]));
  g_clear_error (&error);
  g_autofree char *after = known_text ();
  g_assert_cmpstr (after, ==, before);

  /* An explicit --pin: used, and the file is left alone. */
  c = trust (f, f->pins[0], FALSE, &error);
  g_assert_no_error (error);
  cg_client_free (c);
  g_free (after);
  after = known_text ();
  g_assert_cmpstr (after, ==, before);

  /* First use: recorded (0600), then known without asking. */
  c = trust (f, NULL, TRUE, &error);
  g_assert_no_error (error);
  cg_client_free (c);
  g_free (after);
  after = known_text ();
  g_assert_true (strstr (after, line0));
  c = trust (f, NULL, FALSE, &error);
  g_assert_no_error (error);
  cg_client_free (c);

  /* The agent stages its second key: remembered as next:, still on the first. */
  fake_set (f, 0, f->pins[1]);
  c = trust (f, NULL, FALSE, &error);
  g_assert_no_error (error);
  cg_client_free (c);
  g_autofree char *staged = g_strdup_printf ("127.0.0.1:%u %s next:%s\n", f->port, f->pins[0],
                                             f->pins[1]);
  g_free (after);
  after = known_text ();
  g_assert_true (strstr (after, staged));

  /* It serves the staged key: accepted silently, and it becomes the pin. */
  fake_set (f, 1, NULL);
  c = trust (f, NULL, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cg_client_get_peer_pin (c), ==, f->pins[1]);
  cg_client_free (c);
  g_autofree char *line1 = g_strdup_printf ("127.0.0.1:%u %s\n", f->port, f->pins[1]);
  g_free (after);
  after = known_text ();
  g_assert_true (strstr (after, line1));
  g_assert_null (strstr (after, f->pins[0]));

  /* Back to the first key, which is no longer known: refused ssh-style,
   * both keys named, the file unchanged. */
  fake_set (f, 0, NULL);
  c = trust (f, NULL, TRUE, &error);
  g_assert_null (c);
  g_assert_cmpint (cg_exit_for_error (error), ==, CG_EXIT_PIN);
  g_assert_true (strstr (error->message, f->pins[0]) && strstr (error->message, f->pins[1]));
  g_clear_error (&error);
  g_autofree char *last = known_text ();
  g_assert_cmpstr (last, ==, after);
}

/* Which failures let an --agent list go on to the next agent: unreachable,
 * TLS, any 503; never a decision of the agent (401, 403, 409, 404, 400,
 * 413, 422, 429) nor a pin mismatch. */
static void
test_fails_over (void)
{
  static const struct
  {
    gboolean client;
    gint code;
    gboolean next;
  } cases[] = {
    { TRUE, CG_CLIENT_ERROR_UNREACHABLE, TRUE },
    { TRUE, CG_CLIENT_ERROR_TLS, TRUE },
    { TRUE, CG_CLIENT_ERROR_PIN_MISMATCH, FALSE },
    { TRUE, CG_CLIENT_ERROR_PROTOCOL, FALSE },
    { TRUE, CG_CLIENT_ERROR_BUSY, FALSE },
    { FALSE, CG_ERROR_LOCKED, TRUE },
    { FALSE, CG_ERROR_UNAVAILABLE, TRUE },
    { FALSE, CG_ERROR_KEYS_MISSING, TRUE },
    { FALSE, CG_ERROR_AUDIT_UNAVAILABLE, TRUE },
    { FALSE, CG_ERROR_UNAUTHORIZED, FALSE },
    { FALSE, CG_ERROR_FORBIDDEN, FALSE },
    { FALSE, CG_ERROR_CONFLICT, FALSE },
    { FALSE, CG_ERROR_EXISTS, FALSE },
    { FALSE, CG_ERROR_NOT_FOUND, FALSE },
    { FALSE, CG_ERROR_INVALID, FALSE },
    { FALSE, CG_ERROR_TOO_LARGE, FALSE },
    { FALSE, CG_ERROR_DECRYPT, FALSE },
    { FALSE, CG_ERROR_FAILED, FALSE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) e = g_error_new_literal (cases[i].client ? CG_CLIENT_ERROR : CG_ERROR,
                                                  cases[i].code, "x");
      g_assert_cmpint (cg_client_error_fails_over (e), ==, cases[i].next);
    }
  /* Every 503 the agent can answer, whatever its code (the cluster's
   * cluster_unavailable among them), goes on to the next agent. */
  for (gint code = 0; code <= CG_ERROR_AGENT_UNREACHABLE + 8; code++)
    {
      g_autoptr (GError) e = g_error_new_literal (CG_ERROR, code, "x");
      if (cg_error_http_status (code) == 503)
        g_assert_true (cg_client_error_fails_over (e));
    }
  g_autoptr (GError) other = g_error_new_literal (G_FILE_ERROR, G_FILE_ERROR_NOENT, "x");
  g_assert_false (cg_client_error_fails_over (other));
}

/* --agent gw1,gw2,gw3: each checked, in order, spaces around a comma
 * allowed; an empty or malformed member is an error. */
static void
test_agent_list (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) list = cg_encrypt_agent_list ("gw1, GW2:9000,[::1]:8050", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (list), ==, 3);
  g_assert_cmpstr (list[0], ==, "gw1");
  g_assert_cmpstr (list[1], ==, "GW2:9000");
  g_assert_cmpstr (list[2], ==, "[::1]:8050");
  static const char *const bad[] = { "", "gw1,,gw2", "gw1,", "gw1,a:b:c", "gw1,gw2:0" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (cg_encrypt_agent_list (bad[i], &e));
      g_assert_error (e, CG_ERROR, CG_ERROR_INVALID);
    }
}

int
main (int argc, char **argv)
{
  tmpdir = g_dir_make_tmp ("cg-cli-units-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  /* Before anything asks GLib for it: the known_agents file lives here. */
  g_autofree char *config = g_build_filename (tmpdir, "config", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_test_init (&argc, &argv, NULL);
  gnutls_global_init ();

  g_test_add_func ("/cli/exit/mapping", test_exit_mapping);
  g_test_add_func ("/cli/agent-list/fails-over", test_fails_over);
  g_test_add_func ("/cli/agent-list/parse", test_agent_list);
  g_test_add_func ("/cli/exit/replies", test_exit_replies);
  g_test_add_func ("/cli/exit/transport", test_exit_transport);
  g_test_add_func ("/client/pins", test_pins);
  g_test_add_func ("/cli/known-agents/updates", test_known_agents);
  int r = g_test_run ();

  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmpdir);
  if (system (cmd) != 0)
    r = 1;
  g_free (tmpdir);
  return r;
}
