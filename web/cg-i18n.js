// SPDX-License-Identifier: LGPL-2.1-or-later
// Translations from the desktop app's catalogs: the build writes po/LANG.po
// out as i18n/LANG.json (web/cg-po2json.py), and the strings marked _() here
// and in the other modules are in po/POTFILES.in, so xgettext finds them.
export const LANGUAGES = [['en', 'English'], ['nl', 'Nederlands'], ['de', 'Deutsch']];

let messages = {};
let current = 'en';

export function _ (msgid) {
  return Object.hasOwn(messages, msgid) ? messages[msgid] : msgid;
}

// Marks a string for xgettext; translated later with _().
export const N_ = (msgid) => msgid;

// printf-style %s, %u, %d in order, as the C side writes them.
export function format (fmt, ...args) {
  let i = 0;
  return fmt.replace(/%[sud%]/g, (m) => (m === '%%' ? '%' : String(args[i++])));
}

// GTK mnemonics ("Pass_word") do not apply on a web page.
export function stripMnemonic (label) {
  return label.replace(/_/g, '');
}

// The first of the browser's languages that we have, else English.
export function pickLanguage (preferred) {
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split('-')[0];
    if (LANGUAGES.some(([code]) => code === base)) return base;
  }
  return 'en';
}

export function currentLanguage () {
  return current;
}

export async function setLanguage (lang) {
  if (!LANGUAGES.some(([code]) => code === lang)) lang = 'en';
  if (lang === 'en') {
    messages = {};
  } else {
    const resp = await fetch(`i18n/${lang}.json`, { credentials: 'omit' });
    if (!resp.ok) throw new Error(`i18n/${lang}.json: ${resp.status}`);
    messages = (await resp.json()).messages;
  }
  current = lang;
}
