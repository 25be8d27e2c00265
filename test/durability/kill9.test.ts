import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { api, type Api } from '../support/daemon.js';
import { startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { startFakeMessagesApi, type FakeMessagesApi, type RecordedRequest, callerOf } from '../support/fake-messages-api.js';
import { dataOf, openSse, type ParsedEvent, type SseConnection } from '../support/sse-client.js';

/**
 * Durability with real processes: the daemon runs as `node --import tsx src/main.ts` on a database in a temporary
 * directory, is killed with SIGKILL right after an acknowledged request, and started again on the same database.
 * Its agents talk to a fake Messages API in this process, which outlives both daemons.
 */
const SHUTDOWN_LIMIT_MS = 5_000;

const started: DaemonProcess[] = [];
async function startDaemon(env: Record<string, string>): Promise<DaemonProcess> {
  const daemon = await startDaemonProcess(env);
  started.push(daemon);
  return daemon;
}

const caller = callerOf;
const requestsOf = (fake: FakeMessagesApi, path: string) => fake.requests.filter((r) => caller(r) === path);
const toIdle = (e: ParsedEvent) => e.event === 'state_change' && dataOf(e).to === 'idle' && dataOf(e).path === 'worker';
const idOf = (e: ParsedEvent) => Number(e.id);
const USAGE = { input_tokens: 100, output_tokens: 20 };

describe('kill -9 and start again on the same AUTON_DB', () => {
  let dir: string;
  let fake: FakeMessagesApi;
  let env: Record<string, string>;
  let daemon: DaemonProcess;
  let http: Api;
  /** What the first daemon acknowledged or streamed before it was killed. */
  const before = {
    workerRequest: undefined as RecordedRequest | undefined,
    helperRequest: undefined as RecordedRequest | undefined,
    checkpoints: [] as unknown[],
    cursor: '',
    seenAfterCursor: [] as ParsedEvent[],
    maxSeenId: 0,
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auton-kill9-'));
    fake = await startFakeMessagesApi();
    let answers = 0;
    fake.setHandler((req) => (caller(req) === 'worker' ? { kind: 'text', text: `answer ${++answers}`, usage: USAGE } : { kind: 'hang' }));
    env = {
      AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test',
      AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0', AUTON_RESTART_BACKOFF_MS: '0',
    };
    daemon = await startDaemon(env);
    http = api(daemon.url);

    // worker: three turns (start, a message, guidance), a checkpoint, an operator restart, another checkpoint.
    expect((await http.post('/agents', { id: 'worker', spec: { goal: 'collect facts' }, policy: { max_restarts: 5 } })).status).toBe(201);
    const stream = await openSse(`${daemon.url}/agents/worker/observe`);
    await stream.next(toIdle, 10_000);
    expect((await http.post('/agents/worker/message', { content: 'question two' })).status).toBe(200);
    await stream.next(toIdle, 10_000);
    expect((await http.patch('/agents/worker', { guidance: 'be brief' })).status).toBe(200);
    await stream.next(toIdle, 10_000);
    expect((await http.post('/agents/worker/checkpoint', { label: 'three turns' })).status).toBe(201);
    expect((await http.post('/agents/worker/restart', { reason: 'drill' })).status).toBe(200);
    await stream.next(toIdle, 10_000);
    expect((await http.post('/agents/worker/checkpoint')).status).toBe(201);
    await stream.next((e) => e.event === 'checkpoint' && dataOf(e).checkpoint === 'cp-2', 10_000);
    before.cursor = stream.lastEventId!;
    before.workerRequest = requestsOf(fake, 'worker').at(-1);
    before.checkpoints = (await http.get<{ checkpoints: unknown[] }>('/agents/worker/checkpoints')).body.checkpoints;

    // After the cursor: a child mid model call, and a root suspended with a message waiting for it.
    expect((await http.post('/agents/worker', { id: 'helper', spec: { goal: 'look things up' } })).status).toBe(201);
    before.helperRequest = (await fake.waitForRequests(fake.requests.length + 1, 10_000)).at(-1);
    expect(caller(before.helperRequest!)).toBe('worker/helper');
    expect((await http.post('/agents', { id: 'paused', spec: { goal: 'wait' } })).status).toBe(201);
    expect((await http.post('/agents/paused/suspend', { reason: 'manual', detail: 'holiday' })).status).toBe(200);
    await stream.next((e) => e.event === 'state_change' && dataOf(e).path === 'worker/helper' && dataOf(e).to === 'running', 10_000);
    expect((await http.post('/agents/paused/message', { content: 'while you were out' })).status).toBe(200);
    daemon.child.kill('SIGKILL');
    expect(await daemon.exited).toEqual({ code: null, signal: 'SIGKILL' });

    await stream.ended;
    before.seenAfterCursor = stream.events.filter((e) => e.id !== undefined && idOf(e) > Number(before.cursor));
    before.maxSeenId = Math.max(...stream.events.filter((e) => e.id !== undefined).map(idOf));

    daemon = await startDaemon(env);
    http = api(daemon.url);
  }, 90_000);

  afterAll(async () => {
    for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await fake?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('brings the whole tree back: states, reasons, restart counts, checkpoints, usage', async () => {
    const { body } = await http.get<{ agents: AgentNodeJson[] }>('/agents');
    const [worker, paused] = body.agents;
    expect(body.agents.map((a) => a.path)).toEqual(['worker', 'paused']);
    expect(worker).toMatchObject({
      state: 'idle', restart_count: 1, checkpoints: 2, policy: { max_restarts: 5 }, spec: { goal: 'collect facts' },
      health: { tokens_total: 3 * (USAGE.input_tokens + USAGE.output_tokens) },
    });
    expect(worker!.children.map((c) => [c.path, c.state])).toEqual([['worker/helper', 'running']]);
    expect(paused).toMatchObject({ state: 'suspended', suspend_reason: 'manual', restart_count: 0 });
    const checkpoints = (await http.get<{ checkpoints: Array<{ id: string; turns: number }> }>('/agents/worker/checkpoints')).body.checkpoints;
    expect(checkpoints).toEqual(before.checkpoints);
    expect(checkpoints.map((c) => [c.id, c.turns])).toEqual([['cp-1', 3], ['cp-2', 3]]);
  });

  it('resumes the loop of an agent killed in the middle of a model call, with the same conversation', async () => {
    await expect.poll(() => requestsOf(fake, 'worker/helper').length, { timeout: 10_000 }).toBe(2);
    expect(requestsOf(fake, 'worker/helper')[1]!.body.messages).toEqual(before.helperRequest!.body.messages);
  });

  it('keeps the conversation: a message wakes the idle worker and its next request carries the earlier turns', async () => {
    const workerCalls = requestsOf(fake, 'worker').length;
    expect((await http.post('/agents/worker/message', { content: 'after the restart' })).status).toBe(200);
    await expect.poll(() => requestsOf(fake, 'worker').length, { timeout: 10_000 }).toBe(workerCalls + 1);
    const messages = requestsOf(fake, 'worker').at(-1)!.body.messages;
    const earlier = before.workerRequest!.body.messages;
    expect(messages.slice(0, earlier.length)).toEqual(earlier);
    expect(messages.slice(earlier.length).map((m) => [m.role, JSON.stringify(m.content)])).toEqual([
      ['assistant', expect.stringContaining('answer 3')],
      ['user', expect.stringContaining('after the restart')],
    ]);
    expect(JSON.stringify(earlier)).toMatch(/question two[\s\S]*answer 2[\s\S]*be brief/);
  });

  it('keeps a suspended agent suspended with its acknowledged message, delivered when it is resumed', async () => {
    const calls = requestsOf(fake, 'paused').length; // its first call, cut short by the suspension
    expect((await http.get<AgentNodeJson>('/agents/paused')).body).toMatchObject({ state: 'suspended', suspend_reason: 'manual' });
    expect(requestsOf(fake, 'paused')).toHaveLength(calls);
    expect((await http.post('/agents/paused/resume')).status).toBe(200);
    await expect.poll(() => requestsOf(fake, 'paused').length, { timeout: 10_000 }).toBe(calls + 1);
    expect(JSON.stringify(requestsOf(fake, 'paused').at(-1)!.body.messages)).toContain('while you were out');
  });

  it('replays what a client missed across the restart (Last-Event-ID), and new ids keep increasing', async () => {
    const replay = await openSse(`${daemon.url}/agents/worker/observe`, { lastEventId: before.cursor });
    expect(replay.status).toBe(200);
    const last = before.seenAfterCursor.at(-1)!;
    await replay.next((e) => e.id === last.id, 10_000);
    const replayed = replay.events.filter((e) => e.id !== undefined && idOf(e) <= idOf(last));
    expect(replayed.map((e) => [e.id, e.event])).toEqual(before.seenAfterCursor.map((e) => [e.id, e.event]));
    expect(replayed.some((e) => e.event === 'spawned' && dataOf(e).path === 'worker/helper')).toBe(true);

    expect((await http.patch('/agents/worker/helper', { guidance: 'new instructions' })).status).toBe(200);
    const fresh = await replay.next('correction', 10_000);
    expect(idOf(fresh)).toBeGreaterThan(before.maxSeenId);
    const ids = replay.events.filter((e) => e.id !== undefined).map(idOf);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    replay.close();
  });

  it('SIGTERM: closes the live SSE stream, flushes, and exits 0 within a few seconds', async () => {
    const live: SseConnection = await openSse(`${daemon.url}/agents/worker/observe`);
    expect(live.status).toBe(200);
    expect((await http.patch('/agents/worker/helper', { guidance: 'last words' })).status).toBe(200);
    await live.next('correction', 10_000);
    const startedAt = Date.now();
    daemon.child.kill('SIGTERM');
    const exit = await Promise.race([
      daemon.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), SHUTDOWN_LIMIT_MS)),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - startedAt).toBeLessThan(SHUTDOWN_LIMIT_MS);
    await live.ended;

    // What the stopped daemon acknowledged is on disk.
    const store = new SqliteStore(env.AUTON_DB!, { eventsRetained: 1_000_000, eventsLoadedAtStart: 100 });
    try {
      const state = await store.load();
      expect(state.agents.find((a) => a.path === 'worker/helper')).toMatchObject({ state: 'correcting' });
      expect(state.events.filter((e) => e.type === 'correction').at(-1)?.data).toMatchObject({ guidance: 'last words' });
      expect(state.events.at(-1)!.id).toBe(state.lastEventId); // a clean stop leaves no gap in the numbering
    } finally {
      store.close();
    }
  });
});
