/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "protocol/cg-linked-service.h"

#include <jansson.h>
#include <string.h>

#include "common/cg-error.h"
#include "common/cg-json.h"
#include "protocol/cg-names.h"

struct CgLinkedService
{
  json_t *root;
  json_t *type_props; /* borrowed from root */
  char *name;
  GPtrArray *keys;   /* char *, NULL-terminated once parsed */
  GPtrArray *values; /* char *, wiped on free */
};

static const char *const secret_members[] = {
  "password", "pwd", "accountKey", "sasToken", "servicePrincipalKey", NULL,
};

static const char *const connection_string_secrets[] = {
  "password", "pwd", "accountkey", "sharedaccesssignature", "sharedaccesskey", NULL,
};

static gboolean
in_list_ci (const char *const *list, const char *s, gsize len)
{
  for (; *list; list++)
    if (strlen (*list) == len && g_ascii_strncasecmp (*list, s, len) == 0)
      return TRUE;
  return FALSE;
}

static void
trim_span (const char **start, const char **end)
{
  while (*start < *end && g_ascii_isspace (**start))
    (*start)++;
  while (*end > *start && g_ascii_isspace ((*end)[-1]))
    (*end)--;
}

/* Skip a value that may be quoted: 'x''y', "x""y" or {x}}y}.  Returns the
 * position of the ';' (or NUL) that ends the pair. */
static const char *
skip_value (const char *q)
{
  while (*q == ' ' || *q == '\t')
    q++;
  if (*q == '\'' || *q == '"' || *q == '{')
    {
      char close = *q == '{' ? '}' : *q;
      for (q++; *q; q++)
        if (*q == close)
          {
            if (q[1] != close)
              {
                q++;
                break;
              }
            q++; /* a doubled quote is a literal quote */
          }
    }
  while (*q && *q != ';')
    q++;
  return q;
}

static char *
unquote (const char *start, const char *end)
{
  if (end - start >= 2
      && ((*start == '\'' && end[-1] == '\'') || (*start == '"' && end[-1] == '"')
          || (*start == '{' && end[-1] == '}')))
    {
      char close = *start == '{' ? '}' : *start;
      GString *s = g_string_sized_new (end - start);
      for (const char *p = start + 1; p < end - 1; p++)
        {
          g_string_append_c (s, *p);
          if (*p == close && p + 1 < end - 1 && p[1] == close)
            p++;
        }
      return g_string_free (s, FALSE);
    }
  return g_strndup (start, end - start);
}

char *
cg_connection_string_strip (const char *text, GPtrArray *secret_keys, GPtrArray *secret_values)
{
  GString *out = g_string_sized_new (strlen (text));
  gboolean first = TRUE;
  const char *p = text;

  while (*p)
    {
      const char *seg = p, *q = p;
      while (*q && *q != '=' && *q != ';')
        q++;
      const char *eq = *q == '=' ? q : NULL;
      const char *end = eq ? skip_value (eq + 1) : q;

      gboolean secret = FALSE;
      if (eq)
        {
          const char *ks = seg, *ke = eq;
          trim_span (&ks, &ke);
          if (in_list_ci (connection_string_secrets, ks, ke - ks))
            {
              const char *vs = eq + 1, *ve = end;
              trim_span (&vs, &ve);
              g_ptr_array_add (secret_keys, g_strndup (ks, ke - ks));
              g_ptr_array_add (secret_values, unquote (vs, ve));
              secret = TRUE;
            }
        }
      if (!secret)
        {
          if (!first)
            g_string_append_c (out, ';');
          g_string_append_len (out, seg, end - seg);
          first = FALSE;
        }
      p = *end ? end + 1 : end;
    }

  /* Keep a final ';' if the string had one. */
  const char *last = text + strlen (text);
  while (last > text && g_ascii_isspace (last[-1]))
    last--;
  if (last > text && last[-1] == ';' && out->len > 0 && out->str[out->len - 1] != ';')
    g_string_append_c (out, ';');
  return g_string_free (out, FALSE);
}

static gboolean
is_secure_string (json_t *v)
{
  return json_is_object (v)
         && g_strcmp0 (json_string_value (json_object_get (v, "type")), "SecureString") == 0
         && json_is_string (json_object_get (v, "value"));
}

static void
add_secret (CgLinkedService *ls, const char *key, const char *value)
{
  /* Keys must be unique in the plaintext object: "Password=a;Password=b"
   * is odd but must not lose a value. */
  g_autofree char *unique = g_strdup (key);
  for (guint n = 2;; n++)
    {
      gboolean taken = FALSE;
      for (guint i = 0; i < ls->keys->len && !taken; i++)
        taken = g_str_equal (ls->keys->pdata[i], unique);
      if (!taken)
        break;
      g_free (unique);
      unique = g_strdup_printf ("%s#%u", key, n);
    }
  g_ptr_array_add (ls->keys, g_steal_pointer (&unique));
  g_ptr_array_add (ls->values, g_strdup (value));
}

/* Returns the connection string without its secrets, or NULL if it held none. */
static char *
strip_connection_string (CgLinkedService *ls, const char *path, const char *text)
{
  g_autoptr (GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) values = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_wipe_str);
  char *rest = cg_connection_string_strip (text, keys, values);
  if (keys->len == 0)
    {
      g_free (rest);
      return NULL;
    }
  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *key = g_strconcat (path, ".", (char *) keys->pdata[i], NULL);
      add_secret (ls, key, values->pdata[i]);
    }
  return rest;
}

static gboolean walk_value (CgLinkedService *ls, json_t *value, const char *path,
                            GError **error);

/* {"type": "SecureString"} whose "value" is not a string: marked secret,
 * yet nothing here could take it out. */
static gboolean
is_odd_secure_string (json_t *v)
{
  return json_is_object (v)
         && g_strcmp0 (json_string_value (json_object_get (v, "type")), "SecureString") == 0
         && !json_is_string (json_object_get (v, "value"));
}

static gboolean
refuse_left_behind (const char *path, const char *why, GError **error)
{
  g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
               "properties.typeProperties.%s: %s; nothing was encrypted", path, why);
  return FALSE;
}

static gboolean
walk_object (CgLinkedService *ls, json_t *obj, const char *prefix, GError **error)
{
  const char *key;
  json_t *value;
  void *tmp;

  json_object_foreach_safe (obj, tmp, key, value)
    {
      if (!prefix && g_str_equal (key, "encryptedCredential"))
        continue;
      g_autofree char *path = prefix ? g_strconcat (prefix, ".", key, NULL) : g_strdup (key);

      if (g_ascii_strcasecmp (key, "connectionString") == 0
          && (json_is_string (value) || is_secure_string (value)))
        {
          json_t *holder = json_is_string (value) ? obj : value;
          const char *member = json_is_string (value) ? key : "value";
          char *rest
              = strip_connection_string (ls, path, json_string_value (json_object_get (holder, member)));
          if (rest)
            /* Replacing an existing member keeps its position. */
            json_object_set_new (holder, member, json_string (rest));
          cg_wipe_str (rest);
        }
      else if (in_list_ci (secret_members, key, strlen (key))
               && (json_is_string (value) || is_secure_string (value)))
        {
          add_secret (ls, path,
                      json_string_value (json_is_string (value) ? value
                                                                : json_object_get (value, "value")));
          json_object_del (obj, key);
        }
      else if (is_secure_string (value))
        {
          add_secret (ls, path, json_string_value (json_object_get (value, "value")));
          json_object_del (obj, key);
        }
      else if (is_odd_secure_string (value))
        return refuse_left_behind (path, "a SecureString whose value is not a string", error);
      else if (!walk_value (ls, value, path, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
walk_value (CgLinkedService *ls, json_t *value, const char *path, GError **error)
{
  if (json_is_object (value))
    return walk_object (ls, value, path, error);
  if (json_is_array (value))
    {
      size_t i;
      json_t *item;
      json_array_foreach (value, i, item)
        {
          g_autofree char *p = g_strdup_printf ("%s.%zu", path, i);
          /* Taking a SecureString out of an array would shift its
           * neighbours, and leaving it would keep a secret in the clear
           * while reporting success: refuse. */
          if (is_secure_string (item) || is_odd_secure_string (item))
            return refuse_left_behind (p,
                                       "a SecureString directly inside an array cannot be "
                                       "removed; move it into an object member",
                                       error);
          if (!walk_value (ls, item, p, error))
            return FALSE;
        }
    }
  return TRUE;
}

void
cg_linked_service_free (CgLinkedService *ls)
{
  if (!ls)
    return;
  json_decref (ls->root);
  g_free (ls->name);
  g_ptr_array_unref (ls->keys);
  g_ptr_array_unref (ls->values);
  g_free (ls);
}

/* The shape both forms share: an object with a valid "name" and a
 * properties.typeProperties object. */
static CgLinkedService *
parse_shape (const char *text, gsize len, GError **error)
{
  g_autoptr (CgLinkedService) ls = g_new0 (CgLinkedService, 1);
  ls->keys = g_ptr_array_new_with_free_func (g_free);
  ls->values = g_ptr_array_new_with_free_func ((GDestroyNotify) cg_wipe_str);

  ls->root = cg_json_load_strict (text, len, error);
  if (!ls->root)
    return NULL;
  if (!json_is_object (ls->root))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "not a linked service: the document is not a JSON object");
      return NULL;
    }
  const char *name = json_string_value (json_object_get (ls->root, "name"));
  if (!name)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "not a linked service: no \"name\" string");
      return NULL;
    }
  if (!cg_name_is_valid (name))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the linked service name \"%s\" is not valid ([A-Za-z0-9._-]{1,128})", name);
      return NULL;
    }
  ls->name = g_strdup (name);
  json_t *props = json_object_get (ls->root, "properties");
  ls->type_props = json_object_get (props, "typeProperties");
  if (!json_is_object (props) || !json_is_object (ls->type_props))
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_INVALID,
                           "not a linked service: no \"properties.typeProperties\" object");
      return NULL;
    }
  return g_steal_pointer (&ls);
}

CgLinkedService *
cg_linked_service_parse (const char *text, gsize len, gboolean force, GError **error)
{
  g_autoptr (CgLinkedService) ls = parse_shape (text, len, error);
  if (!ls)
    return NULL;
  if (json_object_get (ls->type_props, "encryptedCredential") && !force)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_EXISTS,
                   "the linked service \"%s\" already holds typeProperties.encryptedCredential",
                   ls->name);
      return NULL;
    }

  if (!walk_object (ls, ls->type_props, NULL, error))
    return NULL;
  if (ls->keys->len == 0)
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the linked service \"%s\" holds no secret field to encrypt", ls->name);
      return NULL;
    }
  g_ptr_array_add (ls->keys, NULL);
  return g_steal_pointer (&ls);
}

CgLinkedService *
cg_linked_service_parse_sealed (const char *text, gsize len, GError **error)
{
  g_autoptr (CgLinkedService) ls = parse_shape (text, len, error);
  if (!ls)
    return NULL;
  if (!json_is_string (json_object_get (ls->type_props, "encryptedCredential")))
    {
      g_set_error (error, CG_ERROR, CG_ERROR_INVALID,
                   "the linked service \"%s\" holds no typeProperties.encryptedCredential string",
                   ls->name);
      return NULL;
    }
  g_ptr_array_add (ls->keys, NULL);
  return g_steal_pointer (&ls);
}

const char *
cg_linked_service_get_encrypted_credential (CgLinkedService *ls)
{
  return json_string_value (json_object_get (ls->type_props, "encryptedCredential"));
}

const char *
cg_linked_service_get_name (CgLinkedService *ls)
{
  return ls->name;
}

const char *const *
cg_linked_service_preview (CgLinkedService *ls)
{
  return (const char *const *) ls->keys->pdata;
}

CgBuf *
cg_linked_service_get_secrets (CgLinkedService *ls)
{
  json_auto_t *obj = json_object ();
  for (guint i = 0; i < ls->values->len; i++)
    json_object_set_new (obj, ls->keys->pdata[i], json_string (ls->values->pdata[i]));
  char *text = json_dumps (obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
  CgBuf *buf = cg_buf_new_copy (text, strlen (text));
  cg_wipe_str (text);
  return buf;
}

char *
cg_linked_service_rewrite (CgLinkedService *ls, const char *encrypted_credential, GError **error)
{
  g_return_val_if_fail (encrypted_credential != NULL, NULL);
  json_object_set_new (ls->type_props, "encryptedCredential", json_string (encrypted_credential));
  char *text = json_dumps (ls->root, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
  if (!text)
    {
      g_set_error_literal (error, CG_ERROR, CG_ERROR_FAILED, "cannot serialise the linked service");
      return NULL;
    }
  char *result = g_strconcat (text, "\n", NULL);
  free (text);
  return result;
}
