// The console: the tree (GET /agents), kept live by one /observe stream per root, and the selected agent.
// Events update the tree at once; the root's subtree is then re-read (at most once a second) for the fields
// events do not carry. A slow poll finds roots spawned elsewhere, and takes over when there are more roots
// than streams a browser can hold open (six connections per host, some kept for requests and the log).

import { runAction } from './actions.js';
import { createApprovals } from './approvals.js';
import { agentUrl, allowKeyPrompt, api, apiKey, keyDeclined, onKeyNeeded, setApiKey } from './api.js';
import { createDetail } from './detail.js';
import { formDialog } from './dialogs.js';
import { h } from './dom.js';
import { createFeed } from './feed.js';
import { openStream } from './sse.js';
import { STATES, createTreeTable, walk } from './tree.js';

const POLL_MS = 3_000;
const SUBTREE_REFRESH_MS = 1_000;
const MAX_ROOT_STREAMS = 3;
const SAMPLES_PER_AGENT = 180;
const SAMPLE_EVERY_MS = 2_000;

const $ = (id) => document.getElementById(id);
const model = { roots: [], byPath: new Map(), selected: null, filter: { state: 'all', text: '' } };
const samples = new Map();
const streams = new Map();
const streamStatus = new Map();
const refreshTimers = new Map();
const lastRefresh = new Map();

// ---- the model

function reindex() {
  model.byPath.clear();
  for (const [node] of walk(model.roots)) {
    model.byPath.set(node.path, node);
    sample(node);
  }
  for (const path of samples.keys()) if (!model.byPath.has(path)) samples.delete(path);
}

function sample(node, force = false) {
  const list = samples.get(node.path) ?? [];
  const last = list.at(-1);
  const { coherence, drift, token_rate } = node.health;
  const now = Date.now();
  const same = last && last.coherence === coherence && last.drift === drift && last.token_rate === token_rate;
  if (last && now - last.t < SAMPLE_EVERY_MS && (same || !force)) return;
  list.push({ t: now, coherence, drift, token_rate });
  if (list.length > SAMPLES_PER_AGENT) list.shift();
  samples.set(node.path, list);
}

async function loadTree() {
  const body = await api('GET', '/agents');
  model.roots = body.agents;
  reindex();
  syncStreams();
  render();
}

/** Re-reads one root's subtree; a 404 means it was purged. */
async function refreshRoot(root) {
  let fresh = null;
  try {
    fresh = await api('GET', agentUrl(root));
  } catch (err) {
    if (err.status !== 404) return;
  }
  const i = model.roots.findIndex((r) => r.path === root);
  if (fresh && i >= 0) model.roots[i] = fresh;
  else if (fresh) model.roots.push(fresh);
  else if (i >= 0) model.roots.splice(i, 1);
  reindex();
  if (!fresh) syncStreams();
  render();
}

/** Re-reads a root's subtree now, or, if it was re-read less than a second ago, once that second is over. */
function scheduleRefresh(root) {
  if (refreshTimers.has(root)) return;
  const wait = Math.max(0, (lastRefresh.get(root) ?? 0) + SUBTREE_REFRESH_MS - Date.now());
  refreshTimers.set(root, setTimeout(() => {
    refreshTimers.delete(root);
    lastRefresh.set(root, Date.now());
    refreshRoot(root);
  }, wait));
}

/** What an event says about a node, applied before the subtree is re-read. */
function applyEvent(type, data) {
  const node = model.byPath.get(data.path);
  if (node) {
    if (type === 'state_change') {
      node.state = data.to;
      if (data.to === 'suspended' && data.reason) node.suspend_reason = data.reason;
      else delete node.suspend_reason;
    } else if (type === 'suspended') node.suspend_reason = data.reason;
    else if (type === 'heartbeat') {
      Object.assign(node.health, data.health);
      node.state = data.state;
    } else if (type === 'health') {
      const { path: _p, state, ...health } = data;
      Object.assign(node.health, health);
      node.state = state;
    } else if (type === 'model_call' && typeof data.tokens_total === 'number') node.health.tokens_total = data.tokens_total;
    else if (type === 'restarted') node.restart_count = data.restart_count;
    sample(node, true);
  }
  render();
}

// ---- live streams, one per root

function syncStreams() {
  const wanted = new Set(model.roots.slice(0, MAX_ROOT_STREAMS).map((r) => r.path));
  for (const [root, stream] of streams) {
    if (wanted.has(root)) continue;
    stream.close();
    streams.delete(root);
    streamStatus.delete(root);
  }
  for (const root of wanted) {
    if (streams.has(root)) continue;
    streamStatus.set(root, 'connecting');
    // With the reply text as it streams in (`token` events, no id), which the selected agent's transcript shows.
    streams.set(root, openStream(`${agentUrl(root, 'observe')}?tokens=true`, {
      onEvent(type, data, id) {
        if (typeof data !== 'object' || data === null) return;
        if (type === 'reset') return void loadTree().catch(() => {});
        // Live text of a reply: for the transcript only, never stored, never replayed.
        if (type === 'token') return void detail.appendTokens(data);
        feed.add(type, data, id);
        if (type.startsWith('approval_')) void approvals.refresh();
        if (data.path) applyEvent(type, data);
        if (type !== 'health') scheduleRefresh(root);
      },
      onStatus(status) {
        streamStatus.set(root, status);
        if (status === 'gone') {
          streams.delete(root);
          streamStatus.delete(root);
          scheduleRefresh(root);
        }
        renderConnection();
      },
    }));
  }
  renderConnection();
}

function renderConnection() {
  const el = $('conn');
  const statuses = [...streamStatus.values()];
  const polling = model.roots.length > MAX_ROOT_STREAMS;
  let state = 'live';
  let text = statuses.length === 0 ? 'Connected' : 'Live';
  if (statuses.some((s) => s === 'retrying')) [state, text] = ['retrying', 'Reconnecting…'];
  else if (statuses.some((s) => s === 'connecting')) [state, text] = ['connecting', 'Connecting…'];
  else if (polling) text = `Live · ${MAX_ROOT_STREAMS} of ${model.roots.length} roots streamed, others polled`;
  if (offline) [state, text] = ['retrying', 'Daemon unreachable'];
  $('feed-note').textContent = polling ? `from the first ${MAX_ROOT_STREAMS} roots` : '';
  el.dataset.state = state;
  el.lastChild.textContent = text;
}

let offline = false;

async function poll() {
  if (document.hidden) return;
  void approvals.refresh();
  try {
    if (model.roots.length > MAX_ROOT_STREAMS) await loadTree();
    else {
      const { agents } = await api('GET', '/agents?depth=0');
      const known = model.roots.map((r) => r.path).join('\n');
      if (agents.map((r) => r.path).join('\n') !== known) await loadTree();
    }
    if (model.selected && model.byPath.has(model.selected)) {
      const fresh = await api('GET', `${agentUrl(model.selected)}?depth=0`);
      const node = model.byPath.get(fresh.path);
      if (node) {
        const { children: _c, children_count: _n, ...fields } = fresh;
        Object.assign(node, fields);
        if (!('suspend_reason' in fresh)) delete node.suspend_reason;
        sample(node, true);
        render();
      }
    }
    offline = false;
  } catch (err) {
    offline = err.status === 0;
  }
  renderConnection();
}

// ---- rendering

const tree = createTreeTable($('tree-body'), (path) => select(path), () => render());
const feed = createFeed($('feed'), $('feed-empty'), (path) => select(path));
const approvals = createApprovals($('approvals-panel'), $('approvals'), $('approvals-count'), { notify: (message) => notify(message) });
const detail = createDetail($('detail'), {
  onAction: (name) => act(name, model.byPath.get(model.selected)),
  samples: (path) => samples.get(path) ?? [],
});

let frame = 0;
function render() {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const { shown, folded } = tree.render(model.roots, model.filter, model.selected);
    const total = model.byPath.size;
    $('tree-count').textContent = shown + folded === total ? `${total} agent${total === 1 ? '' : 's'}${folded ? ` · ${folded} folded` : ''}` : `${shown} of ${total} agents`;
    $('tree-empty').hidden = total > 0;
    $('tree-nomatch').hidden = total === 0 || shown > 0;
    const node = model.selected ? model.byPath.get(model.selected) : null;
    if (model.selected && !node) return void select(null);
    detail.show(node ?? null);
  });
}

/** Selects an agent (null: none). A path the console has not seen yet (a link, a root spawned elsewhere) re-reads the tree first. */
async function select(path, { focus = false } = {}) {
  if (path && !model.byPath.has(path)) await loadTree().catch(() => {});
  if (path && !model.byPath.has(path)) path = null;
  if (path) tree.reveal(path);
  model.selected = path;
  const hash = path ? `#/agents/${path}` : '#/';
  if (location.hash !== hash) history.replaceState(null, '', hash);
  detail.show(path ? model.byPath.get(path) : null, { focus });
  $('sr-status').textContent = path ? `Showing ${path}` : '';
  render();
}

// ---- notices and actions

function notify(message, tone = 'error') {
  const el = $('notice');
  el.dataset.tone = tone;
  el.querySelector('.notice-text').textContent = message;
  el.hidden = false;
}

async function act(name, node) {
  $('notice').hidden = true;
  try {
    await runAction(name, node ?? {}, {
      refresh: () => loadTree(),
      select: (path) => select(path),
      checkpoints: () => detail.checkpoints,
    });
  } catch (err) {
    notify(err.display ?? String(err.message ?? err));
  }
}

// ---- wiring

/** The header's key button: forget the key when there is one, ask for one after a cancelled prompt. */
function renderAuthButton() {
  const button = $('auth-key');
  button.hidden = apiKey() === null && !keyDeclined();
  button.textContent = apiKey() === null ? 'Enter API key' : 'Forget API key';
}

onKeyNeeded((reason) => {
  let key = null;
  return formDialog({
    title: 'API key', description: `${reason} It is kept for this tab only.`, submitLabel: 'Use key', dialogId: 'key-dialog',
    fields: [{ name: 'key', label: 'API key', type: 'password', required: true, autocomplete: 'current-password' }],
    onSubmit: (v) => {
      key = v.key;
    },
  }).then((ok) => {
    setTimeout(renderAuthButton); // after requestKey() has recorded the answer
    return ok ? key : null;
  });
});

$('state-filter').append(...STATES.map((s) => h('option', { value: s }, s)));
$('state-filter').addEventListener('change', (e) => {
  model.filter.state = e.target.value;
  render();
});
$('path-filter').addEventListener('input', (e) => {
  model.filter.text = e.target.value.trim();
  render();
});
$('filters').addEventListener('submit', (e) => e.preventDefault());
$('spawn-root').addEventListener('click', () => act('spawnRoot', null));
$('notice-close').addEventListener('click', () => {
  $('notice').hidden = true;
});
renderAuthButton();
$('auth-key').addEventListener('click', () => {
  if (apiKey() === null) {
    allowKeyPrompt();
    loadTree().catch((err) => notify(err.display ?? String(err)));
  } else {
    setApiKey(null);
    notify('The API key was forgotten for this tab.', 'info');
  }
  renderAuthButton();
});

const fromHash = () => {
  const m = /^#\/agents\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
};
window.addEventListener('hashchange', () => select(fromHash()));

(async () => {
  model.selected = fromHash();
  try {
    await loadTree();
  } catch (err) {
    offline = err.status === 0;
    notify(err.display ?? String(err));
  }
  render();
  void approvals.refresh();
  setInterval(poll, POLL_MS);
})();
