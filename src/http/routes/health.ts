import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { errorSchema } from '../openapi.js';
import { sendError } from '../errors.js';

const tags = ['operations'];
/** Probes need no key (a load balancer's health check carries none) and are never rate limited. */
const probe = { access: 'public', rateLimit: false } as const;

/** Liveness and readiness. */
export const healthRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.get('/healthz', {
    config: probe,
    schema: { tags, operationId: 'liveness', summary: 'Liveness (no key needed)', response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: probe,
    schema: {
      tags, operationId: 'readiness', summary: 'Readiness: the store answers and the daemon is not shutting down (no key needed)',
      response: { 200: z.object({ status: z.literal('ready') }), 503: errorSchema },
    },
  }, async (_req, reply) => {
    if (!ctx.isAccepting()) return sendError(reply, 503, 'shutting down');
    // Listening a moment before it has joined the other daemons: until then none would place a root here.
    if (ctx.cluster && !ctx.cluster.joined) return sendError(reply, 503, 'joining the daemons on the database');
    // Comes back by itself: the store retries a failed commit on a timer until it is on disk.
    const { store } = ctx.runtime;
    if (!store.isHealthy()) {
      const problem = store.problem();
      return sendError(reply, 503, problem === null ? 'the store is not answering' : `the store cannot write: ${problem}`);
    }
    return { status: 'ready' as const };
  });
};
