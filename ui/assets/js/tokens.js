// tokens.js is the sign-in page: an ACL token's secret, checked against
// /v1/acl/token/self, kept in localStorage and sent with every request.
import { get, setToken, token } from './api.js';
import { dl, errorBox, fill, h, section } from './dom.js';

/** tokensView renders the ACL token page into root. */
export function tokensView(root, _params, ctx) {
  const input = h('input', { id: 'token-secret', type: 'password', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Secret ID', 'aria-label': 'ACL token secret ID', value: token() });
  const status = h('div', { 'aria-live': 'polite' });
  const signIn = h('button', { id: 'sign-in', class: 'btn primary', type: 'submit' }, 'Sign in');
  const signOut = h('button', { id: 'sign-out', class: 'btn', type: 'button' }, 'Sign out');
  // Each check supersedes the one before, whose late answer is dropped.
  let shown = 0;
  const show = async () => {
    const seq = ++shown;
    if (!token()) {
      fill(status, h('p', { class: 'muted' }, 'Not signed in: requests use the anonymous policy.'));
      return;
    }
    try {
      const t = await get('/v1/acl/token/self', { signal: ctx.signal });
      if (seq !== shown) return;
      fill(status, section('Signed in', dl([
        ['Name', t.Name], ['Type', t.Type], ['Accessor ID', h('span', { class: 'mono' }, t.AccessorID)],
        ['Policies', t.Type === 'management' ? 'all (management)' : (t.Policies || []).join(', ')],
        ['Roles', (t.Roles || []).map((r) => r.Name).join(', ')],
        ['Expires', t.ExpirationTime || 'never'],
      ])));
    } catch (err) {
      if (seq !== shown) return;
      fill(status, errorBox(err.describe ? err.describe('Checking the token') : err.message));
    }
  };
  const form = h('form', { class: 'actions', id: 'token-form' }, input, signIn, signOut);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    show();
  });
  signOut.addEventListener('click', () => {
    setToken('');
    input.value = '';
    show();
  });
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'ACL Tokens')),
    h('p', { class: 'muted' }, 'With ACLs enabled, the UI shows only what your token may see.'),
    form, status);
  show();
}
