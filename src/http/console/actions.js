// Every operator action: a form where there is something to say or something to lose, a direct call where
// there is neither. API errors surface as the API's message (in the form, or in the page's notice).

import { agentUrl, api } from './api.js';
import { formDialog } from './dialogs.js';
import { walk } from './tree.js';

const SUSPEND_REASONS = ['manual', 'budget_exceeded', 'drift_detected', 'loop_detected', 'depth_exceeded', 'execution_error'];
const ID_PATTERN = '[A-Za-z0-9_\\-][A-Za-z0-9_.\\-]{0,63}';
const ACTIVE = new Set(['spawning', 'running', 'idle', 'correcting']);

/** Which actions make sense in a state (the daemon still decides; this only greys out the obvious no). */
export function enabledActions(node) {
  const live = ACTIVE.has(node.state) || node.state === 'suspended';
  return {
    spawnChild: live, guide: ACTIVE.has(node.state), message: live, suspend: ACTIVE.has(node.state),
    resume: node.state === 'suspended', checkpoint: node.state !== 'dead', fork: node.checkpoints > 0,
    restart: live, terminate: true,
  };
}

const optional = (value) => (value === '' ? undefined : value);

/** The "whole subtree" choice (`?subtree=true`), offered only on an agent with children. */
const hasKids = (node) => (node.children?.length ?? 0) > 0 || (node.children_count ?? 0) > 0;
const subtreeField = (node) => (hasKids(node) ? [{ name: 'subtree', label: 'Whole subtree (every live descendant too)', type: 'checkbox', value: false }] : []);
const subtreeQs = (v) => (v.subtree ? '?subtree=true' : '');
/** A direct call on a leaf; on an agent with children, a short form asking whether the whole subtree is meant. */
const maybeSubtree = (node, title, submitLabel, run) => (hasKids(node)
  ? formDialog({ title, submitLabel, fields: subtreeField(node), onSubmit: (v) => run(subtreeQs(v)) })
  : run(''));
const numberOr = (value) => (value === '' ? null : Number(value));

/** The spawn form; `parent` null spawns a root. Only policy fields the operator changed are sent. */
function spawnDialog(parent, ctx) {
  const policyFields = [
    { name: 'restart', label: 'Restart', type: 'select', value: 'on_failure', options: [['never'], ['on_failure', 'on failure'], ['always']] },
    { name: 'supervision', label: 'Supervision', type: 'select', value: 'one_for_one', options: [['one_for_one', 'one for one'], ['one_for_all', 'one for all'], ['escalate']] },
    { name: 'max_restarts', label: 'Max restarts', type: 'number', value: '3', min: 0, max: 1000 },
    { name: 'drift_threshold', label: 'Drift threshold', type: 'number', value: '0.4', min: 0, max: 1, step: 0.05 },
    { name: 'max_children', label: 'Max children', type: 'number', value: '10', min: 0 },
    { name: 'max_depth', label: 'Max depth', type: 'number', value: '3', min: 0, max: 64 },
    { name: 'max_total_tokens', label: 'Token budget', type: 'number', value: '', min: 1, placeholder: 'no limit', hint: 'Suspends the agent when reached' },
    { name: 'max_tokens_per_hour', label: 'Tokens per hour', type: 'number', value: '', min: 1, placeholder: 'no limit', hint: 'Warns when exceeded' },
    { name: 'max_runtime_seconds', label: 'Runtime (s)', type: 'number', value: '', min: 1, placeholder: 'no limit' },
  ];
  return formDialog({
    title: parent ? `Spawn a child of ${parent}` : 'Spawn a root agent',
    fields: [
      { name: 'parent', label: 'Parent path', value: parent ?? '', placeholder: 'none: a root agent', hint: 'Leave empty for a root agent' },
      { name: 'id', label: 'Id', pattern: ID_PATTERN, placeholder: 'derived from the goal', hint: 'Letters, digits, _ . -; unique among siblings' },
      { name: 'goal', label: 'Goal', type: 'textarea', required: true, rows: 3, placeholder: 'What the agent works towards' },
      { name: 'model', label: 'Model', value: 'claude-sonnet-4-6' },
      { name: 'tools', label: 'Tools', placeholder: 'web_search, fetch_webpage', hint: 'Comma-separated' },
      { name: 'schedule', label: 'Schedule', placeholder: 'cron, e.g. 0 9 * * *', hint: 'Wakes the agent on each tick when idle' },
    ],
    groups: [{ title: 'Policy', fields: policyFields }],
    submitLabel: 'Spawn',
    async onSubmit(v) {
      const spec = { goal: v.goal, model: optional(v.model), schedule: optional(v.schedule) };
      const tools = v.tools.split(',').map((t) => t.trim()).filter(Boolean);
      if (tools.length > 0) spec.tools = tools;
      const policy = {};
      const budget = {};
      for (const f of policyFields) {
        if (v[f.name] === f.value) continue;
        if (f.name.startsWith('max_t') || f.name === 'max_runtime_seconds') budget[f.name] = numberOr(v[f.name]);
        else policy[f.name] = f.type === 'number' ? Number(v[f.name]) : v[f.name];
      }
      if (Object.keys(budget).length > 0) policy.budget = budget;
      const body = { id: optional(v.id), spec, policy: Object.keys(policy).length > 0 ? policy : undefined };
      const parentPath = v.parent.replace(/^\/+|\/+$/g, '');
      const node = await api('POST', parentPath ? agentUrl(parentPath) : '/agents', body);
      await ctx.refresh();
      ctx.select(node.path);
    },
  });
}

/** Runs the action `name` on `node`. `ctx`: {refresh, select, notify, checkpoints}. */
export async function runAction(name, node, ctx) {
  const path = node.path;
  const call = async (method, url, body) => {
    await api(method, url, body);
    await ctx.refresh();
  };
  switch (name) {
    case 'spawnRoot':
      return spawnDialog(null, ctx);
    case 'spawnChild':
      return spawnDialog(path, ctx);
    case 'guide':
      return formDialog({
        title: `Guide ${path}`, description: 'Guidance is added to the agent’s next model call.', submitLabel: 'Send guidance',
        fields: [
          { name: 'guidance', label: 'Guidance', type: 'textarea', required: true, rows: 4 },
          { name: 'reason', label: 'Reason (for the log)' },
        ],
        onSubmit: (v) => call('PATCH', agentUrl(path), { guidance: v.guidance, reason: optional(v.reason) }),
      });
    case 'message':
      return formDialog({
        title: `Message ${path}`, submitLabel: 'Send message',
        fields: [
          { name: 'content', label: 'Message', type: 'textarea', required: true, rows: 4 },
          { name: 'channel', label: 'Channel', placeholder: 'optional' },
        ],
        onSubmit: (v) => call('POST', agentUrl(path, 'message'), { content: v.content, channel: optional(v.channel) }),
      });
    case 'suspend':
      return formDialog({
        title: `Suspend ${path}`, description: 'The agent stops working (a model call in flight is aborted) until resumed.',
        submitLabel: 'Suspend',
        fields: [
          { name: 'reason', label: 'Reason', type: 'select', value: 'manual', options: SUSPEND_REASONS.map((r) => [r, r.replace('_', ' ')]) },
          { name: 'detail', label: 'Detail', placeholder: 'why, for the log', maxlength: 1000 },
          ...subtreeField(node),
        ],
        onSubmit: (v) => call('POST', agentUrl(path, 'suspend') + subtreeQs(v), { reason: v.reason, detail: optional(v.detail) }),
      });
    case 'resume':
      return maybeSubtree(node, `Resume ${path}`, 'Resume', (qs) => call('POST', agentUrl(path, 'resume') + qs));
    case 'checkpoint':
      return maybeSubtree(node, `Checkpoint ${path}`, 'Checkpoint', (qs) => call('POST', agentUrl(path, 'checkpoint') + qs));
    case 'fork':
      return formDialog({
        title: `Fork ${path}`, description: 'A new sibling with the same spec and policy continues from a checkpoint.',
        submitLabel: 'Fork',
        fields: [
          { name: 'id', label: 'New id', pattern: ID_PATTERN, placeholder: `${node.id}-fork` },
          { name: 'checkpoint', label: 'Checkpoint', type: 'select', value: '', options: [['', 'latest'], ...ctx.checkpoints().map((c) => [c.id, `${c.id}${c.label ? ` · ${c.label}` : ''}`])] },
          ...subtreeField(node),
        ],
        async onSubmit(v) {
          const forked = await api('POST', agentUrl(path, 'fork') + subtreeQs(v), { id: optional(v.id), checkpoint: optional(v.checkpoint) });
          await ctx.refresh();
          ctx.select(forked.agents ? forked.agents[0].path : forked.path);
        },
      });
    case 'restart':
      return formDialog({
        title: `Restart ${path}?`, danger: true, submitLabel: 'Restart',
        description: `The conversation goes back to the latest checkpoint (or starts fresh without one) and pending messages are dropped. This is restart ${node.restart_count + 1} of ${node.policy.max_restarts}.`,
        fields: [{ name: 'reason', label: 'Reason (for the log)' }, ...subtreeField(node)],
        onSubmit: (v) => call('POST', agentUrl(path, 'restart') + subtreeQs(v), { reason: optional(v.reason) }),
      });
    case 'terminate': {
      const dead = node.state === 'dead';
      const descendants = [...walk(node.children ?? [])].length;
      const subtree = descendants > 0 ? ` and its ${descendants} descendant${descendants === 1 ? '' : 's'}` : '';
      return formDialog({
        title: dead ? `Remove ${path}?` : `Terminate ${path}?`, danger: true, submitLabel: dead ? 'Remove' : 'Terminate',
        description: dead
          ? `Removes ${path}${subtree} from the tree, with their log and checkpoints. This cannot be undone.`
          : `Stops ${path}${subtree} for good. A dead agent cannot be resumed.`,
        fields: [
          { name: 'reason', label: 'Reason (for the log)' },
          ...(dead ? [] : [{ name: 'purge', label: 'Also remove from the tree', type: 'checkbox', value: false }]),
        ],
        async onSubmit(v) {
          const query = new URLSearchParams();
          if (dead || v.purge) query.set('purge', 'true');
          if (v.reason) query.set('reason', v.reason);
          const qs = query.size > 0 ? `?${query}` : '';
          await call('DELETE', `${agentUrl(path)}${qs}`);
          if (dead || v.purge) ctx.select(null);
        },
      });
    }
    default:
      throw new Error(`unknown action ${name}`);
  }
}
