import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, type Api } from '../support/daemon.js';
import { killHard, startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { startFakeMessagesApi, type FakeMessagesApi, callerOf } from '../support/fake-messages-api.js';
import { describeWithPostgres, PASSWORD_ROLE } from '../support/postgres.js';

/**
 * One daemon on PostgreSQL (AUTON_DB=postgres://…) as a real process: the same durability as on SQLite across
 * kill -9, start-up errors in one line, and the database going away under a running daemon and coming back.
 */
const started: DaemonProcess[] = [];
let fake: FakeMessagesApi;

beforeAll(async () => {
  fake = await startFakeMessagesApi();
  let answers = 0;
  fake.setHandler(() => ({ kind: 'text', text: `answer ${++answers}` }));
});

afterAll(async () => {
  for (const { child } of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fake?.close();
});

const caller = callerOf;
const requestsOf = (path: string) => fake.requests.filter((r) => caller(r) === path);

describeWithPostgres('the daemon on PostgreSQL', (pg) => {
  let env: Record<string, string>;
  let daemon: DaemonProcess;
  let http: Api;

  async function start(): Promise<void> {
    daemon = await startDaemonProcess(env);
    started.push(daemon);
    http = api(daemon.url);
  }
  const stateOf = async (path: string) => {
    const res = await http.get<AgentNodeJson>(`/agents/${path}`);
    return res.status === 200 ? res.body.state : res.status;
  };

  beforeAll(async () => {
    env = {
      // A fixed id: started again after kill -9, the daemon takes its subtrees back at once, not after their lease TTL.
      AUTON_DB: await pg().createDatabase(), AUTON_DAEMON_ID: 'the-one', ANTHROPIC_BASE_URL: fake.url, ANTHROPIC_API_KEY: 'test',
      AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0', AUTON_RESTART_BACKOFF_MS: '0',
    };
  });

  it('spawn, message, kill -9, start again: the agent is back and continues its conversation', async () => {
    await start();
    expect((await http.post('/agents', { id: 'worker', spec: { goal: 'collect facts' } })).status).toBe(201);
    await expect.poll(() => requestsOf('worker').length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => stateOf('worker'), { timeout: 10_000 }).toBe('idle');
    expect((await http.post('/agents/worker/message', { content: 'question two' })).status).toBe(200);
    await expect.poll(() => requestsOf('worker').length, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => stateOf('worker'), { timeout: 10_000 }).toBe('idle');
    const before = JSON.stringify(requestsOf('worker')[1]!.body.messages);
    // Acknowledged only once committed, and commits keep their order: the idle state before it is stored too.
    expect((await http.post('/agents/worker/checkpoint', { label: 'two turns' })).status).toBe(201);
    await killHard(daemon);

    await start();
    expect(await stateOf('worker')).toBe('idle');
    const { body: saved } = await http.get<{ checkpoints: Array<{ label?: string; turns: number }> }>('/agents/worker/checkpoints');
    expect(saved.checkpoints).toEqual([expect.objectContaining({ label: 'two turns', state: 'idle', turns: 2 })]);
    expect((await http.post('/agents/worker/message', { content: 'after the restart' })).status).toBe(200);
    await expect.poll(() => requestsOf('worker').length, { timeout: 15_000 }).toBe(3);
    const after = JSON.stringify(requestsOf('worker')[2]!.body.messages);
    expect(after).toContain('question two');
    expect(after).toContain('after the restart');
    expect(after.startsWith(before.slice(0, -1))).toBe(true); // the earlier turns, unchanged, then the new ones
    const { body } = await http.get('/agents/worker/conversation?limit=100'); // a history page read from PostgreSQL
    expect(JSON.stringify(body)).toContain('question two');
  }, 90_000);

  it('a wrong password stops start-up with one line that names the cause and not the password', async () => {
    const url = new URL(env.AUTON_DB!);
    url.username = PASSWORD_ROLE.user;
    url.password = 'not-the-password';
    const failed = await startDaemonProcess({ ...env, AUTON_DB: url.toString() }, { expectExit: true });
    started.push(failed);
    expect((await failed.exited).code).toBe(2);
    const lines = failed.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^auton: cannot use PostgreSQL at .*: password authentication failed for user "secured"$/);
    expect(lines[0]).not.toContain('not-the-password');
  }, 60_000);

  it('a role that may log in but not create the tables stops start-up with one line saying so', async () => {
    const url = new URL(await pg().createDatabase());
    url.username = PASSWORD_ROLE.user;
    url.password = PASSWORD_ROLE.password;
    const failed = await startDaemonProcess({ ...env, AUTON_DB: url.toString() }, { expectExit: true });
    started.push(failed);
    expect((await failed.exited).code).toBe(2);
    expect(failed.stderr().trim()).toMatch(/^auton: cannot use PostgreSQL at postgres:\/\/secured@[^ ]*: permission denied for schema public$/);
  }, 60_000);

  it('the database going away: /readyz and writes answer 503 saying so, reads still answer, and it recovers by itself', async () => {
    await pg().halt();
    try {
      await expect.poll(async () => (await http.get('/readyz')).status, { timeout: 10_000 }).toBe(503);
      expect((await http.get<{ message: string }>('/readyz')).body.message).toMatch(/^the store cannot write: cannot use PostgreSQL at /);
      const refused = await http.post<{ message: string }>('/agents', { id: 'ghost', spec: { goal: 'haunt' } });
      expect(refused.status).toBe(503);
      expect(refused.body.message).toMatch(/the store cannot write \(cannot use PostgreSQL .*\); nothing was changed/);
      expect(await stateOf('worker')).toBe('idle'); // reads are answered from memory
    } finally {
      await pg().resume();
    }
    await expect.poll(async () => (await http.get('/readyz')).status, { timeout: 10_000 }).toBe(200);
    expect((await http.post('/agents', { id: 'after', spec: { goal: 'come back' } })).status).toBe(201);
    await killHard(daemon);
    await start();
    expect(await stateOf('after')).not.toBe(404);
    expect(await stateOf('ghost')).toBe(404);
  }, 90_000);

  it('an outage longer than the lease: the daemon lets its subtrees go, and takes them back from the database when it returns', async () => {
    await killHard(daemon);
    env = { ...env, AUTON_LEASE_TTL_MS: '3000' };
    await start();
    expect((await http.post('/agents', { id: 'patient', spec: { goal: 'wait it out' } })).status).toBe(201);
    await expect.poll(() => requestsOf('patient').length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => stateOf('patient'), { timeout: 10_000 }).toBe('idle');
    const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec((await http.get<string>('/metrics')).body)?.[1]);
    await pg().halt();
    try {
      // It cannot renew: before its leases could expire in the database, it stops their agents.
      await expect.poll(() => metric('auton_leases_held'), { timeout: 10_000 }).toBe(0);
    } finally {
      await pg().resume();
    }
    await expect.poll(() => metric('auton_leases_held'), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    expect(await stateOf('patient')).toBe('idle');
    await expect.poll(async () => (await http.get('/readyz')).status, { timeout: 10_000 }).toBe(200);
    expect((await http.post('/agents/patient/message', { content: 'still with us?' })).status).toBe(200);
    await expect.poll(() => requestsOf('patient').length, { timeout: 15_000 }).toBe(2);
    expect(JSON.stringify(requestsOf('patient')[1]!.body.messages)).toContain('still with us?');
  }, 90_000);
});

describe('AUTON_DB selects the store', () => {
  it('a postgres:// URL nobody answers at stops start-up with one line', async () => {
    const failed = await startDaemonProcess({ AUTON_DB: 'postgres://auton@127.0.0.1:1/auton', ANTHROPIC_API_KEY: '' }, { expectExit: true });
    started.push(failed);
    expect((await failed.exited).code).toBe(2);
    expect(failed.stderr().trim()).toBe('auton: cannot use PostgreSQL at postgres://auton@127.0.0.1:1/auton: connection refused at 127.0.0.1:1 (is the server running and listening there?)');
  }, 60_000);
});
