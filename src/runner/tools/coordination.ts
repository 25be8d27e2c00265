import { approvalRuleSchema, policySchema, specSchema, type AgentPolicy } from '../../domain/schemas.js';
import { DomainError } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { checkNoLooserRules } from '../../domain/approval-rules.js';
import type { AgentRecord } from '../../domain/agent.js';
import type { Runtime } from '../../runtime/runtime.js';
import { agentIdSchema } from '../../domain/schemas.js';
import type { ClientTool } from './tool.js';
import { stringInput } from './tool.js';

const limit = { type: 'integer', minimum: 0 } as const;
const positive = { type: 'integer', minimum: 1 } as const;

/** The tools every agent has for working with its parent and children. Refusals are tool errors, never crashes. */
export const spawnChild: ClientTool = {
  definition: {
    name: 'spawn_child',
    description: 'Spawn a child agent under you with its own goal. Limits of your policy (max_children, max_depth) apply. '
      + 'The child gets your budget, max_children and one level less of max_depth; you may give it tighter ones, never looser.',
    input_schema: {
      type: 'object',
      properties: {
        id: { type: 'string', description: 'Child id: letters, digits, _ . -' },
        goal: { type: 'string' },
        model: { type: 'string', description: 'Model for the child (default: yours)' },
        tools: { type: 'array', items: { type: 'string' } },
        budget: {
          type: 'object', description: 'Tighter token/runtime limits for the child (default: yours; your max_cost_usd is inherited as it is)',
          properties: { max_total_tokens: positive, max_tokens_per_hour: positive, max_runtime_seconds: positive },
        },
        max_children: { ...limit, description: 'Default: yours' },
        max_depth: { ...limit, description: 'Levels of the child\'s own subtree, itself included (default: yours less one)' },
        approvals: {
          type: 'array', description: 'Extra tool approval rules for the child; yours apply to it anyway, and it may only be held tighter',
          items: {
            type: 'object', required: ['tool', 'decision'],
            properties: { tool: { type: 'string' }, decision: { enum: ['allow', 'ask', 'deny'] }, timeout_seconds: positive, on_timeout: { enum: ['allow', 'deny'] } },
          },
        },
      },
      required: ['id', 'goal'],
    },
  },
  async run(input, { runtime, agent }) {
    const id = agentIdSchema.safeParse(input.id);
    if (!id.success) throw new Error(`invalid id: ${id.error.issues[0]?.message ?? 'bad id'}`);
    const spec = specSchema.safeParse({ goal: input.goal, model: input.model ?? agent.spec.model, tools: input.tools ?? [] });
    if (!spec.success) throw new Error(`invalid child spec: ${spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const policy = childPolicy(agent.policy, input);
    try {
      const child = runtime.spawn(agent.path, { id: id.data, spec: spec.data, policy }, { by: agent.path });
      return `spawned ${child.path}`;
    } catch (error) {
      if (error instanceof DomainError && error.limit === 'max_depth') countDepthRefusal(runtime, agent, error.message);
      throw error;
    }
  },
};

const BUDGET_KEYS = ['max_total_tokens', 'max_tokens_per_hour', 'max_runtime_seconds'] as const;

/**
 * A child's policy: the parent's budget, max_children and remaining max_depth, each tightened where the model asks,
 * never loosened (a budgeted agent must not hand unlimited spending to its children). The rest is the default.
 */
export function childPolicy(parent: AgentPolicy, input: Record<string, unknown>): AgentPolicy {
  const asked = typeof input.budget === 'object' && input.budget !== null ? input.budget as Record<string, unknown> : {};
  const budget = { ...parent.budget };
  for (const key of BUDGET_KEYS) budget[key] = tighter(key, parent.budget[key], asked[key], 1);
  const maxChildren = tighter('max_children', parent.max_children, input.max_children) ?? parent.max_children;
  const maxDepth = tighter('max_depth', Math.max(0, parent.max_depth - 1), input.max_depth) ?? 0;
  const approvals = approvalRuleSchema.array().max(LIMITS.approvalRulesMax).safeParse(input.approvals ?? []);
  if (!approvals.success) throw new Error(`invalid approvals: ${approvals.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return policySchema.parse({ budget, max_children: maxChildren, max_depth: maxDepth, approvals: approvals.data });
}

/**
 * The seed's `depth_exceeded`: an agent that keeps trying to spawn past max_depth (LIMITS.depthRefusalsPerWake
 * refusals in one wake) is suspended rather than left to burn its budget on refusals.
 */
function countDepthRefusal(runtime: Runtime, agent: AgentRecord, detail: string): void {
  agent.depthRefusals = (agent.depthRefusals ?? 0) + 1;
  if (agent.depthRefusals < LIMITS.depthRefusalsPerWake) return;
  runtime.suspend(agent.path, 'depth_exceeded', `spawn_child refused ${agent.depthRefusals} times in one wake (${detail})`, { by: 'oversight' });
}

/** `asked` when it is no looser than `own` (null: unlimited), else a refusal the model reads. */
function tighter(name: string, own: number | null, asked: unknown, min = 0): number | null {
  if (asked === undefined || asked === null) return own;
  if (typeof asked !== 'number' || !Number.isSafeInteger(asked) || asked < min) throw new Error(`${name} must be a whole number of ${min} or more`);
  if (own !== null && asked > own) throw new Error(`${name} ${asked} is looser than the ${own} you may give; a child's limits are yours or tighter`);
  return asked;
}

export const listChildren: ClientTool = {
  definition: {
    name: 'list_children',
    description: 'List your children with their state and goal.',
    input_schema: { type: 'object', properties: {} },
  },
  async run(_input, { agent }) {
    const children = [...agent.children.values()].map((c) => ({ id: c.id, state: c.state, goal: c.spec.goal, suspend_reason: c.suspendReason }));
    return JSON.stringify(children);
  },
};

export const messageChild: ClientTool = {
  definition: {
    name: 'message_child',
    description: 'Send a message to one of your children; it wakes the child if it is idle.',
    input_schema: { type: 'object', properties: { id: { type: 'string' }, content: { type: 'string' } }, required: ['id', 'content'] },
  },
  async run(input, { runtime, agent }) {
    const id = stringInput(input, 'id')!;
    const child = agent.children.get(id);
    if (!child) throw new Error(`you have no child "${id}"; your children: ${[...agent.children.keys()].join(', ') || 'none'}`);
    runtime.message(child.path, { content: stringInput(input, 'content')!, channel: 'parent' }, agent.path);
    return `delivered to ${child.path}`;
  },
};

export const reportToParent: ClientTool = {
  definition: {
    name: 'report_to_parent',
    description: 'Send a report to the agent that spawned you; it wakes your parent if it is idle.',
    input_schema: { type: 'object', properties: { content: { type: 'string' } }, required: ['content'] },
  },
  async run(input, { runtime, agent }) {
    if (agent.parentPath === null) throw new Error('you are a root agent: there is no parent to report to');
    runtime.message(agent.parentPath, { content: stringInput(input, 'content')!, channel: 'child' }, agent.path);
    return `reported to ${agent.parentPath}`;
  },
};

/** Turns a domain refusal (limits, states) into the message the model sees. */
export function toolErrorMessage(error: unknown): string {
  if (error instanceof DomainError) return `refused: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
