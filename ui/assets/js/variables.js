// variables.js holds the Variables section: the list of the variables the
// token may list, one variable's items, and a form that creates or edits
// a variable (check-and-set against the version it was read at) or
// deletes it. The agent enforces the ACL; a refusal shows its message.
import { del, enc, get, put, watch } from './api.js';
import { busy, confirmDialog, dl, errorBox, fill, h, notice, section, table, timeEl } from './dom.js';

const varPath = (path, ns) => `/ui/variables/${enc(ns || 'default')}/${path.split('/').map(enc).join('/')}`;
const varAPI = (path, ns, q = '') => `/v1/var/${path.split('/').map(enc).join('/')}?namespace=${enc(ns || 'default')}${q}`;

/** variablesView lists every namespace's variables. */
export function variablesView(root, _params, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading variables…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Variables'),
    h('a', { class: 'btn primary', href: '/ui/variables/new' }, 'Create variable')),
  section('Variables', list));
  watch('/v1/vars?namespace=*', (vars) => {
    fill(list, table([
      ['Path', (v) => h('a', { href: varPath(v.Path, v.Namespace) }, v.Path), 'mono'],
      ['Namespace', (v) => v.Namespace],
      ['Last updated', (v) => timeEl(v.ModifyTime)],
    ], vars || [], 'No variables. Create one, or sign in with a token that may list them.', 'Variables'));
  }, { signal: ctx.signal, onError: (e) => fill(list, errorBox(e.describe('Loading variables'))) });
}

/** variableView shows one variable (params: namespace, path...). */
export function variableView(root, params, ctx) {
  const [ns, ...rest] = params[0].split('/');
  const path = rest.join('/');
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading the variable…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, path)), body);
  get(varAPI(path, ns), { signal: ctx.signal }).then((v) => {
    const items = Object.entries(v.Items || {}).sort(([a], [b]) => a.localeCompare(b));
    const remove = h('button', { class: 'btn danger', type: 'button' }, 'Delete');
    remove.addEventListener('click', async () => {
      if (!await confirmDialog('Delete variable', `Delete ${path} in ${ns} for good?`, 'Delete')) return;
      const done = await busy(remove, () => del(varAPI(path, ns, `&cas=${v.ModifyIndex}`)).then(() => true), 'Deleting the variable');
      if (done) { notice(`Deleted ${path}`); ctx.navigate('/ui/variables'); }
    });
    fill(body,
      section('Variable', dl([['Namespace', v.Namespace], ['Path', v.Path], ['Check index', String(v.ModifyIndex)],
        ['Last updated', timeEl(v.ModifyTime)], v.Lock ? ['Lock', `held (TTL ${v.Lock.TTL})`] : null])),
      section('Items', table([['Key', ([k]) => k, 'mono'], ['Value', ([, val]) => val, 'mono']], items, 'No items.', 'Items')),
      h('div', { class: 'actions' }, editForm(v, ctx), remove));
  }).catch((e) => fill(body, errorBox(e.describe ? e.describe('Loading the variable') : e.message)));
}

/** newVariableView is the form that creates a variable. */
export function newVariableView(root, _params, ctx) {
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Create variable')), editForm(null, ctx));
}

/** editForm edits v's items (a new variable when v is null). */
function editForm(v, ctx) {
  const rows = h('div', { class: 'kv-rows' });
  const addRow = (k = '', val = '') => rows.append(h('div', { class: 'kv' },
    h('input', { 'aria-label': 'Key', class: 'key', value: k, placeholder: 'key' }),
    h('input', { 'aria-label': 'Value', class: 'value', value: val, placeholder: 'value' })));
  for (const [k, val] of Object.entries(v?.Items || {})) addRow(k, val);
  if (!v) addRow();
  const pathInput = v ? null : h('input', { 'aria-label': 'Path', name: 'path', placeholder: 'path/to/variable', required: true });
  const nsInput = v ? null : h('input', { 'aria-label': 'Namespace', name: 'namespace', value: 'default' });
  const more = h('button', { class: 'btn', type: 'button' }, 'Add item');
  more.addEventListener('click', () => addRow());
  const save = h('button', { class: 'btn primary', type: 'submit' }, v ? 'Save' : 'Create');
  const form = h('form', { class: 'var-form card' }, h('h2', {}, v ? 'Edit items' : 'New variable'),
    pathInput ? h('label', {}, 'Path ', pathInput) : null, nsInput ? h('label', {}, 'Namespace ', nsInput) : null,
    rows, h('div', { class: 'actions' }, more, save));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const items = {};
    for (const row of rows.querySelectorAll('.kv')) {
      const k = row.querySelector('.key').value.trim();
      if (k) items[k] = row.querySelector('.value').value;
    }
    const path = v ? v.Path : pathInput.value.trim();
    const ns = v ? v.Namespace : nsInput.value.trim() || 'default';
    const cas = `&cas=${v ? v.ModifyIndex : 0}`;
    const saved = await busy(save, () => put(varAPI(path, ns, cas), { Namespace: ns, Path: path, Items: items }), 'Saving the variable');
    if (saved) { notice(`Saved ${path}`); ctx.navigate(varPath(path, ns)); }
  });
  return form;
}
