// run.js is the "run a job" page: paste or edit a job (HCL or JSON),
// plan it to see the diff and where it would be placed, then run it and
// land on its page.
import { jobAPI, put } from './api.js';
import { busy, emptyState, errorBox, fill, h, section, table, uiPath } from './dom.js';
import { jobDiffView } from './diff.js';

const example = `job "example" {
  datacenters = ["*"]
  type        = "service"

  group "app" {
    count = 1

    task "loop" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello from $NOMAD_ALLOC_ID; sleep 5; done"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

/** parseJob turns the editor's text into an api.Job, through the agent for HCL. */
async function parseJob(text) {
  const trimmed = text.trim();
  if (!trimmed) throw new Error('The job definition is empty: paste or write a job first.');
  if (trimmed.startsWith('{')) {
    let doc;
    try { doc = JSON.parse(trimmed); } catch (err) { throw new Error(`The JSON does not parse: ${err.message}`); }
    return doc.Job || doc;
  }
  return put('/v1/jobs/parse', { JobHCL: text, Canonicalize: true });
}

const updateKinds = [['Place', 'Place'], ['Stop', 'Stop'], ['InPlaceUpdate', 'In-place update'],
  ['DestructiveUpdate', 'Destructive update'], ['Migrate', 'Migrate'], ['Canary', 'Canary'], ['Ignore', 'Ignore']];

function placementView(plan) {
  const updates = plan.Annotations?.DesiredTGUpdates || {};
  const failed = Object.entries(plan.FailedTGAllocs || {});
  return [
    table([['Group', ([g]) => g], ...updateKinds.map(([k, label]) => [label, ([, u]) => u[k] || 0, 'num'])],
      Object.entries(updates), 'The scheduler reported no placement changes.', 'Placement preview'),
    failed.length ? h('div', { class: 'error-box', role: 'alert' }, h('strong', {}, 'Placement failures'),
      failed.map(([g, m]) => h('div', {}, `Group "${g}": ${m.NodesEvaluated ?? 0} nodes evaluated, ${m.NodesFiltered ?? 0} filtered, ${m.NodesExhausted ?? 0} exhausted`,
        reasons('constraint', m.ConstraintFiltered), reasons('class', m.ClassFiltered), reasons('resources', m.DimensionExhausted)))) : null,
    plan.Warnings ? h('p', { class: 'warn-text' }, `Warnings: ${plan.Warnings}`) : null,
  ];
}

const reasons = (what, m) => (m && Object.keys(m).length
  ? h('div', { class: 'muted' }, `${what}: ${Object.entries(m).map(([k, n]) => `${k} (${n})`).join(', ')}`) : null);

/** runView renders the job editor into root. */
export function runView(root, _params, ctx) {
  const stored = sessionStorage.getItem('roam.run.source');
  sessionStorage.removeItem('roam.run.source');
  const editor = h('textarea', { id: 'jobspec', class: 'editor mono', spellcheck: 'false', rows: 22, wrap: 'off',
    'aria-label': 'Job definition (HCL or JSON)', value: stored || example });
  const result = h('div', { 'aria-live': 'polite' });
  let planned = null;
  const planBtn = h('button', { id: 'plan', class: 'btn primary', type: 'button' }, 'Plan');
  const runBtn = h('button', { id: 'run', class: 'btn', type: 'button', disabled: true }, 'Run');
  const setPlanned = (p) => {
    planned = p;
    runBtn.disabled = !p;
    runBtn.classList.toggle('primary', !!p);
  };
  planBtn.addEventListener('click', () => busy(planBtn, async () => {
    setPlanned(null);
    fill(result, h('p', { class: 'muted' }, 'Planning…'));
    try {
      const job = await parseJob(editor.value);
      const ns = job.Namespace && job.Namespace !== 'default' ? job.Namespace : '';
      const res = await put(jobAPI(job.ID, ns, '/plan'), { Job: job, Diff: true });
      setPlanned({ job, text: editor.value });
      fill(result, section('Plan: what would change', jobDiffView(res.Diff)), section('Placement preview', placementView(res)));
    } catch (err) {
      fill(result, errorBox(err.describe ? err.describe('Planning the job') : `Planning the job: ${err.message}`));
    }
  }, 'Planning the job'));
  runBtn.addEventListener('click', () => busy(runBtn, async () => {
    if (!planned || planned.text !== editor.value) throw new Error('the job changed since it was planned: plan it again first');
    const format = planned.text.trim().startsWith('{') ? 'json' : 'hcl2';
    await put('/v1/jobs', { Job: planned.job, Submission: { Source: planned.text, Format: format } });
    const ns = planned.job.Namespace && planned.job.Namespace !== 'default' ? `?namespace=${encodeURIComponent(planned.job.Namespace)}` : '';
    ctx.navigate(uiPath('jobs', planned.job.ID) + ns);
  }, 'Running the job'));
  editor.addEventListener('input', () => {
    if (planned && planned.text !== editor.value) setPlanned(null);
  });
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); planBtn.click(); }
  });
  fill(root,
    h('p', { class: 'crumbs' }, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / Run'),
    h('div', { class: 'page-head' }, h('h1', {}, 'Run a job')),
    h('p', { class: 'muted' }, 'Paste or edit a job in HCL or JSON, plan it (Ctrl+Enter) to see the changes and placements, then run it.'),
    editor,
    h('div', { class: 'actions' }, planBtn, runBtn),
    result);
  fill(result, emptyState('Nothing planned yet.'));
}
