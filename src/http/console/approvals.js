// The pending-approvals panel: tool calls held for a person's yes (GET /approvals), each with Approve and Deny.
// Shown only while something waits; re-read when an approval event arrives on a stream and on every poll.

import { agentUrl, api } from './api.js';
import { clockTime, h } from './dom.js';

const INPUT_CHARS = 200;

export function createApprovals(panel, list, count, { notify }) {
  let reading = null;

  function refresh() {
    reading ??= api('GET', '/approvals')
      .then((body) => render(body.approvals))
      .catch(() => {}) // the tree's own requests report an unreachable daemon
      .finally(() => (reading = null));
    return reading;
  }

  function render(approvals) {
    panel.hidden = approvals.length === 0;
    count.textContent = approvals.length === 0 ? '' : String(approvals.length);
    list.replaceChildren(...approvals.map(item));
  }

  function item(a) {
    return h('li', { class: 'approval', 'data-id': a.id },
      h('div', { class: 'approval-what' }, h('strong', {}, a.tool), ' for ', h('a', { href: `#/agents/${a.path}` }, a.path)),
      h('code', { class: 'approval-input' }, JSON.stringify(a.input).slice(0, INPUT_CHARS)),
      h('div', { class: 'muted small' }, `expires ${clockTime(a.expires_at)}, then ${a.on_timeout}`),
      h('div', { class: 'approval-actions' },
        h('button', { type: 'button', class: 'primary', onclick: (e) => decide(a, 'allow', e.target) }, 'Approve'),
        h('button', { type: 'button', class: 'danger', onclick: (e) => decide(a, 'deny', e.target) }, 'Deny')));
  }

  async function decide(a, decision, button) {
    button.disabled = true;
    try {
      await api('POST', `${agentUrl(a.path)}/approvals/${encodeURIComponent(a.id)}`, { decision });
    } catch (err) {
      notify(err.display ?? String(err));
    }
    await refresh();
  }

  return { refresh };
}
