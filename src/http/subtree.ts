import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { AgentRecord } from '../domain/agent.js';
import { renderNode } from '../domain/node-json.js';
import { agentNodeSchema } from '../domain/schemas.js';
import type { Runtime } from '../runtime/runtime.js';

/** `?subtree=true` on suspend, resume, checkpoint, restart and fork (README "Subtree operations"). */
export const subtreeQuery = z.object({
  subtree: z.enum(['true', 'false']).optional()
    .meta({ description: 'Act on the agent and every live descendant in one request; the answer lists every agent changed' }),
});

/** The answer of a subtree operation: each agent it changed, as it became, in the order it changed (no children). */
export const subtreeAnswerSchema = z.object({
  agents: z.array(agentNodeSchema).meta({ description: 'Each agent changed, in order (children first for suspend, parents first otherwise), rendered with ?depth=0' }),
}).meta({ id: 'SubtreeAnswer' });

export const isSubtree = (query: { subtree?: 'true' | 'false' | undefined }): boolean => query.subtree === 'true';

/** Sends `{agents: [...]}` once the changes are durable; each node without its children (they are listed too). */
export async function sendSubtree(reply: FastifyReply, runtime: Runtime, status: number, agents: readonly AgentRecord[], extra = ''): Promise<FastifyReply> {
  await runtime.store.flush(agents[0]?.path); // one subtree: a request is about one root's agents
  const now = runtime.clock();
  const nodes = agents.map((a) => renderNode(a, now, 0)).join(',');
  return reply.code(status).type('application/json; charset=utf-8').send(`{"agents":[${nodes}]${extra}}`);
}
