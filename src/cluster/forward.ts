import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterMetrics } from './metrics.js';

/** Set on a request one daemon forwards to another: the receiver serves it and never forwards it again. */
export const FORWARDED_BY = 'x-auton-forwarded-by';
/** Set with FORWARDED_BY on a spawn the sender placed on the receiver: it takes the new root's lease. */
export const PLACED = 'x-auton-placed';

/** Connections to peers are kept open: forwarding costs one loopback or LAN round trip, not a handshake too. */
const peers = new Agent({ keepAlive: true, maxSockets: 256 });

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'te', 'trailer', 'proxy-authorization', 'proxy-connection']);

function passOn(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

export interface ForwardTarget {
  owner: string;
  address: string;
  placed: boolean;
}

/** A peer that has not accepted the connection by then is taken as gone (a machine that drops packets). */
export const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Sends the request on to the daemon owning its subtree and relays the answer as it comes: status, headers, body,
 * or an event stream for as long as both ends stay open. The client's credentials go along (the owner checks them
 * again). The body is the one already validated here, sent as JSON. Returns why not when the owner did not answer
 * (it just died, say): nothing was sent to the client, and the caller may route the request again.
 */
export async function forward(req: FastifyRequest, reply: FastifyReply, to: ForwardTarget, self: string, metrics: ClusterMetrics): Promise<string | null> {
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers = passOn(req.headers);
  headers[FORWARDED_BY] = self;
  headers['x-request-id'] = req.id;
  if (to.placed) headers[PLACED] = '1';
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  const started = performance.now();
  const upstream = request(`${to.address}${req.originalUrl}`, { method: req.method, headers, agent: peers });
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.once('error', reject);
  });
  upstream.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  });
  upstream.end(body);
  let res: IncomingMessage;
  try {
    res = await answer;
  } catch (error) {
    metrics.forwarded.inc({ outcome: 'error' });
    return `${to.owner} at ${to.address} did not answer (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  metrics.forwarded.inc({ outcome: 'ok' });
  metrics.forwardSeconds.inc((performance.now() - started) / 1_000);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(res.statusCode ?? 502, passOn(res.headers));
  raw.flushHeaders();
  res.pipe(raw);
  // The client left (an event stream closed, say): stop the owner's side too.
  raw.once('close', () => {
    if (!res.complete) upstream.destroy();
  });
  res.once('error', () => raw.destroy());
  return null;
}
