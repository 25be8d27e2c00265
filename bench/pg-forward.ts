import { createServer, request, Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres-server.js';
import { describeLoad, describeMachine } from './machine.js';

/**
 * `npx tsx bench/pg-forward.ts [requests]`: the two ways a daemon could pass a write to a subtree's owner, as
 * round trips of a small JSON request and its answer, one at a time (latency) and 32 at once (throughput):
 * - HTTP: POST to the owner's advertised address (keep-alive), the owner answers;
 * - NOTIFY: the request on the owner's channel, the answer on the sender's, both through PostgreSQL.
 * The owner's handling is an echo in both, so the figures are the transport alone. Loopback, bounded (default 2,000).
 */
const N = Number(process.argv[2] ?? 2_000);
const BODY = JSON.stringify({ op: 'message', path: '/team/researcher', content: 'x'.repeat(200) });

type RoundTrip = (body: string) => Promise<string>;

async function measure(send: RoundTrip): Promise<{ p50: number; p99: number; serialPerSec: number; parallelPerSec: number }> {
  for (let i = 0; i < 50; i++) await send(BODY); // warm-up
  const lat: number[] = [];
  let t = performance.now();
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    await send(BODY);
    lat.push(performance.now() - s);
  }
  const serialPerSec = N / ((performance.now() - t) / 1000);
  t = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => { while (next++ < N) await send(BODY); }));
  const parallelPerSec = N / ((performance.now() - t) / 1000);
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(N / 2)]!, p99: lat[Math.floor(N * 0.99)]!, serialPerSec, parallelPerSec };
}

const rows: string[] = [];
const server = await startPostgres({ durable: true });
const http = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(Buffer.concat(chunks)); });
});
try {
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });
  const viaHttp: RoundTrip = (body) => new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/forward', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    });
    req.on('error', reject);
    req.end(body);
  });

  // The owner listens on its channel and answers on the sender's; the sender matches answers by id.
  const owner = new pg.Client({ connectionString: server.url });
  const ownerOut = new pg.Client({ connectionString: server.url });
  const sender = new pg.Client({ connectionString: server.url });
  const senderOut = new pg.Client({ connectionString: server.url });
  await Promise.all([owner.connect(), ownerOut.connect(), sender.connect(), senderOut.connect()]);
  await owner.query('LISTEN to_owner');
  await sender.query('LISTEN to_sender');
  owner.on('notification', (n) => {
    const { id, body } = JSON.parse(n.payload ?? '{}') as { id: number; body: string };
    void ownerOut.query('SELECT pg_notify($1, $2)', ['to_sender', JSON.stringify({ id, body })]);
  });
  const waiting = new Map<number, (body: string) => void>();
  sender.on('notification', (n) => {
    const { id, body } = JSON.parse(n.payload ?? '{}') as { id: number; body: string };
    waiting.get(id)?.(body);
    waiting.delete(id);
  });
  let ids = 0;
  const viaNotify: RoundTrip = (body) => new Promise((resolve, reject) => {
    const id = ++ids;
    waiting.set(id, resolve);
    senderOut.query('SELECT pg_notify($1, $2)', ['to_owner', JSON.stringify({ id, body })]).catch(reject);
  });

  for (const [name, send] of [['HTTP POST to the owner', viaHttp], ['NOTIFY through PostgreSQL', viaNotify]] as const) {
    const r = await measure(send);
    rows.push(`| ${name} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${Math.round(r.serialPerSec).toLocaleString('en-US')} | ${Math.round(r.parallelPerSec).toLocaleString('en-US')} |`);
  }
  await Promise.all([owner.end(), ownerOut.end(), sender.end(), senderOut.end()]);
  agent.destroy();
} finally {
  http.close();
  await server.stop();
}
process.stdout.write(`\n${describeMachine()}\nload: ${describeLoad()}\n${N.toLocaleString('en-US')} round trips of a ${BODY.length}-byte request each way\n\n` +
  `| forwarding | p50 | p99 | one at a time /s | 32 at once /s |\n|---|---|---|---|---|\n${rows.join('\n')}\n`);
