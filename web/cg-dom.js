// SPDX-License-Identifier: LGPL-2.1-or-later
// Building the DOM: text goes in as text nodes or textContent, never as
// HTML, so a credential's name or property can never become markup.

// h('button', {type: 'button', onclick: f, 'aria-label': x}, 'text', child…)
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c !== undefined && c !== null && c !== false) el.append(c); // strings become text nodes
  }
  return el;
}

export function clear (el) {
  el.replaceChildren();
  return el;
}

let nextId = 0;
export const uid = (prefix) => `${prefix}-${++nextId}`;
