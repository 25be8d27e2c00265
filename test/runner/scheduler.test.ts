import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AgentRecord } from '../../src/domain/agent.js';
import { specSchema } from '../../src/domain/schemas.js';
import { EventBus } from '../../src/events/bus.js';
import { Scheduler, validateSchedule } from '../../src/runner/scheduler.js';
import type { AgentDriver } from '../../src/runtime/driver.js';
import { restoreTree } from '../../src/runtime/restore.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { api, startTestDaemon, type TestDaemon } from '../support/daemon.js';

/**
 * The scheduler against the real runtime and store, with the agents' driver (the runner, whose outside world is
 * the Messages API) replaced by one that records what it is asked. Time is faked: croner's timers and Date.
 */
class RecordingDriver implements AgentDriver {
  readonly calls: string[] = [];
  activate = (agent: AgentRecord) => void this.calls.push(`activate ${agent.path}`);
  wake = (agent: AgentRecord) => void this.calls.push(`wake ${agent.path}`);
  halt = (agent: AgentRecord) => void this.calls.push(`halt ${agent.path}`);
  count(call: string): number {
    return this.calls.filter((c) => c === call).length;
  }
}

const STORE_OPTIONS = { eventsRetained: 10_000, eventsLoadedAtStart: 10_000 };
const START = new Date('2025-01-01T00:00:00.000Z');
const EVERY_10_SECONDS = '*/10 * * * * *';

let dir: string;
let cleanups: Array<() => void>;
beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  vi.setSystemTime(START);
  dir = await mkdtemp(join(tmpdir(), 'auton-scheduler-'));
  cleanups = [];
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) cleanup();
  vi.useRealTimers();
  await rm(dir, { recursive: true, force: true });
});

async function startRuntime(file = ':memory:') {
  const store = new SqliteStore(file, STORE_OPTIONS);
  const bus = new EventBus();
  bus.addSink((event) => store.appendEvent(event)); // as the daemon wires it: every event is logged durably
  const runtime = new Runtime({ bus, store, validateSpec: (spec) => validateSchedule(spec.schedule) });
  const driver = new RecordingDriver();
  runtime.driver = driver;
  const restored = restoreTree(runtime, await store.load());
  const scheduler = new Scheduler(runtime);
  scheduler.start();
  cleanups.push(() => scheduler.stop(), () => store.close());
  return { runtime, store, driver, scheduler, restored };
}

/** Spawns a root with a schedule and lets its (recorded) loop settle, as the runner does when it has nothing to do. */
function spawnIdle(runtime: Runtime, id: string, schedule: string): AgentRecord {
  const agent = runtime.spawn(null, { id, spec: specSchema.parse({ goal: `goal of ${id}`, model: 'm', tools: [], schedule }) });
  runtime.move(agent, 'idle');
  return agent;
}

const eventsOf = async (runtime: Runtime, path: string, type: string) => (await runtime.store.recentEvents(path, 500)).filter((e) => e.type === type);

describe('Scheduler', () => {
  it('wakes an idle agent on each tick, with a scheduled message in its inbox', async () => {
    const { runtime, driver } = await startRuntime();
    const agent = spawnIdle(runtime, 'r', EVERY_10_SECONDS);
    vi.advanceTimersByTime(9_000);
    expect(driver.count('wake r')).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(driver.count('wake r')).toBe(1);
    expect(await eventsOf(runtime, 'r', 'schedule_tick')).toHaveLength(1);
    expect(agent.inbox).toEqual([expect.objectContaining({ kind: 'message', from: 'scheduler', content: expect.stringContaining(EVERY_10_SECONDS) })]);
    agent.inbox = [];
    vi.advanceTimersByTime(20_000);
    expect(driver.count('wake r')).toBe(3);
  });

  it('takes a 5-field schedule as minutes', async () => {
    const { runtime, driver } = await startRuntime();
    spawnIdle(runtime, 'r', '* * * * *');
    vi.advanceTimersByTime(59_000);
    expect(driver.count('wake r')).toBe(0);
    vi.advanceTimersByTime(1_000);
    expect(driver.count('wake r')).toBe(1);
  });

  it('skips a tick that finds the agent busy, records it, and does not queue it for later', async () => {
    const { runtime, driver } = await startRuntime();
    const agent = spawnIdle(runtime, 'r', EVERY_10_SECONDS);
    runtime.move(agent, 'running'); // a model call in progress
    vi.advanceTimersByTime(10_000);
    expect(driver.count('wake r')).toBe(0);
    expect(agent.inbox).toEqual([]);
    expect((await eventsOf(runtime, 'r', 'schedule_skipped')).map((e) => e.data)).toEqual([{ state: 'running' }]);

    runtime.move(agent, 'idle'); // the turn ends just after the skipped tick: nothing is owed
    vi.advanceTimersByTime(9_999);
    expect(driver.count('wake r')).toBe(0);
    vi.advanceTimersByTime(1);
    expect(driver.count('wake r')).toBe(1);
    expect(await eventsOf(runtime, 'r', 'schedule_skipped')).toHaveLength(1);
  });

  it('skips ticks while the agent is suspended, and wakes it again once resumed and idle', async () => {
    const { runtime, driver } = await startRuntime();
    const agent = spawnIdle(runtime, 'r', EVERY_10_SECONDS);
    runtime.suspend('r', 'manual');
    vi.advanceTimersByTime(20_000);
    expect(driver.count('wake r')).toBe(0);
    expect((await eventsOf(runtime, 'r', 'schedule_skipped')).map((e) => e.data)).toEqual([{ state: 'suspended' }]);
    runtime.resume('r');
    runtime.move(agent, 'idle');
    vi.advanceTimersByTime(10_000);
    expect(driver.count('wake r')).toBe(1);
  });

  it('17.10f: a suspended agent with a per-second schedule logs schedule_skipped once per skipped streak, not every second', async () => {
    const { runtime, driver } = await startRuntime();
    const agent = spawnIdle(runtime, 'r', '* * * * * *');
    runtime.suspend('r', 'manual');
    vi.advanceTimersByTime(600_000);
    expect((await eventsOf(runtime, 'r', 'schedule_skipped')).map((e) => e.data)).toEqual([{ state: 'suspended' }]);
    runtime.resume('r');
    runtime.move(agent, 'idle');
    vi.advanceTimersByTime(1_000);
    expect(driver.count('wake r')).toBe(1);
    // The tick that wakes it says how many were skipped; a new streak is logged once again.
    expect((await eventsOf(runtime, 'r', 'schedule_tick')).map((e) => e.data)).toEqual([{ skipped: 600 }]);
    runtime.suspend('r', 'manual');
    vi.advanceTimersByTime(10_000);
    expect(await eventsOf(runtime, 'r', 'schedule_skipped')).toHaveLength(2);
  });

  it('stops ticking for a terminated agent and follows a forked one', async () => {
    const { runtime, driver } = await startRuntime();
    spawnIdle(runtime, 'r', EVERY_10_SECONDS);
    runtime.checkpoint('r');
    const fork = await runtime.fork('r', { id: 'r2' });
    runtime.move(fork, 'idle');
    runtime.terminate('r');
    vi.advanceTimersByTime(10_000);
    expect(driver.count('wake r')).toBe(0);
    expect(driver.count('wake r2')).toBe(1);
    expect(await eventsOf(runtime, 'r', 'schedule_skipped')).toEqual([]);
  });

  it('leaves an agent without a schedule alone', async () => {
    const { runtime, driver } = await startRuntime();
    const agent = runtime.spawn(null, { id: 'plain', spec: specSchema.parse({ goal: 'g', model: 'm', tools: [], schedule: null }) });
    runtime.move(agent, 'idle');
    vi.advanceTimersByTime(120_000);
    expect(driver.count('wake plain')).toBe(0);
  });

  it('brings schedules back with the tree after a daemon restart', async () => {
    const file = join(dir, 'auton.db');
    const first = await startRuntime(file);
    spawnIdle(first.runtime, 'r', EVERY_10_SECONDS);
    await first.store.flush();
    first.scheduler.stop();
    first.store.close();

    const second = await startRuntime(file);
    expect(second.restored.active.map((a) => a.path)).toEqual(['r']);
    expect(second.runtime.get('r')).toMatchObject({ state: 'idle', spec: { schedule: EVERY_10_SECONDS } });
    await vi.advanceTimersByTimeAsync(10_000); // the restored idle agent reads its context back, then wakes
    expect(second.driver.count('wake r')).toBe(1);
  });
});

describe('validateSchedule', () => {
  it.each(['* * * * *', '0 9 * * 1-5', '*/30 * * * * *', '0 0 12 * * MON'])('accepts %j', (schedule) => {
    expect(() => validateSchedule(schedule)).not.toThrow();
  });

  it.each(['', 'every tuesday', '* * * *', '0 0 0 * * * 2030', '61 * * * *'])('refuses %j as a bad request', (schedule) => {
    expect(() => validateSchedule(schedule)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST', message: expect.stringContaining('spec.schedule') }));
  });
});

describe('schedules over HTTP', () => {
  let d: TestDaemon;
  beforeEach(async () => {
    vi.useRealTimers();
    d = await startTestDaemon();
  });
  afterEach(() => d.close());

  it('refuses an invalid cron expression at spawn with a 400 naming spec.schedule, and spawns nothing', async () => {
    const http = api(d.url);
    for (const schedule of ['every tuesday', '* * * *', '0 0 0 * * * 2030']) {
      const res = await http.post<{ message: string }>('/agents', { id: 'r', spec: { goal: 'g', schedule } });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('spec.schedule');
    }
    expect((await http.get('/agents/r')).status).toBe(404);
    expect((await http.get<{ total: number }>('/agents')).body.total).toBe(0);
  });

  it('accepts 5- and 6-field schedules and shows them on the node', async () => {
    const http = api(d.url);
    expect((await http.post('/agents', { id: 'five', spec: { goal: 'g', schedule: '*/5 * * * *' } })).status).toBe(201);
    const six = await http.post<{ spec: { schedule: string } }>('/agents', { id: 'six', spec: { goal: 'g', schedule: '0 */5 * * * *' } });
    expect(six.status).toBe(201);
    expect(six.body.spec.schedule).toBe('0 */5 * * * *');
  });
});
