import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, type Api } from '../support/daemon.js';
import { killHard, setFileSizeLimit, startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fake-messages-api.js';

/**
 * Issue 17, "when a write to the database fails": the daemon runs as a process of its own whose file-size limit
 * (RLIMIT_FSIZE) the test sets to 0 while it runs, as a full disk; then raises it again, kills the daemon with
 * SIGKILL and starts it on the same database to see what was really written.
 */
const READY_WITHIN_MS = 10_000;

let dir: string;
let fake: FakeMessagesApi;
let env: Record<string, string>;
let daemon: DaemonProcess;
let http: Api;
const started: DaemonProcess[] = [];

async function start(): Promise<void> {
  daemon = await startDaemonProcess(env);
  started.push(daemon);
  http = api(daemon.url);
}

const fullDisk = () => setFileSizeLimit(daemon.child.pid!, 0);
const diskBack = () => setFileSizeLimit(daemon.child.pid!, 'unlimited');
const readiness = async () => (await http.get('/readyz')).status;
const stateOf = async (path: string) => {
  const res = await http.get<AgentNodeJson>(`/agents/${path}`);
  return res.status === 200 ? res.body.state : res.status;
};
/** What the model was sent by an agent, as text (its system prompt names its path). */
const sentBy = (path: string) => fake.requests.filter((r) => String(r.body.system).includes(`"${path}"`)).map((r) => JSON.stringify(r.body.messages));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auton-faults-'));
  fake = await startFakeMessagesApi();
  fake.setHandler(() => ({ kind: 'text', text: 'noted' }));
  env = {
    AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test',
    AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0', AUTON_RESTART_BACKOFF_MS: '0',
  };
  await start();
}, 60_000);

afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fake?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function spawnIdle(id: string, spec: Record<string, unknown> = {}): Promise<void> {
  expect((await http.post('/agents', { id, spec: { goal: `goal of ${id}`, ...spec } })).status).toBe(201);
  await expect.poll(() => stateOf(id), { timeout: 10_000 }).toBe('idle');
}

describe('issue 17: a failing disk (file-size limit 0)', () => {
  it('1. a request answered with an error either did not happen or is visible as having happened, on disk too', async () => {
    await spawnIdle('one');
    fullDisk();
    const suspend = await http.post('/agents/one/suspend');
    expect(suspend.status).toBe(503); // made in memory, not yet written: visible as having happened
    expect(await stateOf('one')).toBe('suspended');
    const ghost = await http.post('/agents', { id: 'ghost', spec: { goal: 'haunt' } });
    expect(ghost.status).toBe(503); // refused before anything changed
    expect(await stateOf('ghost')).toBe(404);
    diskBack();
    await expect.poll(readiness, { timeout: READY_WITHIN_MS }).toBe(200);
    await killHard(daemon);
    await start();
    expect(await stateOf('one')).toBe('suspended'); // memory and disk agree
    expect(await stateOf('ghost')).toBe(404);
  }, 60_000);

  it('2. an acknowledged message is never lost, even when the turns that consume it fail to commit', async () => {
    await spawnIdle('two');
    expect((await http.post('/agents/two/suspend')).status).toBe(200);
    expect((await http.post('/agents/two/message', { content: 'remember the blue door' })).status).toBe(200);
    fullDisk();
    const calls = fake.requests.length;
    expect((await http.post('/agents/two/resume')).status).toBe(503); // resumed in memory; the store retries
    await fake.waitForRequests(calls + 1, 10_000); // the runner took the message into a turn
    await expect.poll(() => stateOf('two'), { timeout: 10_000 }).toBe('idle');
    diskBack();
    await expect.poll(readiness, { timeout: READY_WITHIN_MS }).toBe(200);
    await killHard(daemon);
    await start();
    expect((await http.post('/agents/two/message', { content: 'what colour was the door?' })).status).toBe(200);
    await expect.poll(() => sentBy('two').at(-1) ?? '', { timeout: 10_000 }).toContain('what colour was the door?');
    expect(sentBy('two').at(-1)).toContain('remember the blue door');
  }, 60_000);

  it('3. no half-done operation: a refused spawn leaves no `spawning` agent, and timers never stop the daemon', async () => {
    await spawnIdle('ticker', { schedule: '* * * * * *' }); // a tick every second, from a timer
    fullDisk();
    expect((await http.post('/agents/ticker/checkpoint')).status).toBe(503);
    expect((await http.post('/agents', { id: 'half', spec: { goal: 'g' } })).status).toBe(503);
    expect(await stateOf('half')).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // real seconds: the daemon is another process
    expect(daemon.child.exitCode).toBeNull();
    expect((await http.get('/healthz')).status).toBe(200);
    const tree = await http.get<{ agents: AgentNodeJson[] }>('/agents');
    expect(tree.body.agents.filter((a) => a.state === 'spawning')).toEqual([]);
    diskBack();
    await expect.poll(readiness, { timeout: READY_WITHIN_MS }).toBe(200);
  }, 60_000);

  it('4. /readyz comes back by itself once space returns, with no other write', async () => {
    await spawnIdle('four');
    fullDisk();
    expect((await http.post('/agents/four/message', { content: 'x' })).status).toBe(503);
    expect(await readiness()).toBe(503);
    expect((await http.get<{ message: string }>('/readyz')).body.message).toMatch(/cannot write/);
    diskBack();
    await expect.poll(readiness, { timeout: READY_WITHIN_MS }).toBe(200);
  }, 60_000);

  it('5. a second daemon on the same database refuses to start with one clear line; a killed one does not block', async () => {
    const second = await startDaemonProcess(env, { expectExit: true });
    expect(await second.exited).toEqual({ code: 2, signal: null });
    const lines = second.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/in use by another auton daemon \(pid \d+\)/);
    await killHard(daemon); // leaves its lock file behind
    await start();
    expect(await readiness()).toBe(200);
  }, 60_000);

  it('the database file removed while running: writes are refused with 503 and /readyz says why', async () => {
    await spawnIdle('six');
    rmSync(env.AUTON_DB!);
    expect((await http.post('/agents/six/message', { content: 'x' })).status).toBe(503);
    expect((await http.post('/agents/six/message', { content: 'y' })).status).toBe(503);
    const ready = await http.get<{ message: string }>('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.message).toMatch(/removed/);
  }, 60_000);
});
