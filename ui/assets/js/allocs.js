// allocs.js renders lists of allocations, shared by the job, client and
// topology pages.
import { badge, h, shortID, table, timeEl, uiPath } from './dom.js';

/** allocStatus is the badge of an allocation's client status. */
export const allocStatus = (a) => badge(a.ClientStatus);

/** byNewest orders allocations newest first. */
export const byNewest = (a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0);

/** allocTable renders allocations; opts.job and opts.node add those columns. */
export function allocTable(allocs, opts = {}) {
  const cols = [
    ['ID', (a) => h('a', { href: uiPath('allocations', a.ID), class: 'mono', title: a.ID }, shortID(a.ID))],
    opts.job ? ['Job', (a) => h('a', { href: uiPath('jobs', a.JobID) }, a.JobID)] : null,
    ['Group', (a) => a.TaskGroup],
    opts.node === false ? null : ['Client', (a) => (a.NodeID ? h('a', { href: uiPath('clients', a.NodeID), title: a.NodeID }, a.NodeName || shortID(a.NodeID)) : '–'), 'hide-sm'],
    ['Status', (a) => allocStatus(a)],
    ['Desired', (a) => a.DesiredStatus, 'hide-sm'],
    ['Version', (a) => a.JobVersion ?? a.Job?.Version, 'num hide-sm'],
    ['Created', (a) => timeEl(a.CreateTime)],
    ['Modified', (a) => timeEl(a.ModifyTime), 'hide-sm'],
  ].filter(Boolean);
  return table(cols, [...allocs].sort(byNewest), opts.empty || 'No allocations.', 'Allocations');
}
