import { join } from 'node:path';
import { postgresInstalled, PG_BIN, INSTALL_HINT, startPostgres } from '../../test/support/postgres-server.js';
import { LOAD, type BenchBase } from '../context.js';
import { cannon, checkRuns, expectJson, type LoadOptions, type LoadResult } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';

const PARENTS = 10;
/** Messages rotate over this many suspended agents: each message is a durable inbox row, no model call. */
const RECIPIENTS = 200;
const SPEC = { goal: 'Summarise one paper on agent architectures', model: 'claude-haiku-4-5' };

interface Throughput { spawn: LoadResult; message: LoadResult }

/**
 * Figures pg1 and pg2: durable spawn (as figure 2, each new agent makes one model call against the fake) and
 * durable messages (to suspended agents: an inbox row each) on the PostgreSQL store, beside the same load on the
 * SQLite store in the same run. PostgreSQL is a throwaway server of Debian's package with fsync and synchronous
 * commit on (every 201/200 survives power loss there; SQLite's default survives a killed process).
 */
export async function postgresFigures(ctx: BenchBase, log: (text: string) => void): Promise<Row[]> {
  if (!postgresInstalled) {
    log(`  pg1, pg2 skipped: PostgreSQL not installed at ${PG_BIN} (${INSTALL_HINT})`);
    return [];
  }
  const server = await startPostgres({ durable: true });
  try {
    await ctx.fake.configure('text', 0);
    const sqlite = await measure(ctx, join(ctx.workDir, 'pg-beside.db'));
    const postgres = await measure(ctx, await server.createDatabase('bench'));
    checkRuns({ sqliteSpawn: sqlite.spawn, sqliteMessage: sqlite.message, pgSpawn: postgres.spawn, pgMessage: postgres.message });
    const row = (what: string, pg: LoadResult, lite: LoadResult): Row => ({
      figure: `${what} on PostgreSQL (${LOAD.connections} connections; fsync on)`,
      auton: `${fmt.rps(pg.rps)}, p99 ${pg.p99} ms${fmt.cpu(pg.cpuUsPerRequest)}`,
      ceiling: `SQLite ${fmt.rps(lite.rps)}, p99 ${lite.p99} ms${fmt.cpu(lite.cpuUsPerRequest)}`,
      ratio: fmt.ratio(pg.rps / lite.rps),
      goal: '(shown beside SQLite)',
      met: null,
    });
    return [
      row(`POST /agents/{parent} durable spawn (one model call each, ${PARENTS} parents)`, postgres.spawn, sqlite.spawn),
      row(`POST /agents/{path}/message durable (${RECIPIENTS} suspended agents)`, postgres.message, sqlite.message),
    ];
  } finally {
    await server.stop();
  }
}

async function measure(ctx: BenchBase, db: string): Promise<Throughput> {
  const daemon = await startDaemonProcess({ db, fakeUrl: ctx.fake.url });
  try {
    for (let p = 0; p < PARENTS; p++) {
      await expectJson(`${daemon.url}/agents`, 201, { method: 'POST', body: { id: `p${p}`, spec: SPEC, policy: { max_children: 10_000, max_depth: 3 } } });
    }
    for (let r = 0; r < RECIPIENTS; r++) {
      await expectJson(`${daemon.url}/agents`, 201, { method: 'POST', body: { id: `r${r}`, spec: SPEC } });
      await expectJson(`${daemon.url}/agents/r${r}/suspend`, 200, { method: 'POST', body: { reason: 'manual' } });
    }
    const load = (path: (i: number) => string, body: (i: number) => unknown): LoadOptions => {
      let n = 0;
      return {
        url: daemon.url, ...LOAD, pid: daemon.pid,
        setupRequest: (request) => {
          const i = n++;
          return { ...request, method: 'POST', path: path(i), headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(i)) };
        },
      };
    };
    const spawn = await cannon(load((i) => `/agents/p${i % PARENTS}`, (i) => ({ id: `s-${i}`, spec: SPEC })));
    const message = await cannon(load((i) => `/agents/r${i % RECIPIENTS}/message`, (i) => ({ content: `note ${i}` })));
    return { spawn, message };
  } finally {
    await daemon.stop();
  }
}
