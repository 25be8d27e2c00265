import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/domain/limits.js';
import { api, expectError, manualClock, spawnAgent, useTestDaemon, type ApiResponse } from '../support/daemon.js';
import { openSse, type SseConnection } from '../support/sse-client.js';

type Tree = { total: number };

describe('request limits, each a clear 4xx that changes nothing', () => {
  const ctx = useTestDaemon({ shared: true, purgeAfterEach: true, clock: manualClock().now, env: { AUTON_MAX_AGENTS: '3' } });

  async function unchanged(request: () => Promise<ApiResponse>, status: number, message?: string | RegExp) {
    const before = ctx.d.daemon.runtime.bus.lastId;
    const tree = (await ctx.http.get('/agents')).body;
    expectError(await request(), status, message);
    expect(ctx.d.daemon.runtime.bus.lastId).toBe(before);
    expect((await ctx.http.get('/agents')).body).toEqual(tree);
  }

  it('refuses a body over 1 MiB with a 413', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await unchanged(() => ctx.http.post('/agents/r/message', { content: 'x'.repeat(LIMITS.bodyMaxBytes) }), 413);
  });

  it('refuses a goal or guidance over 20,000 characters with a 400 naming the field', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await unchanged(() => ctx.http.post('/agents', { id: 'long', spec: { goal: 'g'.repeat(LIMITS.goalMaxChars + 1) } }), 400, /^spec\.goal must have at most 20000 characters$/);
    await unchanged(() => ctx.http.patch('/agents/r', { guidance: 'g'.repeat(LIMITS.guidanceMaxChars + 1) }), 400, /^guidance must have at most 20000 characters$/);
    expect((await ctx.http.patch('/agents/r', { guidance: 'g'.repeat(LIMITS.guidanceMaxChars) })).status).toBe(200);
  });

  it('refuses more than 32 tools with a 400', async () => {
    const tools = Array.from({ length: LIMITS.toolsMaxCount + 1 }, () => 'web_search');
    await unchanged(() => ctx.http.post('/agents', { id: 'many', spec: { goal: 'g', tools } }), 400, /^spec\.tools must have at most 32 items$/);
  });

  it('refuses JSON nested deeper than 32 levels with a 400 (it would overflow the stack when stored)', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    await unchanged(() => ctx.http.raw('POST', '/agents/r/message', `{"content":"x","metadata":{"a":${deep(5_000)}}}`), 400, /nested deeper than 32/);
    await unchanged(() => ctx.http.raw('POST', '/agents', deep(400_000)), 400, /nested deeper than 32/);
    expect((await ctx.http.raw('POST', '/agents/r/message', `{"content":"x","metadata":{"a":${deep(20)}}}`)).status).toBe(200);
  });

  it('refuses a spawn past AUTON_MAX_AGENTS with a 422', async () => {
    await spawnAgent(ctx.http, null, 'a');
    await spawnAgent(ctx.http, 'a', 'b');
    await spawnAgent(ctx.http, null, 'c');
    await unchanged(() => ctx.http.post('/agents', { id: 'd', spec: { goal: 'g' } }), 422, /AUTON_MAX_AGENTS is 3/);
    await unchanged(() => ctx.http.post('/agents/a', { id: 'e', spec: { goal: 'g' } }), 422, /AUTON_MAX_AGENTS/);
  });

  it('refuses a message to a full inbox with a 429 and retry-after, and takes it once there is room', async () => {
    await spawnAgent(ctx.http, null, 'r'); // its model call never answers, so nothing drains the inbox
    for (let i = 0; i < LIMITS.inboxMaxItems; i++) {
      const res = await ctx.http.post('/agents/r/message', { content: `m${i}` });
      if (res.status !== 200) throw new Error(`message ${i}: ${res.status}`);
    }
    const before = ctx.d.daemon.runtime.bus.lastId;
    const full = await ctx.http.post('/agents/r/message', { content: 'one too many' });
    expectError(full, 429, /already has 1000 undelivered messages/);
    expect(Number(full.headers.get('retry-after'))).toBeGreaterThan(0);
    expectError(await ctx.http.patch('/agents/r', { guidance: 'and guidance too' }), 429);
    expect(ctx.d.daemon.runtime.bus.lastId).toBe(before);
    expect(ctx.d.daemon.runtime.get('r').inbox).toHaveLength(LIMITS.inboxMaxItems);

    // The model answers from now on: after a suspend and resume the next call takes the whole inbox.
    ctx.d.fake.setHandler(() => ({ kind: 'text', text: 'read them all' }));
    try {
      await ctx.http.post('/agents/r/suspend');
      await ctx.http.post('/agents/r/resume');
      await expect.poll(() => ctx.d.daemon.runtime.get('r').inbox.length).toBe(0);
      expect((await ctx.http.post('/agents/r/message', { content: 'room again' })).status).toBe(200);
    } finally {
      ctx.d.fake.setHandler(() => ({ kind: 'hang' }));
    }
  });
});

describe('hostile URLs and content types', () => {
  const ctx = useTestDaemon({ shared: true });

  it.each([
    ['a NUL byte in a path', 404, '/agents/r%00'],
    ['a NUL byte before an action', 404, '/agents/%00/observe'],
    ['dot segments in a path', 404, '/agents/r%2F..%2F..'],
    ['a malformed percent escape', 400, '/agents/%E0%A4%A'],
    ['a malformed escape outside /agents', 400, '/%E0%A4%A'],
    ['a path past the length limit', 414, `/agents/${'a'.repeat(LIMITS.pathMaxLength * 3 + 1)}`],
  ])('answers %s with a JSON %i, never a 500', async (_what, status, path) => {
    expectError(await ctx.http.get(path), status);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx'])(
    'answers a %s body with a JSON 415', async (type) => {
      const res = await fetch(`${ctx.d.url}/agents`, { method: 'POST', headers: { 'content-type': type }, body: '{"spec":{"goal":"g"}}' });
      expect(res.status).toBe(415);
      expect(await res.json()).toMatchObject({ statusCode: 415, error: 'Unsupported Media Type' });
    });
});

describe('SSE connections per key (AUTON_MAX_SSE_PER_KEY)', () => {
  const KEYS = { a: 'key-a-0123456789abcdef', b: 'key-b-0123456789abcdef' };
  const ctx = useTestDaemon({ shared: true, env: { AUTON_MAX_SSE_PER_KEY: '2', AUTON_API_KEYS: `a=${KEYS.a},b=${KEYS.b}` } });

  it('refuses a key its third stream with a 429, counts per key, and frees a slot when a stream closes', async () => {
    await spawnAgent(api(ctx.d.url, KEYS.a), null, 'r');
    const url = `${ctx.d.url}/agents/r/observe`;
    const open: SseConnection[] = [await openSse(url, { key: KEYS.a }), await openSse(`${ctx.d.url}/agents/r/log`, { key: KEYS.a })];
    expect(open.map((s) => s.status)).toEqual([200, 200]);
    const third = await openSse(url, { key: KEYS.a });
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBeDefined();
    expect(third.body).toMatchObject({ statusCode: 429, message: expect.stringMatching(/already has 2 open streams/) });
    const other = await openSse(url, { key: KEYS.b });
    expect(other.status).toBe(200);
    open[0]!.close();
    await expect.poll(async () => { const s = await openSse(url, { key: KEYS.a }); s.close(); return s.status; }).toBe(200);
    for (const s of [...open, other]) s.close();
  });

  it('frees the slot of a client that sent a body with its stream request and left', async () => {
    await spawnAgent(api(ctx.d.url, KEYS.a), null, 'with-body');
    const url = new URL(`${ctx.d.url}/agents/with-body/observe`);
    for (let i = 0; i < 2; i++) {
      // A body the daemon never reads would leave the socket paused, and the client's leaving unnoticed.
      const body = '['.repeat(100_000);
      await new Promise<void>((resolve, reject) => {
        const req = request(url, { method: 'GET', agent: false, headers: { authorization: `Bearer ${KEYS.a}`, 'content-type': 'application/json', 'content-length': String(body.length) } }, (res) => {
          expect(res.statusCode).toBe(200);
          res.destroy();
          resolve();
        });
        req.on('error', reject);
        req.end(body);
      });
    }
    await expect.poll(async () => { const s = await openSse(url.href, { key: KEYS.a }); s.close(); return s.status; }).toBe(200);
  });
});

describe('request rate per key (AUTON_RATE_LIMIT_PER_MINUTE)', () => {
  const KEYS = { a: 'key-a-0123456789abcdef', b: 'key-b-0123456789abcdef' };
  const ctx = useTestDaemon({ env: { AUTON_RATE_LIMIT_PER_MINUTE: '10', AUTON_API_KEYS: `a=${KEYS.a},b=${KEYS.b}` } });

  it('answers a key over its rate with a JSON 429 and retry-after; another key keeps its own budget', async () => {
    const a = api(ctx.d.url, KEYS.a);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await a.get('/agents')).status);
    expect(statuses).toEqual([...Array(10).fill(200), 429, 429]);
    const limited = await a.get('/agents');
    expectError(limited, 429, /at most 10 requests a minute per key/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api(ctx.d.url, KEYS.b).get('/agents')).status).toBe(200);
  });

  it('does not count SSE streams, /healthz or /readyz', async () => {
    const a = api(ctx.d.url, KEYS.a);
    await spawnAgent(a, null, 'r');
    for (let i = 0; i < 12; i++) {
      expect((await fetch(`${ctx.d.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${ctx.d.url}/readyz`)).status).toBe(200);
      const stream = await openSse(`${ctx.d.url}/agents/r/log`, { key: KEYS.a });
      expect(stream.status).toBe(200);
      stream.close();
    }
    expect((await a.get('/agents')).status).toBe(200);
  });

  it('counts requests without a valid key by address, so guessing keys is throttled', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await api(ctx.d.url, `guess-${i}-0123456789abc`).get('/agents')).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429, 429]);
    expect((await api(ctx.d.url, KEYS.a).get('/agents')).status).toBe(200);
  });
});

describe('request rate without authentication', () => {
  const ctx = useTestDaemon({ env: { AUTON_RATE_LIMIT_PER_MINUTE: '5' } });

  it('counts by address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ctx.http.get<Tree>('/agents')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
  });
});
