// topology.js draws the cluster: every client, grouped by datacenter, as a
// panel sized by its memory and cpu, with its allocations inside in
// proportion to their reservations, coloured by job, and the unused
// capacity left empty; a client with devices says how many its
// allocations hold.
import { enc, get, watch } from './api.js';
import { errorBox, fill, h, mhz, mib, shortID, uiPath } from './dom.js';
import { allocDevices, allocReservation, live, nodeCapacity, nodeDevices } from './resources.js';

/** jobColour gives every job a stable colour. */
export function jobColour(jobID) {
  let hash = 0;
  for (const ch of jobID) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 65% 48%)`;
}

function row(label, allocs, key, capacity, unit) {
  const used = allocs.reduce((n, a) => n + a.res[key], 0);
  return h('div', { class: 'topo-row' },
    h('span', { class: 'topo-label' }, label),
    h('div', { class: 'topo-track', title: `${unit(used)} of ${unit(capacity)} reserved` },
      allocs.map((a) => h('a', {
        class: 'topo-alloc', href: uiPath('allocations', a.ID),
        style: { flexBasis: `${capacity ? (a.res[key] / capacity) * 100 : 0}%`, background: jobColour(a.JobID) },
        title: `${a.JobID} / ${a.TaskGroup} (${shortID(a.ID)}): ${unit(a.res[key])}`,
        'aria-label': `Allocation ${shortID(a.ID)} of job ${a.JobID}, ${unit(a.res[key])} ${label}`,
      })),
      h('span', { class: 'topo-free', style: { flexGrow: 1 } })),
    h('span', { class: 'topo-num' }, `${capacity ? Math.round((used / capacity) * 100) : 0}%`));
}

function panel(node, allocs, maxMem) {
  const cap = nodeCapacity(node);
  const width = maxMem ? Math.max(35, (cap.mem / maxMem) * 100) : 100;
  const devices = nodeDevices(node).length;
  const held = allocs.reduce((n, a) => n + a.devices.length, 0);
  const deviceNote = devices ? ` · ${held}/${devices} devices in use` : '';
  return h('section', { class: 'topo-node', style: { flexBasis: `calc(${width}% - 1rem)` }, 'aria-label': `Client ${node.Name}` },
    h('h2', {}, h('a', { href: uiPath('clients', node.ID) }, node.Name || shortID(node.ID)),
      h('span', { class: 'muted small' }, ` ${node.Datacenter} · ${mib(cap.mem)} · ${mhz(cap.cpu)} · ${allocs.length} allocs${deviceNote}`)),
    row('memory', allocs, 'mem', cap.mem, mib),
    row('cpu', allocs, 'cpu', cap.cpu, mhz));
}

function totalsBar(nodes, allocs) {
  let cpu = 0;
  let mem = 0;
  for (const n of nodes) { const c = nodeCapacity(n); cpu += c.cpu; mem += c.mem; }
  const rcpu = allocs.reduce((s, a) => s + a.res.cpu, 0);
  const rmem = allocs.reduce((s, a) => s + a.res.mem, 0);
  const pct = (a, b) => (b ? `${Math.round((a / b) * 100)}%` : '0%');
  const stat = (label, value, sub) => h('div', { class: 'stat' }, h('span', { class: 'muted small' }, label), h('strong', {}, value), sub ? h('span', { class: 'muted small' }, sub) : null);
  return h('div', { class: 'stats' },
    stat('Clients', nodes.length, `${nodes.filter((n) => n.Status === 'ready').length} ready`),
    stat('Allocations', allocs.length, 'running or pending'),
    stat('Memory reserved', pct(rmem, mem), `${mib(rmem)} of ${mib(mem)}`),
    stat('CPU reserved', pct(rcpu, cpu), `${mhz(rcpu)} of ${mhz(cpu)}`));
}

/** topologyView renders the cluster topology into root. */
export function topologyView(root, _params, ctx) {
  const summary = h('div', {});
  const board = h('div', { class: 'topo' }, h('p', { class: 'muted' }, 'Loading the cluster…'));
  const legend = h('ul', { class: 'legend jobs' });
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Topology')), summary, legend, board);
  let nodes = null;
  let allocs = null;
  const full = new Map(); // id → fetched details, for list entries without resources
  const draw = () => {
    if (!nodes || !allocs) return;
    const placed = allocs.filter((a) => a.res);
    const maxMem = Math.max(0, ...nodes.map((n) => nodeCapacity(n).mem));
    fill(summary, totalsBar(nodes, placed));
    fill(legend, [...new Set(placed.map((a) => a.JobID))].sort().map((j) =>
      h('li', {}, h('span', { class: 'swatch', style: { background: jobColour(j) } }), h('a', { href: uiPath('jobs', j) }, j))));
    if (!nodes.length) { fill(board, h('p', { class: 'empty' }, 'No clients have registered yet.')); return; }
    const byDC = Map.groupBy(nodes.slice().sort((a, b) => (a.Name || '').localeCompare(b.Name || '')), (n) => n.Datacenter || '');
    fill(board, [...byDC.keys()].sort().flatMap((dc) => [
      h('h2', { class: 'topo-dc' }, `Datacenter ${dc}`, h('span', { class: 'muted small' }, ` · ${byDC.get(dc).length} clients`)),
      ...byDC.get(dc).map((n) => panel(n, placed.filter((a) => a.NodeID === n.ID), maxMem)),
    ]));
  };
  const details = async (path, id, stamp) => {
    const key = `${id}@${stamp}`;
    if (!full.has(key)) full.set(key, get(path, { signal: ctx.signal }).catch(() => null));
    return full.get(key);
  };
  const seq = { nodes: 0, allocs: 0 }; // drop answers overtaken by newer ones
  watch('/v1/nodes?resources=true', async (list) => {
    const mine = ++seq.nodes;
    const got = await Promise.all((list || []).map(async (n) => (n.NodeResources ? n : (await details(`/v1/node/${enc(n.ID)}`, n.ID, n.ModifyIndex)) || n)));
    if (mine !== seq.nodes) return;
    nodes = got;
    draw();
  }, { signal: ctx.signal, onError: (e) => { if (!nodes) fill(board, errorBox(e.describe('Loading clients'))); } });
  watch('/v1/allocations?resources=true&namespace=*', async (list) => {
    const mine = ++seq.allocs;
    const got = await Promise.all((list || []).filter(live).map(async (a) => {
      const src = a.AllocatedResources ? a : (await details(`/v1/allocation/${enc(a.ID)}`, a.ID, 0)) || a;
      return { ...a, res: allocReservation(src), devices: allocDevices(src) };
    }));
    if (mine !== seq.allocs) return;
    allocs = got;
    draw();
  }, { signal: ctx.signal, onError: (e) => { if (!allocs) fill(board, errorBox(e.describe('Loading allocations'))); } });
}
