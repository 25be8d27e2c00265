import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { newAgentRecord, type AgentRecord } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import { OversightEngine } from '../../src/oversight/engine.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { addSubtreeSpend, selfAndAncestors } from '../../src/subtree/spend.js';
import { PriceTable } from '../../src/usage/pricing.js';
import type { BenchBase, BenchContext } from '../context.js';
import { http, percentile, sequential } from '../load.js';
import { fmt, type Row } from '../table.js';
import { AGENTS, SHAPE } from '../tree-fixture.js';

/** Model calls checked in figure 16b (each one the budget check before it and the sums after it). */
const CALLS = 200_000;
const SUSPEND_SAMPLES = 20;
const DRY_RUN_SAMPLES = 20;
/** After each untimed resume, time for the 1,000 resumed loops to read their contexts back and settle idle. */
const SETTLE_MS = 300;

/**
 * Figure 16b: what subtree budgets add to each model call, in process, on a 10,000-agent tree of depth 4 with a
 * subtree_max_cost_usd on every root: the check before the call (OversightEngine.beforeModelCall: the estimate,
 * its price and every ancestor's remaining budget) and the sums after it (addSubtreeSpend). Calls go to leaves,
 * the deepest agents. The ceiling is the least any O(depth) check must do: looking up each ancestor by path.
 */
export async function subtreeBudgetFigure(base: BenchBase): Promise<Row[]> {
  const store = new SqliteStore(join(base.workDir, 'budget.db'), { eventsRetained: 1_000, eventsLoadedAtStart: 1_000 });
  try {
    const runtime = new Runtime({ bus: new EventBus(), store, maxAgents: 1_000_000 });
    const engine = new OversightEngine(runtime, 3_600_000, { prices: PriceTable.load() });
    const leaves = buildTree(runtime);
    const save = () => {};
    let suspended = 0;
    const timed = (fn: (leaf: AgentRecord) => void): number => {
      for (let i = 0; i < 10_000; i++) fn(leaves[i % leaves.length]!); // warm-up
      const t = performance.now();
      for (let i = 0; i < CALLS; i++) fn(leaves[(i * 7_919) % leaves.length]!);
      return ((performance.now() - t) * 1e6) / CALLS; // ns per call
    };
    const check = timed((leaf) => {
      if (engine.beforeModelCall(leaf, 2_000)) suspended++;
      addSubtreeSpend(runtime.tree, leaf, 1_000, 0.000001, save);
    });
    let found = 0;
    const ceiling = timed((leaf) => {
      for (const node of selfAndAncestors(runtime.tree, leaf)) found += node.depth;
    });
    if (suspended > 0 || found === 0) throw new Error(`16b: ${suspended} calls refused; the budgets are set not to be reached`);
    const perCallUs = check / 1_000;
    return [{
      figure: `subtree budget check + sums per model call, ${AGENTS.toLocaleString('en-US')}-agent tree of depth 4 (${CALLS.toLocaleString('en-US')} calls, in process)`,
      auton: `${perCallUs.toFixed(2)} µs/call`,
      ceiling: `ancestor lookups alone ${(ceiling / 1_000).toFixed(2)} µs/call`,
      ratio: fmt.times(check / ceiling),
      goal: '< 5 µs/call',
      met: perCallUs < 5,
    }];
  } finally {
    store.close();
  }
}

/** The bench tree's shape (tree-fixture.ts) as records alone, no store writes: budgets on roots, leaves returned. */
function buildTree(runtime: Runtime): AgentRecord[] {
  const spec = specSchema.parse({ goal: 'g', model: 'claude-haiku-4-5' });
  const rootPolicy = policySchema.parse({ max_children: 1_000, max_depth: 8, budget: { subtree_max_cost_usd: 1_000 } });
  const policy = policySchema.parse({ max_children: 1_000, max_depth: 8 });
  const leaves: AgentRecord[] = [];
  const add = (parent: AgentRecord | null, id: string): AgentRecord => {
    const agent = newAgentRecord({
      id, parentPath: parent?.path ?? null, depth: parent ? parent.depth + 1 : 0, spec, policy: parent ? policy : rootPolicy, nowMs: 0,
    });
    agent.state = 'running';
    agent.turnCount = 1;
    agent.health.output_tokens = 200;
    runtime.tree.insert(agent);
    return agent;
  };
  for (let r = 0; r < SHAPE.roots; r++) {
    const root = add(null, `root-${r}`);
    for (let c = 0; c < SHAPE.children; c++) {
      const child = add(root, `c-${c}`);
      for (let g = 0; g < SHAPE.grandchildren; g++) {
        const grandchild = add(child, `g-${g}`);
        for (let l = 0; l < SHAPE.leaves; l++) leaves.push(add(grandchild, `l-${l}`));
      }
    }
  }
  return leaves;
}

/**
 * Figure 16c: `POST /agents/root-0/suspend?subtree=true` on the 10,000-agent daemon: root-0 and its 999
 * descendants suspended children first, durable (group commit) before the answer, which lists all 1,000 nodes.
 * Each sample is followed by an untimed subtree resume. The ceiling is bare Fastify sending the same answer.
 */
export async function subtreeSuspendFigure(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings } = ctx;
  const suspend = () => http(`${daemonUrl}/agents/root-0/suspend?subtree=true`, { method: 'POST', body: {} });
  const resume = () => http(`${daemonUrl}/agents/root-0/resume?subtree=true`, { method: 'POST', body: {} });
  const sample = await suspend();
  const agents = sample.status === 200 ? (JSON.parse(sample.body) as { agents: unknown[] }).agents.length : 0;
  if (agents !== 1_000) throw new Error(`16c: suspend answered ${sample.status} with ${agents} agents: ${sample.body.slice(0, 200)}`);
  await ceilings.load({ spawned: sample.body });
  const times: number[] = [];
  for (let i = 0; i < SUSPEND_SAMPLES; i++) {
    const back = await resume();
    if (back.status !== 200) throw new Error(`16c: resume ${back.status} ${back.body.slice(0, 200)}`);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const answer = await suspend();
    if (answer.status !== 200) throw new Error(`16c: suspend ${answer.status} ${answer.body.slice(0, 200)}`);
    times.push(answer.ms);
  }
  await resume();
  const bare = await sequential(SUSPEND_SAMPLES, 3, () => http(`${ceilings.fastifyUrl}/agents/root-0/suspend`, { method: 'POST', body: {} }));
  const p99 = percentile(times, 99);
  return [{
    figure: `subtree suspend of 1,000 agents (POST …/suspend?subtree=true, ${SUSPEND_SAMPLES} sequential)`,
    auton: `p50 ${fmt.ms(percentile(times, 50))}, p99 ${fmt.ms(p99)}`,
    ceiling: `Fastify sending the same ${fmt.kib(Buffer.byteLength(sample.body))} p99 ${fmt.ms(percentile(bare, 99))}`,
    ratio: fmt.times(p99 / percentile(bare, 99)),
    goal: 'p99 < 250 ms',
    met: p99 < 250,
  }];
}

/** Figure 16d: an oversight dry run over every agent of the 10,000-agent daemon, beside bare Fastify sending it. */
export async function dryRunFigure(ctx: BenchContext): Promise<Row[]> {
  const { daemonUrl, ceilings } = ctx;
  const dryRun = (base: string) => () => http(`${base}/oversight/check?dry_run=true`, { method: 'POST' });
  const sample = await dryRun(daemonUrl)();
  const agents = sample.status === 200 ? (JSON.parse(sample.body) as { agents: unknown[] }).agents.length : 0;
  if (agents !== AGENTS) throw new Error(`16d: dry run answered ${sample.status} with ${agents} agents`);
  await ceilings.load({ oversight: sample.body });
  const auton = await sequential(DRY_RUN_SAMPLES, 3, dryRun(daemonUrl));
  const bare = await sequential(DRY_RUN_SAMPLES, 3, dryRun(ceilings.fastifyUrl));
  const p99 = percentile(auton, 99);
  return [{
    figure: `oversight dry run over ${AGENTS.toLocaleString('en-US')} agents (POST /oversight/check?dry_run=true, ${DRY_RUN_SAMPLES} sequential)`,
    auton: `p50 ${fmt.ms(percentile(auton, 50))}, p99 ${fmt.ms(p99)}`,
    ceiling: `Fastify sending the same ${fmt.mib(Buffer.byteLength(sample.body))} p99 ${fmt.ms(percentile(bare, 99))}`,
    ratio: fmt.times(p99 / percentile(bare, 99)),
    goal: 'p99 < 250 ms',
    met: p99 < 250,
  }];
}
