import { policySchema, specSchema } from '../../domain/schemas.js';
import { DomainError } from '../../domain/errors.js';
import { agentIdSchema } from '../../domain/schemas.js';
import type { ClientTool } from './tool.js';
import { stringInput } from './tool.js';

/** The tools every agent has for working with its parent and children. Refusals are tool errors, never crashes. */
export const spawnChild: ClientTool = {
  definition: {
    name: 'spawn_child',
    description: 'Spawn a child agent under you with its own goal. Limits of your policy (max_children, max_depth) apply.',
    input_schema: {
      type: 'object',
      properties: {
        id: { type: 'string', description: 'Child id: letters, digits, _ . -' },
        goal: { type: 'string' },
        model: { type: 'string', description: 'Model for the child (default: yours)' },
        tools: { type: 'array', items: { type: 'string' } },
      },
      required: ['id', 'goal'],
    },
  },
  async run(input, { runtime, agent }) {
    const id = agentIdSchema.safeParse(input.id);
    if (!id.success) throw new Error(`invalid id: ${id.error.issues[0]?.message ?? 'bad id'}`);
    const spec = specSchema.safeParse({ goal: input.goal, model: input.model ?? agent.spec.model, tools: input.tools ?? [] });
    if (!spec.success) throw new Error(`invalid child spec: ${spec.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const child = runtime.spawn(agent.path, { id: id.data, spec: spec.data, policy: policySchema.parse({}) }, { by: agent.path });
    return `spawned ${child.path}`;
  },
};

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
