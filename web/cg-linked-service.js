// SPDX-License-Identifier: LGPL-2.1-or-later
// The linked-service transformer of protocol/cg-linked-service.c, line for
// line, so that the page rewrites a file exactly as
// `credgate-encrypt-value --linked-service` does: the same secret fields,
// the same paths (the keys of the sealed JSON object), the same ctx (the
// linked service's name), every other member kept in its place.  No crypto
// and no DOM here: tests/test-web-unit.sh runs it under node.
import { N_ } from './cg-i18n.js';
import { parse, serialize } from './cg-json.js';

export class LinkedServiceError extends Error {
  constructor (kind, message, ...args) {
    super(message);
    this.kind = kind; // 'invalid' | 'exists'
    this.args = args;
  }
}

const SECRET_MEMBERS = ['password', 'pwd', 'accountkey', 'sastoken', 'serviceprincipalkey'];
const CONNECTION_STRING_SECRETS = ['password', 'pwd', 'accountkey', 'sharedaccesssignature',
  'sharedaccesskey'];
const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;

// GLib's g_ascii_isspace: space, \t, \n, \f, \r (not \v).
const isSpace = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => c.toLowerCase());

function trim (s) {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
}

// Skip a value that may be quoted: 'x''y', "x""y" or {x}}y}.  Returns the
// index of the ';' (or the end) that ends the pair.
function skipValue (text, q) {
  while (text[q] === ' ' || text[q] === '\t') q++;
  if (text[q] === '\'' || text[q] === '"' || text[q] === '{') {
    const close = text[q] === '{' ? '}' : text[q];
    for (q++; q < text.length; q++) {
      if (text[q] === close) {
        if (text[q + 1] !== close) {
          q++;
          break;
        }
        q++; // a doubled quote is a literal quote
      }
    }
  }
  while (q < text.length && text[q] !== ';') q++;
  return q;
}

function unquote (v) {
  if (v.length >= 2 && ((v[0] === '\'' && v.at(-1) === '\'') || (v[0] === '"' && v.at(-1) === '"') ||
      (v[0] === '{' && v.at(-1) === '}'))) {
    const close = v[0] === '{' ? '}' : v[0];
    let out = '';
    for (let p = 1; p < v.length - 1; p++) {
      out += v[p];
      if (v[p] === close && p + 1 < v.length - 1 && v[p + 1] === close) p++;
    }
    return out;
  }
  return v;
}

// Split a connection string: the secret pairs as [key as written, value],
// and the rest as written, joined with ';'.
export function stripConnectionString (text) {
  const secrets = [];
  const kept = [];
  let p = 0;
  while (p < text.length) {
    const seg = p;
    let q = p;
    while (q < text.length && text[q] !== '=' && text[q] !== ';') q++;
    const eq = text[q] === '=' ? q : -1;
    const end = eq >= 0 ? skipValue(text, eq + 1) : q;
    let secret = false;
    if (eq >= 0) {
      const key = trim(text.slice(seg, eq));
      if (CONNECTION_STRING_SECRETS.includes(asciiLower(key))) {
        secrets.push([key, unquote(trim(text.slice(eq + 1, end)))]);
        secret = true;
      }
    }
    if (!secret) kept.push(text.slice(seg, end));
    p = end < text.length ? end + 1 : end;
  }
  let rest = kept.join(';');
  // Keep a final ';' if the string had one.
  let last = text.length;
  while (last > 0 && isSpace(text[last - 1])) last--;
  if (last > 0 && text[last - 1] === ';' && rest.length > 0 && !rest.endsWith(';')) rest += ';';
  return { rest, secrets };
}

const isSecureString = (v) => v instanceof Map && v.get('type') === 'SecureString' &&
  typeof v.get('value') === 'string';

// {"type": "SecureString"} whose "value" is not a string: marked secret, yet
// nothing here could take it out.
const isOddSecureString = (v) => v instanceof Map && v.get('type') === 'SecureString' &&
  typeof v.get('value') !== 'string';

function refuseLeftBehind (path, why) {
  const e = new LinkedServiceError('invalid',
    N_('properties.typeProperties.%s: %s; nothing was encrypted'), path, why);
  e.translatedArgs = [1]; // the reason is a message too
  throw e;
}

class Walker {
  constructor () {
    this.keys = [];
    this.values = [];
  }

  add (key, value) {
    // Keys must be unique in the plaintext object.
    let unique = key;
    for (let n = 2; this.keys.includes(unique); n++) unique = `${key}#${n}`;
    this.keys.push(unique);
    this.values.push(value);
  }

  object (obj, prefix) {
    for (const [key, value] of [...obj]) {
      if (prefix === null && key === 'encryptedCredential') continue;
      const path = prefix === null ? key : `${prefix}.${key}`;
      if (asciiLower(key) === 'connectionstring' &&
          (typeof value === 'string' || isSecureString(value))) {
        const holder = typeof value === 'string' ? obj : value;
        const member = typeof value === 'string' ? key : 'value';
        const { rest, secrets } = stripConnectionString(holder.get(member));
        if (secrets.length) {
          for (const [k, v] of secrets) this.add(`${path}.${k}`, v);
          holder.set(member, rest); // Map.set on an existing key keeps its place
        }
      } else if (SECRET_MEMBERS.includes(asciiLower(key)) &&
                 (typeof value === 'string' || isSecureString(value))) {
        this.add(path, typeof value === 'string' ? value : value.get('value'));
        obj.delete(key);
      } else if (isSecureString(value)) {
        this.add(path, value.get('value'));
        obj.delete(key);
      } else if (isOddSecureString(value)) {
        refuseLeftBehind(path, N_('a SecureString whose value is not a string'));
      } else {
        this.value(value, path);
      }
    }
  }

  value (value, path) {
    if (value instanceof Map) {
      this.object(value, path);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => {
        const p = `${path}.${i}`;
        // Taking a SecureString out of an array would shift its neighbours,
        // and leaving it would keep a secret in the clear while reporting
        // success: refuse.
        if (isSecureString(item) || isOddSecureString(item)) {
          refuseLeftBehind(p, N_('a SecureString directly inside an array cannot be removed; move it into an object member'));
        }
        this.value(item, p);
      });
    }
  }
}

// Parse and analyse a linked service.  Throws LinkedServiceError with the
// C side's messages (English; the page shows them translated).
export function analyse (text, force = false) {
  let root;
  try {
    root = parse(text);
  } catch (e) {
    throw new LinkedServiceError('invalid', N_('invalid JSON at line %u, column %u: %s'), e.line,
      e.column, e.message);
  }
  if (!(root instanceof Map)) {
    throw new LinkedServiceError('invalid', N_('not a linked service: the document is not a JSON object'));
  }
  const name = root.get('name');
  if (typeof name !== 'string') {
    throw new LinkedServiceError('invalid', N_('not a linked service: no "name" string'));
  }
  if (!NAME_RE.test(name)) {
    throw new LinkedServiceError('invalid',
      N_('the linked service name "%s" is not valid ([A-Za-z0-9._-]{1,128})'), name);
  }
  const props = root.get('properties');
  const typeProps = props instanceof Map ? props.get('typeProperties') : undefined;
  if (!(typeProps instanceof Map)) {
    throw new LinkedServiceError('invalid',
      N_('not a linked service: no "properties.typeProperties" object'));
  }
  if (typeProps.has('encryptedCredential') && !force) {
    throw new LinkedServiceError('exists',
      N_('the linked service "%s" already holds typeProperties.encryptedCredential'), name);
  }
  const w = new Walker();
  w.object(typeProps, null);
  if (!w.keys.length) {
    throw new LinkedServiceError('invalid',
      N_('the linked service "%s" holds no secret field to encrypt'), name);
  }
  return {
    name,
    ctx: name,
    // The secrets that will be removed, as the plaintext's keys, in order.
    preview: w.keys.slice(),
    // The plaintext to seal: a compact JSON object, keys in document order.
    secrets: serialize(new Map(w.keys.map((k, i) => [k, w.values[i]])), 0),
    // The rewritten document, 2-space indented with a final newline.
    rewrite (encryptedCredential) {
      typeProps.set('encryptedCredential', encryptedCredential);
      return serialize(root, 2) + '\n';
    },
  };
}
