import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { LIMITS } from '../../domain/limits.js';
import { sseFrame } from '../../events/bus.js';
import { replaySince } from '../../events/replay.js';
import type { AgentEvent, EventScope } from '../../events/types.js';
import { agentPath } from '../agent-paths.js';
import { eventFor, type Principal } from '../auth/access.js';
import { clientId, principalOf } from '../auth/guard.js';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';
import { errorResponses, pathParams } from '../openapi.js';
import { SseStream } from '../sse-stream.js';

const streamHeaders = z.object({
  'last-event-id': z.string().regex(/^\d{1,15}$/, 'Last-Event-ID must be an event id').optional(),
});
const streamQuery = z.object({
  tokens: z.enum(['true', 'false']).optional()
    .meta({ description: 'true: also send `token` events, the text of model replies as it streams in (no id, never stored or replayed)' }),
});
const sse = { 200: z.string().meta({ description: 'text/event-stream' }), ...errorResponses };
const tags = ['observation'];
/** A stream is one long request: it is counted against the SSE limit per key, not the request rate. */
const streamConfig = { access: 'agent:read', rateLimit: false } as const;

/** `/observe` (the agent's subtree, with health and heartbeats) and `/log` (the agent's own log). */
export const streamRoutes = (ctx: AppContext): FastifyPluginAsyncZod => async (app) => {
  const { runtime, oversight, sseClients } = ctx;
  const open = new Set<SseStream>();
  // preClose, not onClose: onClose runs after in-flight requests finish, and an open stream never finishes,
  // so closing them there would leave app.close() waiting forever.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.close();
  });

  /** Takes one of the client's SSE slots (a 429 when it has none left) and hands the response over to the stream. */
  function takeOver(req: FastifyRequest, reply: FastifyReply): { rawRes: ServerResponse; release: () => void } {
    const client = clientId(req);
    if (!sseClients.tryOpen(client)) {
      throw new HttpError(429, `this key already has ${sseClients.maxPerClient} open streams (AUTON_MAX_SSE_PER_KEY); close one first`);
    }
    reply.hijack();
    // A stream takes no body. Read and drop any that was sent: a socket paused on an unread body would never see
    // its client leave, and the stream would hold its slot until the next write failed.
    req.raw.resume();
    return { rawRes: reply.raw, release: () => sseClients.release(client) };
  }

  /** Opens the stream, sends `intro`, then either what the client missed (Last-Event-ID) or the backlog, then live events. */
  async function openStream(
    { rawRes, release }: { rawRes: ServerResponse; release: () => void }, viewer: Principal, path: string, scope: EventScope, lastEventId: string | undefined,
    tokens: boolean, intro: (stream: SseStream) => void, backlog: (stream: SseStream) => Promise<number>,
  ): Promise<SseStream> {
    const stream = new SseStream(rawRes, LIMITS.sseClientQueueEvents);
    stream.whenClosed(release);
    open.add(stream);
    stream.open();
    intro(stream);
    let lastSent = 0;
    // Live events are held while the backlog or replay is read from the store (asynchronously), so none falls
    // between the two; those already sent from the store are skipped by id.
    // Tokens are held with them, so they keep their place among the durable events (null: a token).
    let held: Array<[AgentEvent | null, string]> | null = [];
    const deliver = (event: AgentEvent | null, wire: string) => {
      if (event === null) return stream.offer(wire);
      if (event.id > lastSent) {
        const shown = eventFor(viewer, event);
        stream.write(shown === event ? wire : sseFrame(shown));
      }
      // The agent is gone for good: end its streams (a reconnect gets the 404) rather than hold them open.
      if (event.type === 'purged' && event.path === path) stream.close();
    };
    const unsubscribe = runtime.bus.subscribe(path, {
      scope,
      deliver: (event, wire) => (held ? held.push([event, wire]) : deliver(event, wire)),
      end: () => stream.close(), // the subtree moved to another daemon: the client reconnects and reaches it there
      ...(tokens ? { ephemeral: (wire: string) => (held ? held.push([null, wire]) : stream.offer(wire)) } : {}),
    });
    stream.whenClosed(() => {
      unsubscribe();
      open.delete(stream);
    });
    const cursor = lastEventId === undefined ? undefined : Number(lastEventId);
    if (cursor === undefined) lastSent = await backlog(stream);
    else if (cursor > runtime.bus.lastId) {
      // An id this daemon never gave (its data was replaced): filtering live events by it would drop them all.
      stream.send('reset', { reason: 'no event here has your Last-Event-ID; re-read the tree', last_id: runtime.bus.lastId });
    } else {
      const replay = await replaySince(runtime.bus, runtime.store, path, scope, cursor);
      if (replay.kind === 'reset') stream.send('reset', { reason: 'the events after your Last-Event-ID are no longer kept; re-read the tree', oldest_id: replay.oldestId });
      else for (const event of replay.events) stream.write(sseFrame(eventFor(viewer, event)));
      lastSent = replay.kind === 'events' ? (replay.events.at(-1)?.id ?? cursor) : 0;
    }
    const waiting = held;
    held = null;
    for (const [event, wire] of waiting) deliver(event, wire);
    return stream;
  }

  app.get('/agents/:path/observe', {
    config: streamConfig,
    schema: { tags, operationId: 'observeAgent', summary: 'SSE: health, then every event of the agent and its descendants, with heartbeats', params: pathParams, querystring: streamQuery, headers: streamHeaders, response: sse },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const agent = runtime.get(path);
    const stream = await openStream(takeOver(req, reply), principalOf(req), path, 'subtree', req.headers['last-event-id'], req.query.tokens === 'true',
      (s) => s.send('health', { ...agent.health, path, state: agent.state }), () => Promise.resolve(0));
    const heartbeat = setInterval(() => {
      const current = runtime.tree.find(path);
      if (!current) return stream.close();
      stream.send('heartbeat', { path, state: current.state, health: current.health, events: oversight.latestFor(path), timestamp: new Date(runtime.clock()).toISOString() });
    }, ctx.config.AUTON_HEARTBEAT_MS);
    stream.whenClosed(() => clearInterval(heartbeat));
  });

  app.get('/agents/:path/log', {
    config: streamConfig,
    schema: { tags, operationId: 'agentLog', summary: "SSE: the agent's recent log entries, then new ones as they happen", params: pathParams, querystring: streamQuery, headers: streamHeaders, response: sse },
  }, async (req, reply) => {
    const path = agentPath(req.params.path);
    const agent = runtime.get(path);
    // Not the log of an earlier agent that was purged from the same path.
    const since = new Date(agent.createdAtMs).toISOString();
    const viewer = principalOf(req);
    await openStream(takeOver(req, reply), viewer, path, 'self', req.headers['last-event-id'], req.query.tokens === 'true', () => {}, async (stream) => {
      // From the store, including entries still waiting for their commit; new ones follow as they are published.
      let last = 0;
      for (const event of await runtime.store.recentEvents(path, LIMITS.logBacklogEntries)) {
        if (event.timestamp >= since) stream.write(sseFrame(eventFor(viewer, event)));
        last = event.id;
      }
      return last;
    });
  });
};
