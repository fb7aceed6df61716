// api.js is the UI's only door to the agent: JSON requests against the
// public /v1 API of the same origin, and watches built on blocking queries
// (?index=N&wait=...) that survive the agent restarting.

/** APIError is a failed request: status 0 means the agent was unreachable. */
export class APIError extends Error {
  constructor(status, message, path) {
    super(message);
    this.status = status;
    this.path = path;
  }
  /** unsupported is true when the agent does not implement the endpoint. */
  get unsupported() {
    return this.status === 501 || this.status === 405 ||
      (this.status === 404 && /page not found|no handler|not implemented|not supported|unsupported/i.test(this.message));
  }
  /** describe is the message to show a person. */
  describe(what) {
    if (this.status === 0) return `${what}: cannot reach the agent (${this.message}).`;
    if (this.status === 403) return `${what}: ${this.message} (HTTP 403). Sign in with an ACL token under ACL Tokens.`;
    if (this.unsupported) return `${what}: this agent does not support ${this.path.split('?')[0]} yet (HTTP ${this.status}).`;
    return `${what}: ${this.message} (HTTP ${this.status}).`;
  }
}

// The ACL token's secret is kept in localStorage, as Nomad's UI keeps it,
// and sent with every request.
const tokenKey = 'nomad.token';

/** token is the stored ACL token secret, or ''. */
export const token = () => localStorage.getItem(tokenKey) || '';

/** setToken stores (or, with '', forgets) the ACL token secret. */
export function setToken(secret) {
  if (secret) localStorage.setItem(tokenKey, secret);
  else localStorage.removeItem(tokenKey);
}

/** authHeaders are the headers that carry the stored token. */
export function authHeaders() {
  const secret = token();
  return secret ? { 'X-Nomad-Token': secret } : {};
}

// The region the UI looks at, as Nomad's UI keeps it: '' is the agent's
// own. Every request names it (?region=), and the agent forwards it there.
const regionKey = 'nomadActiveRegion';

/** region is the chosen region, or '' for the agent's own. */
export const region = () => localStorage.getItem(regionKey) || '';

/** setRegion chooses a region ('' for the agent's own). */
export function setRegion(name) {
  if (name) localStorage.setItem(regionKey, name);
  else localStorage.removeItem(regionKey);
}

/** inRegion adds the chosen region to an API path. */
function inRegion(path) {
  const r = region();
  if (!r || !path.startsWith('/v1/') || path.startsWith('/v1/regions') || path.startsWith('/v1/agent/')) return path;
  return `${path}${path.includes('?') ? '&' : '?'}region=${encodeURIComponent(r)}`;
}

const listeners = new Set();
let connState = 'ok';

/** onConnection calls fn with 'ok' or 'reconnecting' now and on each change. */
export function onConnection(fn) {
  listeners.add(fn);
  fn(connState);
}

function setConnection(state) {
  if (state === connState) return;
  connState = state;
  for (const fn of listeners) fn(state);
}

/** request sends one call and resolves to {data, index}; it rejects with APIError. */
export async function request(method, path, body, { signal } = {}) {
  const init = { method, signal, headers: authHeaders() };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(inRegion(path), init);
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    setConnection('reconnecting');
    throw new APIError(0, err.message, path);
  }
  setConnection('ok');
  const text = await res.text();
  if (!res.ok) throw new APIError(res.status, text.trim() || res.statusText, path);
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  return { data, text, index: Number(res.headers.get('X-Nomad-Index')) || 0 };
}

/** get resolves to the decoded body of GET path. */
export const get = (path, opts) => request('GET', path, undefined, opts).then((r) => r.data);
/** put resolves to the decoded body of PUT path with a JSON body. */
export const put = (path, body, opts) => request('PUT', path, body, opts).then((r) => r.data);
/** del resolves to the decoded body of DELETE path. */
export const del = (path, opts) => request('DELETE', path, undefined, opts).then((r) => r.data);

/** sleep resolves after ms, or early when signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/**
 * watch calls onData with the body of path now and after every change,
 * using blocking queries, until signal aborts. Failures go to onError and
 * are retried with backoff; after a failure the index starts again from
 * zero, so an agent that restarted with a lower index answers at once.
 * With pollMs set, it polls instead (for endpoints without an index).
 */
export function watch(path, onData, { signal, onError, pollMs = 0, wait = '30s' } = {}) {
  let index = 0;
  let failures = 0;
  let last = null; // the body last handed to onData, to skip unchanged answers
  const sep = path.includes('?') ? '&' : '?';
  (async () => {
    while (!signal.aborted) {
      const started = performance.now();
      const url = index > 0 && !pollMs ? `${path}${sep}index=${index}&wait=${wait}` : path;
      try {
        const res = await request('GET', url, undefined, { signal });
        failures = 0;
        const changed = res.index === 0 || res.index !== index;
        index = res.index;
        if (changed && res.text !== last && !signal.aborted) {
          last = res.text;
          onData(res.data, res.index);
        }
        if (pollMs) await sleep(pollMs, signal);
        else if (!res.index || (!changed && performance.now() - started < 200)) {
          await sleep(1000, signal); // the agent did not block: poll gently
        }
      } catch (err) {
        if (signal.aborted || err.name === 'AbortError') return;
        index = 0;
        last = null;
        failures++;
        onError?.(err);
        await sleep(Math.min(5000, 200 * 2 ** failures) * (0.75 + Math.random() / 2), signal);
      }
    }
  })();
}

/** enc escapes one path segment. */
export const enc = encodeURIComponent;

/** jobAPI builds the API path of a job (and a sub-resource) in its namespace. */
export function jobAPI(id, ns, sub = '', params = {}) {
  const q = new URLSearchParams(params);
  if (ns) q.set('namespace', ns);
  const s = q.toString();
  return `/v1/job/${enc(id)}${sub}${s ? `?${s}` : ''}`;
}
