// job.js is the job page: the job's status and actions (stop, start,
// purge, scale) above tabs for its groups, allocations, evaluations,
// versions and definition.
import { del, get, jobAPI, put, watch } from './api.js';
import { allocTable } from './allocs.js';
import { busy, confirmDialog, errorBox, fill, h, notice, section, table, timeEl, dl } from './dom.js';
import { jobStatus, summaryBar, summaryStates, totals } from './jobs.js';
import { definitionTab, evaluationsTab, versionsTab } from './jobtabs.js';

const tabs = [['overview', 'Overview'], ['allocations', 'Allocations'], ['evaluations', 'Evaluations'],
  ['versions', 'Versions'], ['definition', 'Definition']];

function actions(job, ns, ctx) {
  const id = job.ID;
  const stop = h('button', { class: 'btn', onclick: async () => {
    if (!await confirmDialog(`Stop job ${id}?`, 'Its allocations will be stopped. The job can be started again.', 'Stop job')) return;
    await busy(stop, () => del(jobAPI(id, ns)), 'Stopping the job');
  } }, 'Stop');
  const start = h('button', { class: 'btn', onclick: () => busy(start, async () => {
    const current = await get(jobAPI(id, ns));
    current.Stop = false;
    await put('/v1/jobs', { Job: current });
    notice(`Job ${id} started.`);
  }, 'Starting the job') }, 'Start');
  const purge = h('button', { class: 'btn danger', onclick: async () => {
    if (!await confirmDialog(`Purge job ${id}?`, 'The job, its allocations and its history are removed for good. This cannot be undone.', 'Purge job')) return;
    const done = await busy(purge, () => del(jobAPI(id, ns, '', { purge: 'true' })).then(() => true), 'Purging the job');
    if (done) { notice(`Job ${id} purged.`); ctx.navigate('/ui/jobs'); }
  } }, 'Purge');
  return h('div', { class: 'actions' }, job.Stop ? start : stop, purge);
}

function scaleControl(job, group, ns) {
  const input = h('input', { type: 'number', min: 0, value: group.Count ?? 0, class: 'count', 'aria-label': `Count for group ${group.Name}` });
  const go = h('button', { class: 'btn small', type: 'submit' }, 'Scale');
  return h('form', { class: 'scale', onsubmit: (e) => {
    e.preventDefault();
    const count = Number(input.value);
    if (!Number.isInteger(count) || count < 0) { notice('The count must be a whole number, 0 or more.', 'bad'); return; }
    busy(go, async () => {
      await put(jobAPI(job.ID, ns, '/scale'), { Count: count, Target: { Job: job.ID, Group: group.Name }, Message: 'scaled from the web UI' });
      notice(`Group ${group.Name} scaled to ${count}.`);
    }, `Scaling group ${group.Name}`);
  } }, input, go);
}

function groupsTable(job, summary, ns) {
  return table([
    ['Group', (g) => g.Name],
    ['Count', (g) => (job.Type === 'system' || job.Type === 'sysbatch' ? g.Count ?? '–' : scaleControl(job, g, ns))],
    ...summaryStates.map((s) => [s, (g) => summary?.Summary?.[g.Name]?.[s] ?? 0, `num ${s === 'Queued' || s === 'Lost' ? 'hide-sm' : ''}`]),
    ['Tasks', (g) => (g.Tasks || []).map((t) => `${t.Name} (${t.Driver})`).join(', '), 'hide-sm'],
  ], job.TaskGroups || [], 'This job has no task groups.', 'Task groups');
}

function overviewTab(body, id, ns, ctx, state) {
  const groups = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const allocs = h('div', {}, h('p', { class: 'muted' }, 'Loading allocations…'));
  fill(body, section('Task groups', groups), section('Recent allocations', allocs));
  // A redraw would reset a count being typed: wait until focus leaves.
  let pending = false;
  groups.addEventListener('focusout', () => setTimeout(() => {
    if (pending && !groups.contains(document.activeElement)) { pending = false; state.drawGroups(); }
  }));
  state.drawGroups = () => {
    if (!state.job) return;
    if (groups.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') { pending = true; return; }
    fill(groups, summaryBar(totals(state.summary)), groupsTable(state.job, state.summary, ns));
  };
  state.drawGroups();
  watch(jobAPI(id, ns, '/allocations'), (list) => {
    const shown = (list || []).slice().sort((a, b) => b.CreateIndex - a.CreateIndex).slice(0, 10);
    fill(allocs, allocTable(shown, { empty: 'No allocations yet.' }),
      (list || []).length > 10 ? h('a', { href: `?tab=allocations` }, `All ${list.length} allocations`) : null);
  }, { signal: ctx.signal, onError: (e) => fill(allocs, errorBox(e.describe('Loading allocations'))) });
}

function header(job, ns, ctx) {
  return [
    h('div', { class: 'page-head' },
      h('h1', {}, job.Name || job.ID), jobStatus(job), actions(job, ns, ctx)),
    dl([
      ['Type', job.Type], ['Priority', job.Priority], ['Version', job.Version],
      ['Namespace', job.Namespace || 'default'], ['Datacenters', (job.Datacenters || []).join(', ')],
      ['Node pool', job.NodePool], ['Submitted', timeEl(job.SubmitTime)],
    ]),
  ];
}

/** jobView renders the page of one job into root. */
export function jobView(root, [id], ctx) {
  const ns = ctx.query.get('namespace') || '';
  const tab = tabs.some(([t]) => t === ctx.query.get('tab')) ? ctx.query.get('tab') : 'overview';
  const head = h('div', {}, h('div', { class: 'page-head' }, h('h1', {}, id)));
  const body = h('div', { id: 'tab-body' });
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Job sections' }, tabs.map(([t, label]) => {
    const q = new URLSearchParams(ctx.query);
    q.set('tab', t);
    return h('a', { href: `?${q}`, 'aria-current': t === tab ? 'page' : null }, label);
  }));
  fill(root, h('p', { class: 'crumbs' }, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / ', id), head, nav, body);
  const state = { job: null, summary: null, drawGroups: () => {}, onJob: () => {} };
  watch(jobAPI(id, ns), (job) => {
    state.job = job;
    fill(head, header(job, ns, ctx));
    state.drawGroups();
    state.onJob(job);
  }, { signal: ctx.signal, onError: (e) => {
    fill(head, h('h1', {}, id), errorBox(e.status === 404 ? `Job ${id} was not found: it may have been purged.` : e.describe('Loading the job')));
    if (e.status === 404) fill(body);
  } });
  watch(jobAPI(id, ns, '/summary'), (s) => { state.summary = s; state.drawGroups(); }, { signal: ctx.signal });
  const tabArgs = [body, id, ns, ctx, state];
  ({ overview: overviewTab, allocations: allocationsTab, evaluations: evaluationsTab,
    versions: versionsTab, definition: definitionTab })[tab](...tabArgs);
}

function allocationsTab(body, id, ns, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading allocations…'));
  fill(body, section('Allocations', list));
  watch(jobAPI(id, ns, '/allocations'), (allocs) => fill(list, allocTable(allocs || [], { empty: 'No allocations yet.' })),
    { signal: ctx.signal, onError: (e) => fill(list, errorBox(e.describe('Loading allocations'))) });
}
