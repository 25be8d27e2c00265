import { turnJson } from '../src/domain/agent.js';
import { policySchema, specSchema } from '../src/domain/schemas.js';
import { EventBus } from '../src/events/bus.js';
import { START_TEXT } from '../src/runner/prompt.js';
import { Runtime } from '../src/runtime/runtime.js';
import { SqliteStore } from '../src/store/sqlite-store.js';

/**
 * The tree the HTTP figures run on: 10 roots × 9 children × 10 grandchildren × 10 leaves = 10,000 agents,
 * four levels deep, each idle after one model call (so a restarted daemon makes no model calls), with
 * 10 log entries each (100,000 events). Written through the real store module, as the daemon writes it.
 */
export const SHAPE = { roots: 10, children: 9, grandchildren: 10, leaves: 10 } as const;
export const AGENTS = SHAPE.roots * (1 + SHAPE.children * (1 + SHAPE.grandchildren * (1 + SHAPE.leaves)));
export const EVENTS_PER_AGENT = 10;
/** A leaf deep in the tree: the target of the single-node reads and of the fan-out operations. */
export const LEAF = 'root-0/c-0/g-0/l-0';
/** The subtree the 1,000 SSE clients observe. */
export const OBSERVED = 'root-0';

/** Store options as src/daemon.ts sets them. */
const STORE_OPTIONS = { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000 };

/** `turnsPerAgent` (even, at least 2) turns of history each: 2 for the HTTP figures, 300 for the restart figure. */
export async function buildTreeDb(file: string, turnsPerAgent = 2): Promise<{ agents: number; events: number }> {
  const store = new SqliteStore(file, STORE_OPTIONS);
  const bus = new EventBus();
  bus.addSink((event) => store.appendEvent(event));
  const runtime = new Runtime({ bus, store, maxAgents: 1_000_000 });
  const policy = policySchema.parse({ max_children: 1_000, max_depth: 8 });

  const add = (parent: string | null, id: string, n: number) => {
    const agent = runtime.spawn(parent, {
      id,
      spec: specSchema.parse({ goal: `Watch source ${n} for changes to the agent-architecture literature and summarise them`, model: 'claude-haiku-4-5' }),
      policy: structuredClone(policy),
    });
    for (let i = 0; i < 3; i++) {
      const input = { path: agent.path, page: i };
      runtime.emit(agent, 'tool_call', { tool: 'list_children', tool_use_id: `toolu_${n}_${i}`, input });
      runtime.emit(agent, 'tool_result', { tool: 'list_children', tool_use_id: `toolu_${n}_${i}`, is_error: false, content: '[]' });
    }
    const text = `Checked source ${n}: nothing new since the last look. Resting until woken.`;
    runtime.appendTurns(agent, turnJson({ role: 'user', content: [{ type: 'text', text: START_TEXT }] }));
    for (let t = 1; t < turnsPerAgent / 2; t++) {
      runtime.appendTurns(agent,
        turnJson({ role: 'assistant', content: [{ type: 'text', text: `Looked again (${t}).`, citations: null }] }),
        turnJson({ role: 'user', content: [{ type: 'text', text: `[scheduled wake-up ${t}] Continue working towards your goal.` }] }));
    }
    runtime.appendTurns(agent, turnJson({ role: 'assistant', content: [{ type: 'text', text, citations: null }] }));
    agent.turnCount = 1;
    agent.health.tokens_total = 15;
    runtime.emit(agent, 'model_call', { model: agent.spec.model, stop_reason: 'end_turn', tokens: 15, tokens_total: 15, text });
    runtime.move(agent, 'idle');
    return agent.path;
  };

  let n = 0;
  for (let r = 0; r < SHAPE.roots; r++) {
    const root = add(null, `root-${r}`, n++);
    for (let c = 0; c < SHAPE.children; c++) {
      const child = add(root, `c-${c}`, n++);
      for (let g = 0; g < SHAPE.grandchildren; g++) {
        const grandchild = add(child, `g-${g}`, n++);
        for (let l = 0; l < SHAPE.leaves; l++) add(grandchild, `l-${l}`, n++);
      }
    }
    await store.flush(); // one transaction per root's subtree
  }
  await store.flush();
  store.close();
  return { agents: runtime.tree.size, events: bus.lastId };
}
