/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libcurl, loaded the first time a program calls it.
 *
 * credgate-encrypt-value links this (libcgcurldl.a, in CG_CLIENT_DL_LIBS:
 * protocol/Makefile-client.am explains the layering) instead of libcurl.
 * Offline (--key), for --help and for every refusal before the network, it
 * never talks to an agent, yet linking libcurl-gnutls would map and relocate some twenty
 * libraries it pulls in (OpenSSL, Kerberos, LDAP, SSH, ...) on every run:
 * most of the command's start-up time.  Here the same libcurl the build
 * was configured with is opened by its soname (RTLD_NOW, so a broken
 * installation fails at once, not halfway through a request) on the first
 * curl call, and each function below forwards to it.
 *
 * If it cannot be loaded, nothing crashes: the calls fail the way libcurl
 * fails them (CURLE_FAILED_INIT, a NULL handle), and curl_easy_strerror
 * says why, so cg-client reports "request to the agent ... failed:
 * libcurl could not be loaded (...)".
 *
 * It sits below libcgclient.a, in libcurl's place, and nothing calls it by
 * any other name: the client is the same code with either.  Only what
 * libcgclient.a and libcgcli.a call is here; a new curl call
 * there shows up as an undefined symbol when credgate-encrypt-value links,
 * not as a runtime surprise. */
#include "config.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <glib.h>
#include <stdarg.h>

/* The library to open: the configured soname (tests/test-curl-dl.c
 * builds this file once more with a name that does not exist). */
#ifndef CG_CURL_DL_NAME
#define CG_CURL_DL_NAME CG_CURL_SONAME
#endif

/* typecheck-gcc.h wraps these two in macros; here they are defined. */
#undef curl_easy_setopt
#undef curl_easy_getinfo

static struct
{
  gboolean loaded;
  char error[320]; /* why it could not be loaded */
  CURLcode (*global_init) (long flags);
  CURL *(*easy_init) (void);
  void (*easy_cleanup) (CURL *curl);
  void (*easy_reset) (CURL *curl);
  CURLcode (*easy_setopt) (CURL *curl, CURLoption option, ...);
  CURLcode (*easy_getinfo) (CURL *curl, CURLINFO info, ...);
  CURLcode (*easy_perform) (CURL *curl);
  const char *(*easy_strerror) (CURLcode code);
  struct curl_slist *(*slist_append) (struct curl_slist *list, const char *string);
  void (*slist_free_all) (struct curl_slist *list);
} lib;

static gboolean
load_symbols (void *handle, char *why, gsize why_size)
{
#define SYM(field, name)                                                                           \
  if (!(*(void **)&lib.field = dlsym (handle, name)))                                              \
    {                                                                                              \
      g_snprintf (why, why_size, "%s has no %s", CG_CURL_DL_NAME, name);                           \
      return FALSE;                                                                                \
    }
  SYM (global_init, "curl_global_init");
  SYM (easy_init, "curl_easy_init");
  SYM (easy_cleanup, "curl_easy_cleanup");
  SYM (easy_reset, "curl_easy_reset");
  SYM (easy_setopt, "curl_easy_setopt");
  SYM (easy_getinfo, "curl_easy_getinfo");
  SYM (easy_perform, "curl_easy_perform");
  SYM (easy_strerror, "curl_easy_strerror");
  SYM (slist_append, "curl_slist_append");
  SYM (slist_free_all, "curl_slist_free_all");
#undef SYM
  return TRUE;
}

/* TRUE once libcurl is there; thread-safe, tried once. */
static gboolean
ensure_loaded (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      void *handle = dlopen (CG_CURL_DL_NAME, RTLD_NOW | RTLD_LOCAL);
      char why[256] = "";
      if (!handle)
        g_snprintf (why, sizeof why, "%s", dlerror ());
      else if (load_symbols (handle, why, sizeof why))
        lib.loaded = TRUE;
      else
        dlclose (handle);
      /* Written once, before any caller can read it. */
      if (!lib.loaded)
        g_snprintf (lib.error, sizeof lib.error, "libcurl could not be loaded (%s)", why);
      g_once_init_leave (&once, 1);
    }
  return lib.loaded;
}

CURLcode
curl_global_init (long flags)
{
  return ensure_loaded () ? lib.global_init (flags) : CURLE_FAILED_INIT;
}

CURL *
curl_easy_init (void)
{
  return ensure_loaded () ? lib.easy_init () : NULL;
}

void
curl_easy_cleanup (CURL *curl)
{
  if (curl && ensure_loaded ())
    lib.easy_cleanup (curl);
}

void
curl_easy_reset (CURL *curl)
{
  if (curl && ensure_loaded ())
    lib.easy_reset (curl);
}

/* The third argument's type follows from the option's number, as in
 * curl.h: a long, an object or function pointer, a curl_off_t, or a blob
 * pointer. */
CURLcode
curl_easy_setopt (CURL *curl, CURLoption option, ...)
{
  if (!ensure_loaded ())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start (ap, option);
  CURLcode r;
  if (option < CURLOPTTYPE_OBJECTPOINT)
    r = lib.easy_setopt (curl, option, va_arg (ap, long));
  else if (option >= CURLOPTTYPE_OFF_T && option < CURLOPTTYPE_BLOB)
    r = lib.easy_setopt (curl, option, va_arg (ap, curl_off_t));
  else
    r = lib.easy_setopt (curl, option, va_arg (ap, void *));
  va_end (ap);
  return r;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
CURLcode
curl_easy_getinfo (CURL *curl, CURLINFO info, ...)
{
  if (!ensure_loaded ())
    return CURLE_FAILED_INIT;
  va_list ap;
  va_start (ap, info);
  CURLcode r = lib.easy_getinfo (curl, info, va_arg (ap, void *));
  va_end (ap);
  return r;
}

CURLcode
curl_easy_perform (CURL *curl)
{
  return ensure_loaded () ? lib.easy_perform (curl) : CURLE_FAILED_INIT;
}

const char *
curl_easy_strerror (CURLcode code)
{
  return ensure_loaded () ? lib.easy_strerror (code) : lib.error;
}

struct curl_slist *
curl_slist_append (struct curl_slist *list, const char *string)
{
  return ensure_loaded () ? lib.slist_append (list, string) : NULL;
}

void
curl_slist_free_all (struct curl_slist *list)
{
  if (list && ensure_loaded ())
    lib.slist_free_all (list);
}
