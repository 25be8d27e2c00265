import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/http/logging.js';
import { api, manualClock, spawnAgent, useTestDaemon } from '../support/daemon.js';
import { startFakeMessagesApi } from '../support/fake-messages-api.js';
import { openSse } from '../support/sse-client.js';

/** The value of one sample (`name{labels} value`) in a Prometheus text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(',').filter((l) => l.length > 0);
    if (wanted.every((l) => have.includes(l))) return Number(match[3]);
  }
  return undefined;
}

let clock = manualClock();

describe('GET /metrics', () => {
  const ctx = useTestDaemon({ clock: () => clock.now() });
  const scrape = async () => {
    const res = await ctx.http.get<string>('/metrics');
    expect(res.status).toBe(200);
    return res.body;
  };

  it('answers in the Prometheus text format', async () => {
    const res = await fetch(`${ctx.d.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE auton_agents gauge');
    expect(text).toContain('# TYPE auton_model_calls_total counter');
    expect(text).toContain('# TYPE auton_http_request_duration_seconds histogram');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('counts agents by state at scrape time, every state listed', async () => {
    await spawnAgent(ctx.http, null, 'a');
    await spawnAgent(ctx.http, null, 'b');
    await spawnAgent(ctx.http, 'a', 'c');
    await ctx.http.post('/agents/b/suspend');
    const text = await scrape();
    expect(sample(text, 'auton_agents', { state: 'running' })).toBe(2);
    expect(sample(text, 'auton_agents', { state: 'suspended' })).toBe(1);
    expect(sample(text, 'auton_agents', { state: 'dead' })).toBe(0);
    await ctx.http.delete('/agents/a');
    const after = await scrape();
    expect(sample(after, 'auton_agents', { state: 'running' })).toBe(0);
    expect(sample(after, 'auton_agents', { state: 'dead' })).toBe(2);
  });

  it('counts model calls and tokens by model, and model failures', async () => {
    ctx.d.fake.setHandler((req) => String(req.body.system).includes('"broken"')
      ? { kind: 'error', status: 400, message: 'bad request' }
      : { kind: 'text', text: 'done', usage: { input_tokens: 7, output_tokens: 3 } });
    await spawnAgent(ctx.http, null, 'worker', { spec: { model: 'claude-haiku-4-5' } });
    await spawnAgent(ctx.http, null, 'broken', { spec: { model: 'claude-opus-4-1' } });
    await expect.poll(async () => sample(await scrape(), 'auton_model_calls_total', { model: 'claude-haiku-4-5' })).toBe(1);
    const text = await scrape();
    expect(sample(text, 'auton_model_tokens_total', { model: 'claude-haiku-4-5' })).toBe(10);
    await expect.poll(async () => sample(await scrape(), 'auton_model_errors_total', { model: 'claude-opus-4-1' })).toBe(1);
    expect(sample(await scrape(), 'auton_model_errors_total', { model: 'claude-haiku-4-5' })).toBeUndefined();
  });

  it('counts oversight actions by kind and action, and restarts by who asked', async () => {
    clock = manualClock();
    await spawnAgent(ctx.http, null, 'slow', { policy: { budget: { max_runtime_seconds: 1 } } });
    await spawnAgent(ctx.http, null, 'again');
    clock.advance(2_000);
    await ctx.http.post('/oversight/check');
    await ctx.http.post('/agents/again/restart');
    const text = await scrape();
    expect(sample(text, 'auton_oversight_actions_total', { kind: 'runtime', action: 'suspend' })).toBe(1);
    expect(sample(text, 'auton_restarts_total', { initiator: 'operator' })).toBe(1);
  });

  it('shows the open SSE streams', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const streams = [await openSse(`${ctx.d.url}/agents/r/observe`), await openSse(`${ctx.d.url}/agents/r/log`)];
    expect(sample(await scrape(), 'auton_sse_clients')).toBe(2);
    for (const s of streams) s.close();
    await expect.poll(async () => sample(await scrape(), 'auton_sse_clients')).toBe(0);
  });

  it('labels request latency by route pattern, never by the raw URL', async () => {
    await spawnAgent(ctx.http, null, 'secret-project');
    await ctx.http.get('/agents/secret-project');
    await ctx.http.get('/agents/nobody');
    await ctx.http.get('/no/such/route');
    const text = await scrape();
    const count = (route: string, status: string) =>
      sample(text, 'auton_http_request_duration_seconds_count', { method: 'GET', route, status_code: status });
    expect(count('/agents/:path', '200')).toBe(1);
    expect(count('/agents/:path', '404')).toBe(1);
    expect(count('unmatched', '404')).toBe(1);
    expect(text).not.toContain('secret-project');
  });

  it('counts latency in cumulative buckets ending at +Inf = _count, with a _sum', async () => {
    await spawnAgent(ctx.http, null, 'r');
    for (let i = 0; i < 3; i++) await ctx.http.get('/agents/r');
    const text = await scrape();
    const labels = { method: 'GET', route: '/agents/:path', status_code: '200' };
    const les = ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
    const buckets = les.map((le) => sample(text, 'auton_http_request_duration_seconds_bucket', { ...labels, le }));
    expect(buckets.every((b) => typeof b === 'number')).toBe(true);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(buckets.at(-1)).toBe(3);
    expect(sample(text, 'auton_http_request_duration_seconds_count', labels)).toBe(3);
    expect(sample(text, 'auton_http_request_duration_seconds_sum', labels)).toBeGreaterThan(0);
  });
});

describe('probes', () => {
  const ctx = useTestDaemon({ shared: true });

  it('answers /healthz and /readyz, and /readyz with a JSON 503 while the store does not answer', async () => {
    expect((await ctx.http.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await ctx.http.get('/readyz')).body).toEqual({ status: 'ready' });
    // A store that stops answering cannot be provoked from outside; its health check is what /readyz reads.
    const spy = vi.spyOn(ctx.d.daemon.runtime.store, 'isHealthy').mockReturnValue(false);
    try {
      const res = await ctx.http.get('/readyz');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the store is not answering' });
    } finally {
      spy.mockRestore();
    }
  });
});

describe('GET /metrics with keys set', () => {
  const READ = 'reader-0123456789abcdef';
  const SCOPED = 'scoped-0123456789abcdef';
  const ctx = useTestDaemon({ shared: true, env: { AUTON_API_KEYS: `reader=${READ}:read,tenant:somewhere=${SCOPED}:admin` } });

  it('needs a key, and any unscoped key will do; a scoped key gets 403 (17.10d: the figures cover the whole tree)', async () => {
    expect((await fetch(`${ctx.d.url}/metrics`)).status).toBe(401);
    expect((await api(ctx.d.url, READ).get('/metrics')).status).toBe(200);
    expect((await api(ctx.d.url, SCOPED).get('/metrics')).status).toBe(403);
  });
});

describe('logs', () => {
  it('are JSON lines with the request id on every request line, without the API key or guidance text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auton-logs-'));
    const fake = await startFakeMessagesApi();
    fake.setHandler(() => ({ kind: 'hang' }));
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
        done();
      },
    });
    const KEY = 'log-key-0123456789abcdef';
    const GUIDANCE = 'the-guidance-text-that-must-not-be-logged';
    const daemon = await startDaemon(loadConfig({
      AUTON_PORT: '0', AUTON_DB: join(dir, 'auton.db'), ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: fake.url,
      AUTON_JUDGE_EVERY_TURNS: '0', AUTON_API_KEYS: `ops=${KEY}`,
    }), { logger: createLogger('debug', sink) });
    try {
      const http = api(daemon.url, KEY);
      await spawnAgent(http, null, 'r');
      await http.patch('/agents/r', { guidance: GUIDANCE });
      await fetch(`${daemon.url}/agents`, { headers: { authorization: 'Bearer wrong-key-0123456789', 'x-request-id': 'trace-42' } });
      const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const requestLines = entries.filter((e) => e.req !== undefined || e.res !== undefined);
      expect(requestLines.length).toBeGreaterThanOrEqual(3); // one line a request (at debug, as here, or above)
      for (const entry of requestLines) expect(typeof entry.reqId).toBe('string');
      expect(entries.some((e) => e.reqId === 'trace-42')).toBe(true);
      expect(entries.filter((e) => e.res !== undefined && e.key === 'ops')).toHaveLength(2);
      expect(entries.find((e) => e.reqId === 'trace-42')?.msg).toMatch(/^GET \/agents 401 \d+ ms: /);
      const all = lines.join('\n');
      expect(all).not.toContain(KEY);
      expect(all).not.toContain('wrong-key-0123456789');
      expect(all).not.toContain(GUIDANCE);
    } finally {
      await daemon.close();
      await fake.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
