// The agent tree as a table: one row per agent, indented by depth. Rows are kept and updated in place, so
// a live update never moves keyboard focus. Subtrees fold; the folded paths outlive updates and reloads (this
// tab's sessionStorage). Narrow panels merge columns (style.css, container queries): every row carries both
// the separate cells and the merged ones, and the stylesheet shows one set.

import { compact, fixed2, h, usd } from './dom.js';

/** Oversight suspends an agent whose coherence falls below this (the seed's oversight table). */
export const COHERENCE_FLOOR = 0.3;

export const STATES = ['spawning', 'running', 'idle', 'correcting', 'suspended', 'terminating', 'dead'];

const FOLD_STORAGE = 'auton.folded';

/** A state as colour and word (never colour alone). */
export function stateBadge(state) {
  return h('span', { class: `state state-${state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), state);
}

/** A 0–1 health value; `bad` marks it past its limit (in colour and weight, with the limit in its title). */
function healthValue(value, bad, limit) {
  return h('span', { class: bad ? 'bad' : '', title: bad ? `past the limit ${limit}` : '' }, fixed2(value));
}

export function matchesFilter(node, filter) {
  if (filter.state === 'live' ? node.state === 'dead' : filter.state !== 'all' && node.state !== filter.state) return false;
  return filter.text === '' || node.path.toLowerCase().includes(filter.text.toLowerCase());
}

const filtering = (filter) => filter.state !== 'all' || filter.text !== '';

/** Depth-first, parents before children, as the tree is shown. */
export function* walk(nodes, depth = 0) {
  for (const node of nodes) {
    yield [node, depth];
    yield* walk(node.children ?? [], depth + 1);
  }
}

function descendants(node) {
  let n = 0;
  for (const _ of walk(node.children ?? [])) n++;
  return Math.max(n, node.children_count ?? 0);
}

function loadFolded() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(FOLD_STORAGE) ?? '[]'));
  } catch {
    return new Set();
  }
}

/** `onSelect(path)` on a click on a name; `onFold()` after a subtree folds or unfolds (the caller re-renders). */
export function createTreeTable(tbody, onSelect, onFold = () => {}) {
  const rows = new Map();
  const rowSignatures = new WeakMap();
  const folded = loadFolded();

  function toggle(path) {
    if (folded.has(path)) folded.delete(path);
    else folded.add(path);
    sessionStorage.setItem(FOLD_STORAGE, JSON.stringify([...folded]));
    onFold();
  }

  function rowFor(node) {
    let row = rows.get(node.path);
    if (!row) {
      const fold = h('button', { type: 'button', class: 'fold', onclick: () => toggle(node.path) });
      const button = h('button', { type: 'button', class: 'agent-link', onclick: () => onSelect(node.path) });
      row = h('tr', { 'data-path': node.path }, h('td', { class: 'name' }, fold, button, h('span', { class: 'folded-count' })));
      rows.set(node.path, row);
    }
    return row;
  }

  function fillName(row, node, depth, selected, foldable) {
    const nameCell = row.firstChild;
    const [fold, button, count] = nameCell.children;
    nameCell.style.setProperty('--depth', String(depth));
    button.textContent = node.id;
    button.setAttribute('aria-label', `${node.path}, ${node.state}`);
    button.title = node.path;
    if (selected) button.setAttribute('aria-current', 'true');
    else button.removeAttribute('aria-current');
    const hidden = descendants(node);
    const isFolded = hidden > 0 && folded.has(node.path);
    // A leaf keeps an invisible toggle, so names line up by depth.
    fold.classList.toggle('leaf', hidden === 0);
    fold.disabled = !foldable || hidden === 0;
    fold.textContent = isFolded ? '▸' : '▾';
    fold.setAttribute('aria-expanded', String(!isFolded));
    fold.setAttribute('aria-label', `${isFolded ? 'Unfold' : 'Fold'} ${node.path}`);
    fold.title = foldable ? `${isFolded ? 'Show' : 'Hide'} ${hidden} agent${hidden === 1 ? '' : 's'} below` : 'Folding is off while a filter is set';
    count.textContent = isFolded && foldable ? `+${hidden}` : '';
    row.className = `${selected ? 'selected ' : ''}row-${node.state}`;
    return isFolded && foldable;
  }

  function fill(row, node) {
    const health = node.health ?? {};
    // Cells are rebuilt only when what they show changed (the name cell, which may hold focus, never is).
    const signature = [node.state, node.suspend_reason, node.error_message, health.tokens_total, health.token_rate, health.cost_usd,
      health.coherence, health.drift, node.policy?.drift_threshold, node.restart_count, node.policy?.max_restarts].join('|');
    if (rowSignatures.get(row) === signature) return;
    rowSignatures.set(row, signature);
    const reason = node.suspend_reason ?? (node.error_message ? 'error' : '');
    const reasonText = () => reason || h('span', { class: 'muted' }, '—');
    const lowCoherence = health.coherence < COHERENCE_FLOOR;
    const drifting = health.drift >= (node.policy?.drift_threshold ?? 1);
    const tokensTitle = `${health.tokens_total ?? 0} tokens in all, ${health.token_rate ?? 0} in the last hour`;
    const cells = [
      h('td', { class: 'state-cell' }, stateBadge(node.state), reason ? h('span', { class: 'sub merged', title: node.error_message ?? '' }, reason) : null),
      h('td', { class: 'reason col-split', title: node.error_message ?? '' }, reasonText()),
      h('td', { class: 'num tokens', title: tokensTitle },
        h('span', { class: 'v' }, compact(health.tokens_total)), h('span', { class: 'sub merged' }, usd(health.cost_usd))),
      h('td', { class: 'num cost col-split', title: health.cost_usd == null ? 'no cost reported' : `$${health.cost_usd} in all` }, usd(health.cost_usd)),
      h('td', { class: `num coherence col-split${lowCoherence ? ' bad' : ''}` }, healthValue(health.coherence, lowCoherence, COHERENCE_FLOOR)),
      h('td', { class: `num drift col-split${drifting ? ' bad' : ''}` }, healthValue(health.drift, drifting, node.policy?.drift_threshold)),
      h('td', { class: 'num health merged', title: `coherence ${fixed2(health.coherence)}, drift ${fixed2(health.drift)}` },
        healthValue(health.coherence, lowCoherence, COHERENCE_FLOOR), h('span', { class: 'muted' }, ' / '),
        healthValue(health.drift, drifting, node.policy?.drift_threshold)),
      h('td', { class: 'num restarts' }, `${node.restart_count}/${node.policy?.max_restarts ?? '?'}`),
    ];
    while (row.children.length > 1) row.lastChild.remove();
    row.append(...cells);
  }

  return {
    /**
     * Shows the nodes that pass the filter, in tree order, minus folded subtrees (folds apply only without a
     * filter, so a filter never hides a match). Returns {shown, folded}: rows shown, rows hidden by folds.
     */
    render(roots, filter, selectedPath) {
      const seen = new Set();
      const foldable = !filtering(filter);
      let index = 0;
      let foldedAway = 0;
      let skipBelow = -1;
      for (const [node, depth] of walk(roots)) {
        if (skipBelow >= 0 && depth > skipBelow) {
          foldedAway++;
          continue;
        }
        skipBelow = -1;
        if (!matchesFilter(node, filter)) continue;
        const row = rowFor(node);
        seen.add(node.path);
        if (fillName(row, node, depth, node.path === selectedPath, foldable)) skipBelow = depth;
        fill(row, node);
        if (tbody.children[index] !== row) tbody.insertBefore(row, tbody.children[index] ?? null);
        index++;
      }
      for (const [path, row] of rows) {
        if (seen.has(path)) continue;
        row.remove();
        rows.delete(path);
      }
      return { shown: index, folded: foldedAway };
    },
    /** Unfolds every folded ancestor of `path` (a selection from elsewhere, the feed say, must be visible). */
    reveal(path) {
      let changed = false;
      for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) changed = folded.delete(path.slice(0, i)) || changed;
      if (changed) sessionStorage.setItem(FOLD_STORAGE, JSON.stringify([...folded]));
      return changed;
    },
    focus(path) {
      rows.get(path)?.querySelector('.agent-link')?.focus();
    },
  };
}
