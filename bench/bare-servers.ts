import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { serveIpc } from './processes.js';

/**
 * The ceilings: a bare Fastify and a bare node:http server in one child process, answering the daemon's routes
 * with the very bytes the daemon answered (captured by the bench and loaded with `load`). No validation, no
 * store, no tree: what is left is the cost of HTTP itself, which Auton cannot beat.
 */
export interface Fixtures {
  /** GET /agents/{path} */
  node: string;
  /** GET /agents */
  tree: string;
  /** GET /agents?depth=0&limit=100 */
  page: string;
  /** POST /agents/{parent} (201) */
  spawned: string;
  /** POST /oversight/check */
  oversight: string;
}

let fixtures: Fixtures = { node: '{}', tree: '{}', page: '{}', spawned: '{}', oversight: '{}' };
const JSON_TYPE = 'application/json; charset=utf-8';

const fastify = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true } });
fastify.get('/readyz', async () => ({ status: 'ready' }));
fastify.get('/agents', async (req, reply) => reply.type(JSON_TYPE).send(isPage(req.url) ? fixtures.page : fixtures.tree));
fastify.get('/agents/*', async (_req, reply) => reply.type(JSON_TYPE).send(fixtures.node));
fastify.post('/agents/*', async (_req, reply) => reply.code(201).type(JSON_TYPE).send(fixtures.spawned));
fastify.post('/oversight/check', async (_req, reply) => reply.type(JSON_TYPE).send(fixtures.oversight));
await fastify.listen({ host: '127.0.0.1', port: 0 });

/** node:http, plus the SSE fan-out ceiling: /observe streams, and a suspend writes its frames to every stream. */
const streams = new Set<ServerResponse>();
let eventId = 0;
const bare = createServer((req, res) => {
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  if (req.method === 'GET' && path.endsWith('/observe')) return openStream(res);
  if (req.method === 'GET' && path === '/readyz') return send(res, 200, '{"status":"ready"}');
  if (req.method === 'GET' && path === '/agents') return send(res, 200, isPage(url) ? fixtures.page : fixtures.tree);
  if (req.method === 'GET' && path.startsWith('/agents/')) return send(res, 200, fixtures.node);
  if (req.method === 'POST') {
    return void readJson(req).then((body) => {
      if (path.endsWith('/suspend')) {
        fanOut(path.slice('/agents/'.length, -'/suspend'.length), body);
        return send(res, 200, fixtures.node);
      }
      if (path === '/oversight/check') return send(res, 200, fixtures.oversight);
      return send(res, 201, fixtures.spawned);
    }, () => send(res, 400, '{"statusCode":400}'));
  }
  send(res, 404, '{"statusCode":404}');
});
bare.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));

function isPage(url: string): boolean {
  return url.includes('?');
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (part: string) => (text += part));
    req.on('end', () => {
      try {
        resolve(text === '' ? {} : (JSON.parse(text) as Record<string, unknown>));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function openStream(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  res.write(': connected\n\n');
  streams.add(res);
  res.on('close', () => streams.delete(res));
}

/** The same two frames the daemon publishes for a suspend, each encoded once and written to every stream. */
function fanOut(path: string, body: Record<string, unknown>): void {
  const timestamp = new Date().toISOString();
  const frames = [
    { type: 'state_change', data: { from: 'idle', to: 'suspended', reason: body.reason ?? 'manual' } },
    { type: 'suspended', data: { reason: body.reason ?? 'manual', detail: body.detail ?? null, by: 'operator' } },
  ].map(({ type, data }) => {
    const id = ++eventId;
    return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify({ ...data, type, path: decodeURIComponent(path), timestamp, id })}\n\n`;
  });
  for (const frame of frames) for (const res of streams) res.write(frame);
}

serveIpc(
  { fastifyUrl: `http://127.0.0.1:${(fastify.server.address() as AddressInfo).port}`, httpUrl: `http://127.0.0.1:${(bare.address() as AddressInfo).port}` },
  (message) => {
    if (message.cmd === 'load') fixtures = JSON.parse(readFileSync(String(message.file), 'utf8')) as Fixtures;
    return true;
  },
);
