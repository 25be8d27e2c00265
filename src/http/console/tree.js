// The agent tree as a table: one row per agent, indented by depth. Rows are kept and updated in place, so
// a live update never moves keyboard focus.

import { compact, fixed2, h } from './dom.js';

export const STATES = ['spawning', 'running', 'idle', 'correcting', 'suspended', 'terminating', 'dead'];

/** A state as colour and word (never colour alone). */
export function stateBadge(state) {
  return h('span', { class: `state state-${state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state);
}

/** A 0–1 value as a number with a small bar; `bad` marks it past its limit. */
function meterCell(value, bad) {
  const bar = h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', {}));
  bar.firstChild.style.setProperty('--v', String(Math.max(0, Math.min(1, value ?? 0))));
  return h('td', { class: `num meter${bad ? ' bad' : ''}` }, bar, fixed2(value));
}

export function matchesFilter(node, filter) {
  if (filter.state === 'live' ? node.state === 'dead' : filter.state !== 'all' && node.state !== filter.state) return false;
  return filter.text === '' || node.path.toLowerCase().includes(filter.text.toLowerCase());
}

/** Depth-first, parents before children, as the tree is shown. */
export function* walk(nodes, depth = 0) {
  for (const node of nodes) {
    yield [node, depth];
    yield* walk(node.children ?? [], depth + 1);
  }
}

export function createTreeTable(tbody, onSelect) {
  const rows = new Map();

  function rowFor(node) {
    let row = rows.get(node.path);
    if (!row) {
      const button = h('button', { type: 'button', class: 'agent-link', onclick: () => onSelect(node.path) });
      row = h('tr', { 'data-path': node.path }, h('td', { class: 'name' }, button));
      rows.set(node.path, row);
    }
    return row;
  }

  function fill(row, node, depth, selected) {
    const nameCell = row.firstChild;
    const button = nameCell.firstChild;
    nameCell.style.setProperty('--depth', String(depth));
    button.textContent = node.id;
    button.setAttribute('aria-label', `${node.path}, ${node.state}`);
    button.title = node.path;
    if (selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    row.className = `${selected ? 'selected ' : ''}row-${node.state}`;
    const health = node.health ?? {};
    const reason = node.suspend_reason ?? (node.error_message ? 'error' : '');
    const cells = [
      h('td', {}, stateBadge(node.state)),
      h('td', { class: 'reason', title: node.error_message ?? '' }, reason || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num', title: `${health.tokens_total ?? 0} tokens in all, ${health.token_rate ?? 0} in the last hour` }, compact(health.tokens_total)),
      meterCell(health.coherence, health.coherence < 0.3),
      meterCell(health.drift, health.drift >= (node.policy?.drift_threshold ?? 1)),
      h('td', { class: 'num' }, `${node.restart_count}/${node.policy?.max_restarts ?? '?'}`),
    ];
    // Cheap enough at console scale; the name cell (which may hold focus) is never replaced.
    while (row.children.length > 1) row.lastChild.remove();
    row.append(...cells);
  }

  return {
    /** Shows the nodes that pass the filter, in tree order; returns how many were shown. */
    render(roots, filter, selectedPath) {
      const seen = new Set();
      let index = 0;
      for (const [node, depth] of walk(roots)) {
        if (!matchesFilter(node, filter)) continue;
        const row = rowFor(node);
        seen.add(node.path);
        fill(row, node, depth, node.path === selectedPath);
        if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] ?? null);
        index++;
      }
      for (const [path, row] of rows) {
        if (seen.has(path)) continue;
        row.remove();
        rows.delete(path);
      }
      return index;
    },
    focus(path) {
      rows.get(path)?.querySelector('button')?.focus();
    },
  };
}
