import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawnBodySchema, type PolicyInput } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import type { AgentEvent } from '../../src/events/types.js';
import { OversightEngine } from '../../src/oversight/engine.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

const INTERVAL_MS = 30_000;

/** The runtime as src/daemon.ts wires it, in process, on an in-memory store and a hand-moved clock. */
function setup() {
  let nowMs = Date.UTC(2025, 0, 1);
  const clock = () => nowMs;
  const store = new SqliteStore(':memory:', { eventsRetained: 1_000, eventsLoadedAtStart: 1_000 });
  const bus = new EventBus(clock);
  const runtime = new Runtime({ bus, store, clock });
  const engine = new OversightEngine(runtime, INTERVAL_MS);
  const events: AgentEvent[] = [];
  bus.subscribe('a', { scope: 'subtree', deliver: (event) => events.push(event) });
  const spawn = (id: string, policy: PolicyInput = {}) => runtime.spawn(null, spawnBodySchema.parse({ id, spec: { goal: 'g' }, policy }));
  return {
    runtime, engine, events, spawn, store,
    advanceClock: (ms: number) => void (nowMs += ms),
    types: () => events.map((e) => e.type),
  };
}

describe('the oversight engine', () => {
  let ctx: ReturnType<typeof setup>;
  beforeEach(() => {
    ctx = setup();
  });
  afterEach(() => {
    ctx.engine.stop();
    ctx.store.close();
    vi.useRealTimers();
  });

  it('runs a pass every interval once started, suspending an agent past its runtime budget', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const agent = ctx.spawn('a', { budget: { max_runtime_seconds: 10 } });
    ctx.engine.start();
    ctx.advanceClock(11_000);
    vi.advanceTimersByTime(INTERVAL_MS - 1);
    expect(agent.state).toBe('running');
    vi.advanceTimersByTime(1);
    expect(agent.state).toBe('suspended');
    expect(agent.suspendReason).toBe('budget_exceeded');
    const oversight = ctx.events.find((e) => e.type === 'oversight');
    expect(oversight?.data).toMatchObject({ kind: 'runtime', action: 'suspend' });
    expect(ctx.types().indexOf('oversight')).toBeLessThan(ctx.types().indexOf('suspended'));
  });

  it('keeps running passes after the first, and stops when stopped', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const agent = ctx.spawn('a');
    ctx.engine.start();
    vi.advanceTimersByTime(INTERVAL_MS);
    const first = agent.health.last_check;
    expect(first).not.toBeNull();
    ctx.advanceClock(1_000);
    vi.advanceTimersByTime(INTERVAL_MS);
    expect(agent.health.last_check).not.toBe(first);
    const second = agent.health.last_check;
    ctx.engine.stop();
    ctx.advanceClock(1_000);
    vi.advanceTimersByTime(INTERVAL_MS * 3);
    expect(agent.health.last_check).toBe(second);
  });

  it('starting twice does not double the passes', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    ctx.engine.start();
    ctx.engine.start();
    expect(vi.getTimerCount()).toBe(1);
  });

  it('leaves suspended and dead agents alone', () => {
    const agent = ctx.spawn('a', { budget: { max_runtime_seconds: 1 } });
    ctx.runtime.suspend('a', 'manual');
    ctx.advanceClock(5_000);
    expect(ctx.engine.runPass()).toEqual([]);
    expect(agent.health.last_check).toBeNull();
    expect(agent.suspendReason).toBe('manual');
  });

  it('reports the findings of the latest pass per agent, and forgets them at the next', () => {
    ctx.spawn('a', { budget: { max_runtime_seconds: 1 } });
    ctx.advanceClock(2_000);
    const [finding] = ctx.engine.runPass();
    expect(finding).toMatchObject({ path: 'a', kind: 'runtime', action: 'suspend', reason: 'budget_exceeded' });
    expect(ctx.engine.latestFor('a')).toEqual([finding]);
    ctx.engine.runPass();
    expect(ctx.engine.latestFor('a')).toEqual([]);
  });

  it('stops at the first suspend finding of a pass', () => {
    const agent = ctx.spawn('a', { budget: { max_total_tokens: 10, max_runtime_seconds: 1 } });
    agent.health.tokens_total = 50;
    ctx.advanceClock(2_000);
    expect(ctx.engine.runPass().map((f) => f.kind)).toEqual(['token_budget']);
  });

  it('warns on the first tool-call loop and suspends with loop_detected when it continues', () => {
    const agent = ctx.spawn('a');
    expect(ctx.engine.afterToolCall(agent, 'fetch', { url: 'u' })).toBe(false);
    expect(ctx.engine.afterToolCall(agent, 'fetch', { url: 'u' })).toBe(false);
    expect(ctx.engine.afterToolCall(agent, 'fetch', { url: 'u' })).toBe(false);
    expect(agent.state).toBe('running');
    expect(ctx.events.filter((e) => e.type === 'oversight').map((e) => e.data.action)).toEqual(['warn']);
    expect(ctx.engine.afterToolCall(agent, 'fetch', { url: 'u' })).toBe(true);
    expect(agent.state).toBe('suspended');
    expect(agent.suspendReason).toBe('loop_detected');
    expect(agent.health.loops_detected).toBe(2);
  });

  it('never counts a repeatable tool as a loop', () => {
    const agent = ctx.spawn('a', { repeatable_tools: ['poll'] });
    for (let i = 0; i < 10; i++) expect(ctx.engine.afterToolCall(agent, 'poll', {})).toBe(false);
    expect(agent.health.loops_detected).toBe(0);
    expect(ctx.events.some((e) => e.type === 'oversight')).toBe(false);
  });

  it('gives a resumed agent a fresh warning before suspending it for a loop again', () => {
    const agent = ctx.spawn('a');
    for (let i = 0; i < 4; i++) ctx.engine.afterToolCall(agent, 't', {});
    expect(agent.state).toBe('suspended');
    ctx.runtime.resume('a');
    for (let i = 0; i < 3; i++) expect(ctx.engine.afterToolCall(agent, 't', {})).toBe(false);
    expect(agent.state).toBe('running');
  });
});
