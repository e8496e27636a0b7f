// SPDX-License-Identifier: LGPL-2.1-or-later
// The agent's API from its own origin.  The access token lives in this
// module's memory only: no cookie, no localStorage or sessionStorage; a
// reload or forgetToken() drops it.
import { _, format } from './cg-i18n.js';

let token = null;

export const setToken = (t) => { token = t ? String(t) : null; };
export const forgetToken = () => { token = null; };
export const hasToken = () => token !== null;

export class ApiError extends Error {
  constructor (status, code, message, field) {
    super(message);
    this.status = status; // 0: the agent could not be reached
    this.code = code;
    this.field = field;
  }
}

// @body: a string (already JSON) or a value for JSON.stringify.
export async function call (method, path, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      redirect: 'error',
    });
  } catch (e) {
    throw new ApiError(0, 'unreachable', String(e && e.message));
  }
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(resp.status, err.code || '', err.message || resp.statusText, err.field);
  }
  return data;
}

export const info = () => call('GET', '/v1/info');
export const listCredentials = () => call('GET', '/v1/credentials');
export const getCredential = (name) => call('GET', `/v1/credentials/${encodeURIComponent(name)}`);
export const putCredential = (name, bodyText) =>
  call('PUT', `/v1/credentials/${encodeURIComponent(name)}`, bodyText);
export const deleteCredential = (name) =>
  call('DELETE', `/v1/credentials/${encodeURIComponent(name)}`);

// Every failure in words a person can act on.
export function describeError (e) {
  if (!(e instanceof ApiError)) return format(_('Something went wrong: %s'), String(e && e.message));
  switch (e.status) {
    case 0:
      return _('The agent cannot be reached. Check that it is running and that this page’s address is right, then try again.');
    case 401:
      return _('The access token was not accepted: it is wrong, expired or revoked. Ask the agent’s admin for a new one (credgatectl token create).');
    case 413:
      return _('That is too large for the agent. Shorten the value or the file.');
    case 429:
      return _('Too many failed attempts. Wait a minute and try again.');
    case 503:
      if (e.code === 'secret_store_locked') {
        return _('The agent’s secret store (its keyring) is locked, so nothing can be sealed. Ask the admin to unlock it; nothing was stored.');
      }
      if (e.code === 'cluster_unavailable') {
        return _('The cluster cannot accept changes right now: its etcd store has no quorum or cannot be reached. Nothing was changed, and reading credentials still works. Try again shortly.');
      }
      if (e.code === 'audit_unavailable') {
        return _('The agent cannot write its audit log, so it refuses changes. Tell the agent’s admin.');
      }
      return _('The agent’s secret store is not available. Tell the agent’s admin; nothing was stored.');
    default:
      return format(_('The agent refused the request: %s'), e.message);
  }
}
