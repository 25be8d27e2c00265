import { join } from 'node:path';
import type { BenchBase } from '../context.js';
import { startScript } from '../processes.js';
import { fmt, type Row } from '../table.js';
import type { MemoryResult } from './memory-child.js';

/** Figure 6 (and 5 in process): memory-child.ts in a process of its own, with --expose-gc. */
export async function memoryFigures(ctx: BenchBase): Promise<{ rows: Row[]; detail: string }> {
  const child = await startScript<MemoryResult>('bench/scenarios/memory-child.ts', [join(ctx.workDir, 'memory.db')], ['--expose-gc']);
  const m = child.ready;
  await child.stop();
  const per = (bytes: number) => bytes / m.agents;
  const rss = m.rssAfter - m.rssBefore;
  const heap = m.heapAfter - m.heapBefore;
  const beyond = per(rss - m.textBytes);
  const rest = heap - m.heapOf.conversations;
  const detail = [
    `memory: ${m.agents} agents × ${m.callsPerAgent} model calls (${m.turnsPerAgent} turns, ${Math.round(m.eventsInLogs / m.agents)} log entries each, in the store), filled in ${m.fillSeconds.toFixed(1)} s`,
    `  RSS +${fmt.mib(rss)}, heap used +${fmt.mib(heap)} (reserved +${fmt.mib(m.heapTotalDelta)}), external +${fmt.mib(m.externalDelta)}, conversation text ${fmt.mib(m.textBytes)}`,
    `  per agent: RSS ${fmt.kib(per(rss))}, heap ${fmt.kib(per(heap))}, text ${fmt.kib(per(m.textBytes))};`
      + ` heap by part: conversation (JSON turns) ${fmt.kib(per(m.heapOf.conversations))},`
      + ` the rest (record, ring share, maps) ${fmt.kib(per(rest))}`,
  ].join('\n');
  return {
    detail,
    rows: [
      {
        figure: `RSS per idle agent beyond its conversation text (${m.agents.toLocaleString('en-US')} agents, ${m.callsPerAgent} model calls each)`,
        auton: `${fmt.kib(beyond)} (RSS ${fmt.kib(per(rss))} − text ${fmt.kib(per(m.textBytes))})`,
        ceiling: `text alone ${fmt.kib(per(m.textBytes))}`,
        ratio: fmt.times(per(rss) / per(m.textBytes)),
        goal: '< 30 KiB',
        met: beyond < 30 * 1024,
      },
      {
        figure: `oversight runPass() in process, ${m.agents.toLocaleString('en-US')} agents with ${m.callsPerAgent} token samples (20 passes)`,
        auton: `p50 ${fmt.ms(m.passMs.p50)}, max ${fmt.ms(m.passMs.max)}`,
        ceiling: '—',
        ratio: '—',
        goal: '< 50 ms (p50)',
        met: m.passMs.p50 < 50,
      },
    ],
  };
}
