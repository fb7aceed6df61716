// servers.js is the servers page: gossip members, the leader and the Raft
// peers.
import { watch } from './api.js';
import { badge, errorBox, fill, h, section, table } from './dom.js';

/** serversView renders the servers page into root. */
export function serversView(root, _params, ctx) {
  const leaderEl = h('span', { class: 'mono' }, '…');
  const members = h('div', {}, h('p', { class: 'muted' }, 'Loading members…'));
  const peers = h('div', {}, h('p', { class: 'muted' }, 'Loading Raft peers…'));
  fill(root, h('div', { class: 'page-head' }, h('h1', {}, 'Servers')),
    h('p', {}, 'Leader: ', leaderEl),
    section('Members', members), section('Raft peers', peers));
  let leader = '';
  let memberList = null;
  const drawMembers = () => {
    if (!memberList) return;
    fill(members, table([
      ['Name', (m) => m.Name],
      ['Address', (m) => `${m.Addr}:${m.Port}`, 'mono'],
      ['Status', (m) => badge(m.Status)],
      ['Leader', (m) => (leader && m.Tags?.port && leader === `${m.Tags.rpc_addr || m.Addr}:${m.Tags.port}` ? badge('leader', 'ok') : '')],
      ['Region', (m) => m.Tags?.region || '', 'hide-sm'],
      ['Datacenter', (m) => m.Tags?.dc || '', 'hide-sm'],
      ['Version', (m) => m.Tags?.build || '', 'hide-sm'],
    ], memberList, 'No server members reported.', 'Server members'));
  };
  watch('/v1/status/leader', (l) => {
    leader = typeof l === 'string' ? l : '';
    leaderEl.textContent = leader || 'no leader elected';
    drawMembers();
  }, { signal: ctx.signal, pollMs: 2000, onError: (e) => { leaderEl.textContent = e.describe('Leader'); } });
  watch('/v1/agent/members', (data) => {
    memberList = (data?.Members || []).slice().sort((a, b) => a.Name.localeCompare(b.Name));
    drawMembers();
  }, { signal: ctx.signal, pollMs: 2000, onError: (e) => { if (!memberList) fill(members, errorBox(e.describe('Loading members'))); } });
  watch('/v1/operator/raft/configuration', (cfg) => {
    fill(peers, table([
      ['Node', (s) => s.Node],
      ['ID', (s) => s.ID, 'mono hide-sm'],
      ['Address', (s) => s.Address, 'mono'],
      ['State', (s) => (s.Leader ? badge('leader', 'ok') : badge('follower', 'muted'))],
      ['Voter', (s) => (s.Voter ? 'yes' : 'no')],
      ['Raft protocol', (s) => s.RaftProtocol || '', 'hide-sm'],
    ], cfg?.Servers || [], 'No Raft peers reported.', 'Raft peers'));
  }, { signal: ctx.signal, pollMs: 3000, onError: (e) => fill(peers, errorBox(e.describe('Loading Raft peers'))) });
}
