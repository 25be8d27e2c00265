import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * CPU the PostgreSQL server of `dataDir` has used so far, in µs: the postmaster, its live children (backends, WAL
 * writer, checkpointer) and the children it has reaped. Read from /proc; differences between two calls are the
 * server's cost of what ran in between.
 */
export function serverCpuUs(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const hz = 100; // USER_HZ on Linux
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${entry}/stat`, 'utf8'); } catch { continue; }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
    if (Number(entry) === postmaster) ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks / hz) * 1e6;
}
