import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Checkpoint } from '../../domain/agent.js';
import { agentNodeSchema, checkpointBodySchema, forkBodySchema } from '../../domain/schemas.js';
import { agentPath } from '../agent-paths.js';
import { checkFork } from '../auth/access.js';
import { actorOf, principalOf, refuse } from '../auth/guard.js';
import type { AppContext } from '../context.js';
import { errorResponses, pathParams } from '../openapi.js';
import { sendJson, sendNode } from '../reply.js';

const checkpointSummary = z.object({
  id: z.string(), path: z.string(), timestamp: z.string(), turns: z.number(), state: z.string(), label: z.string().optional(),
}).meta({ id: 'Checkpoint' });
const tags = ['checkpoints'];

function summary(checkpoint: Checkpoint) {
  const { conversation: _conversation, context: _context, health: _health, ...rest } = checkpoint;
  return rest;
}

/** Checkpoints hold an agent's conversation and state; fork and restart start from them. */
export const checkpointRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime } = ctx;

  app.post('/agents/:path/checkpoint', {
    config: { access: 'agent:operate' },
    schema: { tags, operationId: 'checkpointAgent', summary: 'Save a snapshot of the conversation and state', params: pathParams, body: checkpointBodySchema.nullish(), response: { 201: checkpointSummary, ...errorResponses } },
  }, async (req, reply) => sendJson(reply, runtime, 201, summary(runtime.checkpoint(agentPath(req.params.path), req.body?.label, actorOf(req)))));

  app.get('/agents/:path/checkpoints', {
    config: { access: 'agent:read' },
    schema: { tags, operationId: 'listCheckpoints', summary: "The agent's checkpoints, oldest first", params: pathParams, response: { 200: z.object({ checkpoints: z.array(checkpointSummary) }), ...errorResponses } },
  }, async (req, reply) => sendJson(reply, runtime, 200, { checkpoints: (await runtime.checkpoints(agentPath(req.params.path))).map(summary) }));

  app.post('/agents/:path/fork', {
    config: { access: 'agent:operate' },
    schema: { tags, operationId: 'forkAgent', summary: 'Start a new sibling from the latest (or a named) checkpoint', params: pathParams, body: forkBodySchema.nullish(), response: { 201: agentNodeSchema, ...errorResponses } },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    refuse(checkFork(principalOf(req), path));
    return sendNode(reply, runtime, 201, await runtime.fork(path, req.body ?? {}, actorOf(req)));
  });
};
