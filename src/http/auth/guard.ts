import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Actor } from '../../runtime/runtime.js';
import { agentPath } from '../agent-paths.js';
import { HttpError } from '../errors.js';
import { ANONYMOUS, check, type Access, type Denial, type Principal } from './access.js';
import type { KeyRing } from './api-keys.js';
import { RateLimiter } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs (src/http/auth/access.ts); without it, GET needs any key and the rest an unscoped operator. */
    access?: Access;
    /** False for routes the request rate limit does not count (SSE streams, probes). */
    rateLimit?: boolean;
  }
  interface FastifyRequest {
    /** The key that signed the request (ANONYMOUS with authentication off), or null when it named none. */
    principal: Principal | null;
  }
}

export interface GuardOptions {
  /** Null: authentication is off and every request acts as ANONYMOUS. */
  keys: KeyRing | null;
  /** Requests per minute per key (per address when authentication is off); 0 turns the limit off. */
  ratePerMinute: number;
}

/**
 * One onRequest hook, before any body is read: the request id header, who is asking (the Authorization header),
 * the rate limit (counted for rejected requests too, so guessing keys is throttled per address), then whether the
 * route allows it. Routes marked `config.rateLimit: false` (SSE streams, probes) are not counted.
 */
export const guard = fp<GuardOptions>(async (app, options) => {
  const { keys } = options;
  app.decorateRequest('principal', null);
  const limiter = options.ratePerMinute > 0 ? new RateLimiter(options.ratePerMinute) : null;

  // A callback hook, not an async one: no promise per request on the hot path (figure 1 of BENCHMARKS.md).
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    try {
      admit(req, reply);
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  });

  function admit(req: FastifyRequest, reply: FastifyReply): void {
    const principal = keys === null ? ANONYMOUS : keys.identify(req.headers.authorization);
    req.principal = principal;
    if (limiter !== null && req.routeOptions.config.rateLimit !== false) {
      const retryAfterSeconds = limiter.take(clientId(req));
      if (retryAfterSeconds > 0) {
        reply.header('retry-after', String(retryAfterSeconds));
        throw new HttpError(429, `rate limit: at most ${options.ratePerMinute} requests a minute per key; retry in ${retryAfterSeconds} s`);
      }
    }
    // An unknown route (any method) needs a key, then answers 404: a 403 would tell a scoped key more than a 404.
    const access = req.routeOptions.config.access ?? (req.is404 || req.method === 'GET' || req.method === 'HEAD' ? 'key' : 'tree:operate');
    const denial = check(principal, access, pathParam(req));
    if (denial?.status === 401) reply.header('www-authenticate', 'Bearer realm="auton"');
    refuse(denial);
    if (keys !== null && principal !== null) {
      // Every log line of the request names the key that made it.
      req.log = reply.log = req.log.child({ key: principal.name });
    }
  }
}, { name: 'auton-guard' });

/** Throws a denial as the HTTP error it is; the checks routes make themselves (purge, fork) use it too. */
export function refuse(denial: Denial | null): void {
  if (denial) throw new HttpError(denial.status, denial.message);
}

/** The bucket a request counts in for the rate limit and the SSE limit: its key's name, else its address. */
export function clientId(req: FastifyRequest): string {
  return req.principal !== null && req.principal !== ANONYMOUS ? `key:${req.principal.name}` : `ip:${req.ip}`;
}

/** The audit entry's `by` (the key's name) and the operator's reason, for the runtime. */
export function actorOf(req: FastifyRequest, reason?: string): Actor {
  return { by: req.principal?.name ?? ANONYMOUS.name, ...(reason ? { reason } : {}) };
}

/** The caller as the route handler sees it: always set, since the guard refused the request otherwise. */
export function principalOf(req: FastifyRequest): Principal {
  return req.principal ?? ANONYMOUS;
}

function pathParam(req: FastifyRequest): string | null {
  const params = req.params as Record<string, unknown> | undefined;
  return typeof params?.path === 'string' ? agentPath(params.path) : null;
}
