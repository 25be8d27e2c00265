import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchBase } from '../context.js';
import { percentile } from '../load.js';
import { startDaemonProcess } from '../processes.js';
import { fmt, type Row } from '../table.js';
import { AGENTS, EVENTS_PER_AGENT } from '../tree-fixture.js';

const RUNS = 3;

/**
 * Figure 8: start-up as `npm start` runs the daemon, `node --enable-source-maps dist/main.js` (the compiled
 * JavaScript; the build is done once beforehand, as `npm start`'s prestart finds nothing to do when src/ has not
 * changed, and neither that step nor npm's own start is counted), from spawn to the first 200 from /readyz. It
 * runs on a copy of the 10,000-agent store (100,000 log entries): module loading, reading and decoding the store,
 * rebuilding the tree, building the routes, listening. The ceiling is the same start on an empty store, which is
 * node, module loading and the routes alone. Medians of three runs, after one unmeasured start that warms the
 * file cache.
 */
export async function startupFigure(ctx: BenchBase, treeDb: string): Promise<Row[]> {
  const start = async (db: string) => {
    const daemon = await startDaemonProcess({ db, fakeUrl: ctx.fake.url, launcher: 'dist' });
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
