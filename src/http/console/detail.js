// One agent: header and actions, health chart, the live log, the transcript, spec and policy, and the checkpoints.

import { enabledActions } from './actions.js';
import { agentUrl, api } from './api.js';
import { drawHealthChart } from './chart.js';
import { createConversation } from './conversation.js';
import { clip, compact, dateTime, duration, fixed2, h, svg, usd } from './dom.js';
import { createLog } from './log.js';
import { openStream } from './sse.js';
import { COHERENCE_FLOOR, stateBadge } from './tree.js';

const ACTION_GROUPS = [
  [['spawnChild', 'Spawn child'], ['guide', 'Guide'], ['message', 'Message']],
  [['suspend', 'Suspend'], ['resume', 'Resume']],
  [['checkpoint', 'Checkpoint'], ['fork', 'Fork']],
  [['restart', 'Restart', 'danger'], ['terminate', 'Terminate', 'danger']], // last: pushed to the right
];

function definitionList(entries) {
  return h('dl', { class: 'kv' }, entries.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? h('span', { class: 'muted' }, '—') : v)]));
}

const limit = (n) => n.toLocaleString();

/**
 * The detail panel. `deps`: {onAction(name), samples(path) → [{t, coherence, drift, token_rate}]}.
 */
export function createDetail(panel, deps) {
  let path = null;
  let stream = null;
  let checkpoints = [];
  let lastSuspendDetail = null;
  let els = null;
  let conversation = null;

  function skeleton(node) {
    const buttons = {};
    const groups = ACTION_GROUPS.map((group) => h('div', { class: 'btn-group' }, group.map(([name, label, tone]) => {
      buttons[name] = h('button', { type: 'button', class: tone ?? '', 'data-action': name, onclick: () => deps.onAction(name) }, label);
      return buttons[name];
    })));
    els = {
      badge: h('span', { class: 'badge-slot' }),
      goal: h('p', { class: 'goal' }),
      reason: h('p', { class: 'suspend-reason', hidden: true }),
      meta: h('p', { class: 'meta' }),
      buttons,
      chart: svg('svg', { class: 'chart', role: 'img' }),
      stats: h('div', { class: 'stats' }),
      spec: h('div', {}),
      policy: h('div', {}),
      log: h('ol', { class: 'log', role: 'log', 'aria-label': `Log of ${node.path}; arrow keys move between entries`, tabindex: '0' }),
      logStatus: h('span', { class: 'stream-status', role: 'status' }, 'connecting…'),
      checkpoints: h('tbody', {}),
      checkpointsEmpty: h('p', { class: 'muted small' }, 'No checkpoints yet.'),
    };
    els.logView = createLog(els.log);
    conversation?.close();
    conversation = createConversation(node.path);
    panel.replaceChildren(
      h('header', { class: 'detail-head' },
        h('div', { class: 'title-row' }, h('h2', { id: 'detail-title', tabindex: '-1' }, node.path), els.badge),
        els.goal, els.reason, els.meta),
      h('div', { class: 'actions', role: 'group', 'aria-label': `Actions on ${node.path}` }, groups),
      h('section', { class: 'card', 'aria-labelledby': 'h-health' }, h('h3', { id: 'h-health' }, 'Health'), els.chart, els.stats),
      h('section', { class: 'card', 'aria-labelledby': 'h-log' },
        h('div', { class: 'card-head' }, h('h3', { id: 'h-log' }, 'Log'), els.logStatus), els.log),
      h('section', { class: 'card', 'aria-labelledby': 'h-transcript' }, h('h3', { id: 'h-transcript' }, 'Transcript'), conversation.el),
      h('section', { class: 'card', 'aria-label': 'Spec and policy' },
        h('div', { class: 'columns' },
          h('div', {}, h('h3', {}, 'Spec'), els.spec),
          h('div', {}, h('h3', {}, 'Policy'), els.policy))),
      h('section', { class: 'card', 'aria-labelledby': 'h-cp' },
        h('h3', { id: 'h-cp' }, 'Checkpoints'),
        els.cpTable = h('table', { class: 'cp-table', hidden: true },
          h('thead', {}, h('tr', {}, ['Id', 'Label', 'Taken', 'Turns', 'State'].map((c) => h('th', { scope: 'col' }, c)))),
          els.checkpoints),
        els.checkpointsEmpty));
  }

  function renderCheckpoints() {
    els.checkpoints.replaceChildren(...checkpoints.slice().reverse().map((c) => h('tr', {},
      h('td', {}, h('code', {}, c.id)), h('td', {}, c.label ?? ''), h('td', {}, dateTime(c.timestamp)), h('td', { class: 'num' }, c.turns),
      h('td', {}, c.state))));
    els.checkpointsEmpty.hidden = checkpoints.length > 0;
    els.cpTable.hidden = checkpoints.length === 0;
  }

  async function loadCheckpoints() {
    const forPath = path;
    try {
      const body = await api('GET', agentUrl(forPath, 'checkpoints'));
      if (forPath !== path) return;
      checkpoints = body.checkpoints;
      renderCheckpoints();
    } catch {
      // the agent was purged meanwhile: the tree will say so
    }
  }

  function openLog(forPath) {
    stream = openStream(agentUrl(forPath, 'log'), {
      onEvent(type, entry) {
        if (forPath !== path || typeof entry !== 'object') return;
        if (type === 'suspended') lastSuspendDetail = entry.detail ?? null;
        if (type === 'reset') lastSuspendDetail = null;
        els.logView.add(type, entry);
        // Any entry may follow a stored turn (a model call, a tool result, a message taken): read what is new.
        if (type === 'restarted') conversation?.reload();
        else conversation?.refresh();
        if (type === 'checkpoint' || type === 'restarted') loadCheckpoints();
      },
      onStatus(status) {
        if (forPath !== path) return;
        els.logStatus.textContent = { open: 'live', retrying: 'reconnecting…', gone: 'agent removed', closed: 'closed' }[status];
        els.logStatus.dataset.status = status;
      },
    });
  }

  function update(node) {
    const enabled = enabledActions(node);
    els.badge.replaceChildren(stateBadge(node.state));
    const reason = node.state === 'suspended' && node.suspend_reason
      ? `Suspended: ${node.suspend_reason.replaceAll('_', ' ')}${lastSuspendDetail ? ` — ${clip(lastSuspendDetail, 200)}` : ''}`
      : node.error_message ? `Error: ${clip(node.error_message, 200)}` : '';
    els.goal.textContent = node.spec.goal;
    els.goal.title = node.spec.goal;
    els.reason.textContent = reason;
    els.reason.hidden = reason === '';
    els.meta.textContent = [
      `created ${dateTime(node.created_at)}`, `up ${duration(node.uptime)}`,
      `${node.restart_count} of ${node.policy.max_restarts} restarts`, `${node.checkpoints} checkpoint${node.checkpoints === 1 ? '' : 's'}`,
      node.forked_from ? `forked from ${node.forked_from.path} @ ${node.forked_from.checkpoint}` : null,
    ].filter(Boolean).join(' · ');
    for (const [name, button] of Object.entries(els.buttons)) {
      if (name === 'terminate') button.textContent = node.state === 'dead' ? 'Remove' : 'Terminate';
      button.disabled = !(enabled[name] ?? true);
    }
    drawChart(node);
    const hl = node.health;
    const stat = (cls, label, value, note) => h('div', { class: `stat ${cls}` },
      h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value), note ? h('span', { class: 'stat-note' }, note) : null);
    els.stats.replaceChildren(
      stat('coherence', 'Coherence', fixed2(hl.coherence), `floor ${COHERENCE_FLOOR}`),
      stat('drift', 'Drift', fixed2(hl.drift), `limit ${node.policy.drift_threshold}`),
      stat('rate', 'Token rate', `${compact(hl.token_rate)}/h`, 'last hour'),
      stat('plain', 'Tokens', compact(hl.tokens_total), `${hl.loops_detected} loop${hl.loops_detected === 1 ? '' : 's'} seen`),
      stat('plain cost', 'Cost', usd(hl.cost_usd), typeof hl.cache_read_tokens === 'number' ? `${compact(hl.cache_read_tokens)} cache reads` : 'in all'));
    // Spec and policy change rarely (never, today): rebuilt only when they do, so a text selection survives.
    const specKey = JSON.stringify([node.spec, node.policy]);
    if (els.specKey === specKey) return;
    els.specKey = specKey;
    const s = node.spec;
    els.spec.replaceChildren(definitionList([
      ['Goal', s.goal], ['Model', h('code', {}, s.model)], ['Tools', s.tools.length ? s.tools.join(', ') : null], ['Schedule', s.schedule],
    ]));
    const p = node.policy;
    const b = p.budget;
    const budget = [
      b.max_total_tokens ? `${limit(b.max_total_tokens)} tokens` : null, b.max_tokens_per_hour ? `${limit(b.max_tokens_per_hour)}/h` : null,
      b.max_runtime_seconds ? `${duration(b.max_runtime_seconds)} runtime` : null,
    ].filter(Boolean).join(' · ');
    els.policy.replaceChildren(definitionList([
      ['Restart', `${p.restart.replace('_', ' ')}, at most ${p.max_restarts}`],
      ['Supervision', p.supervision.replaceAll('_', ' ')],
      ['Budget', budget || 'none'],
      ['Drift limit', String(p.drift_threshold)],
      ['Children', `at most ${p.max_children}, depth ${p.max_depth}`],
      ['Repeatable', p.repeatable_tools.length ? p.repeatable_tools.join(', ') : null],
    ]));
  }

  let charted = null;
  function drawChart(node) {
    charted = node;
    const samples = deps.samples(node.path);
    const hl = node.health;
    const minutes = samples.length > 1 ? Math.max(1, Math.round((samples.at(-1).t - samples[0].t) / 60_000)) : 0;
    els.chart.setAttribute('aria-label', `Health over the last ${minutes || 'few'} minute${minutes === 1 ? '' : 's'}: coherence ${fixed2(hl.coherence)}, drift ${fixed2(hl.drift)}, token rate ${hl.token_rate} per hour`);
    drawHealthChart(els.chart, samples, node.policy.drift_threshold);
  }
  // Redrawn at its new width when the panel resizes.
  const resize = new ResizeObserver(() => {
    if (charted && els) drawChart(charted);
  });
  resize.observe(panel);

  return {
    get path() {
      return path;
    },
    get checkpoints() {
      return checkpoints;
    },
    /** Live text of the selected agent's reply (a `token` event's data, {path, text}). */
    appendTokens(data) {
      if (data?.path === undefined || data.path === path) conversation?.appendTokens(data);
    },
    /** Shows `node` (or the empty state for null); a new path resets the log and checkpoints. */
    show(node, { focus = false } = {}) {
      if (!node) {
        if (path === null && els === null && panel.firstElementChild?.classList.contains('empty-detail')) return;
        stream?.close();
        stream = null;
        conversation?.close();
        conversation = null;
        path = null;
        els = null;
        panel.replaceChildren(h('div', { class: 'empty-detail' },
          h('h2', {}, 'No agent selected'), h('p', {}, 'Choose an agent in the tree to see its health, log and checkpoints.')));
        return;
      }
      if (node.path !== path) {
        stream?.close();
        path = node.path;
        checkpoints = [];
        lastSuspendDetail = null;
        skeleton(node);
        renderCheckpoints();
        loadCheckpoints();
        openLog(node.path);
        if (focus) panel.querySelector('#detail-title')?.focus();
      }
      update(node);
    },
  };
}
