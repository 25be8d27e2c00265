import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { approvalJson } from '../../domain/approval.js';
import { approvalDecisionBodySchema } from '../../domain/schemas.js';
import { agentPath } from '../agent-paths.js';
import { hiddenAgent, inScope } from '../auth/access.js';
import { actorOf, principalOf, refuse } from '../auth/guard.js';
import type { AppContext } from '../context.js';
import { errorResponses, pathParams } from '../openapi.js';
import { sendJson, sendRaw } from '../reply.js';
import { notFound } from '../../domain/errors.js';

const approvalSchema = z.object({
  id: z.string(), path: z.string().meta({ description: 'The agent that asked' }), tool: z.string(),
  input: z.record(z.string(), z.unknown()), state: z.enum(['pending', 'allowed', 'denied', 'expired', 'cancelled']),
  created_at: z.string(), expires_at: z.string(), on_timeout: z.enum(['allow', 'deny']),
  rule: z.object({ tool: z.string(), from: z.string() }).meta({ description: 'The rule that asked, and whose policy holds it' }),
  decided_at: z.string().nullable(), decided_by: z.string().nullable(), note: z.string().nullable(),
  remember: z.enum(['agent', 'subtree']).nullable(),
}).meta({ id: 'Approval' });

const tags = ['approvals'];

/** Tool approvals (README "Approvals"): the pending ones of a subtree, and a person's decision on one. */
export const approvalRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime } = ctx;

  app.get('/approvals', {
    config: { access: 'key' },
    schema: {
      tags, operationId: 'listApprovals', summary: "The pending approvals of a subtree (default: the key's whole scope), oldest first",
      querystring: z.object({ path: z.string().min(1).max(1024).optional().meta({ description: 'The subtree: an agent path' }) }),
      response: { 200: z.object({ approvals: z.array(approvalSchema) }), ...errorResponses },
    },
  }, async (req, reply) => {
    const principal = principalOf(req);
    const path = req.query.path === undefined ? principal.scope : agentPath(req.query.path);
    if (path !== null) {
      if (!inScope(principal, path)) refuse(hiddenAgent(path));
      runtime.get(path); // a 404 for an agent that does not exist
    }
    const local = ctx.approvals?.pending(path) ?? [];
    // The whole tree across daemons: the other daemons' pending approvals, as stored. (A subtree's is asked of its
    // owner: the request was routed there.)
    const pending = path === null && ctx.cluster
      ? [...local, ...await ctx.cluster.remotePendingApprovals()].sort((a, b) => a.createdAtMs - b.createdAtMs) : local;
    return sendRaw(reply, JSON.stringify({ approvals: pending.map(approvalJson) }));
  });

  app.post('/agents/:path/approvals/:id', {
    config: { access: 'agent:operate' },
    schema: {
      tags, operationId: 'decideApproval', summary: 'Allow or deny a held tool call of the agent at path or below it',
      params: pathParams.extend({ id: z.string().min(1).max(64) }), body: approvalDecisionBodySchema,
      response: { 200: approvalSchema, ...errorResponses },
    },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    runtime.get(path);
    if (!ctx.approvals) throw notFound(`approval ${req.params.id}`);
    const approval = ctx.approvals.decide(path, req.params.id, req.body, actorOf(req).by ?? 'operator');
    return sendJson(reply, runtime, 200, approvalJson(approval), path);
  });
};
