// jobs.js is the jobs list: status, type, priority and the allocation
// summary of every job of a namespace (or of all), with search and
// filters, kept live.
import { get, watch } from './api.js';
import { badge, emptyState, errorBox, fill, h, table, timeEl, uiPath } from './dom.js';

/** summaryStates are the columns of a job or group summary, in display order. */
export const summaryStates = ['Queued', 'Starting', 'Running', 'Failed', 'Complete', 'Lost'];

/** totals adds up the group summaries of a JobSummary. */
export function totals(summary) {
  const t = Object.fromEntries(summaryStates.map((s) => [s, 0]));
  for (const g of Object.values(summary?.Summary || {})) for (const s of summaryStates) t[s] += g[s] || 0;
  return t;
}

/** summaryBar is a stacked bar and legend of summary counts. */
export function summaryBar(counts) {
  const all = summaryStates.reduce((n, s) => n + counts[s], 0);
  return h('div', { class: 'summary' },
    h('div', { class: 'stack', 'aria-hidden': 'true' }, all === 0 ? null :
      summaryStates.filter((s) => counts[s]).map((s) =>
        h('span', { class: `seg ${s.toLowerCase()}`, style: { flexGrow: counts[s] } }))),
    h('ul', { class: 'legend' }, summaryStates.filter((s) => counts[s]).map((s) =>
      h('li', { class: s.toLowerCase() }, h('b', {}, counts[s]), ' ', s.toLowerCase()))),
    all === 0 ? h('span', { class: 'muted small' }, 'no allocations') : null);
}

/** jobStatus is the badge for a job, which says "stopped" for a stopped job. */
export const jobStatus = (job) => (job.Stop ? badge(job.Status === 'dead' ? 'stopped' : 'stopping', 'muted') : badge(job.Status));

function matches(job, q) {
  const text = (q.get('q') || '').toLowerCase();
  if (text && !`${job.ID} ${job.Name} ${(job.Datacenters || []).join(' ')}`.toLowerCase().includes(text)) return false;
  const status = q.get('status');
  if (status && (status === 'stopped' ? !job.Stop : job.Status !== status)) return false;
  const type = q.get('type');
  return !type || job.Type === type;
}

function filterBar(q, onChange) {
  const select = (name, label, options) => h('label', {}, h('span', { class: 'sr-only' }, label),
    h('select', { name, 'aria-label': label, onchange: (e) => { e.target.value ? q.set(name, e.target.value) : q.delete(name); onChange(); } },
      options.map(([v, text]) => h('option', { value: v, selected: q.get(name) === v }, text))));
  return h('div', { class: 'filters', role: 'search' },
    h('input', { type: 'search', name: 'q', placeholder: 'Search jobs by name or datacenter', 'aria-label': 'Search jobs', value: q.get('q') || '',
      oninput: (e) => { e.target.value ? q.set('q', e.target.value) : q.delete('q'); onChange(); } }),
    select('status', 'Status', [['', 'All statuses'], ['pending', 'Pending'], ['running', 'Running'], ['dead', 'Dead'], ['stopped', 'Stopped']]),
    select('type', 'Type', [['', 'All types'], ['service', 'Service'], ['batch', 'Batch'], ['system', 'System'], ['sysbatch', 'Sysbatch']]));
}

/** namespaceSelect picks the namespace whose jobs are listed ("*": all). */
function namespaceSelect(q, onChange, signal) {
  const current = () => q.get('namespace') || 'default';
  const options = (names) => [['*', 'All namespaces'], ...names.map((n) => [n, n])]
    .map(([v, text]) => h('option', { value: v, selected: current() === v }, text));
  const select = h('select', { name: 'namespace', 'aria-label': 'Namespace',
    onchange: (e) => { e.target.value === 'default' ? q.delete('namespace') : q.set('namespace', e.target.value); onChange(); } },
  options([current()].filter((n) => n !== '*')));
  get('/v1/namespaces', { signal })
    .then((list) => fill(select, options((list || []).map((n) => n.Name).sort())))
    .catch(() => {}); // an agent without namespaces keeps the one option
  return h('label', {}, h('span', { class: 'sr-only' }, 'Namespace'), select);
}

/** jobsView renders the jobs list into root. */
export function jobsView(root, _params, ctx) {
  const q = ctx.query;
  const list = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Loading jobs…'));
  const count = h('span', { class: 'muted' });
  let jobs = null;
  const draw = () => {
    if (!jobs) return;
    ctx.setQuery(q);
    const shown = jobs.filter((j) => matches(j, q)).sort((a, b) => a.ID.localeCompare(b.ID) || a.Namespace.localeCompare(b.Namespace));
    count.textContent = `${shown.length} of ${jobs.length}`;
    list.removeAttribute('aria-busy');
    if (!jobs.length) {
      fill(list, emptyState('No jobs yet. '), h('a', { class: 'btn primary', href: '/ui/jobs/run' }, 'Run your first job'));
      return;
    }
    const all = q.get('namespace') === '*';
    fill(list, table([
      ['Name', (j) => h('a', { href: uiPath('jobs', j.ID) + (j.Namespace && j.Namespace !== 'default' ? `?namespace=${encodeURIComponent(j.Namespace)}` : '') }, j.Name || j.ID)],
      all ? ['Namespace', (j) => j.Namespace] : null,
      ['Status', (j) => jobStatus(j)],
      ['Type', (j) => j.Type + (j.Periodic ? ' (periodic)' : '') + (j.ParameterizedJob ? ' (parameterized)' : '')],
      ['Priority', (j) => j.Priority, 'num hide-sm'],
      ['Groups', (j) => Object.keys(j.JobSummary?.Summary || {}).length, 'num hide-sm'],
      ['Allocations', (j) => summaryBar(totals(j.JobSummary))],
      ['Submitted', (j) => timeEl(j.SubmitTime), 'hide-sm'],
    ].filter(Boolean), shown, 'No job matches this search.', 'Jobs'));
  };
  // Each namespace has its own watch; choosing another stops the last one.
  let stop = null;
  const load = () => {
    stop?.abort();
    const own = new AbortController();
    stop = own;
    ctx.signal.addEventListener('abort', () => own.abort(), { once: true });
    jobs = null;
    fill(list, h('p', { class: 'muted' }, 'Loading jobs…'));
    list.setAttribute('aria-busy', 'true');
    ctx.setQuery(q);
    watch(`/v1/jobs?namespace=${encodeURIComponent(q.get('namespace') || 'default')}`, (data) => {
      if (!jobs) performance.mark('roam:jobs-listed'); // first data on screen, for load-time checks
      jobs = data || [];
      draw();
    }, {
      signal: own.signal,
      onError: (err) => { if (!jobs) fill(list, errorBox(err.describe('Loading jobs'))); },
    });
  };
  const filters = filterBar(q, draw);
  filters.append(namespaceSelect(q, load, ctx.signal));
  fill(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Jobs'), count,
      h('a', { class: 'btn primary', href: '/ui/jobs/run' }, 'Run job')),
    filters, list);
  load();
}
