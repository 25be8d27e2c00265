import autocannon from 'autocannon';
import { postgresInstalled, PG_BIN, INSTALL_HINT, startPostgres, type TestPostgres } from '../../test/support/postgres-server.js';
import { LOAD, type BenchBase } from '../context.js';
import { checkRuns, cpuSeconds, expectJson, http, type LoadResult } from '../load.js';
import type { DaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';
import { failoverFigures, leasesOf, startMember } from './cluster-failover.js';

const PARENTS = 10;
/** Messages rotate over this many suspended agents: each message is a durable inbox row, no model call. */
const RECIPIENTS = 200;
const SPEC = { goal: 'Summarise one paper on agent architectures', model: 'claude-haiku-4-5' };

/**
 * Figures pg3 (spawn and messages through a daemon that does not own the subtree, beside the same through its
 * owner), pg4 (failover after kill -9 of the owner) and pg4b (acknowledged writes lost across those failovers), on
 * a throwaway PostgreSQL 15 with fsync on, every daemon a real process on loopback.
 */
export async function clusterFigures(ctx: BenchBase, log: (text: string) => void, wants: { throughput: boolean; failover: boolean }): Promise<Row[]> {
  if (!postgresInstalled) {
    log(`  pg3, pg4 skipped: PostgreSQL not installed at ${PG_BIN} (${INSTALL_HINT})`);
    return [];
  }
  const server = await startPostgres({ durable: true });
  try {
    const rows: Row[] = [];
    if (wants.throughput) rows.push(...await throughputFigures(ctx, server, log));
    if (wants.failover) rows.push(...await failoverFigures(server, log));
    return rows;
  } finally {
    await server.stop();
  }
}

interface Measured { run: LoadResult; cpuUs: { owner: number | null; other: number | null } }

/**
 * pg3: the owner (started alone first, so every root is placed on it) and a second daemon on the same database.
 * The same load (figure pg1's: 32 connections, 5 s, after a 1 s warm-up) through each, twice, in the order owner,
 * other, other, owner. Nothing is pinned to a core: through the non-owner both daemons work on each request, and the
 * load generator, both daemons and PostgreSQL share the cores alike in both runs. CPU per request of each daemon.
 */
async function throughputFigures(ctx: BenchBase, server: TestPostgres, log: (text: string) => void): Promise<Row[]> {
  await ctx.fake.configure('text', 0);
  const db = await server.createDatabase('cluster_throughput');
  const owner = await startMember(db, ctx.fake.url, 'owner', 15_000);
  let other: DaemonProcess | null = null;
  try {
    for (let p = 0; p < PARENTS; p++) {
      await expectJson(`${owner.url}/agents`, 201, { method: 'POST', body: { id: `p${p}`, spec: SPEC, policy: { max_children: 10_000, max_depth: 3 } } });
    }
    for (let r = 0; r < RECIPIENTS; r++) {
      await expectJson(`${owner.url}/agents`, 201, { method: 'POST', body: { id: `r${r}`, spec: SPEC } });
      await expectJson(`${owner.url}/agents/r${r}/suspend`, 200, { method: 'POST', body: { reason: 'manual' } });
    }
    other = await startMember(db, ctx.fake.url, 'other', 15_000);
    const leases = await leasesOf(other.url);
    if (leases.length !== PARENTS + RECIPIENTS || leases.some((l) => l.owner !== 'owner' || l.state !== 'held')) {
      throw new Error(`pg3: expected every root held by the owner, found ${JSON.stringify(leases.slice(0, 5))}…`);
    }
    const pids = { owner: owner.pid, other: other.pid };
    const spawn = (url: string, tag: string) => measure(url, pids, (i) => `/agents/p${i % PARENTS}`, (i) => ({ id: `${tag}-${i}`, spec: SPEC }));
    const message = (url: string) => measure(url, pids, (i) => `/agents/r${i % RECIPIENTS}/message`, (i) => ({ content: `note ${i}` }));
    // Owner, other, other, owner (ABBA): the drift of a busy machine and of a growing tree falls on both sides alike.
    const abba = async (run: (url: string, tag: string) => Promise<Measured>) => {
      const [a1, b1, b2, a2] = [await run(owner.url, 'o1'), await run(other!.url, 'n1'), await run(other!.url, 'n2'), await run(owner.url, 'o2')];
      return { direct: merge(a1, a2), through: merge(b1, b2) };
    };
    const forwardedBefore = await forwardedCount(other.url);
    log('  pg3: spawn through the owner and through the other daemon (ABBA)');
    const spawns = await abba(spawn);
    log('  pg3: messages through the owner and through the other daemon (ABBA)');
    const messages = await abba((url) => message(url));
    const forwarded = (await forwardedCount(other.url)) - forwardedBefore;
    const [spawnOwner, spawnOther, messageOwner, messageOther] = [spawns.direct, spawns.through, messages.direct, messages.through];
    checkRuns({ spawnOwner: spawnOwner.run, spawnOther: spawnOther.run, messageOwner: messageOwner.run, messageOther: messageOther.run });
    // Every request of the runs through the other daemon (and their warm-ups) went to the owner and back.
    const sent = spawnOther.run.total + messageOther.run.total;
    if (forwarded < sent) throw new Error(`pg3: ${sent} requests through the non-owner but only ${forwarded} forwarded`);
    const cpu = (m: Measured, via: 'owner' | 'other') => m.cpuUs.owner === null ? ''
      : via === 'owner' ? `, ${Math.round(m.cpuUs.owner)} µs CPU/req`
        : `, ${Math.round(m.cpuUs.other ?? 0)} + ${Math.round(m.cpuUs.owner)} µs CPU/req (it + owner)`;
    const row = (what: string, through: Measured, direct: Measured): Row => ({
      figure: `${what} through a non-owner daemon (forwarded over HTTP; ${LOAD.connections} connections; fsync on)`,
      auton: `${fmt.rps(through.run.rps)}, p99 ${through.run.p99} ms${cpu(through, 'other')}`,
      ceiling: `owner ${fmt.rps(direct.run.rps)}, p99 ${direct.run.p99} ms${cpu(direct, 'owner')}`,
      ratio: fmt.ratio(through.run.rps / direct.run.rps),
      goal: '(shown beside the owner)',
      met: null,
    });
    return [
      row(`POST /agents/{parent} durable spawn (one model call each, ${PARENTS} parents)`, spawnOther, spawnOwner),
      row(`POST /agents/{path}/message durable (${RECIPIENTS} suspended agents)`, messageOther, messageOwner),
    ];
  } finally {
    await Promise.all([owner.stop(), other?.stop()]);
  }
}

/** autocannon at LOAD after a 1 s warm-up whose numbers are dropped; both daemons' CPU time over the measured run. */
async function measure(url: string, pids: { owner: number; other: number }, path: (i: number) => string, body: (i: number) => unknown): Promise<Measured> {
  let n = 0;
  const run = (duration: number) => autocannon({
    url, connections: LOAD.connections, duration, timeout: 30,
    requests: [{
      setupRequest: (request) => {
        const i = n++;
        return { ...request, method: 'POST', path: path(i), headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) };
      },
    }],
  });
  await run(1);
  const before = { owner: cpuSeconds(pids.owner), other: cpuSeconds(pids.other) };
  const r = await run(LOAD.durationSeconds);
  const after = { owner: cpuSeconds(pids.owner), other: cpuSeconds(pids.other) };
  const perRequest = (a: number | null, b: number | null) => (a === null || b === null ? null : ((b - a) * 1e6) / r.requests.total);
  return {
    run: { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: r.requests.total, cpuUsPerRequest: null, failures: r.errors + r.timeouts + r.non2xx },
    cpuUs: { owner: perRequest(before.owner, after.owner), other: perRequest(before.other, after.other) },
  };
}

/** Two runs of the same load as one: requests per second and CPU per request averaged, the worse p99. */
function merge(a: Measured, b: Measured): Measured {
  const total = a.run.total + b.run.total;
  const cpu = (x: number | null, y: number | null) => (x === null || y === null ? null : (x * a.run.total + y * b.run.total) / total);
  return {
    run: { rps: (a.run.rps + b.run.rps) / 2, p50: Math.max(a.run.p50, b.run.p50), p99: Math.max(a.run.p99, b.run.p99), total, cpuUsPerRequest: null, failures: a.run.failures + b.run.failures },
    cpuUs: { owner: cpu(a.cpuUs.owner, b.cpuUs.owner), other: cpu(a.cpuUs.other, b.cpuUs.other) },
  };
}

/** The non-owner's count of requests it forwarded and got an answer to (its /metrics). */
async function forwardedCount(url: string): Promise<number> {
  const text = (await http(`${url}/metrics`)).body;
  return Number(/^auton_forwarded_requests_total\{outcome="ok"\} (\d+)/m.exec(text)?.[1] ?? 0);
}
