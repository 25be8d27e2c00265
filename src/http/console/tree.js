// The agent tree as a table: one row per agent, indented by depth. Rows are kept and updated in place, so
// a live update never moves keyboard focus.

import { compact, fixed2, h } from './dom.js';

/** Oversight suspends an agent whose coherence falls below this (the seed's oversight table). */
export const COHERENCE_FLOOR = 0.3;

export const STATES = ['spawning', 'running', 'idle', 'correcting', 'suspended', 'terminating', 'dead'];

/** A state as colour and word (never colour alone). */
export function stateBadge(state) {
  return h('span', { class: `state state-${state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state);
}

/** A 0–1 health value; `bad` marks it past its limit (in colour and weight, with the limit in its title). */
function healthCell(value, bad, limit) {
  return h('td', { class: `num${bad ? ' bad' : ''}`, title: bad ? `past the limit ${limit}` : '' }, fixed2(value));
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
  const rowSignatures = new WeakMap();

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
    // Cells are rebuilt only when what they show changed (the name cell, which may hold focus, never is).
    const signature = [node.state, node.suspend_reason, node.error_message, health.tokens_total, health.token_rate, health.coherence,
      health.drift, node.policy?.drift_threshold, node.restart_count, node.policy?.max_restarts].join('|');
    if (rowSignatures.get(row) === signature) return;
    rowSignatures.set(row, signature);
    const reason = node.suspend_reason ?? (node.error_message ? 'error' : '');
    const cells = [
      h('td', {}, stateBadge(node.state)),
      h('td', { class: 'reason', title: node.error_message ?? '' }, reason || h('span', { class: 'muted' }, '—')),
      h('td', { class: 'num', title: `${health.tokens_total ?? 0} tokens in all, ${health.token_rate ?? 0} in the last hour` }, compact(health.tokens_total)),
      healthCell(health.coherence, health.coherence < COHERENCE_FLOOR, COHERENCE_FLOOR),
      healthCell(health.drift, health.drift >= (node.policy?.drift_threshold ?? 1), node.policy?.drift_threshold),
      h('td', { class: 'num' }, `${node.restart_count}/${node.policy?.max_restarts ?? '?'}`),
    ];
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
