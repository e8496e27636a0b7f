// SPDX-License-Identifier: LGPL-2.1-or-later
// The browser page: what the desktop app does, for a person with only a
// browser.  Secrets are sealed here, to the agent's sealing key, before
// they leave the page; the agent gets only a JWE.
import * as api from './cg-api.js';
import { ApiError, describeError } from './cg-api.js';
import { importSealingKey, seal } from './cg-crypto.js';
import { clear, h, uid } from './cg-dom.js';
import { Forms, formatKeyValues, propertyToText } from './cg-forms.js';
import { LANGUAGES, N_, _, currentLanguage, format, pickLanguage, setLanguage, stripMnemonic } from './cg-i18n.js';
import { serialize } from './cg-json.js';
import { LinkedServiceError, analyse } from './cg-linked-service.js';

const MAX_FILE = 1024 * 1024; // a linked service is a small JSON file

const state = {
  info: null,
  forms: null,
  credentials: null, // the list once the token worked
  editing: null, // {name, type} while the editor is open
  linked: { text: '', output: '', name: '' },
};

const root = document.getElementById('app');
// Translated, without the GTK mnemonic; marked for xgettext (po/Makevars: --keyword=T).
const T = (msgid) => stripMnemonic(_(msgid));

// One line the screen reader announces; errors in role=alert.
function say (text, isError = false) {
  const box = document.getElementById('message');
  box.className = isError ? 'message error' : 'message';
  box.setAttribute('role', isError ? 'alert' : 'status');
  box.textContent = text;
  // An error the person cannot see is no help: bring it into view.
  const r = box.getBoundingClientRect();
  if (isError && (r.bottom < 0 || r.top > window.innerHeight)) box.scrollIntoView({ block: 'nearest' });
}
const sayError = (e) => say(describeError(e), true);

// The agent's current sealing key, fetched again before every seal so a
// rotated key is used at once.
async function sealingKey () {
  const info = await api.info();
  state.info = info;
  if (!info.sealingKey) {
    const code = info.secretStore === 'locked' ? 'secret_store_locked' : 'secret_store_unavailable';
    throw new ApiError(503, code, info.secretStore);
  }
  return importSealingKey(info.sealingKey);
}

function field (labelText, control, note) {
  const id = control.id || (control.id = uid('f'));
  const noteEl = note === undefined ? null : h('p', { class: 'note', id: `${id}-note` }, note);
  if (noteEl) control.setAttribute('aria-describedby', noteEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, noteEl);
}

function button (text, onclick, attrs = {}) {
  return h('button', { type: 'button', onclick, ...attrs }, text);
}

// ---- agent and token ------------------------------------------------------

// The secret store's state as /v1/info names it.
const STORE_STATES = {
  ready: N_('ready'),
  locked: N_('locked (nothing can be sealed)'),
  unavailable: N_('unavailable'),
  keys_missing: N_('keys missing'),
};

function agentSection () {
  const info = state.info;
  const rows = [
    [T('TLS certificate fingerprint'), info ? info.tlsPin || '-' : '…'],
    [T('Sealing key (kid)'), info && info.sealingKey ? info.sealingKey.kid : '-'],
    [T('Secret store'), info ? T(STORE_STATES[info.secretStore] || info.secretStore) : '…'],
  ];
  return h('section', { 'aria-labelledby': 'agent-h' },
    h('h2', { id: 'agent-h' }, T('Agent')),
    h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', { class: 'mono' }, v)])),
    h('p', { class: 'note' }, T('Compare this fingerprint with the “certificate:” line of credgatectl status on the agent host before you type a token.')));
}

function tokenSection () {
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'off', spellcheck: 'false',
    autocapitalize: 'off' });
  const use = async (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    input.value = '';
    if (!t) {
      say(T('Type the access token first.'), true);
      input.focus();
      return;
    }
    api.setToken(t);
    await refreshList(true);
  };
  const forget = () => {
    api.forgetToken();
    state.credentials = null;
    state.editing = null;
    render();
    say(T('The token is forgotten. Type it again to go on.'));
    document.getElementById('token').focus();
  };
  return h('section', { 'aria-labelledby': 'token-h' },
    h('h2', { id: 'token-h' }, T('Access')),
    h('form', { class: 'row', onsubmit: use },
      field(T('Access _token'), input, T('Kept in this page’s memory only: gone when you reload or close it.')),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', id: 'use-token' }, T('Use token')),
        button(T('Forget token'), forget, { id: 'forget-token', disabled: !api.hasToken() }))));
}

// ---- credentials ------------------------------------------------------------

async function refreshList (announce = false) {
  try {
    const reply = await api.listCredentials();
    state.credentials = reply.credentials;
    render();
    if (announce) say(format(T('Connected. Credentials on this agent: %u.'), state.credentials.length));
  } catch (e) {
    if (e.status === 401 || e.status === 429) state.credentials = null;
    render();
    sayError(e);
  }
}

function credentialsSection () {
  const body = [];
  if (!api.hasToken() || state.credentials === null) {
    body.push(h('p', { class: 'note' }, T('Type an access token to see and change the credentials.')));
  } else {
    body.push(h('div', { class: 'buttons' },
      button(T('Add credential'), () => openEditor(null), { id: 'add-credential' }),
      button(T('Refresh the list'), () => refreshList(), { id: 'refresh' })));
    if (!state.credentials.length) {
      body.push(h('p', {}, T('No credentials on this agent yet.')));
    } else {
      body.push(h('table', { id: 'credential-list' },
        h('caption', {}, T('Credentials')),
        h('thead', {}, h('tr', {}, [T('Name'), T('Type'), T('Version'), T('Changed'), T('Actions')]
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, state.credentials.map((c) => {
          const type = state.forms.lookup(c.type);
          return h('tr', {},
            h('th', { scope: 'row', class: 'mono' }, c.name),
            h('td', {}, type ? T(type.label) : c.type),
            h('td', {}, String(c.version)),
            h('td', {}, c.updated || ''),
            h('td', { class: 'buttons' },
              button(T('Edit'), () => openEditor(c.name), { 'aria-label': format(_('Edit %s'), c.name) }),
              button(T('_Delete'), () => confirmDelete(c.name),
                { 'aria-label': format(_('Delete %s'), c.name), class: 'danger' })));
        }))));
    }
  }
  if (state.editing) body.push(editorForm());
  return h('section', { 'aria-labelledby': 'cred-h', class: 'wide' }, h('h2', { id: 'cred-h' }, T('Credentials')), body);
}

async function openEditor (name) {
  if (name === null) {
    state.editing = { name: null, type: state.forms.types[0].id, values: {} };
  } else {
    try {
      const meta = await api.getCredential(name);
      const type = state.forms.lookup(meta.type) || state.forms.lookup('generic');
      const values = {};
      if (type.fields.some((f) => f.kind === 'keyValues')) {
        values.properties = formatKeyValues(meta.properties);
      } else {
        for (const f of type.fields) {
          if (!f.secret && meta.properties && f.name in meta.properties) {
            values[f.name] = propertyToText(meta.properties[f.name]);
          }
        }
      }
      state.editing = { name, type: type.id, values };
    } catch (e) {
      sayError(e);
      return;
    }
  }
  render();
  document.getElementById(name === null ? 'cred-type' : firstFieldId()).focus();
}

const fieldId = (name) => `cred-field-${name}`;
const firstFieldId = () => fieldId(state.forms.lookup(state.editing.type).fields[0].name);

function editorForm () {
  const ed = state.editing;
  const type = state.forms.lookup(ed.type);
  const isNew = ed.name === null;
  const typeSelect = h('select', { id: 'cred-type', disabled: !isNew, onchange: (ev) => {
    collect();
    ed.type = ev.target.value;
    render();
    document.getElementById('cred-type').focus();
  } }, state.forms.types.map((t) => h('option', { value: t.id, selected: t.id === ed.type }, T(t.label))));
  const nameInput = h('input', { id: 'cred-name', value: isNew ? ed.values.__name || '' : ed.name,
    readonly: !isNew, autocomplete: 'off', spellcheck: 'false', placeholder: _('sql-prod') });
  const controls = type.fields.map((f) => {
    const label = f.required ? format(_('%s (required)'), T(f.label)) : T(f.label);
    const attrs = { id: fieldId(f.name), name: f.name, autocomplete: 'off', spellcheck: 'false',
      placeholder: f.hint ? _(f.hint) : (f.secret && !isNew ? _('Enter it again to save') : null),
      'aria-required': f.required ? 'true' : null };
    let control;
    if (f.kind === 'keyValues') control = h('textarea', { ...attrs, rows: 4 });
    else if (f.kind === 'password') control = h('input', { ...attrs, type: 'password', autocomplete: 'new-password' });
    else if (f.kind === 'port') control = h('input', { ...attrs, type: 'text', inputmode: 'numeric' });
    else control = h('input', { ...attrs, type: 'text' });
    if (!f.secret && ed.values[f.name] !== undefined) control.value = ed.values[f.name];
    control.addEventListener('input', () => showProblem(f.name, state.forms.checkField(f, control.value)));
    return field(label, control, '');
  });
  nameInput.addEventListener('input', () => showProblem('name', state.forms.checkName(nameInput.value)));
  const save = async (ev) => {
    ev.preventDefault();
    await saveCredential();
  };
  return h('form', { id: 'editor', class: 'card', onsubmit: save, 'aria-labelledby': 'editor-h' },
    h('h3', { id: 'editor-h' }, isNew ? T('New credential') : format(_('Edit “%s”'), ed.name)),
    h('p', { class: 'note' }, isNew
      ? T('The secret is encrypted in this page to the agent’s sealing key and sealed there. It is never shown again after you save.')
      : _('The agent never sends a saved secret back, and saving replaces the whole record, so enter the secret again to save your changes.')),
    field(T('_Type'), typeSelect),
    field(T('_Name'), nameInput, ''),
    controls,
    h('div', { class: 'buttons' },
      h('button', { type: 'submit', id: 'save' }, T('_Save')),
      button(T('_Cancel'), () => { state.editing = null; render(); document.getElementById('add-credential')?.focus(); })));
}

function showProblem (name, problem) {
  const control = document.getElementById(name === 'name' ? 'cred-name' : fieldId(name));
  if (!control) return;
  const note = document.getElementById(`${control.id}-note`);
  note.textContent = problem || '';
  note.classList.toggle('error', !!problem);
  if (problem) control.setAttribute('aria-invalid', 'true');
  else control.removeAttribute('aria-invalid');
}

// The values typed so far (secret fields included: kept only while the
// editor is open, in the DOM itself).
function collect () {
  const ed = state.editing;
  const type = state.forms.lookup(ed.type);
  const values = {};
  for (const f of type.fields) values[f.name] = document.getElementById(fieldId(f.name))?.value ?? '';
  if (ed.name === null) ed.values.__name = document.getElementById('cred-name').value;
  for (const f of type.fields) if (!f.secret) ed.values[f.name] = values[f.name];
  return values;
}

async function saveCredential () {
  const ed = state.editing;
  const type = state.forms.lookup(ed.type);
  const values = collect();
  const name = ed.name === null ? document.getElementById('cred-name').value.trim() : ed.name;
  const problems = state.forms.problems(type, name, values);
  for (const f of ['name', ...type.fields.map((x) => x.name)]) {
    showProblem(f, (problems.find((p) => p.field === f) || {}).message);
  }
  if (problems.length) {
    say(problems[0].message, true);
    document.getElementById(problems[0].field === 'name' ? 'cred-name' : fieldId(problems[0].field)).focus();
    return;
  }
  const saveButton = document.getElementById('save');
  saveButton.disabled = true;
  try {
    const body = state.forms.buildBody(type, values);
    const key = await sealingKey();
    const jwe = await seal(key, serialize(body.secret, 0), `credential:${name}`);
    const text = serialize(new Map([['type', body.type], ['properties', body.properties],
      ['encryptedSecret', jwe]]), 0);
    const meta = await api.putCredential(name, text);
    state.editing = null;
    await refreshList();
    say(format(T('Saved “%s” (version %u).'), meta.name, meta.version));
  } catch (e) {
    saveButton.disabled = false;
    sayError(e);
  }
}

function confirmDelete (name) {
  const dialog = document.getElementById('confirm');
  clear(dialog);
  const cancel = button(T('_Cancel'), () => dialog.close('cancel'), { id: 'confirm-cancel' });
  dialog.append(
    h('h2', { id: 'confirm-h' }, format(_('Delete “%s”?'), name)),
    h('p', {}, _('The agent forgets this credential at once. Gateways that use it stop working until it is stored again.')),
    h('div', { class: 'buttons' }, cancel,
      button(T('_Delete'), async () => {
        dialog.close('delete');
        try {
          await api.deleteCredential(name);
          await refreshList();
          say(format(T('Deleted “%s”.'), name));
        } catch (e) {
          sayError(e);
        }
      }, { id: 'confirm-delete', class: 'danger' })));
  dialog.setAttribute('aria-labelledby', 'confirm-h');
  dialog.showModal();
  cancel.focus(); // the safe answer first
}

// ---- linked service and single value -----------------------------------

function describeLinkedError (e) {
  if (e instanceof LinkedServiceError) {
    return format(_(e.message), ...e.args.map((a, i) => (e.translatedArgs?.includes(i) ? _(a) : a)));
  }
  return describeError(e);
}

function linkedSection () {
  const ls = state.linked;
  const input = h('textarea', { id: 'ls-input', rows: 10, spellcheck: 'false', value: ls.text });
  const preview = h('ul', { id: 'ls-preview', 'aria-live': 'polite' });
  const force = h('input', { type: 'checkbox', id: 'ls-force' });
  const output = h('textarea', { id: 'ls-output', rows: 10, readonly: true, spellcheck: 'false', value: ls.output });
  const update = () => {
    ls.text = input.value;
    clear(preview);
    if (!input.value.trim()) {
      preview.append(h('li', { class: 'note' }, _('Nothing to remove yet.')));
      return;
    }
    try {
      for (const k of analyse(input.value, force.checked).preview) preview.append(h('li', { class: 'mono' }, k));
    } catch (e) {
      preview.append(h('li', { class: 'error' }, describeLinkedError(e)));
    }
  };
  input.addEventListener('input', update);
  force.addEventListener('change', update);
  const file = h('input', { type: 'file', id: 'ls-file', accept: '.json,application/json' });
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    if (f.size > MAX_FILE) {
      say(_('That file is too large or not text; a linked service is a small JSON file.'), true);
      return;
    }
    input.value = await f.text();
    update();
  });
  const encrypt = async () => {
    let parsed;
    try {
      parsed = analyse(input.value, force.checked);
    } catch (e) {
      say(describeLinkedError(e), true);
      input.focus();
      return;
    }
    try {
      const key = await sealingKey();
      const jwe = await seal(key, parsed.secrets, parsed.ctx);
      ls.output = parsed.rewrite(jwe);
      ls.name = parsed.name;
      output.value = ls.output;
      // The input held the secrets in the clear: it goes once the result is
      // shown, as in the desktop app.
      input.value = '';
      update();
      say(format(T('Encrypted the secret fields of “%s” to key %s.'), parsed.name, key.kid));
      output.focus();
    } catch (e) {
      sayError(e);
    }
  };
  update();
  return h('section', { 'aria-labelledby': 'ls-h' },
    h('h2', { id: 'ls-h' }, T('Linked service')),
    h('p', { class: 'note' }, T('The secret fields are removed and sealed together, in this page, to the agent’s key, bound to the linked service’s name, as typeProperties.encryptedCredential: the same result as credgate-encrypt-value --linked-service.')),
    field(T('Linked service _JSON'), input),
    field(T('Open a linked service'), file),
    h('div', { class: 'check' }, force, h('label', { for: 'ls-force' }, T('Replace an encrypted credential it already holds'))),
    h('h3', { id: 'ls-preview-h' }, T('Fields that will be _removed')),
    preview,
    h('div', { class: 'buttons' }, button(T('_Encrypt'), encrypt, { id: 'ls-encrypt' })),
    field(T('Re_written JSON'), output),
    h('div', { class: 'buttons' },
      button(T('C_opy result'), () => copy(output.value), { id: 'ls-copy' }),
      button(T('_Save result…'), () => download(`${ls.name || 'linked-service'}.json`, output.value), { id: 'ls-download' })));
}

function valueSection () {
  const value = h('input', { type: 'password', id: 'v-value', autocomplete: 'off' });
  const ctx = h('input', { type: 'text', id: 'v-context', autocomplete: 'off', spellcheck: 'false' });
  const output = h('textarea', { id: 'v-output', rows: 4, readonly: true, spellcheck: 'false' });
  const encrypt = async (ev) => {
    ev.preventDefault();
    if (!value.value) {
      say(T('Type the value to encrypt.'), true);
      value.focus();
      return;
    }
    try {
      const key = await sealingKey();
      output.value = await seal(key, value.value, ctx.value === '' ? null : ctx.value);
      value.value = '';
      say(format(T('Encrypted to key %s.'), key.kid));
      output.focus();
    } catch (e) {
      sayError(e);
    }
  };
  return h('section', { 'aria-labelledby': 'v-h' },
    h('h2', { id: 'v-h' }, T('Single value')),
    h('form', { onsubmit: encrypt },
      field(T('Secret _value'), value),
      field(T('Context (optional)'), ctx, T('A value sealed with a context opens only when the same context is named.')),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'v-encrypt' }, T('_Encrypt')))),
    field(T('EncryptedCredential'), output),
    h('div', { class: 'buttons' }, button(T('C_opy result'), () => copy(output.value), { id: 'v-copy' })));
}

async function copy (text) {
  if (!text) return;
  try {
    await navigator.clipboard.writeText(text);
    say(T('Copied.'));
  } catch {
    say(T('The browser did not allow copying; select the text and copy it yourself.'), true);
  }
}

function download (name, text) {
  if (!text) return;
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- the page ------------------------------------------------------------

function header () {
  const select = h('select', { id: 'language', onchange: async (ev) => {
    await setLanguage(ev.target.value);
    render();
    document.getElementById('language').focus();
  } }, LANGUAGES.map(([code, name]) => h('option', { value: code, lang: code, selected: code === currentLanguage() }, name)));
  return h('header', {},
    h('div', {}, h('h1', {}, T('credgate')),
      h('p', { class: 'note' }, T('Enter data-store credentials for a gateway host, sealed end to end'))),
    h('div', { class: 'field lang' }, h('label', { for: 'language' }, T('Language')), select));
}

function render () {
  document.documentElement.lang = currentLanguage();
  document.title = T('credgate');
  const focused = document.activeElement && document.activeElement.id;
  clear(root).append(header(),
    h('main', {}, agentSection(), tokenSection(), credentialsSection(), linkedSection(), valueSection()));
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

async function start () {
  await setLanguage(pickLanguage(navigator.languages)).catch(() => setLanguage('en'));
  const resp = await fetch('credential-types.json', { credentials: 'omit' });
  state.forms = new Forms(await resp.json());
  render();
  try {
    state.info = await api.info();
    render();
  } catch (e) {
    sayError(e);
  }
}

start();
