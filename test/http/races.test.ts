import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { canTransition, isLive, type AgentState } from '../../src/domain/states.js';
import { spawnAgent, useTestDaemon, type Api, type ApiResponse } from '../support/daemon.js';

/**
 * Many operations on the same agents at once, over real HTTP, while their loops run against a model that answers
 * after a random few milliseconds (so agents keep moving between running and idle under the operators' feet).
 * Whatever interleaving happens, every answer is a success or a clean refusal, every agent ends in a legal state,
 * and its log is one unbroken chain of legal transitions: each state_change's `from` is the previous `to`.
 */
const ctx = useTestDaemon({ shared: true, purgeAfterEach: true, env: { AUTON_OVERSIGHT_INTERVAL_MS: '86400000' } });
const CLEAN_REFUSALS = [409, 422, 429];

beforeEach(() => {
  ctx.d.fake.setHandler(() => ({ kind: 'text', text: 'ok', delayMs: Math.floor(Math.random() * 4) }));
});

type Op = (http: Api) => Promise<ApiResponse>;
const opsOn = (path: string): Array<[string, Op]> => [
  ['suspend', (h) => h.post(`/agents/${path}/suspend`, { reason: 'manual', detail: 'race' })],
  ['resume', (h) => h.post(`/agents/${path}/resume`)],
  ['resume with guidance', (h) => h.post(`/agents/${path}/resume`, { guidance: 'carry on' })],
  ['guide', (h) => h.patch(`/agents/${path}`, { guidance: 'steer', reason: 'race' })],
  ['message', (h) => h.post(`/agents/${path}/message`, { content: 'ping' })],
  ['restart', (h) => h.post(`/agents/${path}/restart`, { reason: 'race' })],
  ['checkpoint', (h) => h.post(`/agents/${path}/checkpoint`)],
];

/** Runs `ops` with `concurrency` requests in flight at a time; returns every status. */
async function race(ops: Op[], concurrency: number): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ops.length) {
      const op = ops[next++]!;
      statuses.push((await op(ctx.http)).status);
    }
  }));
  return statuses;
}

/** The agent's state changes from the durable log, checked as one chain from its spawn to its current state. */
async function expectConsistentLog(path: string): Promise<number> {
  await ctx.d.daemon.runtime.store.flush();
  const events = await ctx.d.daemon.runtime.store.eventsSince(path, 'self', 0, 1_000_000);
  if (events === 'gone') throw new Error('events pruned');
  // The log of this incarnation: an earlier test's purged agent of the same path left its events in the store.
  const born = events.map((e) => e.type).lastIndexOf('spawned');
  const changes = events.slice(born).filter((e) => e.type === 'state_change').map((e) => e.data as { from: AgentState; to: AgentState });
  let state: AgentState = 'spawning';
  changes.forEach(({ from, to }, i) => {
    expect(from, `${path}: state_change #${i} starts from ${from}, but the agent was ${state}`).toBe(state);
    expect(canTransition(from, to), `${path}: ${from} → ${to} is not in the table`).toBe(true);
    state = to;
  });
  const agent = ctx.d.daemon.runtime.tree.find(path);
  if (agent) {
    expect(agent.state, `${path}: the log ends at ${state}`).toBe(state);
    if (agent.state === 'suspended') expect(agent.suspendReason).not.toBeNull();
  }
  return changes.length;
}

const pick = <T>(items: T[], n: number, seed: number): T[] =>
  fc.sample(fc.constantFrom(...items), { numRuns: n, seed });

describe('concurrent operations', () => {
  it('on one agent: 300 suspends, resumes, guidance, messages, restarts and checkpoints in flight 20 at a time', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { max_restarts: 1000 } });
    const ops = pick(opsOn('r'), 300, 7);
    const statuses = await race(ops.map(([, op]) => op), 20);
    for (const status of statuses) expect([200, 201, ...CLEAN_REFUSALS]).toContain(status);
    expect(statuses.filter((s) => s < 300).length).toBeGreaterThan(50);
    expect(await expectConsistentLog('r')).toBeGreaterThan(30);
  });

  it('on a parent and its children, with terminations racing the rest', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { max_restarts: 1000 } });
    for (const id of ['a', 'b']) await spawnAgent(ctx.http, 'r', id, { policy: { max_restarts: 1000 } });
    await spawnAgent(ctx.http, 'r/a', 'x', { policy: { max_restarts: 1000 } });
    const targets = ['r', 'r/a', 'r/b', 'r/a/x'];
    const ops: Op[] = pick(targets.flatMap(opsOn), 300, 11).map(([, op]) => op);
    // Terminations land in the middle of the storm: the subtree first, the root a little later.
    ops.splice(120, 0, (h) => h.delete('/agents/r/a'));
    ops.splice(200, 0, (h) => h.delete('/agents/r?reason=race'));
    const statuses = await race(ops, 20);
    for (const status of statuses) expect([200, 201, ...CLEAN_REFUSALS]).toContain(status);
    for (const path of targets) {
      await expectConsistentLog(path);
      const agent = ctx.d.daemon.runtime.get(path);
      expect(agent.state, path).toBe('dead');
    }
  });

  it('many DELETEs of one agent at once: exactly one succeeds, the rest are 409s', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'c');
    const statuses = await race(Array.from({ length: 30 }, () => (h: Api) => h.delete('/agents/r')), 30);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(29);
    await expectConsistentLog('r');
    await expectConsistentLog('r/c');
    // The store also holds the log of earlier agents purged from the path `r` in this file.
    const since = new Date(ctx.d.daemon.runtime.get('r').createdAtMs).toISOString();
    const log = (await ctx.d.daemon.runtime.store.recentEvents('r', 500)).filter((e) => e.timestamp >= since);
    expect(log.filter((e) => e.type === 'terminated')).toHaveLength(1);
  });

  it('a suspend racing a stream of messages never loses the agent between states', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const ops: Op[] = Array.from({ length: 200 }, (_, i) =>
      i % 10 === 0 ? (h: Api) => h.post('/agents/r/suspend') : i % 10 === 5 ? (h: Api) => h.post('/agents/r/resume') : (h: Api) => h.post('/agents/r/message', { content: `m${i}` }));
    const statuses = await race(ops, 25);
    for (const status of statuses) expect([200, ...CLEAN_REFUSALS]).toContain(status);
    await expectConsistentLog('r');
    expect(isLive(ctx.d.daemon.runtime.get('r').state)).toBe(true);
  });
});
