import { ContextTurns } from '../../src/domain/context-turns.js';
import type Anthropic from '@anthropic-ai/sdk';
import { performance } from 'node:perf_hooks';
import { parseTurn, type TurnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import type { ModelClient } from '../../src/model/client.js';
import { OversightEngine } from '../../src/oversight/engine.js';
import { AgentRunner } from '../../src/runner/runner.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { WindowTable } from '../../src/context/windows.js';
import { UsageMeter } from '../../src/usage/meter.js';
import { PriceTable } from '../../src/usage/pricing.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { percentile } from '../load.js';
import { serveIpc } from '../processes.js';

/**
 * Figure 6 (run with --expose-gc by memory.ts): 10,000 agents, each woken 20 times (a start, then 19 messages)
 * and answering each with a model reply, built with the daemon's own modules: runtime, event bus, SQLite store,
 * and the real AgentRunner, whose model client is a stand-in for the outside world that answers at once with a
 * reply parsed from JSON as the SDK would. RSS and heap are read after GC before and after; the text of the
 * conversations is counted so the report can subtract it. Then parts are dropped one by one to see what the
 * rest is made of. Also times oversight passes over these agents (figure 5, in process).
 */
const AGENTS = 10_000;
const CALLS_PER_AGENT = 20;
const PER_ROOT = 100;
const STORE_OPTIONS = { eventsRetained: 1_000_000, eventsLoadedAtStart: 50_000 };

export interface MemoryResult {
  agents: number;
  callsPerAgent: number;
  turnsPerAgent: number;
  eventsInLogs: number;
  textBytes: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  /** Heap the V8 reserved (used + free in its pages). */
  heapTotalDelta: number;
  externalDelta: number;
  /** Heap (and array buffers) freed by dropping each part (bytes, all agents). */
  heapOf: { conversations: number };
  passMs: { p50: number; max: number };
  fillSeconds: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 30));
  }
  return process.memoryUsage();
};

const WORDS = 'agent memory architecture retrieval planner tool context window summary paper result evidence claim method benchmark'.split(' ');
/** Flat (not concatenated) text of about `chars` characters, different per seed, as JSON.parse would give. */
function prose(seed: number, chars: number): string {
  const words: string[] = [];
  let length = 0;
  for (let i = 0; length < chars; i++) {
    const word = WORDS[(seed * 7 + i * 13) % WORDS.length]!;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

let replies = 0;
const reply = async (): Promise<Anthropic.Message> => {
  const n = ++replies;
  const json = JSON.stringify({
    id: `msg_${n}`, type: 'message', role: 'assistant', model: 'claude-haiku-4-5',
    content: [{ type: 'text', text: prose(n, 400), citations: null }],
    stop_reason: 'end_turn', stop_sequence: null, stop_details: null, container: null, diagnostics: null,
    usage: { input_tokens: 200, output_tokens: 80, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, cache_creation: null, server_tool_use: null, service_tier: 'standard' },
  });
  return JSON.parse(json) as Anthropic.Message;
};
const model: ModelClient = { configured: true, create: reply, stream: reply };

const store = new SqliteStore(process.argv[2]!, STORE_OPTIONS);
const bus = new EventBus();
bus.addSink((event) => store.appendEvent(event));
const runtime = new Runtime({ bus, store, maxAgents: 1_000_000 });
const oversight = new OversightEngine(runtime, 3_600_000);
const runner = new AgentRunner({
  runtime, model, oversight, maxTurnSteps: 25, windows: WindowTable.load(),
  meter: new UsageMeter(PriceTable.load(), Date.now, () => {}),
  onFailure: (agent, error) => {
    throw new Error(`${agent.path} failed: ${String(error)}`);
  },
});
runtime.driver = runner;

const settled = async () => {
  while (runner.busyCount() > 0) await new Promise((r) => setTimeout(r, 5));
  await store.flush();
};

const before = await collect();
const fillStarted = performance.now();
const paths: string[] = [];
for (let i = 0; i < AGENTS; i++) {
  const root = `team-${Math.floor(i / PER_ROOT)}`;
  const parent = i % PER_ROOT === 0 ? null : root;
  const agent = runtime.spawn(parent, {
    id: parent === null ? root : `member-${i % PER_ROOT}`,
    spec: specSchema.parse({ goal: `Track topic ${i} in the literature and summarise new results`, model: 'claude-haiku-4-5' }),
    policy: policySchema.parse({ max_children: 1_000 }),
  });
  paths.push(agent.path);
}
await settled();
for (let round = 1; round < CALLS_PER_AGENT; round++) {
  paths.forEach((path, i) => runtime.message(path, { content: JSON.parse(JSON.stringify(prose(round * AGENTS + i, 250))) as string }));
  await settled();
}
const fillSeconds = (performance.now() - fillStarted) / 1000;

let textBytes = 0;
let turns = 0;
let eventsInLogs = 0;
for (const path of paths) {
  const agent = runtime.get(path);
  if (agent.turnCount !== CALLS_PER_AGENT || agent.state !== 'idle') throw new Error(`${path}: ${agent.turnCount} calls, ${agent.state}`);
  turns += agent.conversation.length;
  for (const turn of agent.conversation) textBytes += textOf(turn);
}
// Each agent's log lives in the store (/log reads it there); count one agent's.
eventsInLogs = (await store.recentEvents(paths[0]!, 500)).length * AGENTS;
const after = await collect();

const passes: number[] = [];
for (let i = 0; i < 20; i++) {
  const started = performance.now();
  oversight.runPass();
  passes.push(performance.now() - started);
}

// What the heap holds, part by part: drop each and see what a GC gives back.
// A context's turns are bytes in a buffer of its own (ContextTurns): counted with the heap.
const held = (m: NodeJS.MemoryUsage) => m.heapUsed + m.arrayBuffers;
const heap1 = held(await collect());
for (const path of paths) runtime.get(path).conversation = new ContextTurns();
const heap2 = held(await collect());

const result: MemoryResult = {
  agents: AGENTS,
  callsPerAgent: CALLS_PER_AGENT,
  turnsPerAgent: turns / AGENTS,
  eventsInLogs,
  textBytes,
  rssBefore: before.rss,
  rssAfter: after.rss,
  heapBefore: before.heapUsed,
  heapAfter: after.heapUsed,
  heapTotalDelta: after.heapTotal - before.heapTotal,
  externalDelta: after.external - before.external,
  heapOf: { conversations: heap1 - heap2 },
  passMs: { p50: percentile(passes, 50), max: Math.max(...passes) },
  fillSeconds,
};
store.close();
serveIpc(result, () => true);

function textOf(json: TurnJson): number {
  const turn = parseTurn(json);
  if (typeof turn.content === 'string') return turn.content.length;
  if (!Array.isArray(turn.content)) return 0;
  let n = 0;
  for (const block of turn.content as Array<{ text?: unknown }>) if (typeof block.text === 'string') n += block.text.length;
  return n;
}
