// SPDX-License-Identifier: LGPL-2.1-or-later
// The credential forms of the desktop app (gui/cg-forms.c), for the page:
// the types come from credential-types.json, which the build writes out of
// gui/cg-forms.c itself, so both clients have one definition.  The checks
// here are cg-forms.c's, with its messages (the same msgids, so the same
// translations).  No DOM: tests/test-web-unit.sh runs this under node.
import { _, format, stripMnemonic } from './cg-i18n.js';
import { JsonNumber } from './cg-json.js';

const NAME_RE = /^[A-Za-z0-9._-]{1,128}$/;
const isSpace = (c) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
const isBlank = (v) => v === undefined || v === null || [...v].every(isSpace);
const strip = (s) => {
  let a = 0;
  let b = s.length;
  while (a < b && isSpace(s[a])) a++;
  while (b > a && isSpace(s[b - 1])) b--;
  return s.slice(a, b);
};
const utf8Length = (s) => new TextEncoder().encode(s).length;

export class FormError extends Error {
  constructor (message, field) {
    super(message);
    this.field = field;
  }
}

// g_ascii_string_to_unsigned (text, 10, 1, 65535): digits only.
export function parsePort (text) {
  if (!/^[0-9]+$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : null;
}

// "key=value" lines into a Map (order kept); blank lines skipped.
export function parseKeyValues (text) {
  const map = new Map();
  (text || '').split('\n').forEach((raw, i) => {
    const line = strip(raw);
    if (!line) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new FormError(format(_('Line %u is not of the form key=value.'), i + 1));
    const key = strip(line.slice(0, eq));
    if (map.has(key)) throw new FormError(format(_('Line %u repeats the key “%s”.'), i + 1, key));
    map.set(key, strip(line.slice(eq + 1)));
  });
  return map;
}

// The text to show for a stored property value.
export function propertyToText (value) {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined || value === null) return '';
  return JSON.stringify(value);
}

export function formatKeyValues (object) {
  return Object.entries(object || {}).map(([k, v]) => `${k}=${propertyToText(v)}`).join('\n');
}

export class Forms {
  // @definition: the parsed credential-types.json.
  constructor (definition) {
    this.maxLength = definition.maxLength;
    this.types = definition.types;
  }

  lookup (id) {
    return this.types.find((t) => t.id === id) || null;
  }

  checkName (name) {
    if (isBlank(name)) return _('A name is required.');
    if (!NAME_RE.test(name)) return _('Use 1 to 128 letters, digits, dots, dashes or underscores.');
    return null;
  }

  // null when fine, else a translated sentence.
  checkField (field, value) {
    if (isBlank(value)) {
      return field.required ? format(_('%s is required.'), stripMnemonic(_(field.label))) : null;
    }
    if (utf8Length(value) > this.maxLength) return _('This is too long.');
    if (field.kind === 'port' && parsePort(value) === null) {
      return _('A port is a number from 1 to 65535.');
    }
    if (field.kind === 'keyValues') {
      try {
        parseKeyValues(value);
      } catch (e) {
        return e.message;
      }
    }
    return null;
  }

  // Every problem at once: [{field, message}] ("name" for the name).
  problems (type, name, values) {
    const out = [];
    const n = this.checkName(name);
    if (n) out.push({ field: 'name', message: n });
    for (const f of type.fields) {
      const p = this.checkField(f, values[f.name]);
      if (p) out.push({ field: f.name, message: p });
    }
    return out;
  }

  // {type, properties: Map, secret: Map}: cg_forms_build_body's result,
  // empty optional fields left out.
  buildBody (type, values) {
    const properties = new Map();
    const secret = new Map();
    for (const f of type.fields) {
      const value = values[f.name];
      const problem = this.checkField(f, value);
      if (problem) throw new FormError(problem, f.name);
      if (isBlank(value)) continue;
      const target = f.secret ? secret : properties;
      if (f.kind === 'port') target.set(f.name, new JsonNumber(String(parsePort(value))));
      else if (f.kind === 'keyValues') for (const [k, v] of parseKeyValues(value)) target.set(k, v);
      else if (f.kind === 'password') target.set(f.name, value); // exactly as typed
      else target.set(f.name, strip(value));
    }
    return { type: type.id, properties, secret };
  }
}
