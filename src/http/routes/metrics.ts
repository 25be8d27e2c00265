import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { AppContext } from '../context.js';

/**
 * Prometheus text format: counts, never paths, goals or text, but counts of the whole tree (every tenant's agents,
 * tokens and model calls), so it takes an unscoped key of any role; a scoped key gets 403.
 */
export const metricsRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.get('/metrics', {
    config: { access: 'tree:read' },
    schema: { tags: ['operations'], operationId: 'metrics', summary: 'Prometheus metrics: agents by state, model calls and tokens, oversight, restarts, SSE clients, request latency' },
  }, async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
};
