import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ByteWriter } from '../../domain/byte-writer.js';
import { renderNode, writeNode } from '../../domain/node-json.js';
import { mergeRoots } from '../../cluster/remote-tree.js';
import {
  agentNodeSchema, messageBodySchema, patchBodySchema, restartBodySchema, type PolicyPatch,
  resumeBodySchema, spawnBodySchema, suspendBodySchema,
} from '../../domain/schemas.js';
import { agentPath, unknownActionMessage } from '../agent-paths.js';
import { sendError } from '../errors.js';
import { check, checkPurge, visibleRoots } from '../auth/access.js';
import { actorOf, principalOf, refuse } from '../auth/guard.js';
import type { AppContext } from '../context.js';
import { errorResponses, pathParams } from '../openapi.js';
import { changePolicy } from '../../runtime/policy-change.js';
import { isActive } from '../../domain/states.js';
import { sendBytes, sendJson, sendNode, sendRaw } from '../reply.js';
import { isSubtree, sendSubtree, subtreeAnswerSchema, subtreeQuery } from '../subtree.js';
import { SubtreeOps } from '../../subtree/operations.js';

const depthQuery = z.object({
  depth: z.coerce.number().int().min(0).max(64).optional()
    .meta({ description: 'Levels of children to include (0 = the node alone); cut nodes carry children_count' }),
});
const listQuery = depthQuery.extend({
  limit: z.coerce.number().int().min(1).max(10_000).optional().meta({ description: 'Roots per page' }),
  offset: z.coerce.number().int().min(0).optional().meta({ description: 'Roots to skip' }),
});
const node = { 200: agentNodeSchema, ...errorResponses };
const nodeOrSubtree = { 200: z.union([agentNodeSchema, subtreeAnswerSchema]), ...errorResponses };
const created = { 201: agentNodeSchema, ...errorResponses };
const tags = ['agents'];
const read = { access: 'agent:read' } as const;
const operate = { access: 'agent:operate' } as const;

/** The tree and every lifecycle operation on it (spec: "Protocol"). */
export const agentRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime } = ctx;
  const subtree = new SubtreeOps(runtime);

  app.get('/agents', {
    config: { access: 'key' },
    schema: {
      tags, operationId: 'listAgents', summary: 'The whole tree (roots with their children nested)', querystring: listQuery,
      response: { 200: z.object({ agents: z.array(agentNodeSchema), total: z.number() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const { depth = Infinity, limit = Infinity, offset = 0 } = req.query;
    const now = runtime.clock();
    // Written as bytes, node by node, from each node's cached parts: the whole tree is 7 MB, and as one string it
    // was built, flattened and encoded on every read. Rendered in one go, so the answer is one moment of the tree.
    const out = new ByteWriter();
    out.ascii('{"agents":[');
    let i = 0;
    let listed = 0;
    // Several daemons: the subtrees the others own, as stored, beside this daemon's own.
    const remote = ctx.cluster ? await ctx.cluster.remoteTree() : null;
    const all = remote ? mergeRoots(runtime.tree.roots, remote.roots) : runtime.tree.roots;
    // A scoped key sees its scope's agent as its only root.
    const { roots, total } = visibleRoots(principalOf(req), all, (p) => runtime.tree.find(p) ?? remote?.find(p));
    for (const root of roots) {
      if (i++ < offset) continue;
      if (listed >= limit) break;
      if (listed++ > 0) out.ascii(',');
      writeNode(out, root, now, depth);
    }
    out.ascii(`],"total":${total}}`);
    return sendBytes(reply, out.finish());
  });

  app.post('/agents', { config: { access: 'tree:operate' }, schema: { tags, operationId: 'spawnRootAgent', summary: 'Spawn a root agent (an unscoped key)', body: spawnBodySchema, response: created } },
    async (req, reply) => sendNode(reply, runtime, 201, runtime.spawn(null, req.body, actorOf(req))));

  /**
   * `POST /agents/r/resum` names no action, so it routes as a spawn under `r/resum`: when `r` exists and `r/resum`
   * does not, the 404 names the actions (before the body is validated, so it is not a 400 about `spec`).
   */
  const explainMissing = (req: FastifyRequest<{ Params: { path: string } }>, reply: FastifyReply, done: () => void) => {
    const path = agentPath(req.params.path);
    const slash = path.lastIndexOf('/');
    if (slash === -1 || runtime.tree.find(path) || !runtime.tree.find(path.slice(0, slash))) return done();
    const message = unknownActionMessage(req.method, path);
    if (message === null) return done();
    void sendError(reply, 404, message);
  };

  app.get('/agents/:path', { config: read, preValidation: explainMissing, schema: { tags, operationId: 'getAgent', summary: 'The subtree at a path', params: pathParams, querystring: depthQuery, response: node } },
    async (req, reply) => sendRaw(reply, renderNode(runtime.get(agentPath(req.params.path)), runtime.clock(), req.query.depth)));

  app.post('/agents/:path', {
    config: operate,
    preValidation: explainMissing,
    schema: { tags, operationId: 'spawnChildAgent', summary: 'Spawn a child under the agent at path', params: pathParams, body: spawnBodySchema, response: created },
  }, async (req, reply) => sendNode(reply, runtime, 201, runtime.spawn(agentPath(req.params.path), req.body, actorOf(req))));

  app.delete('/agents/:path', {
    config: operate,
    schema: {
      tags, operationId: 'terminateAgent', summary: 'Terminate the agent and its descendants (children first)', params: pathParams,
      querystring: z.object({
        purge: z.enum(['true', 'false']).optional().meta({ description: 'Also remove the subtree from the tree' }),
        reason: z.string().max(1000).optional(),
      }),
      response: node,
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const purge = req.query.purge === 'true';
    if (purge) refuse(checkPurge(principalOf(req), runtime.get(path)));
    return sendNode(reply, runtime, 200, runtime.terminate(path, { purge, ...actorOf(req, req.query.reason) }));
  });

  app.patch('/agents/:path', {
    config: operate,
    schema: { tags, operationId: 'guideAgent', summary: 'Correct (guidance for the next model call) and/or change the policy (merged over the current one)', params: pathParams, body: patchBodySchema, response: node },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const { guidance, policy, reason } = req.body;
    // Both or neither: guidance an agent cannot take (409) is refused before the policy changes, and a refused
    // policy (400) before the guidance is queued.
    if (guidance !== undefined && policy && !isActive(runtime.get(path).state)) runtime.guide(path, guidance, actorOf(req, reason));
    let agent = policy ? changePolicy(runtime, path, policy as PolicyPatch, actorOf(req, reason)) : runtime.get(path);
    if (guidance !== undefined) agent = runtime.guide(path, guidance, actorOf(req, reason));
    return sendNode(reply, runtime, 200, agent);
  });

  app.post('/agents/:path/suspend', {
    config: operate,
    schema: {
      tags, operationId: 'suspendAgent', summary: 'Suspend with a typed reason (default manual); ?subtree=true: every live descendant too, children first',
      params: pathParams, querystring: subtreeQuery, body: suspendBodySchema.nullish(), response: nodeOrSubtree,
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const reason = req.body?.reason ?? 'manual';
    if (isSubtree(req.query)) return sendSubtree(reply, runtime, 200, subtree.suspend(path, reason, req.body?.detail, actorOf(req)).agents);
    return sendNode(reply, runtime, 200, runtime.suspend(path, reason, req.body?.detail, actorOf(req)));
  });

  app.post('/agents/:path/resume', {
    config: operate,
    schema: {
      tags, operationId: 'resumeAgent', summary: 'Resume a suspended agent, optionally with guidance; ?subtree=true: every suspended descendant too, parents first',
      params: pathParams, querystring: subtreeQuery, body: resumeBodySchema.nullish(), response: nodeOrSubtree,
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    if (isSubtree(req.query)) return sendSubtree(reply, runtime, 200, subtree.resume(path, req.body?.guidance, actorOf(req)).agents);
    return sendNode(reply, runtime, 200, runtime.resume(path, req.body?.guidance, actorOf(req)));
  });

  app.post('/agents/:path/message', {
    config: operate,
    schema: {
      tags, operationId: 'messageAgent', summary: 'Send a message; it wakes an idle agent', params: pathParams, body: messageBodySchema,
      response: { 200: z.object({ status: z.literal('delivered'), path: z.string() }), ...errorResponses },
    },
  }, async (req, reply) => {
    const agent = runtime.message(agentPath(req.params.path), req.body, undefined, actorOf(req));
    return sendJson(reply, runtime, 200, { status: 'delivered', path: agent.path }, agent.path);
  });

  app.post('/agents/:path/restart', {
    config: operate,
    schema: {
      tags, operationId: 'restartAgent', summary: 'Restart from the latest checkpoint (counts against max_restarts); ?subtree=true: every live descendant too, parents first',
      params: pathParams, querystring: subtreeQuery, body: restartBodySchema.nullish(), response: nodeOrSubtree,
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    if (isSubtree(req.query)) return sendSubtree(reply, runtime, 200, (await subtree.restart(path, actorOf(req, req.body?.reason))).agents);
    return sendNode(reply, runtime, 200, await runtime.restart(path, actorOf(req, req.body?.reason)));
  });
};
