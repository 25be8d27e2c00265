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
    schema: {
      tags: ['oversight'], summary: 'Run every oversight check on every agent now',
      response: { 200: z.object({ events: z.array(finding) }), ...errorResponses },
    },
  }, async (_req, reply) => sendJson(reply, ctx.runtime, 200, { events: ctx.oversight.runPass() }));

  app.get('/healthz', { schema: { tags: ['operations'], summary: 'Liveness', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: { tags: ['operations'], summary: 'Readiness: the store answers and the daemon is not shutting down', response: { 200: z.object({ status: z.literal('ready') }), 503: errorResponses[400] } },
  }, async (_req, reply) => {
    if (!ctx.isAccepting()) return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'shutting down' });
    if (!ctx.runtime.store.isHealthy()) return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'the store is not answering' });
    return { status: 'ready' as const };
  });
};
