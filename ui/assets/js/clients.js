// clients.js holds the clients list and the client page: status,
// eligibility, drain, drivers, resources and allocations, with the
// eligibility and drain actions.
import { enc, put, watch } from './api.js';
import { allocTable } from './allocs.js';
import { badge, bar, busy, dl, errorBox, fill, h, mhz, mib, notice, section, shortID, table, timeEl, uiPath } from './dom.js';
import { allocDevices, allocReservation, attrText, live, nodeCapacity, nodeDevices } from './resources.js';

const eligibility = (n) => badge(n.SchedulingEligibility || 'unknown');
const drain = (n) => (n.Drain ? badge('draining') : h('span', { class: 'muted' }, 'no'));

function driverSummary(drivers) {
  const list = Object.entries(drivers || {}).filter(([, d]) => d.Detected).map(([name, d]) =>
    h('span', { class: `chip ${d.Healthy ? 'ok' : 'bad'}`, title: d.HealthDescription || '' }, name));
  return list.length ? list : h('span', { class: 'muted' }, 'none');
}

/** clientsView renders the clients list into root. */
export function clientsView(root, _params, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading clients…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Clients')), list);
  let nodes = null;
  let counts = new Map();
  const draw = () => {
    if (!nodes) return;
    fill(list, table([
      ['Name', (n) => h('a', { href: uiPath('clients', n.ID) }, n.Name || shortID(n.ID))],
      ['ID', (n) => h('span', { class: 'mono', title: n.ID }, shortID(n.ID)), 'hide-sm'],
      ['Status', (n) => badge(n.Status)],
      ['Eligibility', eligibility],
      ['Drain', drain],
      ['Datacenter', (n) => n.Datacenter],
      ['Class', (n) => n.NodeClass || h('span', { class: 'muted' }, '–'), 'hide-sm'],
      ['Address', (n) => n.Address, 'mono hide-sm'],
      ['Allocations', (n) => {
        const c = counts.get(n.ID) || { running: 0, total: 0 };
        return `${c.running} running / ${c.total}`;
      }],
      ['Drivers', (n) => driverSummary(n.Drivers), 'hide-sm'],
    ], nodes.slice().sort((a, b) => (a.Name || '').localeCompare(b.Name || '')), 'No clients have registered yet.', 'Clients'));
  };
  watch('/v1/nodes', (data) => { nodes = data || []; draw(); }, {
    signal: ctx.signal, onError: (e) => { if (!nodes) fill(list, errorBox(e.describe('Loading clients'))); },
  });
  watch('/v1/allocations?namespace=*', (allocs) => {
    counts = new Map();
    for (const a of allocs || []) {
      const c = counts.get(a.NodeID) || { running: 0, total: 0 };
      c.total++;
      if (a.ClientStatus === 'running') c.running++;
      counts.set(a.NodeID, c);
    }
    draw();
  }, { signal: ctx.signal });
}

function nodeActions(node) {
  const eligible = node.SchedulingEligibility === 'eligible';
  const elig = h('button', { class: 'btn', onclick: () => busy(elig, async () => {
    await put(`/v1/node/${enc(node.ID)}/eligibility`, { NodeID: node.ID, Eligibility: eligible ? 'ineligible' : 'eligible' });
    notice(`Client marked ${eligible ? 'ineligible' : 'eligible'}.`);
  }, 'Changing eligibility') }, eligible ? 'Mark ineligible' : 'Mark eligible');
  const drainBtn = h('button', { class: 'btn', onclick: () => busy(drainBtn, async () => {
    const body = node.Drain
      ? { NodeID: node.ID, DrainSpec: null, MarkEligible: true }
      : { NodeID: node.ID, DrainSpec: { Deadline: 3600e9, IgnoreSystemJobs: false }, MarkEligible: false };
    await put(`/v1/node/${enc(node.ID)}/drain`, body);
    notice(node.Drain ? 'Drain stopped.' : 'Drain started (deadline 1h).');
  }, node.Drain ? 'Stopping the drain' : 'Draining the client') }, node.Drain ? 'Stop drain' : 'Drain');
  return h('div', { class: 'actions' }, elig, drainBtn);
}

function nodeDetails(node) {
  const cap = nodeCapacity(node);
  const attrs = Object.entries(node.Attributes || {}).sort(([a], [b]) => a.localeCompare(b));
  return [
    h('div', { class: 'page-head' }, h('h1', {}, `Client ${node.Name || shortID(node.ID)}`), badge(node.Status), nodeActions(node)),
    dl([
      ['ID', h('span', { class: 'mono' }, node.ID)], ['Address', node.HTTPAddr || node.Address], ['Datacenter', node.Datacenter],
      ['Class', node.NodeClass || '–'], ['Node pool', node.NodePool], ['Eligibility', eligibility(node)], ['Drain', drain(node)],
      ['CPU', mhz(cap.cpu)], ['Memory', mib(cap.mem)], ['Disk', node.NodeResources?.Disk?.DiskMB ? mib(node.NodeResources.Disk.DiskMB) : '–'],
      ['Status changed', timeEl(node.StatusUpdatedAt ? node.StatusUpdatedAt * 1e9 : null)],
    ]),
    section('Drivers', table([
      ['Driver', ([n]) => n],
      ['Detected', ([, d]) => (d.Detected ? 'yes' : 'no')],
      ['Health', ([, d]) => badge(d.Healthy ? 'healthy' : 'unhealthy')],
      ['Description', ([, d]) => d.HealthDescription || '', 'hide-sm'],
      ['Updated', ([, d]) => timeEl(d.UpdateTime), 'hide-sm'],
    ], Object.entries(node.Drivers || {}).sort(([a], [b]) => a.localeCompare(b)), 'No drivers reported.', 'Drivers')),
    devicesSection(node),
    section('Host volumes', table([
      ['Volume', ([n]) => n],
      ['Path', ([, v]) => v.Path, 'mono'],
      ['Access', ([, v]) => (v.ReadOnly ? 'read-only' : 'read-write')],
    ], Object.entries(node.HostVolumes || {}).sort(([a], [b]) => a.localeCompare(b)), 'No host volumes.', 'Host volumes')),
    section('Attributes', h('details', {}, h('summary', {}, `${attrs.length} attributes`),
      table([['Name', ([k]) => k, 'mono'], ['Value', ([, v]) => v, 'mono']], attrs, 'No attributes.', 'Attributes'))),
  ];
}

/** devicesSection lists the client's device instances, their health and their group's attributes. */
function devicesSection(node) {
  const devs = nodeDevices(node);
  const attrs = (d) => Object.entries(d.attrs).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${attrText(v)}`).join(' · ');
  return section('Devices', table([
    ['Device', (d) => d.group, 'mono'],
    ['ID', (d) => d.id, 'mono'],
    ['Health', (d) => h('span', { title: d.why }, badge(d.healthy ? 'healthy' : 'unhealthy'))],
    ['PCI bus', (d) => d.bus || '–', 'mono hide-sm'],
    ['Attributes', attrs, 'small hide-sm'],
  ], devs, 'No devices fingerprinted.', 'Devices'));
}

/** usageView compares what the client's live allocations reserve with what it offers. */
function usageView(node, allocs) {
  const cap = nodeCapacity(node);
  const reserved = allocs.filter(live).map(allocReservation).filter(Boolean)
    .reduce((sum, r) => ({ cpu: sum.cpu + r.cpu, mem: sum.mem + r.mem }), { cpu: 0, mem: 0 });
  const row = (label, used, total, unit) => h('div', { class: 'usage' }, h('span', { class: 'topo-label' }, label),
    bar(used, total, `${label} reserved`), h('span', { class: 'usage-num' }, `${unit(used)} of ${unit(total)}`));
  const rows = [row('CPU', reserved.cpu, cap.cpu, mhz), row('Memory', reserved.mem, cap.mem, mib)];
  const devices = nodeDevices(node).length;
  if (devices) {
    const held = allocs.filter(live).reduce((n, a) => n + allocDevices(a).length, 0);
    rows.push(row('Devices', held, devices, (n) => `${n}`));
  }
  return rows;
}

/** clientView renders the page of one client into root. */
export function clientView(root, [id], ctx) {
  const details = h('div', {}, h('div', { class: 'page-head' }, h('h1', {}, `Client ${shortID(id)}`)));
  const allocs = h('div', {}, h('p', { class: 'muted' }, 'Loading allocations…'));
  const usage = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  fill(root, h('p', { class: 'crumbs' }, h('a', { href: '/ui/clients' }, 'Clients'), ' / ', shortID(id)),
    details, section('Reserved resources', usage), section('Allocations', allocs));
  const state = { node: null, allocs: null };
  const drawUsage = () => { if (state.node && state.allocs) fill(usage, usageView(state.node, state.allocs)); };
  watch(`/v1/node/${enc(id)}`, (node) => {
    const open = details.querySelector('details')?.open || false;
    state.node = node;
    fill(details, nodeDetails(node));
    if (open) details.querySelector('details').open = true;
    drawUsage();
  }, { signal: ctx.signal, onError: (e) => fill(details, h('h1', {}, `Client ${shortID(id)}`),
    errorBox(e.status === 404 ? `Client ${id} was not found.` : e.describe('Loading the client'))) });
  watch(`/v1/node/${enc(id)}/allocations`, (list) => {
    state.allocs = list || [];
    fill(allocs, allocTable(state.allocs, { job: true, node: false, empty: 'No allocations on this client.' }));
    drawUsage();
  },
    { signal: ctx.signal, onError: (e) => fill(allocs, errorBox(e.describe('Loading allocations'))) });
}
