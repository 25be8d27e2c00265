import { performance } from 'node:perf_hooks';
import pg from 'pg';
import postgres from 'postgres';
import { startPostgres } from '../test/support/postgres-server.js';
import { describeLoad, describeMachine } from './machine.js';
import { serverCpuUs } from './pg-server-cpu.js';

/**
 * `npx tsx bench/pg-client.ts [rows]`: the two PostgreSQL clients (`pg`, `postgres`) on the write shapes a store
 * would use, against a throwaway server with fsync on (every commit durable, as an acknowledged change must be).
 *
 * - `tx`: one row per transaction, one after the other (BEGIN; INSERT; COMMIT): the latency floor of a write.
 * - `group`: 64 writers, each waiting for its row to be committed before sending the next; whatever is queued
 *   when the previous commit ends goes in one transaction (one multi-row INSERT): the store's group commit.
 * - `group+fence`: the same with the lease check (`SELECT … FOR SHARE`) every fenced transaction would run first.
 *
 * Besides client latency it reports the CPU the client spent and the CPU and WAL the server spent per row, which
 * is what docs/scale-out.md projects from. Bounded: `rows` rows per shape per client (default 10,000) in `rounds`
 * rounds (default 3; `npx tsx bench/pg-client.ts 10000 3`).
 */
const ROWS = Number(process.argv[2] ?? 10_000);
/** The machine is shared: each shape runs this many rounds, the clients alternating, and the median round is shown. */
const ROUNDS = Number(process.argv[3] ?? 3);
const WRITERS = 64;
const LEASE = { root: '/bench', epoch: 1 };

interface Driver {
  name: string;
  /** One row in a transaction of its own. */
  insertOne(k: number, v: string): Promise<void>;
  /** Many rows in one transaction, after the lease check when `fence` is set. */
  insertMany(ks: number[], vs: string[], fence: boolean): Promise<void>;
  close(): Promise<void>;
}

const INSERT_ONE = 'INSERT INTO bench_rows (k, v) VALUES ($1, $2)';
const INSERT_MANY = 'INSERT INTO bench_rows (k, v) SELECT * FROM unnest($1::bigint[], $2::text[])';
const FENCE = 'SELECT 1 FROM leases WHERE root_path = $1 AND epoch = $2 FOR SHARE';

async function pgDriver(url: string): Promise<Driver> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Named statements: pg prepares them once per connection, as postgres does by default.
  const tx = async (body: () => Promise<void>) => {
    await client.query('BEGIN');
    try {
      await body();
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  };
  return {
    name: 'pg 8',
    insertOne: (k, v) => tx(async () => { await client.query({ name: 'one', text: INSERT_ONE, values: [k, v] }); }),
    insertMany: (ks, vs, fence) => tx(async () => {
      if (fence && (await client.query({ name: 'fence', text: FENCE, values: [LEASE.root, LEASE.epoch] })).rowCount !== 1) throw new Error('fenced');
      await client.query({ name: 'many', text: INSERT_MANY, values: [ks, vs] });
    }),
    close: () => client.end(),
  };
}

async function postgresDriver(url: string): Promise<Driver> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  return {
    name: 'postgres 4',
    insertOne: async (k, v) => { await sql.begin((tx) => tx.unsafe(INSERT_ONE, [k, v])); },
    insertMany: async (ks, vs, fence) => {
      await sql.begin(async (tx) => {
        if (fence && (await tx.unsafe(FENCE, [LEASE.root, LEASE.epoch])).count !== 1) throw new Error('fenced');
        await tx.unsafe(INSERT_MANY, [ks, vs]);
      });
    },
    close: () => sql.end(),
  };
}

interface Result { shape: string; client: string; p50: number; p99: number; rowsPerSec: number; clientCpuUs: number; serverCpuUs: number; walBytes: number; commits: number }

async function shapeTx(d: Driver): Promise<{ latencies: number[]; commits: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < ROWS; i++) {
    const t = performance.now();
    await d.insertOne(i, `row ${i}`);
    latencies.push(performance.now() - t);
  }
  return { latencies, commits: ROWS };
}

/** The group-commit shape: writers queue rows; one transaction at a time takes everything queued. */
async function shapeGroup(d: Driver, fence: boolean): Promise<{ latencies: number[]; commits: number }> {
  const latencies: number[] = [];
  let queue: Array<{ k: number; at: number; done: () => void }> = [];
  let committing = false;
  let commits = 0;
  const flush = async () => {
    if (committing || queue.length === 0) return;
    committing = true;
    const batch = queue;
    queue = [];
    await d.insertMany(batch.map((r) => r.k), batch.map((r) => `row ${r.k}`), fence);
    commits++;
    const now = performance.now();
    for (const r of batch) { latencies.push(now - r.at); r.done(); }
    committing = false;
    void flush();
  };
  let next = 0;
  const writer = async () => {
    while (next < ROWS) {
      const k = next++;
      await new Promise<void>((done) => { queue.push({ k, at: performance.now(), done }); setImmediate(flush); });
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  return { latencies, commits };
}

/** Each figure's median over the rounds (figures of different rounds may mix: each is a median on its own). */
function medianRound(list: Result[]): Result {
  const mid = <K extends keyof Result>(k: K) => [...list].sort((a, b) => Number(a[k]) - Number(b[k]))[Math.floor(list.length / 2)]![k];
  return {
    shape: list[0]!.shape, client: list[0]!.client, p50: mid('p50'), p99: mid('p99'), rowsPerSec: mid('rowsPerSec'), commits: mid('commits'),
    clientCpuUs: mid('clientCpuUs'), serverCpuUs: mid('serverCpuUs'), walBytes: mid('walBytes'),
  };
}

const pct = (xs: number[], p: number) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!; };

const server = await startPostgres({ durable: true });
const results: Result[] = [];
try {
  const url = await server.createDatabase('bench');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('CREATE TABLE bench_rows (id bigserial PRIMARY KEY, k bigint NOT NULL, v text NOT NULL)');
  await admin.query('CREATE TABLE leases (root_path text PRIMARY KEY, epoch bigint NOT NULL)');
  await admin.query('INSERT INTO leases VALUES ($1, $2)', [LEASE.root, LEASE.epoch]);
  const wal = async () => BigInt((await admin.query<{ lsn: string }>("SELECT pg_current_wal_lsn() - '0/0' AS lsn")).rows[0]!.lsn);
  const shapes: Array<[string, (d: Driver) => Promise<{ latencies: number[]; commits: number }>]> = [
    ['tx', shapeTx], ['group', (d) => shapeGroup(d, false)], ['group+fence', (d) => shapeGroup(d, true)],
  ];
  for (const [shape, runShape] of shapes) {
    const rounds = new Map<string, Result[]>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const make of round % 2 === 0 ? [pgDriver, postgresDriver] : [postgresDriver, pgDriver]) {
        const driver = await make(url);
        await driver.insertOne(-1, 'warm-up');
        await admin.query('TRUNCATE bench_rows');
        const [cpu0, srv0, wal0, t0] = [process.cpuUsage(), serverCpuUs(server.dataDir), await wal(), performance.now()];
        const { latencies, commits } = await runShape(driver);
        const seconds = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const [srv1, wal1] = [serverCpuUs(server.dataDir), await wal()];
        await driver.close();
        const list = rounds.get(driver.name) ?? [];
        rounds.set(driver.name, list);
        list.push({
          shape, client: driver.name, p50: pct(latencies, 50), p99: pct(latencies, 99), rowsPerSec: ROWS / seconds, commits,
          clientCpuUs: (cpu.user + cpu.system) / ROWS, serverCpuUs: (srv1 - srv0) / ROWS, walBytes: Number(wal1 - wal0) / ROWS,
        });
        process.stderr.write(`[pg-client] ${shape} ${driver.name} round ${round + 1}: ${seconds.toFixed(1)} s\n`);
      }
    }
    for (const list of rounds.values()) results.push(medianRound(list));
  }
  await admin.end();
} finally {
  await server.stop();
}

const head = '| shape | client | p50 | p99 | rows/s | commits | client CPU/row | server CPU/row | WAL/row |';
const rows = results.map((r) => `| ${r.shape} | ${r.client} | ${r.p50.toFixed(2)} ms | ${r.p99.toFixed(2)} ms | ${Math.round(r.rowsPerSec).toLocaleString('en-US')} | ${r.commits.toLocaleString('en-US')} | ${Math.round(r.clientCpuUs)} µs | ${Math.round(r.serverCpuUs)} µs | ${Math.round(r.walBytes)} B |`);
process.stdout.write(`\n${describeMachine()}\nload: ${describeLoad()}\nrows per shape: ${ROWS.toLocaleString('en-US')}, median of ${ROUNDS} rounds, writers in group shapes: ${WRITERS}, fsync on\n\n${head}\n|---|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
