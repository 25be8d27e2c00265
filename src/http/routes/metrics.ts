import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/** Prometheus text format. Any valid key may scrape it: it holds counts, never paths, goals or text. */
export const metricsRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.get('/metrics', {
    config: { access: 'key' },
    schema: { tags: ['operations'], operationId: 'metrics', summary: 'Prometheus metrics: agents by state, model calls and tokens, oversight, restarts, SSE clients, request latency' },
  }, async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
};
