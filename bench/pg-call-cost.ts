import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres } from '../test/support/postgres-server.js';
import { describeLoad, describeMachine } from './machine.js';
import { serverCpuUs } from './pg-server-cpu.js';

/**
 * `npx tsx bench/pg-call-cost.ts [calls]`: what one model call of an agent costs PostgreSQL, for the projection in
 * docs/scale-out.md. A model call, as the store writes it today, is about one agent row rewritten (its health and
 * usage, ~2 KB of JSON), two conversation turns (~2 KB each: the assistant's answer and a tool result) and three
 * events (~300 B: the call, a tool use, a state or log entry). 64 agents write at once through a group commit
 * (everything queued goes in one transaction, after the lease fence), with fsync on. Reported per model call: the
 * server's CPU, WAL bytes, commits, and the latency an agent waits for its write. Bounded: `calls` (default 5,000).
 */
const CALLS = Number(process.argv[2] ?? 5_000);
const AGENTS = 64;
/** Text that does not compress (base64 of random bytes), so TOAST compression cannot flatter the WAL figure. */
const text = (chars: number) => randomBytes(Math.ceil((chars * 3) / 4)).toString('base64').slice(0, chars);
const AGENT_JSON = JSON.stringify({ spec: { goal: text(600) }, health: { tokens: 123_456, calls: 42, rate: [1, 2, 3] }, notes: text(1_200) });
const TURN_JSON = JSON.stringify({ role: 'assistant', content: [{ type: 'text', text: text(1_900) }] });
const EVENT_JSON = JSON.stringify({ type: 'model_call', detail: text(240) });

const server = await startPostgres({ durable: true });
try {
  const url = await server.createDatabase('cost');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`
    CREATE TABLE subtree_leases (root_path text PRIMARY KEY, owner text NOT NULL, epoch bigint NOT NULL, lease_until timestamptz NOT NULL);
    CREATE TABLE agents (path text PRIMARY KEY, json text NOT NULL);
    CREATE TABLE turns (path text NOT NULL, seq integer NOT NULL, json text NOT NULL, PRIMARY KEY (path, seq));
    CREATE TABLE events (id bigserial PRIMARY KEY, path text NOT NULL, type text NOT NULL, json text NOT NULL);
    CREATE INDEX events_by_path ON events (path, id);
    INSERT INTO subtree_leases VALUES ('/bench', 'me', 1, now() + interval '1 hour');`);
  await client.query('INSERT INTO agents SELECT \'/bench/a\' || i, $1 FROM generate_series(0, $2) AS i', [AGENT_JSON, AGENTS - 1]);
  const seq = new Map<string, number>();
  let queue: Array<{ path: string; at: number; done: () => void }> = [];
  let committing = false;
  let commits = 0;
  const latencies: number[] = [];
  const flush = async () => {
    if (committing || queue.length === 0) return;
    committing = true;
    const batch = queue;
    queue = [];
    const turnPaths: string[] = [], turnSeqs: number[] = [], eventPaths: string[] = [];
    for (const { path } of batch) {
      for (let t = 0; t < 2; t++) { const s = (seq.get(path) ?? 0) + 1; seq.set(path, s); turnPaths.push(path); turnSeqs.push(s); }
      eventPaths.push(path, path, path);
    }
    await client.query('BEGIN');
    await client.query({ name: 'fence', text: 'SELECT 1 FROM subtree_leases WHERE root_path = $1 AND owner = $2 AND epoch = $3 FOR SHARE', values: ['/bench', 'me', 1] });
    await client.query({ name: 'agents', text: 'UPDATE agents a SET json = $2 FROM unnest($1::text[]) AS p(path) WHERE a.path = p.path', values: [batch.map((b) => b.path), AGENT_JSON] });
    await client.query({ name: 'turns', text: 'INSERT INTO turns (path, seq, json) SELECT p, s, $3 FROM unnest($1::text[], $2::int[]) AS u(p, s)', values: [turnPaths, turnSeqs, TURN_JSON] });
    await client.query({ name: 'events', text: "INSERT INTO events (path, type, json) SELECT p, 'model_call', $2 FROM unnest($1::text[]) AS u(p)", values: [eventPaths, EVENT_JSON] });
    await client.query('COMMIT');
    commits++;
    const now = performance.now();
    for (const b of batch) { latencies.push(now - b.at); b.done(); }
    committing = false;
    void flush();
  };
  let next = 0;
  const agent = async (i: number) => {
    while (next < CALLS) {
      next++;
      await new Promise<void>((done) => { queue.push({ path: `/bench/a${i}`, at: performance.now(), done }); setImmediate(flush); });
    }
  };
  const lsn = async () => BigInt((await client.query<{ l: string }>("SELECT pg_current_wal_lsn() - '0/0' AS l")).rows[0]!.l);
  const [wal0, srv0, t0] = [await lsn(), serverCpuUs(server.dataDir), performance.now()];
  await Promise.all(Array.from({ length: AGENTS }, (_, i) => agent(i)));
  const seconds = (performance.now() - t0) / 1000;
  const [wal1, srv1] = [await lsn(), serverCpuUs(server.dataDir)];
  await client.end();
  latencies.sort((a, b) => a - b);
  const per = (x: number) => x / CALLS;
  process.stdout.write(`\n${describeMachine()}\nload: ${describeLoad()}\n${CALLS.toLocaleString('en-US')} model calls by ${AGENTS} agents, group commit with the lease fence, fsync on\n\n` +
    `| per model call | server CPU | WAL | commits | write p50 | write p99 | calls/s (one connection) |\n|---|---|---|---|---|---|---|\n` +
    `| 1 agent row, 2 turns, 3 events | ${Math.round(per(srv1 - srv0))} µs | ${(per(Number(wal1 - wal0)) / 1024).toFixed(1)} KiB | ${per(commits).toFixed(3)} | ` +
    `${latencies[Math.floor(latencies.length / 2)]!.toFixed(2)} ms | ${latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2)} ms | ${Math.round(CALLS / seconds).toLocaleString('en-US')} |\n`);
} finally {
  await server.stop();
}
