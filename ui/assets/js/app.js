// app.js starts the UI: it routes the URL (history-based, under /ui/) to a
// view, gives each view an abort signal that ends its watches when the
// person leaves, and shows whether the agent can be reached.
import { onConnection, put, setToken } from './api.js';
import { regionSwitcher } from './regions.js';
import { ago, fill, h } from './dom.js';
import { jobsView } from './jobs.js';
import { jobView } from './job.js';
import { runView } from './run.js';
import { allocView } from './alloc.js';
import { clientsView, clientView } from './clients.js';
import { ingressView } from './ingress.js';
import { serversView } from './servers.js';
import { topologyView } from './topology.js';
import { storageView } from './storage.js';
import { tokensView } from './tokens.js';
import { newVariableView, variableView, variablesView } from './variables.js';

const routes = [
  [/^\/ui\/jobs\/?$/, 'jobs', jobsView],
  [/^\/ui\/jobs\/run\/?$/, 'jobs', runView],
  [/^\/ui\/jobs\/([^/]+)\/?$/, 'jobs', jobView],
  [/^\/ui\/allocations\/([^/]+)\/?$/, 'jobs', allocView],
  [/^\/ui\/clients\/?$/, 'clients', clientsView],
  [/^\/ui\/clients\/([^/]+)\/?$/, 'clients', clientView],
  [/^\/ui\/servers\/?$/, 'servers', serversView],
  [/^\/ui\/ingress\/?$/, 'ingress', ingressView],
  [/^\/ui\/topology\/?$/, 'topology', topologyView],
  [/^\/ui\/storage\/?$/, 'storage', storageView],
  [/^\/ui\/variables\/?$/, 'variables', variablesView],
  [/^\/ui\/variables\/new\/?$/, 'variables', newVariableView],
  [/^\/ui\/variables\/(.+?)\/?$/, 'variables', variableView],
  [/^\/ui\/settings\/tokens\/?$/, 'tokens', tokensView],
];

const main = document.getElementById('main');
let current = null;

/** navigate moves to a UI URL without reloading the page. */
export function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

function notFound(root) {
  fill(root, h('h1', {}, 'Not found'),
    h('p', { class: 'empty' }, 'Nothing lives at this address. ', h('a', { href: '/ui/jobs' }, 'Go to the jobs list.')));
}

function render() {
  const path = location.pathname;
  if (path === '/ui' || path === '/ui/' || path === '/') {
    history.replaceState(null, '', '/ui/jobs' + location.search);
    render();
    return;
  }
  current?.abort();
  current = new AbortController();
  let match = null;
  for (const [re, sectionName, view] of routes) {
    const m = path.match(re);
    if (m) { match = { section: sectionName, view, params: m.slice(1).map(decodeURIComponent) }; break; }
  }
  for (const a of document.querySelectorAll('header nav a')) {
    if (match && a.dataset.section === match.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  main.replaceChildren();
  const ctx = {
    signal: current.signal,
    query: new URLSearchParams(location.search),
    navigate,
    /** setQuery rewrites the query string without re-rendering the view. */
    setQuery(q) {
      const s = q.toString();
      history.replaceState(null, '', location.pathname + (s ? `?${s}` : ''));
    },
  };
  if (!match) notFound(main);
  else match.view(main, match.params, ctx);
  const h1 = main.querySelector('h1');
  document.title = h1 ? `${h1.textContent} · Roam` : 'Roam';
}

// Links inside the UI move through the router; others behave as links do.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  if (a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/ui/')) return;
  if (url.hash && url.pathname === location.pathname && url.search === location.search) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});

window.addEventListener('popstate', render);
// Leaving the page ends its long polls at once, so they do not hold the
// browser's few connections to the agent; coming back (from the
// back-forward cache) starts them again.
window.addEventListener('pagehide', () => current?.abort());
window.addEventListener('pageshow', (e) => { if (e.persisted) render(); });

const conn = document.getElementById('conn');
onConnection((state) => {
  conn.textContent = state === 'ok' ? '' : 'Reconnecting to the agent…';
  conn.className = `conn ${state}`;
  document.body.classList.toggle('offline', state !== 'ok');
});

regionSwitcher(document.getElementById('region'), document.getElementById('dcs'), render);

// Relative times ("2m ago") age while the data behind them stays the same.
setInterval(() => {
  for (const el of document.querySelectorAll('time[datetime]')) el.textContent = ago(el.dateTime);
}, 10000);

// A one-time token in the URL (`roam ui -authenticate`) is exchanged for
// the token it stands for, which signs the UI in; the URL keeps no trace
// of it. A spent or expired one leads to the sign-in page.
async function start() {
  const query = new URLSearchParams(location.search);
  const ott = query.get('ott');
  if (ott) {
    query.delete('ott');
    const rest = query.toString();
    try {
      const res = await put('/v1/acl/token/onetime/exchange', { OneTimeSecretID: ott });
      setToken(res.Token.SecretID);
      history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : ''));
    } catch (err) {
      console.error('one-time token exchange', err);
      history.replaceState(null, '', '/ui/settings/tokens');
    }
  }
  render();
}

start();
