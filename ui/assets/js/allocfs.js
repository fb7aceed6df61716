// allocfs.js shows an allocation's logs (followed live) and the files of
// its allocation directory, through the client fs API.
import { APIError, authHeaders, enc, get, sleep } from './api.js';
import { bytes, emptyState, errorBox, fill, h, section, table, timeEl } from './dom.js';

const maxLog = 256 * 1024; // characters of log kept on the page

function taskNames(alloc) {
  const names = new Set(Object.keys(alloc.TaskStates || {}));
  const group = alloc.Job?.TaskGroups?.find((g) => g.Name === alloc.TaskGroup);
  for (const t of group?.Tasks || []) names.add(t.Name);
  return [...names].sort();
}

/**
 * followLog streams one log into out from byte offset 0, following it;
 * when the stream ends or fails it resumes from the bytes already shown,
 * with backoff, until signal aborts.
 */
async function followLog(id, task, type, out, status, signal) {
  let offset = 0;
  let failures = 0;
  const decoder = new TextDecoder();
  while (!signal.aborted) {
    const url = `/v1/client/fs/logs/${enc(id)}?task=${enc(task)}&type=${type}&plain=true&follow=true&origin=start&offset=${offset}`;
    try {
      const res = await fetch(url, { signal, headers: authHeaders() });
      if (!res.ok) throw new APIError(res.status, (await res.text()).trim() || res.statusText, url);
      status.textContent = 'Following';
      failures = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        offset += value.length;
        appendLog(out, decoder.decode(value, { stream: true }));
      }
      status.textContent = 'Stream ended; waiting for more…';
    } catch (err) {
      if (signal.aborted) return;
      failures++;
      status.textContent = err instanceof APIError ? err.describe('Logs') : `Reconnecting to the log stream (${err.message})…`;
    }
    await sleep(Math.min(5000, 250 * 2 ** failures), signal);
  }
}

function appendLog(out, text) {
  if (!text) return;
  const atBottom = out.scrollHeight - out.scrollTop - out.clientHeight < 24;
  out.append(text);
  if (out.textContent.length > maxLog) out.textContent = out.textContent.slice(-maxLog);
  if (atBottom) out.scrollTop = out.scrollHeight;
}

/** logsTab shows the stdout or stderr of one task, following it live. */
export function logsTab(body, id, ctx, state) {
  const out = h('pre', { class: 'log', tabindex: 0, 'aria-label': 'Task log', 'aria-live': 'off' });
  const status = h('span', { class: 'muted small', role: 'status' }, 'Connecting…');
  const controls = h('div', { class: 'filters' });
  fill(body, section('Logs', controls, out));
  let stream = null;
  let choice = { task: ctx.query.get('task') || '', type: ctx.query.get('type') === 'stderr' ? 'stderr' : 'stdout' };
  const start = () => {
    stream?.abort();
    stream = new AbortController();
    ctx.signal.addEventListener('abort', () => stream.abort(), { once: true });
    out.textContent = '';
    status.textContent = 'Connecting…';
    followLog(id, choice.task, choice.type, out, status, stream.signal);
  };
  state.draw = () => {
    if (controls.childNodes.length || !state.alloc) return;
    const names = taskNames(state.alloc);
    if (!names.length) { fill(body, section('Logs', emptyState('This allocation has no tasks.'))); return; }
    if (!names.includes(choice.task)) choice.task = names[0];
    const select = h('select', { 'aria-label': 'Task', onchange: (e) => { choice.task = e.target.value; start(); } },
      names.map((n) => h('option', { value: n, selected: n === choice.task }, n)));
    const typeBtn = (t) => h('button', { class: 'btn small', 'aria-pressed': String(choice.type === t), onclick: (e) => {
      choice.type = t;
      for (const b of controls.querySelectorAll('button[aria-pressed]')) b.setAttribute('aria-pressed', String(b === e.target));
      start();
    } }, t);
    fill(controls, h('label', {}, 'Task ', select), typeBtn('stdout'), typeBtn('stderr'), status);
    start();
  };
  state.draw();
}

/** filesTab browses the allocation directory and shows a file's contents. */
export function filesTab(body, id, ctx) {
  const listing = h('div', {}, h('p', { class: 'muted' }, 'Loading files…'));
  const viewer = h('div', {});
  fill(body, section('Files', listing, viewer));
  const open = async (path) => {
    fill(viewer);
    try {
      const entries = await get(`/v1/client/fs/ls/${enc(id)}?path=${enc(path)}`, { signal: ctx.signal });
      const parent = path.replace(/\/[^/]*\/?$/, '') || '/';
      fill(listing,
        h('p', { class: 'mono crumbs' }, `alloc dir: ${path}`),
        path !== '/' ? h('button', { class: 'btn small', onclick: () => open(parent) }, '.. (up)') : null,
        table([
          ['Name', (e) => h('button', { class: 'link mono', onclick: () => (e.IsDir ? open(join(path, e.Name)) : cat(join(path, e.Name), e)) },
            e.IsDir ? `${e.Name}/` : e.Name)],
          ['Size', (e) => (e.IsDir ? '–' : bytes(e.Size)), 'num'],
          ['Mode', (e) => e.FileMode, 'mono hide-sm'],
          ['Modified', (e) => timeEl(e.ModTime), 'hide-sm'],
        ], (entries || []).sort((a, b) => (b.IsDir - a.IsDir) || a.Name.localeCompare(b.Name)), 'This directory is empty.', 'Files'));
    } catch (err) {
      if (err.name !== 'AbortError') fill(listing, errorBox(err.describe ? err.describe(`Listing ${path}`) : err.message));
    }
  };
  const cat = async (path, entry) => {
    const url = `/v1/client/fs/cat/${enc(id)}?path=${enc(path)}`;
    const download = h('a', { href: url, download: path.split('/').pop(), class: 'btn small' }, 'Download');
    if (entry.Size > maxLog) {
      fill(viewer, h('h3', { class: 'mono' }, path), h('p', { class: 'muted' }, `This file is ${bytes(entry.Size)}: too large to show here. `), download);
      return;
    }
    try {
      const text = await get(url, { signal: ctx.signal });
      fill(viewer, h('h3', { class: 'mono' }, path, ' ', download),
        h('pre', { class: 'code', tabindex: 0 }, typeof text === 'string' ? text : JSON.stringify(text, null, 2)));
    } catch (err) {
      if (err.name !== 'AbortError') fill(viewer, errorBox(err.describe ? err.describe(`Reading ${path}`) : err.message));
    }
  };
  open(ctx.query.get('path') || '/');
}

const join = (dir, name) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);
