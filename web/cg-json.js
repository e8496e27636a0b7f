// SPDX-License-Identifier: LGPL-2.1-or-later
// JSON that keeps what JSON.parse loses, as the C side (jansson) does:
// member order exactly as written (JSON.parse puts "1"-like keys first),
// duplicate keys refused, numbers as written.  Objects are Maps, arrays are
// arrays, numbers are JsonNumber.  serialize() writes jansson's output:
// JSON_INDENT(2) or compact, with JSON_PRESERVE_ORDER.

export class JsonNumber {
  constructor (text) {
    this.text = text;
    this.isInteger = !/[.eE]/.test(text);
  }
}

export class JsonError extends Error {
  constructor (message, line, column) {
    super(message);
    this.line = line;
    this.column = column;
  }
}

const MAX_DEPTH = 2048; // jansson's JSON_PARSER_MAX_DEPTH

export function parse (text) {
  let i = 0;
  const fail = (what) => {
    const before = text.slice(0, i);
    const line = before.split('\n').length;
    const column = i - before.lastIndexOf('\n');
    throw new JsonError(what, line, column);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const str = () => {
    let out = '';
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail('premature end of input in a string');
      const c = text[i++];
      if (c === '"') return out;
      if (c === '\\') {
        const e = text[i++];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e in simple) {
          out += simple[e];
        } else if (e === 'u') {
          const hex = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid escape');
          i += 4;
          const code = parseInt(hex, 16);
          if (code === 0) fail('\\u0000 is not allowed');
          if (code >= 0xd800 && code <= 0xdbff) {
            const low = text.slice(i, i + 6);
            if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(low)) fail('invalid Unicode escape');
            i += 6;
            out += String.fromCharCode(code, parseInt(low.slice(2), 16));
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            fail('invalid Unicode escape');
          } else {
            out += String.fromCharCode(code);
          }
        } else {
          fail('invalid escape');
        }
      } else if (c < ' ') {
        fail('control character in a string');
      } else {
        out += c;
      }
    }
  };
  const value = (depth) => {
    if (depth > MAX_DEPTH) fail('maximum parsing depth reached');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map();
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('string or \'}\' expected');
        const key = str();
        if (obj.has(key)) fail('duplicate object key');
        ws();
        if (text[i++] !== ':') fail('\':\' expected');
        obj.set(key, value(depth + 1));
        ws();
        const sep = text[i++];
        if (sep === '}') return obj;
        if (sep !== ',') fail('\'}\' expected');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const sep = text[i++];
        if (sep === ']') return arr;
        if (sep !== ',') fail('\']\' expected');
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m && m[0]) {
      i += m[0].length;
      const n = new JsonNumber(m[0]);
      if (n.isInteger) {
        const b = BigInt(m[0]);
        if (b > 9223372036854775807n || b < -9223372036854775808n) fail('too big integer');
      } else if (!Number.isFinite(Number(m[0]))) {
        fail('real number overflow');
      }
      return n;
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    fail(i >= text.length ? 'premature end of input' : 'invalid token');
  };
  const root = value(0);
  ws();
  if (i !== text.length) fail('end of file expected');
  return root;
}

function quote (s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20) out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// jansson prints a real with "%.17g", drops a "+" and leading zeros from
// the exponent, and adds ".0" to what would read as an integer.
function real (x) {
  const strip = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  let [mant, exp] = x.toExponential(16).split('e');
  exp = parseInt(exp, 10);
  let out;
  if (exp < -4 || exp >= 17) {
    out = strip(mant) + 'e' + (exp < 0 ? '-' : '') + String(Math.abs(exp));
  } else {
    out = strip(x.toFixed(Math.max(0, 16 - exp)));
  }
  if (!/[.e]/.test(out)) out += '.0';
  return out;
}

function number (n) {
  return n.isInteger ? BigInt(n.text).toString() : real(Number(n.text));
}

// indent: 0 for jansson's JSON_COMPACT, 2 for JSON_INDENT(2).
export function serialize (value, indent = 2, level = 0) {
  const pad = (l) => (indent ? '\n' + ' '.repeat(indent * l) : '');
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return quote(value);
  if (value instanceof JsonNumber) return number(value);
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return '[' + value.map((v) => pad(level + 1) + serialize(v, indent, level + 1)).join(',') +
      pad(level) + ']';
  }
  if (value instanceof Map) {
    if (!value.size) return '{}';
    const sep = indent ? ': ' : ':';
    return '{' + [...value].map(([k, v]) => pad(level + 1) + quote(k) + sep +
      serialize(v, indent, level + 1)).join(',') + pad(level) + '}';
  }
  throw new TypeError('not a JSON value');
}
