import { performance } from 'node:perf_hooks';
import { ApprovalRegistry } from '../../src/approvals/registry.js';
import type { AgentRecord } from '../../src/domain/agent.js';
import { policySchema, specSchema, type ApprovalRule } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { fmt, type Row } from '../table.js';
import { AGENTS, SHAPE } from '../tree-fixture.js';

const CALLS = 200_000;
const rule = (tool: string, decision: ApprovalRule['decision']): ApprovalRule => ({ tool, decision, timeout_seconds: 3_600, on_timeout: 'deny' });

/**
 * Figure 16a: what the approval check adds to each tool call of a model reply, on a 10,000-agent tree four levels
 * deep where every level holds rules (roots: 4, children: 2, grandchildren: 1, leaves: none). Timed in process,
 * at a leaf, for a tool no rule holds (the common case: every level is asked, nothing matches) and for one a
 * root's pattern denies (every level is still asked: a stricter rule could be anywhere). The ceiling is the same
 * loop awaiting a check that does nothing (the runner's await without the rules).
 */
export async function approvalCheckFigure(): Promise<Row[]> {
  const store = new SqliteStore(':memory:', { eventsRetained: 1_000, eventsLoadedAtStart: 0 });
  const runtime = new Runtime({ bus: new EventBus(), store, maxAgents: 1_000_000 });
  const spec = specSchema.parse({ goal: 'watch a source' });
  const level = [
    [rule('mcp__github__*', 'ask'), rule('fetch_webpage', 'ask'), rule('mcp__fs__delete_*', 'deny'), rule('web_*', 'allow')],
    [rule('mcp__github__delete_*', 'deny'), rule('spawn_child', 'ask')],
    [rule('mcp__github__create_*', 'deny')],
    [],
  ];
  const add = (parent: string | null, id: string, depth: number): string =>
    runtime.spawn(parent, { id, spec, policy: policySchema.parse({ max_children: 1_000, max_depth: 8, approvals: level[depth] }) }).path;
  let leaf = '';
  for (let r = 0; r < SHAPE.roots; r++) {
    const root = add(null, `root-${r}`, 0);
    for (let c = 0; c < SHAPE.children; c++) {
      const child = add(root, `c-${c}`, 1);
      for (let g = 0; g < SHAPE.grandchildren; g++) {
        const grandchild = add(child, `g-${g}`, 2);
        for (let l = 0; l < SHAPE.leaves; l++) leaf = add(grandchild, `l-${l}`, 3);
      }
    }
  }
  await store.flush();
  const registry = new ApprovalRegistry(runtime);
  const agent: AgentRecord = runtime.get(leaf);
  const signal = new AbortController().signal;
  const time = async (check: (name: string) => Promise<string | null>, name: string): Promise<number> => {
    for (let i = 0; i < 10_000; i++) await check(name); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await check(name);
    return ((performance.now() - t0) * 1e6) / CALLS;
  };
  const checked = (name: string) => registry.check(agent, { id: 'toolu_bench', name, input: {} }, signal);
  const nothing = async (_name: string): Promise<string | null> => null;
  const unmatched = await time(checked, 'list_children');
  const denied = await time(checked, 'mcp__fs__delete_file');
  const ceiling = await time(nothing, 'list_children');
  store.close();
  const worst = Math.max(unmatched, denied);
  return [{
    figure: `approval check per tool call at a leaf of ${AGENTS.toLocaleString('en-US')} agents, 4 levels of rules (${CALLS.toLocaleString('en-US')} calls)`,
    auton: `no rule matches ${unmatched.toFixed(0)} ns; denied by a root's pattern ${denied.toFixed(0)} ns`,
    ceiling: `awaiting a check that does nothing ${ceiling.toFixed(0)} ns`,
    ratio: fmt.times(worst / ceiling),
    goal: '< 2 µs per call',
    met: worst < 2_000,
  }];
}
