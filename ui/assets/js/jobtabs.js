// jobtabs.js holds the job page's evaluations, versions and definition tabs.
import { get, jobAPI, watch } from './api.js';
import { badge, emptyState, errorBox, fill, h, section, shortID, table, timeEl } from './dom.js';
import { versionDiffView } from './diff.js';

/** evaluationsTab lists the job's evaluations, newest first. */
export function evaluationsTab(body, id, ns, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading evaluations…'));
  fill(body, section('Evaluations', list));
  watch(jobAPI(id, ns, '/evaluations'), (evals) => {
    const rows = (evals || []).slice().sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
    fill(list, table([
      ['ID', (e) => h('span', { class: 'mono', title: e.ID }, shortID(e.ID))],
      ['Triggered by', (e) => e.TriggeredBy],
      ['Status', (e) => badge(e.Status)],
      ['Placement failures', (e) => {
        const failed = Object.keys(e.FailedTGAllocs || {});
        return failed.length ? h('span', { class: 'bad-text' }, failed.join(', ')) : 'none';
      }],
      ['Description', (e) => e.StatusDescription || '', 'hide-sm'],
      ['Priority', (e) => e.Priority, 'num hide-sm'],
      ['Created', (e) => timeEl(e.CreateTime)],
    ], rows, 'No evaluations.', 'Evaluations'));
  }, { signal: ctx.signal, onError: (e) => fill(list, errorBox(e.describe('Loading evaluations'))) });
}

function versionPicker(label, versions, selected, onChange) {
  return h('label', {}, `${label} `, h('select', { onchange: (e) => onChange(Number(e.target.value)) },
    versions.map((v) => h('option', { value: v.Version, selected: v.Version === selected }, `version ${v.Version}`))));
}

/** versionsTab lists the job's versions and shows the diff between two of them. */
export function versionsTab(body, id, ns, ctx) {
  const list = h('div', {}, h('p', { class: 'muted' }, 'Loading versions…'));
  const compare = h('div', {});
  fill(body, section('Versions', list), section('Compare versions', compare));
  let pick = null;
  watch(jobAPI(id, ns, '/versions'), (data) => {
    const versions = (data?.Versions || []).slice().sort((a, b) => b.Version - a.Version);
    fill(list, table([
      ['Version', (v) => v.Version, 'num'],
      ['Stable', (v) => (v.Stable ? badge('stable', 'ok') : badge('not stable', 'muted'))],
      ['Stopped', (v) => (v.Stop ? 'yes' : 'no'), 'hide-sm'],
      ['Submitted', (v) => timeEl(v.SubmitTime)],
    ], versions, 'No versions recorded.', 'Versions'));
    if (versions.length < 2) {
      fill(compare, emptyState('Only one version so far: change the job and run it again to compare versions.'));
      return;
    }
    const byVersion = new Map(versions.map((v) => [v.Version, v]));
    if (!pick || !byVersion.has(pick.from) || !byVersion.has(pick.to)) pick = { from: versions[1].Version, to: versions[0].Version };
    const draw = () => fill(compare,
      h('div', { class: 'filters' },
        versionPicker('From', versions, pick.from, (v) => { pick.from = v; draw(); }),
        versionPicker('to', versions, pick.to, (v) => { pick.to = v; draw(); })),
      versionDiffView(byVersion.get(pick.from), byVersion.get(pick.to)));
    draw();
  }, { signal: ctx.signal, onError: (e) => fill(list, errorBox(e.describe('Loading versions'))) });
}

/** definitionTab shows the job as submitted (HCL, when stored) and as JSON. */
export function definitionTab(body, id, ns, ctx, state) {
  const view = h('div', {}, h('p', { class: 'muted' }, 'Loading the definition…'));
  let mode = ctx.query.get('format') || 'hcl';
  let shownVersion = null;
  let submission = null;
  let subError = null;
  const draw = () => {
    const job = state.job;
    if (!job) return;
    const useHCL = mode === 'hcl' && submission?.Source;
    const text = useHCL ? submission.Source : JSON.stringify(job, null, 2);
    const toggle = (m, label) => h('button', { class: 'btn small', 'aria-pressed': String(mode === m),
      onclick: () => { mode = m; draw(); } }, label);
    fill(view,
      h('div', { class: 'filters' }, toggle('hcl', 'HCL'), toggle('json', 'JSON'),
        h('button', { class: 'btn small', onclick: () => {
          sessionStorage.setItem('roam.run.source', text);
          ctx.navigate('/ui/jobs/run');
        } }, 'Edit and plan')),
      mode === 'hcl' && !useHCL ? h('p', { class: 'muted' }, subError
        ? `${subError.status === 404 && !subError.unsupported ? 'No HCL source was stored for this version' : subError.describe('Loading the submitted HCL')}; showing the JSON.`
        : 'This version was submitted as JSON; showing the JSON.') : null,
      h('pre', { class: 'code', tabindex: 0, 'aria-label': useHCL ? 'Job definition as HCL' : 'Job definition as JSON' }, text));
  };
  state.onJob = async (job) => {
    if (job.Version !== shownVersion) {
      shownVersion = job.Version;
      try {
        submission = await get(jobAPI(id, ns, '/submission', { version: job.Version }), { signal: ctx.signal });
        subError = null;
      } catch (err) {
        if (err.name === 'AbortError') return;
        submission = null;
        subError = err;
      }
    }
    draw();
  };
  fill(body, section('Definition', view));
  if (state.job) state.onJob(state.job);
}
