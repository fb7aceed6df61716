// diff.js shows what changed in a job: Nomad's structured JobDiff (from a
// plan) and a generic comparison of two job versions.
import { emptyState, h } from './dom.js';

const marks = { Added: '+', Deleted: '-', Edited: '~', None: ' ' };
const tone = (type) => ({ Added: 'add', Deleted: 'del', Edited: 'edit' }[type] || 'none');

function fieldLine(f) {
  const mark = marks[f.Type] || ' ';
  let value = f.New;
  if (f.Type === 'Edited') value = `${JSON.stringify(f.Old)} => ${JSON.stringify(f.New)}`;
  else if (f.Type === 'Deleted') value = JSON.stringify(f.Old);
  else value = JSON.stringify(f.New);
  const notes = f.Annotations?.length ? ` (${f.Annotations.join(', ')})` : '';
  return h('div', { class: `d ${tone(f.Type)}` }, `${mark} ${f.Name}: ${value}${notes}`);
}

function objectBlock(o) {
  return h('div', { class: `d ${tone(o.Type)}` }, `${marks[o.Type] || ' '} ${o.Name} {`,
    h('div', { class: 'in' }, changed(o.Fields).map(fieldLine), changed(o.Objects).map(objectBlock)), '}');
}

const changed = (list) => (list || []).filter((x) => x.Type !== 'None');

/**
 * jobDiffView renders an api.JobDiff, showing only what changed. A new
 * job's every field is "added", so its fields start folded away.
 */
export function jobDiffView(diff) {
  if (!diff || diff.Type === 'None') return emptyState('No changes to the job.');
  const tree = diffTree(diff);
  if (diff.Type !== 'Added') return tree;
  const groups = diff.TaskGroups || [];
  const tasks = groups.reduce((n, g) => n + (g.Tasks || []).length, 0);
  return h('details', { class: 'diff-new' },
    h('summary', {}, h('span', { class: 'mono add' }, `+ Job: "${diff.ID}"`),
      ` a new job with ${groups.length} task group${groups.length === 1 ? '' : 's'} and ${tasks} task${tasks === 1 ? '' : 's'}; show every field`),
    tree);
}

function diffTree(diff) {
  const groups = (diff.TaskGroups || []).filter((g) => g.Type !== 'None' || g.Updates);
  return h('div', { class: 'diff mono' },
    h('div', { class: `d ${tone(diff.Type)}` }, `${marks[diff.Type] || ' '} Job: "${diff.ID}"`),
    h('div', { class: 'in' },
      changed(diff.Fields).map(fieldLine),
      changed(diff.Objects).map(objectBlock),
      groups.map((g) => h('div', { class: `d ${tone(g.Type)}` },
        `${marks[g.Type] || ' '} Task Group: "${g.Name}"`,
        g.Updates ? h('span', { class: 'muted' }, ` (${Object.entries(g.Updates).map(([k, n]) => `${n} ${k}`).join(', ')})`) : null,
        h('div', { class: 'in' },
          changed(g.Fields).map(fieldLine),
          changed(g.Objects).map(objectBlock),
          (g.Tasks || []).filter((t) => t.Type !== 'None').map((t) => h('div', { class: `d ${tone(t.Type)}` },
            `${marks[t.Type] || ' '} Task: "${t.Name}"${t.Annotations?.length ? ` (${t.Annotations.join(', ')})` : ''}`,
            h('div', { class: 'in' }, changed(t.Fields).map(fieldLine), changed(t.Objects).map(objectBlock)))))))));
}

// Fields that change with every version whatever the person edited.
const bookkeeping = new Set(['Version', 'ModifyIndex', 'JobModifyIndex', 'CreateIndex', 'SubmitTime',
  'Status', 'StatusDescription', 'Stable', 'VersionTag']);

/** jsonChanges lists the leaf paths that differ between two values. */
export function jsonChanges(a, b, path = '', out = []) {
  if (a === b) return out;
  const isObj = (v) => v !== null && typeof v === 'object';
  if (!isObj(a) || !isObj(b) || Array.isArray(a) !== Array.isArray(b)) {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, old: a, new: b });
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (path === '' && bookkeeping.has(k)) continue;
    const label = Array.isArray(a) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    jsonChanges(a[k] ?? null, b[k] ?? null, label, out);
  }
  return out;
}

/** versionDiffView compares two job versions field by field. */
export function versionDiffView(older, newer) {
  const changes = jsonChanges(older, newer);
  if (!changes.length) return emptyState(`No differences between version ${older.Version} and version ${newer.Version}.`);
  const show = (v) => (v === null || v === undefined ? '' : JSON.stringify(v));
  return h('div', { class: 'diff mono' }, changes.map((c) => {
    if (c.old === null) return h('div', { class: 'd add' }, `+ ${c.path}: ${show(c.new)}`);
    if (c.new === null) return h('div', { class: 'd del' }, `- ${c.path}: ${show(c.old)}`);
    return h('div', { class: 'd edit' }, `~ ${c.path}: ${show(c.old)} => ${show(c.new)}`);
  }));
}
