import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startCeilings } from './ceilings.js';
import type { BenchBase, BenchContext } from './context.js';
import { startFakeApi } from './fake.js';
import { describeLoad, describeMachine } from './machine.js';
import { startDaemonProcess } from './processes.js';
import { fanoutFigure } from './scenarios/fanout.js';
import { longAgentFigures } from './scenarios/long-agent.js';
import { mcpCallFigure, mcpServerFigure } from './scenarios/mcp.js';
import { memoryFigures } from './scenarios/memory.js';
import { oversightFigure } from './scenarios/oversight.js';
import { postgresFigures } from './scenarios/postgres.js';
import { clusterFigures } from './scenarios/cluster.js';
import { approvalCheckFigure } from './scenarios/approvals.js';
import { nodeFigure, treeFigures } from './scenarios/reads.js';
import { runnerFigure } from './scenarios/runner.js';
import { spawnFigure } from './scenarios/spawn.js';
import { startupFigure } from './scenarios/startup.js';
import { historyStartupFigure, inboxCostFigure } from './scenarios/store.js';
import { dryRunFigure, subtreeBudgetFigure, subtreeSuspendFigure } from './scenarios/subtree.js';
import { tokenFigures } from './scenarios/tokens.js';
import { renderTable, type Row } from './table.js';
import { buildTreeDb } from './tree-fixture.js';

/**
 * `npm run bench [-- 1 3 …]`: the figures of BENCHMARKS.md, each next to a ceiling measured in the same run.
 * Loopback only; every loop is bounded (fixed durations and counts). Pass figure numbers to run only those.
 */
const chosen = new Set(process.argv.slice(2));
const wants = (...figures: string[]) => chosen.size === 0 || figures.some((f) => chosen.has(f));
const log = (text: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${text}\n`);
const t0 = performance.now();

const loadBefore = describeLoad();
const workDir = mkdtempSync(join(tmpdir(), 'auton-bench-'));
const fake = await startFakeApi();
const ceilings = await startCeilings(workDir);
const rows: Array<Row & { id: string }> = [];
const notes: string[] = [];
const add = (ids: string[], found: Row[]) => found.forEach((row, i) => rows.push({ id: ids[i]!, ...row }));

try {
  const treeDb = join(workDir, 'tree.db');
  if (wants('1', '2', '3', '4', '5', '8', '16c', '16d')) {
    log('building the 10,000-agent store');
    const built = await buildTreeDb(treeDb);
    log(`  ${built.agents} agents, ${built.events} events`);
  }
  const base: BenchBase = { ceilings, fake, workDir };

  if (wants('8')) {
    log('8: start-up');
    add(['8'], await startupFigure(base, treeDb));
  }

  if (wants('1', '2', '3', '4', '5', '16c', '16d')) {
    const db = join(workDir, 'daemon.db');
    copyFileSync(treeDb, db);
    const daemon = await startDaemonProcess({ db, fakeUrl: fake.url });
    const ctx: BenchContext = { ...base, daemonUrl: daemon.url, daemonPid: daemon.pid };
    try {
      if (wants('1')) {
        log('1: GET /agents/{path}');
        add(['1'], await nodeFigure(ctx));
      }
      if (wants('3')) {
        log('3: GET /agents');
        add(['3', '3b'], await treeFigures(ctx));
      }
      if (wants('5')) {
        log('5: oversight pass');
        add(['5'], await oversightFigure(ctx));
      }
      if (wants('16d')) {
        log('16d: oversight dry run');
        add(['16d'], await dryRunFigure(ctx));
      }
      if (wants('16c')) {
        log('16c: subtree suspend of 1,000 agents');
        add(['16c'], await subtreeSuspendFigure(ctx));
      }
      if (wants('4')) {
        log('4: SSE fan-out');
        add(['4'], await fanoutFigure(ctx));
      }
      if (wants('2')) { // last on this daemon: it adds agents to the tree
        log('2: durable spawn');
        add(['2', '2b'], await spawnFigure(ctx));
      }
    } finally {
      await daemon.stop();
    }
  }

  if (wants('16b')) {
    log('16b: subtree budget check per model call');
    add(['16b'], await subtreeBudgetFigure(base));
  }

  if (wants('7')) {
    log('7: runner');
    add(['7', '7b'], await runnerFigure(base));
  }

  if (wants('9')) {
    log('9: one agent, 1,000 calls (context, caching, RSS)');
    add(['9', '9b'], await longAgentFigures(base));
  }

  if (wants('10')) {
    log('10: a 1 MiB message to a full inbox');
    add(['10'], await inboxCostFigure(base));
  }

  if (wants('11')) {
    log('11: start-up with 300 turns per agent');
    add(['11'], await historyStartupFigure(base));
  }

  if (wants('12')) {
    log('12: an MCP tool call through the daemon');
    add(['12'], await mcpCallFigure(base));
  }
  if (wants('13')) {
    log('13: /mcp tool calls per second');
    add(['13'], await mcpServerFigure(base));
  }

  if (wants('pg1', 'pg2')) {
    log('pg1, pg2: durable spawn and messages on PostgreSQL beside SQLite');
    add(['pg1', 'pg2'], await postgresFigures(base, log));
  }

  if (wants('pg3', 'pg4')) {
    const throughput = wants('pg3');
    const failover = wants('pg4');
    log(`${[throughput && 'pg3', failover && 'pg4'].filter(Boolean).join(', ')}: several daemons on one PostgreSQL (forwarding${failover ? ', failover after kill -9' : ''})`);
    add([...(throughput ? ['pg3', 'pg3b'] : []), ...(failover ? ['pg4', 'pg4b', 'pg4c'] : [])], await clusterFigures(base, log, { throughput, failover }));
  }

  if (wants('16a')) {
    log('16a: the approval check per tool call');
    add(['16a'], await approvalCheckFigure());
  }

  if (wants('14')) {
    log('14: live tokens to 100 clients; CPU of a streamed call');
    add(['14', '14b'], await tokenFigures(base));
  }

  if (wants('6', '5')) {
    log('6: memory (and 5 in process)');
    const memory = await memoryFigures(base);
    add(['6', '5b'], memory.rows);
    notes.push(memory.detail);
  }
} finally {
  await Promise.all([fake.stop(), ceilings.stop()]);
  rmSync(workDir, { recursive: true, force: true });
}

const order = ['1', '2', '2b', '3', '3b', '4', '5', '5b', '6', '7', '7b', '8', '9', '9b', '10', '11', '12', '13', '14', '14b', '16a', '16b', '16c', '16d', 'pg1', 'pg2', 'pg3', 'pg3b', 'pg4', 'pg4b', 'pg4c'];
rows.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
process.stdout.write(`\n${describeMachine()}\nbefore: ${loadBefore}; after: ${describeLoad()}\nwall time: ${((performance.now() - t0) / 1000).toFixed(0)} s\n\n${renderTable(rows)}\n\n${notes.join('\n')}\n`);
const failed = rows.filter((r) => r.met === false).map((r) => r.id);
process.stdout.write(failed.length === 0 ? 'every goal met\n' : `goals not met: ${failed.join(', ')}\n`);
