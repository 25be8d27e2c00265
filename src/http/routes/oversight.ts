import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentPath } from '../agent-paths.js';
import type { AppContext } from '../context.js';
import { errorResponses } from '../openapi.js';
import { sendJson } from '../reply.js';

const draft = {
  kind: z.string(), action: z.enum(['suspend', 'warn']), detail: z.string(), reason: z.string().optional(),
};
const finding = z.object({ path: z.string(), ...draft, timestamp: z.string() }).meta({ id: 'OversightFinding' });
const findingDraft = z.object(draft);

const dryRunEntry = z.object({
  path: z.string(),
  state: z.string(),
  checked: z.boolean().meta({ description: 'False for agents a pass leaves alone (suspended, dead)' }),
  findings: z.array(findingDraft).meta({ description: 'What a pass would find, in order; it stops at the first suspend' }),
  action: z.enum(['suspend', 'warn', 'none']),
  reason: z.string().optional(),
  next_call: findingDraft.nullable().meta({ description: "What the agent's next model call would meet (a spent subtree budget stops it there)" }),
  context_pressure: z.number().nullable().meta({ description: "Share of the model's context window the last prompt filled" }),
  cache_hit_ratio: z.number().nullable().meta({ description: 'Cache reads over all prompt tokens sent' }),
  subtree_cost_usd: z.number(),
  subtree_tokens_total: z.number(),
}).meta({ id: 'OversightDryRunEntry' });

const query = z.object({
  dry_run: z.enum(['true', 'false']).optional().meta({ description: 'Say what a pass would do to each agent, and why, changing nothing' }),
  path: z.string().min(1).max(4096).optional().meta({ description: 'With dry_run: only the subtree at this path' }),
});

export const oversightRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.post('/oversight/check', {
    config: { access: 'tree:operate' },
    schema: {
      tags: ['oversight'], operationId: 'runOversight',
      summary: 'Run every oversight check on every agent now, or with ?dry_run=true say what it would do (an unscoped operator key)',
      querystring: query,
      response: { 200: z.union([z.object({ events: z.array(finding) }), z.object({ dry_run: z.literal(true), agents: z.array(dryRunEntry) })]), ...errorResponses },
    },
  }, async (req, reply) => {
    if (req.query.dry_run === 'true') {
      const path = req.query.path === undefined ? null : agentPath(req.query.path);
      return sendJson(reply, ctx.runtime, 200, { dry_run: true, agents: ctx.oversight.dryRun(path) });
    }
    return sendJson(reply, ctx.runtime, 200, { events: ctx.oversight.runPass() });
  });
};
