import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/http/logging.js';
import { startFakeMessagesApi, type FakeMessagesApi } from '../support/fake-messages-api.js';
import { api, spawnAgent } from '../support/daemon.js';

/** A real daemon whose log lines are collected, as its terminal would show them. */
async function loggedDaemon(options: { pretty?: boolean; level?: 'info' | 'debug' } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'auton-lifecycle-'));
  const fake = await startFakeMessagesApi();
  fake.setHandler(() => ({ kind: 'hang' }));
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      done();
    },
  });
  const daemon = await startDaemon(loadConfig({
    AUTON_PORT: '0', AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url,
    AUTON_JUDGE_EVERY_TURNS: '0', AUTON_MODEL_MAX_RETRIES: '0', AUTON_RESTART_BACKOFF_MS: '0',
  }), { logger: createLogger(options.level ?? 'info', { destination: sink, pretty: options.pretty ?? false }) });
  opened.push({ daemon, fake, dir });
  return { daemon, fake, lines, http: api(daemon.url) };
}

const opened: Array<{ daemon: Daemon; fake: FakeMessagesApi; dir: string }> = [];
afterEach(async () => {
  for (const { daemon, fake, dir } of opened.splice(0)) {
    await daemon.close();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});

const json = (lines: string[]) => lines.map((l) => JSON.parse(l) as { level: number; msg: string; path?: string });

describe('the daemon log', () => {
  it('has one info line per lifecycle event, each naming the agent, and no line for a successful request', async () => {
    const { http, lines } = await loggedDaemon();
    await spawnAgent(http, null, 'r');
    await spawnAgent(http, 'r', 'c');
    await http.post('/agents/r/c/suspend', { reason: 'budget_exceeded', detail: 'over 1000 tokens' });
    await http.post('/agents/r/c/resume');
    await http.post('/agents/r/c/restart');
    await http.delete('/agents/r?reason=done');
    const messages = json(lines).filter((e) => e.level === 30 && !e.msg.startsWith('Server listening')).map((e) => e.msg);
    expect(messages).toEqual([
      'agent r spawned',
      'agent r/c spawned',
      'agent r/c suspended: budget_exceeded (over 1000 tokens)',
      'agent r/c resumed',
      'agent r/c restarted (restart 1)',
      'agent r/c terminated (with r)',
      'agent r terminated: done',
    ]);
    expect(json(lines).filter((e) => e.msg.startsWith('agent ')).every((e) => typeof e.path === 'string')).toBe(true);
  });

  it('logs a refused request at info with its message, and successful ones only at debug', async () => {
    const quiet = await loggedDaemon();
    await quiet.http.post('/agents/nobody/suspend');
    expect(json(quiet.lines).map((e) => e.msg).filter((m) => !m.startsWith('Server listening'))).toEqual([expect.stringMatching(/^POST \/agents\/nobody\/suspend 404 \d+ ms: agent nobody not found$/)]);

    const chatty = await loggedDaemon({ level: 'debug' });
    await chatty.http.get('/agents');
    expect(json(chatty.lines).filter((e) => e.level === 20).map((e) => e.msg)).toContainEqual(expect.stringMatching(/^GET \/agents 200 \d+ ms$/));
  });

  it('says when an agent failed and what supervision does about it', async () => {
    const { http, lines, fake } = await loggedDaemon();
    fake.setHandler(() => ({ kind: 'error', status: 401, type: 'authentication_error', message: 'invalid x-api-key' }));
    await spawnAgent(http, null, 'r');
    await expect.poll(() => json(lines).find((e) => e.msg.startsWith('agent r failed'))?.level).toBe(40);
    await expect.poll(() => json(lines).some((e) => e.msg.startsWith('agent r suspended: execution_error'))).toBe(true);
  });

  it('writes human lines with a local time when asked for pretty output (a terminal)', async () => {
    const { http, lines } = await loggedDaemon({ pretty: true });
    await spawnAgent(http, null, 'r');
    const line = lines.find((l) => l.includes('agent r spawned'));
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO.*: agent r spawned/);
    expect(line).not.toMatch(/^\{/);
  });
});
