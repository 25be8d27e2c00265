import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { forward, FORWARDED_BY, NOT_OWNER, PLACED } from '../cluster/forward.js';
import type { ClusterMetrics } from '../cluster/metrics.js';
import type { ClusterNode, Route } from '../cluster/node.js';
import { rootOf } from '../domain/subtree-path.js';
import { idFromGoal } from '../runtime/ids.js';
import type { Runtime } from '../runtime/runtime.js';
import { agentPath } from './agent-paths.js';
import { principalOf } from './auth/guard.js';
import { HttpError } from './errors.js';

/**
 * Several daemons on one database: before a route about one subtree runs, it is sent where that subtree is owned.
 * Served here when this daemon owns it (or takes it over now, its owner gone); forwarded to the owner otherwise;
 * a 503 with Retry-After while nobody can serve it. A root spawn is placed on the least loaded daemon.
 */
export function clusterRouting(node: ClusterNode, runtime: Runtime) {
  const metrics: ClusterMetrics = node.metrics;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const target = subtreeOf(req, runtime);
    if (target === null) return;
    const forwarded = req.headers[FORWARDED_BY] !== undefined;
    // An owner that just died holds its lease until it expires: the request waits for the takeover (at most a TTL
    // and a little), rather than failing; an event stream reconnecting then resumes from its Last-Event-ID.
    const deadline = runtime.clock() + node.ttlMs + FAILOVER_GRACE_MS;
    for (;;) {
      const route = await routeOrRefuse(() => forwarded ? node.routeForwarded(target.root, target.spawning && req.headers[PLACED] === '1')
        : node.route(target.root, target.spawning), runtime);
      if (route.kind === 'local') return;
      let why = route.kind === 'unavailable' ? route.message : '';
      if (route.kind === 'forward') {
        const sent = await forward(req, reply, route, node.owner, metrics, node.ttlMs + FAILOVER_GRACE_MS);
        if (sent.kind === 'relayed') return;
        node.forgetRoute(target.root);
        if (sent.kind === 'unknown') throw new HttpError(sent.status, sent.message);
        why = sent.why;
      }
      const left = deadline - runtime.clock();
      if (forwarded || left <= 0 || reply.raw.destroyed) {
        metrics.unavailable.inc();
        reply.header('retry-after', String(route.kind === 'unavailable' ? route.retryAfterS : 1));
        if (forwarded) reply.header(NOT_OWNER, '1'); // the daemon that sent it routes it again
        throw new HttpError(503, `no daemon can serve ${target.root} now: ${why}; try again in a few seconds`);
      }
      await delay(Math.min(RETRY_EVERY_MS, left));
    }
  };
}

/** Who owns a subtree is asked of the database: while it cannot answer, a 503 saying so (as the store's writes get). */
export async function routeOrRefuse(ask: () => Promise<Route>, runtime: Runtime): Promise<Route> {
  try {
    return await ask();
  } catch (error) {
    runtime.store.assertWritable(); // the store's own words when it knows the database is gone
    throw new HttpError(503, `the database did not answer who owns this subtree (${error instanceof Error ? error.message : String(error)}); try again later`);
  }
}

/** Beyond one lease TTL, how long a request waits for its subtree to be taken over. */
export const FAILOVER_GRACE_MS = 2_000;
export const RETRY_EVERY_MS = 200;

/** The root subtree a request is about (null: none, or the whole tree), and whether it creates that root. */
function subtreeOf(req: FastifyRequest, runtime: Runtime): { root: string; spawning: boolean } | null {
  const params = req.params as { path?: unknown } | undefined;
  if (typeof params?.path === 'string') return { root: rootOf(agentPath(params.path)), spawning: false };
  if (req.routeOptions.url === '/approvals' || req.routeOptions.url === '/oversight/check') {
    // One subtree's approvals (or dry run) are its owner's; the whole tree's approvals are gathered here.
    const path = (req.query as { path?: unknown }).path ?? principalOf(req).scope;
    return typeof path === 'string' ? { root: rootOf(agentPath(path)), spawning: false } : null;
  }
  if (req.method !== 'POST' || req.routeOptions.url !== '/agents') return null;
  const body = req.body as { id?: string; spec: { goal: string } };
  // Named here, so the daemon that spawns it and this one agree on the name.
  body.id ??= runtime.tree.uniqueId(null, idFromGoal(body.spec.goal));
  return { root: body.id, spawning: true };
}
