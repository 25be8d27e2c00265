import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { errorResponses } from '../openapi.js';
import { sendJson } from '../reply.js';

const finding = z.object({
  path: z.string(), kind: z.string(), action: z.enum(['suspend', 'warn']), detail: z.string(), timestamp: z.string(),
  reason: z.string().optional(),
}).meta({ id: 'OversightFinding' });

export const oversightRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.post('/oversight/check', {
    config: { access: 'tree:operate' },
    schema: {
      tags: ['oversight'], operationId: 'runOversight', summary: 'Run every oversight check on every agent now (an unscoped operator key)',
      response: { 200: z.object({ events: z.array(finding) }), ...errorResponses },
    },
  }, async (_req, reply) => sendJson(reply, ctx.runtime, 200, { events: ctx.oversight.runPass() }));
};
