// alloc.js is the allocation page: its tasks with their states and events,
// resource use against the reservation, its cluster address and ingress
// routes, logs and files, and the restart and stop actions.
import { enc, put, watch } from './api.js';
import { allocStatus } from './allocs.js';
import { filesTab, logsTab } from './allocfs.js';
import { allocIngress } from './ingress.js';
import {
  badge, bar, busy, bytes, confirmDialog, dl, errorBox, fill, h, mhz, mib, notice, section, shortID, table, timeEl, uiPath,
} from './dom.js';

const tabs = [['overview', 'Overview'], ['logs', 'Logs'], ['files', 'Files']];

function actions(alloc) {
  const restart = h('button', { class: 'btn', onclick: () => busy(restart, async () => {
    await put(`/v1/client/allocation/${enc(alloc.ID)}/restart`, {});
    notice('Allocation restarting.');
  }, 'Restarting the allocation') }, 'Restart');
  const stop = h('button', { class: 'btn danger', onclick: async () => {
    if (!await confirmDialog(`Stop allocation ${shortID(alloc.ID)}?`, 'The scheduler will replace it if its job still wants it.', 'Stop allocation')) return;
    await busy(stop, async () => {
      await put(`/v1/allocation/${enc(alloc.ID)}/stop`, {});
      notice('Allocation stopping.');
    }, 'Stopping the allocation');
  } }, 'Stop');
  const live = alloc.ClientStatus === 'running' || alloc.ClientStatus === 'pending';
  return h('div', { class: 'actions' }, live ? restart : null, alloc.DesiredStatus === 'run' ? stop : null);
}

function header(alloc) {
  return [
    h('div', { class: 'page-head' }, h('h1', {}, `Allocation ${shortID(alloc.ID)}`), allocStatus(alloc), actions(alloc)),
    dl([
      ['Job', h('a', { href: uiPath('jobs', alloc.JobID) }, alloc.JobID)],
      ['Group', alloc.TaskGroup],
      ['Client', alloc.NodeID ? h('a', { href: uiPath('clients', alloc.NodeID) }, alloc.NodeName || shortID(alloc.NodeID)) : '–'],
      ['Desired', alloc.DesiredStatus + (alloc.DesiredDescription ? ` (${alloc.DesiredDescription})` : '')],
      ['Job version', alloc.JobVersion ?? alloc.Job?.Version],
      // The allocation's own address on a bridge network (on a cluster
      // network, reachable from every node).
      alloc.NetworkStatus?.Address ? ['Cluster address', h('span', { class: 'mono', 'data-field': 'cluster-address' }, alloc.NetworkStatus.Address)] : null,
      ['Created', timeEl(alloc.CreateTime)],
      ['Modified', timeEl(alloc.ModifyTime)],
      ['ID', h('span', { class: 'mono' }, alloc.ID)],
    ]),
    alloc.ClientDescription ? h('p', { class: 'muted' }, alloc.ClientDescription) : null,
  ];
}

function taskCard(name, st) {
  const events = (st?.Events || []).slice().reverse();
  return h('section', { class: 'card' },
    h('h3', {}, `Task ${name} `, badge(st?.State || 'pending'), st?.Failed ? badge('failed', 'bad') : null),
    dl([['Restarts', st?.Restarts ?? 0], ['Started', timeEl(st?.StartedAt)], ['Finished', timeEl(st?.FinishedAt)]]),
    table([
      ['Time', (e) => timeEl(e.Time)],
      ['Type', (e) => e.Type],
      ['Message', (e) => e.DisplayMessage || e.Message || ''],
    ], events, 'No events yet.', `Events of task ${name}`));
}

/** reservation returns the cpu (MHz) and memory (MiB) reserved for a task. */
export function reservation(alloc, task) {
  const r = alloc.AllocatedResources?.Tasks?.[task];
  if (r) return { cpu: r.Cpu?.CpuShares || 0, mem: r.Memory?.MemoryMB || 0 };
  const t = alloc.Job?.TaskGroups?.find((g) => g.Name === alloc.TaskGroup)?.Tasks?.find((x) => x.Name === task);
  return { cpu: t?.Resources?.CPU || 0, mem: t?.Resources?.MemoryMB || 0 };
}

function usageView(alloc, stats) {
  const names = Object.keys(alloc.TaskStates || {}).sort();
  return table([
    ['Task', (n) => n],
    ['CPU', (n) => {
      const used = stats?.Tasks?.[n]?.ResourceUsage?.CpuStats?.TotalTicks || 0;
      const res = reservation(alloc, n).cpu;
      return h('div', { class: 'usage' }, bar(used, res, `CPU of task ${n}`), h('span', { class: 'usage-num' }, `${mhz(used)} / ${mhz(res)}`));
    }],
    ['Memory', (n) => {
      const m = stats?.Tasks?.[n]?.ResourceUsage?.MemoryStats;
      const used = m ? (m.RSS || m.Usage || 0) : 0;
      const res = reservation(alloc, n).mem;
      return h('div', { class: 'usage' }, bar(used, res * 1048576, `Memory of task ${n}`), h('span', { class: 'usage-num' }, `${bytes(used)} / ${mib(res)}`));
    }],
  ], names, 'No tasks have started yet.', 'Resource use');
}

/** devicesView lists the allocation's devices with their summary statistic (a GPU's memory in use). */
function devicesView(alloc, stats) {
  const rows = [];
  for (const [task, r] of Object.entries(alloc.AllocatedResources?.Tasks || {})) {
    for (const d of r.Devices || []) {
      for (const id of d.DeviceIDs || []) rows.push({ task, group: `${d.Vendor}/${d.Type}/${d.Name}`, id, d });
    }
  }
  if (!rows.length) return null;
  const summary = (row) => {
    const g = (stats?.Tasks?.[row.task]?.ResourceUsage?.DeviceStats || []).find((s) => `${s.Vendor}/${s.Type}/${s.Name}` === row.group);
    const v = g?.InstanceStats?.[row.id]?.Summary;
    if (!v) return h('span', { class: 'muted' }, '–');
    const num = v.IntNumeratorVal ?? v.FloatNumeratorVal;
    const den = v.IntDenominatorVal ?? v.FloatDenominatorVal;
    return `${num}${den !== undefined ? ` / ${den}` : ''} ${v.Unit || ''}`.trim();
  };
  return section('Devices', table([
    ['Task', (r) => r.task], ['Device', (r) => r.group, 'mono'], ['ID', (r) => r.id, 'mono'], ['In use', summary],
  ], rows, '', 'Devices'));
}

function overviewTab(body, id, ctx, state) {
  const usage = h('div', {}, h('p', { class: 'muted' }, 'Waiting for resource statistics…'));
  const tasks = h('div', {});
  const devices = h('div', {});
  fill(body, section('Resource use', usage), devices, h('div', { class: 'tasks' }, tasks));
  let stats = null;
  let statsError = null;
  const draw = () => {
    const alloc = state.alloc;
    if (!alloc) return;
    fill(usage, usageView(alloc, stats), statsError ? h('p', { class: 'muted small' }, statsError.describe('Resource statistics')) : null);
    fill(devices, devicesView(alloc, stats));
    fill(tasks, Object.entries(alloc.TaskStates || {}).sort(([a], [b]) => a.localeCompare(b)).map(([n, st]) => taskCard(n, st)));
  };
  state.draw = draw;
  draw();
  watch(`/v1/client/allocation/${enc(id)}/stats`, (s) => { stats = s; statsError = null; draw(); }, {
    signal: ctx.signal, pollMs: 2000,
    onError: (err) => { statsError = err; stats = null; draw(); },
  });
}

/** allocView renders the page of one allocation into root. */
export function allocView(root, [id], ctx) {
  const tab = tabs.some(([t]) => t === ctx.query.get('tab')) ? ctx.query.get('tab') : 'overview';
  const head = h('div', {}, h('div', { class: 'page-head' }, h('h1', {}, `Allocation ${shortID(id)}`)));
  const body = h('div', {});
  const crumbs = h('p', { class: 'crumbs' }, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / allocation');
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Allocation sections' }, tabs.map(([t, label]) =>
    h('a', { href: `?tab=${t}`, 'aria-current': t === tab ? 'page' : null }, label)));
  const ingress = h('div', {});
  fill(root, crumbs, head, ingress, nav, body);
  const state = { alloc: null, draw: () => {} };
  watch(`/v1/allocation/${enc(id)}`, (alloc) => {
    if (!state.alloc) fill(ingress, allocIngress(alloc, ctx));
    state.alloc = alloc;
    fill(crumbs, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / ', h('a', { href: uiPath('jobs', alloc.JobID) }, alloc.JobID), ' / ', shortID(alloc.ID));
    fill(head, header(alloc));
    state.draw();
  }, { signal: ctx.signal, onError: (e) => fill(head, h('h1', {}, `Allocation ${shortID(id)}`),
    errorBox(e.status === 404 ? `Allocation ${id} was not found: it may have been garbage-collected.` : e.describe('Loading the allocation'))) });
  ({ overview: overviewTab, logs: logsTab, files: filesTab })[tab](body, id, ctx, state);
}
