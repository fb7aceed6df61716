// storage.js holds the Storage view: every client's host volumes (those
// of its configuration and the dynamic ones `volume create` made), with
// their paths and modes, and the live allocations that mount each one.
import { enc, get, watch } from './api.js';
import { badge, errorBox, fill, h, section, shortID, table, uiPath } from './dom.js';
import { live } from './resources.js';

/** mountsOf lists the host volumes an allocation's group mounts: [{source, readOnly}]. */
function mountsOf(alloc) {
  const group = (alloc.Job?.TaskGroups || []).find((g) => g.Name === alloc.TaskGroup);
  return Object.values(group?.Volumes || {}).filter((v) => v.Type === 'host').map((v) => ({ source: v.Source, readOnly: !!v.ReadOnly }));
}

/** volumeRows lists one row per host volume of every node, with the allocations using it. */
function volumeRows(nodes, allocs) {
  const rows = [];
  for (const n of nodes) {
    for (const [name, v] of Object.entries(n.HostVolumes || {})) {
      const users = allocs.filter((a) => a.NodeID === n.ID && a.mounts.some((m) => m.source === name));
      rows.push({ node: n, name, path: v.Path, readOnly: v.ReadOnly, id: v.ID || '', users });
    }
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name) || (a.node.Name || '').localeCompare(b.node.Name || ''));
}

/** storageView renders the Storage section into root. */
export function storageView(root, _params, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading host volumes…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Storage')),
    section('Host volumes', h('p', { class: 'muted small' }, 'Directories each client offers (host_volume blocks, and volumes made with roam volume create), and the allocations that mount them.'), list));
  let nodes = null;
  let allocs = null;
  const cache = new Map(); // "id@index" → fetched details
  const details = (path, key) => {
    if (!cache.has(key)) cache.set(key, get(path, { signal: ctx.signal }).catch(() => null));
    return cache.get(key);
  };
  const draw = () => {
    if (!nodes || !allocs) return;
    fill(list, table([
      ['Volume', (r) => h('strong', {}, r.name)],
      ['Client', (r) => h('a', { href: uiPath('clients', r.node.ID) }, r.node.Name || shortID(r.node.ID))],
      ['Kind', (r) => (r.id ? h('span', { title: r.id }, `dynamic ${shortID(r.id)}`) : 'static'), 'hide-sm'],
      ['Path', (r) => r.path, 'mono'],
      ['Access', (r) => badge(r.readOnly ? 'read-only' : 'read-write', r.readOnly ? 'muted' : 'ok')],
      ['Allocations', (r) => (r.users.length ? r.users.map((a) => h('a', { class: 'chip', href: uiPath('allocations', a.ID), title: `${a.JobID} / ${a.TaskGroup}` },
        `${a.JobID} ${shortID(a.ID)}${a.mounts.find((m) => m.source === r.name)?.readOnly ? ' (ro)' : ''}`)) : h('span', { class: 'muted' }, 'none'))],
    ], volumeRows(nodes, allocs), 'No client offers a host volume. Add a host_volume block to a client\'s configuration.', 'Host volumes'));
  };
  const seq = { nodes: 0, allocs: 0 }; // drop answers overtaken by newer ones
  watch('/v1/nodes', async (stubs) => {
    const mine = ++seq.nodes;
    const got = await Promise.all((stubs || []).map((n) => details(`/v1/node/${enc(n.ID)}`, `${n.ID}@${n.ModifyIndex}`)));
    if (mine !== seq.nodes) return;
    nodes = got.filter(Boolean);
    draw();
  }, { signal: ctx.signal, onError: (e) => { if (!nodes) fill(list, errorBox(e.describe('Loading clients'))); } });
  watch('/v1/allocations?namespace=*', async (stubs) => {
    const mine = ++seq.allocs;
    const got = await Promise.all((stubs || []).filter(live).map(async (a) => {
      const full = await details(`/v1/allocation/${enc(a.ID)}?namespace=${enc(a.Namespace || 'default')}`, `${a.ID}@${a.AllocModifyIndex ?? a.ModifyIndex}`);
      return { ...a, mounts: full ? mountsOf(full) : [] };
    }));
    if (mine !== seq.allocs) return;
    allocs = got;
    draw();
  }, { signal: ctx.signal, onError: (e) => { if (!allocs) fill(list, errorBox(e.describe('Loading allocations'))); } });
}
