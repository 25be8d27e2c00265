import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';
import { errorResponses } from '../openapi.js';

const daemonSchema = z.object({
  id: z.string(),
  address: z.string().meta({ description: 'where peers forward requests to' }),
  live: z.boolean().meta({ description: 'a heartbeat within one lease TTL' }),
  draining: z.boolean(),
  load: z.number().meta({ description: 'agents it holds, as of its last heartbeat' }),
  started_at: z.string(),
  heartbeat_at: z.string(),
  leases: z.number().meta({ description: 'root subtrees it owns now' }),
});
const leaseSchema = z.object({
  root: z.string(),
  owner: z.string(),
  epoch: z.number(),
  state: z.enum(['held', 'expired', 'released']),
  expires_in_ms: z.number().nullable().meta({ description: 'null once released' }),
});
const clusterSchema = z.object({
  self: z.string().meta({ description: 'the id of the daemon that answered' }),
  lease_ttl_ms: z.number(),
  daemons: z.array(daemonSchema),
  leases: z.array(leaseSchema),
});

/** `GET /cluster`: the daemons sharing this database, who owns which root subtree, and their load. */
export const clusterRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  app.get('/cluster', {
    config: { access: 'tree:read' },
    schema: {
      tags: ['operations'], operationId: 'getCluster', summary: 'Daemons sharing the database, their leases on root subtrees and their load (PostgreSQL only)',
      response: { 200: clusterSchema, ...errorResponses },
    },
  }, async () => {
    const node = ctx.cluster;
    if (!node) throw new HttpError(404, 'this daemon runs alone on a SQLite file; several daemons share a PostgreSQL database (AUTON_DB=postgres://…, README "Several daemons")');
    const { daemons, leases } = await node.describe();
    const now = ctx.runtime.clock();
    const live = (untilMs: number) => untilMs > now;
    return {
      self: node.owner, lease_ttl_ms: node.ttlMs,
      daemons: daemons.map((d) => ({
        id: d.id, address: d.address, live: d.heartbeatAtMs > now - node.ttlMs, draining: d.draining, load: d.load,
        started_at: new Date(d.startedAtMs).toISOString(), heartbeat_at: new Date(d.heartbeatAtMs).toISOString(),
        leases: leases.filter((l) => l.owner === d.id && live(l.untilMs)).length,
      })),
      leases: leases.map((l) => ({
        root: l.root, owner: l.owner, epoch: l.epoch,
        state: l.untilMs === -Infinity ? 'released' as const : live(l.untilMs) ? 'held' as const : 'expired' as const,
        expires_in_ms: l.untilMs === -Infinity ? null : Math.round(l.untilMs - now),
      })),
    };
  });
};
