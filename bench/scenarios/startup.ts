import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchBase } from '../context.js';
import { percentile } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';
import { AGENTS, EVENTS_PER_AGENT } from '../tree-fixture.js';

const RUNS = 3;

/**
 * Figure 8: start-up as `npm start` does it (the tsx CLI running src/main.ts), from spawn to the first 200 from
 * /readyz, on a copy of the 10,000-agent store (100,000 log entries); the ceiling is the same start on an empty
 * store. Medians of three runs, after one unmeasured start that warms tsx's transform cache.
 */
export async function startupFigure(ctx: BenchBase, treeDb: string): Promise<Row[]> {
  const start = async (db: string) => {
    const daemon = await startDaemonProcess({ db, fakeUrl: ctx.fake.url, launcher: 'tsx' });
    await daemon.stop();
    return daemon.readyMs;
  };
  await start(join(ctx.workDir, 'startup-warm.db'));
  const full: number[] = [];
  const empty: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const copy = join(ctx.workDir, `startup-${i}.db`);
    copyFileSync(treeDb, copy);
    full.push(await start(copy));
    empty.push(await start(join(ctx.workDir, `startup-empty-${i}.db`)));
  }
  const median = percentile(full, 50);
  return [{
    figure: `start-up, ${AGENTS.toLocaleString('en-US')} agents + ${(AGENTS * EVENTS_PER_AGENT).toLocaleString('en-US')} log entries (spawn → /readyz 200, median of ${RUNS})`,
    auton: fmt.ms(median),
    ceiling: `empty store ${fmt.ms(percentile(empty, 50))}`,
    ratio: fmt.times(median / percentile(empty, 50)),
    goal: '< 2 s',
    met: median < 2_000,
  }];
}
