import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { newAgentRecord, turnJson } from '../../src/domain/agent.js';
import { policySchema, specSchema, type AgentNodeJson } from '../../src/domain/schemas.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { api, startTestDaemon, type TestDaemon } from '../support/daemon.js';

/**
 * A supervision back-off survives a daemon restart: the store holds when the pending restart is due, and the
 * restarted daemon waits for the rest of it (an agent whose back-off ran out while the daemon was down starts
 * at once).
 */
const WAIT_MS = 1_500;

let dir: string;
let d: TestDaemon | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'auton-backoff-'));
  const store = new SqliteStore(join(dir, 'auton.db'), { eventsRetained: 1_000, eventsLoadedAtStart: 100 });
  for (const [id, restartAtMs] of [['waiting', Date.now() + WAIT_MS], ['due', Date.now() - 1_000]] as const) {
    const agent = newAgentRecord({ id, parentPath: null, depth: 0, spec: specSchema.parse({ goal: `goal of ${id}` }), policy: policySchema.parse({}), nowMs: Date.now() });
    agent.restartCount = 1;
    agent.restartAtMs = restartAtMs;
    store.appendTurn(agent.path, 0, 'turn', turnJson({ role: 'user', content: 'Begin working towards your goal.' }));
    agent.historyLength = 1;
    store.saveAgent(agent);
  }
  await store.flush();
  store.close();
});
afterEach(async () => {
  await d?.close();
  d = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('a restart back-off across a daemon restart', () => {
  it('waits for the rest of a pending back-off, and starts at once an agent whose back-off ran out', async () => {
    const started = Date.now();
    d = await startTestDaemon({ AUTON_DB: join(dir, 'auton.db') });
    const http = api(d.url);
    const calledFor = (path: string) => d!.fake.requests.some((r) => String(r.body.system).includes(`path "${path}"`));
    await vi.waitFor(() => expect(calledFor('due')).toBe(true), { timeout: 2_000, interval: 10 });
    expect((await http.get<AgentNodeJson>('/agents/due')).body.state).toBe('running');
    if (Date.now() - started < WAIT_MS - 300) {
      expect((await http.get<AgentNodeJson>('/agents/waiting')).body.state).toBe('spawning');
      expect(calledFor('waiting')).toBe(false);
    }
    await vi.waitFor(() => expect(calledFor('waiting')).toBe(true), { timeout: WAIT_MS + 2_000, interval: 20 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(WAIT_MS - 50);
    expect((await http.get<AgentNodeJson>('/agents/waiting')).body).toMatchObject({ state: 'running', restart_count: 1 });
  });
});
