// dom.js holds the small DOM and formatting helpers every view shares.

/** h builds an element: h('a', {href, class, onclick}, children...). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

/** append adds children (nodes, strings, numbers, arrays; null is skipped). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const focusKey = (n) => [n.tagName, n.getAttribute('href'), n.getAttribute('aria-label'), n.textContent].join('|');

/**
 * fill replaces the children of el. When focus was inside el, it goes back
 * to the matching new element, so live updates do not lose the keyboard.
 */
export function fill(el, ...children) {
  const active = document.activeElement;
  const key = active && active !== el && el.contains(active) ? focusKey(active) : null;
  el.replaceChildren();
  append(el, children);
  if (key) {
    const again = [...el.querySelectorAll(active.tagName)].find((n) => focusKey(n) === key);
    again?.focus({ preventScroll: true });
  }
  return el;
}

/** shortID is the first 8 characters of a UUID, as Nomad prints them. */
export const shortID = (id) => (id || '').slice(0, 8);

/** uiPath builds a UI URL from path segments, escaping each. */
export const uiPath = (...segs) => '/ui/' + segs.map(encodeURIComponent).join('/');

/** toDate turns Nomad's times (ns since epoch, or RFC 3339) into a Date or null. */
export function toDate(t) {
  if (!t) return null;
  if (typeof t === 'number') return t > 1e15 ? new Date(t / 1e6) : new Date(t);
  const d = new Date(t);
  return isNaN(d) || d.getFullYear() < 1971 ? null : d;
}

/** ago says how long ago t was, in the largest whole unit. */
export function ago(t) {
  const d = toDate(t);
  if (!d) return '–';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** timeEl is a <time> showing how long ago, with the exact time on hover. */
export function timeEl(t) {
  const d = toDate(t);
  if (!d) return h('span', { class: 'muted' }, '–');
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, ago(d));
}

/** bytes formats a byte count. */
export function bytes(n) {
  if (n == null || isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** mib formats a size given in MiB. */
export const mib = (n) => bytes((n || 0) * 1024 * 1024);

/** mhz formats a cpu amount given in MHz. */
export const mhz = (n) => (n >= 10000 ? `${(n / 1000).toFixed(1)} GHz` : `${Math.round(n || 0)} MHz`);

const tones = {
  running: 'ok', ready: 'ok', alive: 'ok', complete: 'done', successful: 'ok', eligible: 'ok', healthy: 'ok',
  pending: 'warn', starting: 'warn', queued: 'warn', blocked: 'warn', initializing: 'warn', draining: 'warn',
  failed: 'bad', lost: 'bad', down: 'bad', dead: 'muted', stop: 'muted', ineligible: 'warn', unhealthy: 'bad',
  canceled: 'muted', unknown: 'muted', left: 'muted', disconnected: 'bad',
};

/** badge is a coloured status label. */
export function badge(text, tone) {
  const t = String(text || 'unknown');
  return h('span', { class: `badge ${tone || tones[t.toLowerCase()] || 'muted'}` }, t);
}

/**
 * table renders rows as an accessible table: cols is a list of
 * [header, row => cell, className?]; empty is shown when rows is empty.
 */
export function table(cols, rows, empty, caption) {
  if (!rows.length) return emptyState(empty);
  return h('div', { class: 'table-wrap' }, h('table', {},
    caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, cols.map(([head, , cls]) => h('th', { scope: 'col', class: cls }, head)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map(([, cell, cls]) => h('td', { class: cls }, cell(r))))))));
}

/** emptyState is the message shown where a list has nothing in it. */
export const emptyState = (msg) => h('p', { class: 'empty' }, msg);

/** errorBox shows an error in the page flow. */
export const errorBox = (msg) => h('div', { class: 'error-box', role: 'alert' }, msg);

/** notice shows a transient message at the top of the page. */
export function notice(msg, tone = 'ok') {
  const box = document.getElementById('notices') || document.body.appendChild(
    h('div', { id: 'notices', class: 'notices', role: 'status', 'aria-live': 'polite' }));
  const n = h('div', { class: `notice ${tone}` }, msg);
  box.append(n);
  setTimeout(() => n.remove(), tone === 'bad' ? 8000 : 4000);
}

/**
 * confirmDialog asks a yes/no question in a modal <dialog> and resolves
 * to true when the person confirms.
 */
export function confirmDialog(title, text, action = 'Confirm') {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        h('p', {}, text),
        h('div', { class: 'actions' },
          h('button', { value: 'cancel', class: 'btn', autofocus: true }, 'Cancel'),
          h('button', { value: 'ok', class: 'btn danger' }, action))));
    dlg.addEventListener('close', () => { resolve(dlg.returnValue === 'ok'); dlg.remove(); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** bar is a horizontal usage bar of used out of total. */
export function bar(used, total, label) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return h('div', { class: 'bar', role: 'meter', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': total || 0, 'aria-valuenow': used || 0 },
    h('div', { class: `fill ${pct > 90 ? 'bad' : pct > 70 ? 'warn' : ''}`, style: { width: `${pct}%` } }));
}

/** section is a titled block of a page. */
export const section = (title, ...body) => h('section', { class: 'card' }, h('h2', {}, title), ...body);

/** dl renders [term, value] pairs as a definition list. */
export const dl = (pairs) => h('dl', { class: 'facts' },
  pairs.filter(Boolean).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === '' || v == null ? '–' : v)]));

/** busy disables a button while fn runs, and reports its failure. */
export async function busy(btn, fn, what) {
  btn.disabled = true;
  try {
    return await fn();
  } catch (err) {
    notice(err.describe ? err.describe(what) : `${what}: ${err.message}`, 'bad');
    return undefined;
  } finally {
    btn.disabled = false;
  }
}
