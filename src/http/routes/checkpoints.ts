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
import { isSubtree, sendSubtree, subtreeAnswerSchema, subtreeQuery } from '../subtree.js';
import { SubtreeOps } from '../../subtree/operations.js';

const checkpointSummary = z.object({
  id: z.string(), path: z.string(), timestamp: z.string(), turns: z.number(), state: z.string(), label: z.string().optional(),
}).meta({ id: 'Checkpoint' });
const tags = ['checkpoints'];
const subtreeCheckpoints = z.object({
  cut: z.string().meta({ description: 'Marks every checkpoint of this one consistent cut (fork ?subtree=true copies it)' }),
  checkpoints: z.array(checkpointSummary),
}).meta({ id: 'SubtreeCheckpoint' });

function summary(checkpoint: Checkpoint) {
  const { conversation: _conversation, context: _context, health: _health, cut: _cut, ...rest } = checkpoint;
  return rest;
}

/** Checkpoints hold an agent's conversation and state; fork and restart start from them. */
export const checkpointRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime } = ctx;
  const subtree = new SubtreeOps(runtime);

  app.post('/agents/:path/checkpoint', {
    config: { access: 'agent:operate' },
    schema: {
      tags, operationId: 'checkpointAgent', summary: 'Save a snapshot of the conversation and state; ?subtree=true: of every live descendant too, in one consistent cut',
      params: pathParams, querystring: subtreeQuery, body: checkpointBodySchema.nullish(),
      response: { 201: z.union([checkpointSummary, subtreeCheckpoints]), ...errorResponses },
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    if (isSubtree(req.query)) {
      const { cut, checkpoints } = subtree.checkpoint(path, req.body?.label, actorOf(req));
      return sendJson(reply, runtime, 201, { cut, checkpoints: checkpoints.map(summary) }, path);
    }
    return sendJson(reply, runtime, 201, summary(runtime.checkpoint(path, req.body?.label, actorOf(req))), path);
  });

  app.get('/agents/:path/checkpoints', {
    config: { access: 'agent:read' },
    schema: { tags, operationId: 'listCheckpoints', summary: "The agent's checkpoints, oldest first", params: pathParams, response: { 200: z.object({ checkpoints: z.array(checkpointSummary) }), ...errorResponses } },
  }, async (req, reply) => sendJson(reply, runtime, 200, { checkpoints: (await runtime.checkpoints(agentPath(req.params.path))).map(summary) }));

  app.post('/agents/:path/fork', {
    config: { access: 'agent:operate' },
    schema: {
      tags, operationId: 'forkAgent', summary: 'Start a new sibling from the latest (or a named) checkpoint; ?subtree=true: the whole subtree from a subtree checkpoint',
      params: pathParams, querystring: subtreeQuery, body: forkBodySchema.nullish(),
      response: { 201: z.union([agentNodeSchema, subtreeAnswerSchema]), ...errorResponses },
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    refuse(checkFork(principalOf(req), path));
    if (isSubtree(req.query)) return sendSubtree(reply, runtime, 201, (await subtree.fork(path, req.body ?? {}, actorOf(req))).agents);
    return sendNode(reply, runtime, 201, await runtime.fork(path, req.body ?? {}, actorOf(req)));
  });
};
