// ingress.js is the ingress page (the routing table of the agent's
// built-in ingress: each route's service, instances, counters and the
// services whose claim on the same host and path lost to an older one)
// and the ingress routes of one allocation, for its page.
import { enc, watch } from './api.js';
import { badge, errorBox, fill, h, section, shortID, table, uiPath } from './dom.js';

const routesPath = '/v1/ingress/routes';

const hostTag = 'ingress.host=';
const pathTag = 'ingress.path=';

/** routeOf reads a service's ingress tags: {host, path}, host '' when none. */
function routeOf(tags) {
  let host = '';
  let path = '/';
  for (const t of tags || []) {
    if (t.startsWith(hostTag)) host = t.slice(hostTag.length).trim().toLowerCase();
    if (t.startsWith(pathTag) && t.slice(pathTag.length).startsWith('/')) path = t.slice(pathTag.length);
  }
  return { host, path };
}

/** routeState says what the ingress does with one service registration. */
function routeState(reg, routes) {
  if (!routes) return badge('unknown', 'muted');
  const { host, path } = routeOf(reg.Tags);
  const r = routes.find((x) => x.Host === host && x.Path === path);
  if (r && (r.Namespace !== reg.Namespace || r.Service !== reg.ServiceName)) {
    return h('span', { class: 'conflict' }, badge('conflict', 'bad'), ` lost to ${r.Namespace}/${r.Service}`);
  }
  if (r && (r.Instances || []).some((i) => i.AllocID === reg.AllocID)) return badge('active', 'ok');
  return badge('not routed', 'warn');
}

/** ingressView renders the ingress page into root. */
export function ingressView(root, _params, ctx) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading routes…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Ingress')),
    h('p', { class: 'muted' }, 'Routes of this agent\'s ingress, by host and path, from the services\' ingress blocks (or ingress.host tags).'),
    section('Routes', body));
  watch(routesPath, (routes) => {
    fill(body, table([
      ['Host', (r) => r.Host, 'mono'],
      ['Path', (r) => r.Path, 'mono'],
      ['Service', (r) => `${r.Namespace}/${r.Service}`],
      ['Instances', (r) => h('span', {}, (r.Instances || []).map((i, n) => [n ? ', ' : '',
        h('a', { href: uiPath('allocations', i.AllocID), class: 'mono', title: i.Address }, shortID(i.AllocID))]))],
      ['Requests', (r) => String(r.Stats?.Requests ?? 0)],
      ['Failures', (r) => String(r.Stats?.Failures ?? 0)],
      ['Mean', (r) => `${(r.Stats?.MeanMillis ?? 0).toFixed(2)} ms`, 'hide-sm'],
      ['Certificate', (r) => (r.Certificate ? h('span', { class: 'mono' }, r.Certificate) : '–'), 'hide-sm'],
      ['Conflicts', (r) => ((r.Conflicts || []).length
        ? h('span', { class: 'conflict' }, badge('conflict', 'bad'), ` lost: ${r.Conflicts.join(', ')}`)
        : '–')],
    ], routes || [], 'No routes: no service asks for the ingress.', 'Ingress routes'));
  }, { signal: ctx.signal, pollMs: 2000, onError: (e) => fill(body, errorBox(e.describe('Loading the ingress routes'))) });
}

/**
 * allocIngress returns a card, kept current, with the allocation's
 * services that ask for the ingress and their state in the agent's
 * routing table; it stays empty when the allocation has none.
 */
export function allocIngress(alloc, ctx) {
  const card = h('div', {});
  let regs = null;
  let routes = null;
  const draw = () => {
    const mine = (regs || []).filter((r) => routeOf(r.Tags).host);
    if (!mine.length) { fill(card); return; }
    fill(card, section('Ingress routes', table([
      ['Service', (r) => r.ServiceName],
      ['Address', (r) => `${r.Address}:${r.Port}`, 'mono'],
      ['Host', (r) => routeOf(r.Tags).host, 'mono'],
      ['Path', (r) => routeOf(r.Tags).path, 'mono'],
      ['Route', (r) => routeState(r, routes)],
    ], mine, '', 'Ingress routes of the allocation')));
  };
  const ns = alloc.Namespace ? `?namespace=${enc(alloc.Namespace)}` : '';
  watch(`/v1/allocation/${enc(alloc.ID)}/services${ns}`, (r) => { regs = r || []; draw(); }, { signal: ctx.signal, pollMs: 3000 });
  watch(routesPath, (r) => { routes = r || []; draw(); }, { signal: ctx.signal, pollMs: 3000, onError: () => { routes = null; draw(); } });
  return card;
}
