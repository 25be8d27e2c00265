import type { BenchContext } from '../context.js';
import { http, percentile, sequential } from '../load.js';
import { fmt, type Row } from '../table.js';
import { AGENTS } from '../tree-fixture.js';

const SAMPLES = 40;

/**
 * Figure 5: one oversight pass over every agent (all idle, so all checked; no finding, no judge call), timed as
 * the round trip of `POST /oversight/check` on loopback. The ceiling is the same round trip to bare Fastify,
 * i.e. what the HTTP part of that time costs.
 */
export async function oversightFigure(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings } = ctx;
  const check = (base: string) => () => http(`${base}/oversight/check`, { method: 'POST' });
  const sample = await check(daemonUrl)();
  if (sample.status !== 200) throw new Error(`oversight: ${sample.status} ${sample.body}`);
  await ceilings.load({ oversight: sample.body });
  const auton = await sequential(SAMPLES, 3, check(daemonUrl));
  const bare = await sequential(SAMPLES, 3, check(ceilings.fastifyUrl));
  const p99 = percentile(auton, 99);
  return [{
    figure: `oversight pass over ${AGENTS.toLocaleString('en-US')} agents (POST /oversight/check, ${SAMPLES} sequential)`,
    auton: `p50 ${fmt.ms(percentile(auton, 50))}, p99 ${fmt.ms(p99)}`,
    ceiling: `Fastify round trip p99 ${fmt.ms(percentile(bare, 99))}`,
    ratio: fmt.times(p99 / percentile(bare, 99)),
    goal: 'p99 < 50 ms',
    met: p99 < 50,
  }];
}
