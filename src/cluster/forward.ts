import { Agent, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterMetrics } from './metrics.js';

/** Set on a request one daemon forwards to another: the receiver serves it and never forwards it again. */
export const FORWARDED_BY = 'x-auton-forwarded-by';
/** Set with FORWARDED_BY on a spawn the sender placed on the receiver: it takes the new root's lease. */
export const PLACED = 'x-auton-placed';

/** Set on a 503 a peer answers because the subtree is not its own (any more): nothing was done, route again. */
export const NOT_OWNER = 'x-auton-not-owner';

/**
 * Reads go over connections kept open to each peer (one round trip, no handshake), and are sent again if the
 * connection fails before an answer. A write gets a connection of its own: when that fails before it was accepted,
 * the owner never saw the write and it is routed again; after, the owner may have applied it, and the client is
 * told so instead of the write being sent twice.
 */
const readPeers = new Agent({ keepAlive: true, maxSockets: 256 });
const writePeers = new Agent({ keepAlive: false, maxSockets: 256 });

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'te', 'trailer', 'proxy-authorization', 'proxy-connection'];
const REQUEST_DROPS = new Set([...HOP_BY_HOP, 'content-length']);
const RESPONSE_DROPS = new Set(HOP_BY_HOP);

function passOn(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined && !drop.has(name)) out[name] = value;
  return out;
}

/** What became of a forwarded request. */
export type Forwarded =
  | { kind: 'relayed' }
  /** The owner never took the request (gone, or no longer the owner): route it again. */
  | { kind: 'again'; why: string }
  /** The owner took it and gave no answer: it may have been applied, so it is not sent again. */
  | { kind: 'unknown'; status: 502 | 504; message: string };

export interface ForwardTarget {
  owner: string;
  address: string;
  placed: boolean;
}

/** A peer that has not accepted the connection by then is taken as gone (a machine that drops packets). */
export const CONNECT_TIMEOUT_MS = 2_000;

/** A request one daemon sends to the owner of its subtree: the owner serves it and never forwards it again. */
export interface OwnerRequest {
  method: string;
  /** Path and query, as the owner's routes take them. */
  url: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
}

/** The owner's answer, or why there is none (as `Forwarded`). */
type Sent = { kind: 'answer'; res: IncomingMessage; upstream: ClientRequest } | Exclude<Forwarded, { kind: 'relayed' }>;

/**
 * Sends the request on to the daemon owning its subtree and relays the answer as it comes: status, headers, body,
 * or an event stream for as long as both ends stay open. The client's credentials go along (the owner checks them
 * again). The body is the one already validated here, sent as JSON. Nothing is sent to the client unless the answer
 * is relayed. `answerWithinMs`: an owner that takes the request and does not start answering by then (paused,
 * partitioned) is given up on.
 */
export async function forward(
  req: FastifyRequest, reply: FastifyReply, to: ForwardTarget, self: string, metrics: ClusterMetrics, answerWithinMs: number,
): Promise<Forwarded> {
  const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
  const headers = passOn(req.headers, REQUEST_DROPS);
  headers['x-request-id'] = req.id;
  const started = performance.now();
  const sent = await send({ method: req.method, url: req.originalUrl, headers, ...(body ? { body } : {}) }, to, self, metrics, answerWithinMs);
  if (sent.kind !== 'answer') return sent;
  const { res, upstream } = sent;
  metrics.forwarded.inc({ outcome: 'ok' });
  metrics.forwardSeconds.inc((performance.now() - started) / 1_000);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(res.statusCode ?? 502, passOn(res.headers, RESPONSE_DROPS));
  raw.flushHeaders();
  res.pipe(raw);
  // The client left (an event stream closed, say): stop the owner's side too.
  raw.once('close', () => {
    if (!res.complete) upstream.destroy();
  });
  res.once('error', () => raw.destroy());
  return { kind: 'relayed' };
}

/** The owner's whole answer to a request made on a client's behalf, or why there is none. */
export type OwnerAnswer = { kind: 'answered'; status: number; body: string } | Exclude<Forwarded, { kind: 'relayed' }>;

/**
 * For callers that render the owner's answer themselves (the MCP server's tools): the same sending as `forward`,
 * the whole body read. An answer cut off mid-body is, for a write, of unknown outcome (502), never sent again.
 */
export async function callOwner(out: OwnerRequest, to: ForwardTarget, self: string, metrics: ClusterMetrics, answerWithinMs: number): Promise<OwnerAnswer> {
  const started = performance.now();
  const sent = await send(out, to, self, metrics, answerWithinMs);
  if (sent.kind !== 'answer') return sent;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of sent.res) chunks.push(chunk as Buffer);
  } catch (error) {
    metrics.forwarded.inc({ outcome: 'error' });
    const why = `${to.owner} at ${to.address} broke off its answer (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
    if (out.method === 'GET' || out.method === 'HEAD') return { kind: 'again', why };
    return { kind: 'unknown', status: 502, message: `${why}; the change may or may not have been made: read the agent before sending it again` };
  }
  metrics.forwarded.inc({ outcome: 'ok' });
  metrics.forwardSeconds.inc((performance.now() - started) / 1_000);
  return { kind: 'answered', status: sent.res.statusCode ?? 502, body: Buffer.concat(chunks).toString('utf8') };
}

/**
 * Sends one request to the owner (a read over a kept-alive connection, a write over a fresh one) and waits for the
 * start of its answer. A write the owner accepted and did not answer is `unknown`: it is never sent twice.
 */
async function send(out: OwnerRequest, to: ForwardTarget, self: string, metrics: ClusterMetrics, answerWithinMs: number): Promise<Sent> {
  const headers: Record<string, string | string[]> = { ...out.headers, [FORWARDED_BY]: self };
  if (to.placed) headers[PLACED] = '1';
  if (out.body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(out.body.length);
  }
  const idempotent = out.method === 'GET' || out.method === 'HEAD';
  const upstream = request(`${to.address}${out.url}`, { method: out.method, headers, agent: idempotent ? readPeers : writePeers });
  let accepted = false; // the owner's end of a fresh connection is open: from here on a write may have been applied
  const answer = new Promise<IncomingMessage>((resolve, reject) => {
    upstream.once('response', resolve);
    upstream.once('error', reject);
  });
  upstream.once('socket', (socket) => {
    if (!socket.connecting) return;
    const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      accepted = true;
      clearTimeout(timer);
    });
    socket.once('close', () => clearTimeout(timer));
  });
  const silence = setTimeout(() => upstream.destroy(Object.assign(new Error(`no answer within ${answerWithinMs} ms`), { code: 'ANSWER_TIMEOUT' })), answerWithinMs);
  upstream.end(out.body);
  let res: IncomingMessage;
  try {
    res = await answer;
  } catch (error) {
    metrics.forwarded.inc({ outcome: 'error' });
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    const why = `${to.owner} at ${to.address} did not answer (${code})`;
    if (idempotent || !accepted) return { kind: 'again', why };
    return code === 'ANSWER_TIMEOUT'
      ? { kind: 'unknown', status: 504, message: `${why}; the change may or may not have been made: read the agent before sending it again` }
      : { kind: 'unknown', status: 502, message: `${why}; it closed the connection after taking the request, so the change may or may not have been made: read the agent before sending it again` };
  } finally {
    clearTimeout(silence);
  }
  if (res.statusCode === 503 && res.headers[NOT_OWNER] !== undefined) {
    res.resume(); // it refused before doing anything: the subtree moved on
    return { kind: 'again', why: `${to.owner} no longer owns it` };
  }
  return { kind: 'answer', res, upstream };
}
