import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTION_WORDS, LIMITS } from '../../src/domain/limits.js';
import { toNodeJson } from '../../src/domain/node-json.js';
import { AGENT_STATES } from '../../src/domain/states.js';
import { api, manualClock, useTestDaemon } from '../support/daemon.js';

/**
 * Thousands of random and malformed requests against the real daemon: hostile paths (`..`, `%00`, broken escapes,
 * unicode, over-long), bodies (random JSON, near-valid bodies with one bad field, garbage, deep nesting, huge
 * numbers, prototype keys, over-size), wrong content types and credentials. No answer may be a 5xx, a batch of
 * rejected requests may not change the tree, the daemon must keep answering, and its heap must stay bounded.
 * Seeded (FUZZ_SEED overrides) so a failure can be replayed; fast-check shrinks a failing batch.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_250_101);
const RUNS = 400;
const ADMIN = 'fuzz-admin-0123456789ab';
const WATCH = 'fuzz-watch-0123456789ab';
const clock = manualClock();
const ctx = useTestDaemon({
  shared: true, clock: clock.now,
  env: { AUTON_API_KEYS: `root=${ADMIN}:admin,watch:r=${WATCH}:read`, AUTON_MAX_AGENTS: '200', AUTON_OVERSIGHT_INTERVAL_MS: '86400000' },
});

interface FuzzRequest { method: string; path: string; headers: Record<string, string>; body: string | undefined }
interface FuzzAnswer { status: number; error?: string }

// ---- what to send -------------------------------------------------------------------------------------------
const FIXTURES = ['r', 'r/c', 's', 'd'];
const AGENT_PATHS = [...FIXTURES, 'ghost', 'r/c/deeper', 'r/ghost'];
const ACTIONS = ['', '/', '/observe', '/log', '/suspend', '/resume', '/message', '/checkpoint', '/checkpoints', '/fork', '/restart'];
const HUGE = JSON.stringify({ content: 'x'.repeat(LIMITS.bodyMaxBytes + 10) });
const deepJson = (n: number) => '['.repeat(n) + ']'.repeat(n);

const hostileSegment = fc.oneof(
  fc.constantFrom('..', '.', '%00', '%2e%2e', '%2F', '%2f..%2f', '%', '%zz', '%E0%A4%A', '%C0%AE', '%EF%BF%BF', '%ED%A0%80', '~', '*', '', ' ', 'a'.repeat(4_000)),
  fc.constantFrom(...ACTION_WORDS, ...FIXTURES),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);
const path = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...AGENT_PATHS), fc.constantFrom(...ACTIONS)).map(([p, a]) => `/agents/${p}${a}`) },
  { weight: 3, arbitrary: fc.array(hostileSegment, { minLength: 1, maxLength: 6 }).map((s) => `/agents/${s.join('/')}`) },
  { weight: 1, arbitrary: fc.constantFrom('/agents', '/oversight/check', '/metrics', '/healthz', '/readyz', '/docs/json', '/', '/app.js', '/../../etc/passwd', '/agents/../metrics', '//agents', '/agents//r', '/agents/r/../../d') },
  { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)) },
);
const query = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  { weight: 2, arbitrary: fc.constantFrom('?depth=1', '?depth=-1', '?depth=1e400', '?depth=99999999999999999999', '?limit=0', '?offset=NaN', '?purge=true', '?purge=maybe', `?reason=${'x'.repeat(2_000)}`, '?depth=1&depth=2', '?__proto__[x]=1', '?constructor=1', '?reason=%00') },
  { weight: 1, arbitrary: fc.webQueryParameters().map((q) => `?${q}`) },
);
const anyString = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('', ' ', 'ok-id', 'log', '..', 'a/b', '\u0000', 'x'.repeat(25_000)));
const nearValid = fc.oneof(
  fc.record({
    id: anyString,
    spec: fc.record({ goal: fc.oneof(anyString, fc.integer()), model: anyString, tools: fc.array(anyString, { maxLength: 40 }), schedule: fc.oneof(fc.constant(null), anyString, fc.constantFrom('* * * * *', '61 * * * *')) }, { requiredKeys: [] }),
    policy: fc.record({ restart: anyString, max_restarts: fc.oneof(fc.integer(), fc.double()), max_depth: fc.integer({ min: -5, max: 100 }), budget: fc.jsonValue({ maxDepth: 2 }), drift_threshold: fc.double() }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  fc.record({ content: fc.oneof(anyString, fc.integer()), channel: anyString, kind: anyString, metadata: fc.dictionary(fc.string({ maxLength: 70 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 40 }) }, { requiredKeys: [] }),
  fc.record({ guidance: anyString, reason: anyString }, { requiredKeys: [] }),
  fc.record({ reason: fc.oneof(anyString, fc.constantFrom('manual', 'budget_exceeded')), detail: anyString }, { requiredKeys: [] }),
  fc.record({ id: anyString, checkpoint: anyString, label: anyString }, { requiredKeys: [] }),
);
const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
  { weight: 4, arbitrary: nearValid.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: LIMITS.jsonMaxDepth, max: 50_000 }).map(deepJson) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '1e400', '-1e400', '9'.repeat(500), '{"content":1e400}', '{"content":"\\ud800"}', '{"guidance":"\\u0000"}',
      '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"a":', '\u0000', '{"content":"x"}{"content":"y"}',
      'null', '[]', '""', 'true', '   ', HUGE,
    ),
  },
);
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;;;', 'application/vnd.api+json', 'multipart/form-data; boundary=--x', '', 'a'.repeat(300)) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,40}$/) },
);
const authorization = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${ADMIN}`) },
  { weight: 2, arbitrary: fc.constantFrom(`Bearer ${WATCH}`, '', 'Bearer', `Bearer ${ADMIN.slice(0, -1)}`, `Basic ${ADMIN}`, `Bearer ${'k'.repeat(9_000)}`) },
);
const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST', 'POST', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'),
  path: fc.tuple(path, query).map(([p, q]) => rawPath(p + q)),
  auth: authorization, type: contentType, body,
}).map(({ method, path, auth, type, body }) => {
  const headers: Record<string, string> = {};
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = type;
  return { method, path, headers, body };
});

/** Leaves `%`, `..` and printable ASCII as they are (the point is to send them raw) and escapes the rest. */
function rawPath(text: string): string {
  return text.replace(/[^\x21-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%ED%A0%80'; // a lone surrogate: send invalid UTF-8 instead
    }
  });
}

// ---- how to send it -------------------------------------------------------------------------------------------
/**
 * One raw request over node:http (no URL normalisation, unlike fetch), each on its own connection so that a
 * dropped connection is this request's failure and no other's. An SSE answer is closed once its status is in.
 */
function send(base: URL, req: FuzzRequest): Promise<FuzzAnswer> {
  return new Promise((resolve) => {
    const headers = { ...req.headers, ...(req.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(req.body)) }) };
    const r = request({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent: false, timeout: 10_000 }, (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0 });
        res.destroy();
        return;
      }
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, error: String(e) }));
    });
    r.on('timeout', () => r.destroy(new Error('timeout')));
    r.on('error', (e) => resolve({ status: 0, error: String(e) }));
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/**
 * The connection errors that are the client's, not the daemon's: a 413 sent (and the connection closed) while a
 * huge body is still being written, and a HEAD whose headers are past Node's 16 KiB limit, answered by the HTTP
 * parser with a 431 that carries a body a HEAD response may not have.
 */
function excusable(req: FuzzRequest, error: string): boolean {
  if (req.body === HUGE) return /ECONNRESET|EPIPE/.test(error);
  const headerBytes = req.path.length + Object.values(req.headers).reduce((n, v) => n + v.length, 0);
  return req.method === 'HEAD' && headerBytes > 16 * 1024 && /Parse Error/.test(error);
}

// ---- what must hold -------------------------------------------------------------------------------------------
const runtime = () => ctx.d.daemon.runtime;
/** Everything a request could change: every node, and every agent's undelivered messages and checkpoints. */
function snapshot(): string {
  const { tree } = runtime();
  const nodes = [...tree.roots.values()].map((root) => toNodeJson(root, clock.now()));
  const inboxes = [...tree.all()].map((a) => [a.path, a.inbox.length, a.checkpointCount]);
  return JSON.stringify([nodes, inboxes]);
}

async function ensureFixtures(): Promise<void> {
  const http = api(ctx.d.url, ADMIN);
  const spawn = async (parent: string | null, id: string) => {
    const path = parent ? `${parent}/${id}` : id;
    if (runtime().tree.find(path)) return false;
    const res = await http.post(parent ? `/agents/${parent}` : '/agents', { id, spec: { goal: `fixture ${id}` } });
    return res.status === 201;
  };
  await spawn(null, 'r');
  if (runtime().tree.find('r')?.state !== 'dead') await spawn('r', 'c');
  if (await spawn(null, 's')) await http.post('/agents/s/suspend');
  if (await spawn(null, 'd')) await http.delete('/agents/d');
}

const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('hostile input', () => {
  const statuses = new Map<number, number>();
  let sent = 0;

  beforeAll(ensureFixtures);

  it(`survives ${RUNS} batches of random and malformed requests: no 5xx, rejected requests change nothing, bounded memory`, async () => {
    const base = new URL(ctx.d.url);
    // Warm up (JIT, lazily built routes, the rate limiter's cache) before measuring the heap.
    for (const sample of fc.sample(fuzzRequest, { numRuns: 200, seed: SEED + 1 })) await send(base, sample);
    const heapBefore = heapAfterGc();
    let run = 0;

    await fc.assert(fc.asyncProperty(fc.array(fuzzRequest, { minLength: 4, maxLength: 10 }), async (batch) => {
      if (++run % 25 === 0) await ensureFixtures();
      const before = snapshot();
      const lastId = runtime().bus.lastId;
      const answers = await Promise.all(batch.map((req) => send(base, req)));
      sent += batch.length;
      let changed = false;
      answers.forEach((answer, i) => {
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const req = batch[i]!;
        const what = `${req.method} ${req.path.slice(0, 200)} (${req.headers['content-type'] ?? 'no body'}: ${String(req.body).slice(0, 200)})`;
        if (answer.error !== undefined && !excusable(req, answer.error)) throw new Error(`${what}: ${answer.error}`);
        if (answer.status >= 500) throw new Error(`${what}: ${answer.status}`);
        if (answer.status !== 0 && answer.status < 400 && req.method !== 'GET' && req.method !== 'HEAD') changed = true;
      });
      if (!changed) {
        expect(runtime().bus.lastId, 'a rejected request published an event').toBe(lastId);
        expect(snapshot(), 'a rejected request changed the tree').toBe(before);
      }
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true, asyncReporter: reportBriefly });

    const heapGrowthMb = (heapAfterGc() - heapBefore) / 2 ** 20;
    // Status 0: a connection error excused as the client's own (see excusable()).
    console.log(`fuzz: seed ${SEED}, ${sent} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}, heap growth ${heapGrowthMb.toFixed(1)} MiB, ${runtime().tree.size} agents`);
    expect(sent).toBeGreaterThanOrEqual(2_000);
    expect(heapGrowthMb).toBeLessThan(64);
  }, 60_000);

  it('is still answering, with every agent in a legal state and every SSE slot released', async () => {
    expect((await fetch(`${ctx.d.url}/healthz`)).status).toBe(200);
    expect((await api(ctx.d.url, ADMIN).get('/agents')).status).toBe(200);
    for (const agent of runtime().tree.all()) expect(AGENT_STATES).toContain(agent.state);
    await expect.poll(sseClientsOpen).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** A failure names the seed, the error and the batch with long paths and bodies cut, not megabytes of it. */
async function reportBriefly(details: fc.RunDetails<[FuzzRequest[]]>): Promise<void> {
  if (!details.failed) return;
  const cut = (text: string | undefined) => text?.replace(/(.)\1{20,}/gu, (run, c: string) => `${c}…×${run.length}`).slice(0, 600);
  const batch = details.counterexample?.[0].map((r) => ({
    ...r, path: cut(r.path), body: cut(r.body), headers: Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, cut(v)])),
  }));
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`fuzz failed (FUZZ_SEED=${SEED}, path ${details.counterexamplePath}): ${cut(error)}\nbatch: ${JSON.stringify(batch, null, 1)}`);
}

/** SSE streams the daemon still counts as open (its auton_sse_clients gauge). */
async function sseClientsOpen(): Promise<number> {
  const text = (await api(ctx.d.url, ADMIN).get<string>('/metrics')).body;
  return Number(/^auton_sse_clients (\d+)$/m.exec(text)?.[1]);
}
