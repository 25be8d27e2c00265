import { beforeAll, describe, expect, it } from 'vitest';
import { expectError, manualClock, spawnAgent, useTestDaemon, type ErrorBody } from '../support/daemon.js';

// One daemon for the file: every request here is refused, so none changes what the next one sees.
const ctx = useTestDaemon({ shared: true, clock: manualClock().now });
beforeAll(async () => {
  await spawnAgent(ctx.http, null, 'r', { policy: { max_children: 2, max_depth: 2 } });
  await spawnAgent(ctx.http, 'r', 'c1', { policy: { max_restarts: 0 } });
  await spawnAgent(ctx.http, 'r', 'c2');
  await ctx.http.post('/agents/r/c2/suspend');
});

describe('errors are JSON with statusCode, error and message', () => {
  it('answers an unknown route with a 404', async () => {
    expectError(await ctx.http.get('/nowhere'), 404, 'no route GET /nowhere');
    expectError(await ctx.http.post('/oversight/nothing'), 404);
  });

  it('answers malformed JSON with a 400', async () => {
    expectError(await ctx.http.raw('POST', '/agents', '{"id": "x", "spec": '), 400, 'not valid JSON');
    expectError(await ctx.http.raw('POST', '/agents/r/suspend', '{reason: manual}'), 400, 'not valid JSON');
    expectError(await ctx.http.raw('PATCH', '/agents/r', "{'guidance': 'x'}"), 400, 'not valid JSON');
  });

  it.each(['[1, 2]', '"researcher"', '42', 'true'])('answers the non-object body %s with a 400', async (text) => {
    for (const [method, path] of [['POST', '/agents'], ['POST', '/agents/r/suspend'], ['POST', '/agents/r/message'], ['PATCH', '/agents/r'], ['POST', '/agents/r/fork']] as const) {
      expectError(await ctx.http.raw(method, path, text), 400, /^the body must be a JSON object \(got an? (array|string|number|boolean)\)$/);
    }
  });

  it.each([
    ['policy.restart', { id: 'x', spec: { goal: 'g' }, policy: { restart: 'sometimes' } }],
    ['policy.supervision', { id: 'x', spec: { goal: 'g' }, policy: { supervision: 'one_for_some' } }],
    ['policy.max_children', { id: 'x', spec: { goal: 'g' }, policy: { max_children: -1 } }],
    ['policy.drift_threshold', { id: 'x', spec: { goal: 'g' }, policy: { drift_threshold: 2 } }],
    ['policy.budget.max_runtime_seconds', { id: 'x', spec: { goal: 'g' }, policy: { budget: { max_runtime_seconds: 0 } } }],
    ['spec.tools', { id: 'x', spec: { goal: 'g', tools: 'web_search' } }],
  ])('answers a wrong value of %s with a 400 naming the field', async (field, body) => {
    const res = await ctx.http.post('/agents', body);
    expectError(res, 400, new RegExp(`^${field.replaceAll('.', '\\.')} must `));
  });

  it.each([
    ['colour', { id: 'x', spec: { goal: 'g' }, colour: 'red' }],
    ['goals', { id: 'x', spec: { goal: 'g', goals: ['a'] } }],
    ['max_child', { id: 'x', spec: { goal: 'g' }, policy: { max_child: 3 } }],
  ])('answers the unknown field %s with a 400 naming it', async (field, body) => {
    expectError(await ctx.http.post('/agents', body), 400, new RegExp(`^unknown field "(spec\\.|policy\\.)?${field}"$`));
  });

  it('answers an unknown field of an action body with a 400', async () => {
    expectError(await ctx.http.post('/agents/r/suspend', { reason: 'manual', why: 'x' }), 400, /why/);
    expectError(await ctx.http.post('/agents/r/resume', { guidence: 'x' }), 400, /guidence/);
  });

  it('answers a form or XML body (curl -d without a content type) with a 415 that says to send JSON', async () => {
    for (const type of ['application/x-www-form-urlencoded', 'application/xml']) {
      const res = await fetch(`${ctx.d.url}/agents`, { method: 'POST', headers: { 'content-type': type }, body: 'spawn please' });
      expect(res.status).toBe(415);
      const body = (await res.json()) as ErrorBody;
      expect(body.statusCode).toBe(415);
      expect(body.message).toBe(`send the body as JSON, with Content-Type: application/json (this request said ${type})`);
    }
  });

  it('names a missing required field in plain words', async () => {
    expectError(await ctx.http.post('/agents', { id: 'x', spec: {} }), 400, /^spec\.goal is required$/);
    expectError(await ctx.http.post('/agents', { id: 'x' }), 400, /^spec is required$/);
    expectError(await ctx.http.post('/agents', { id: 'x', spec: { goal: ' ' } }), 400, /^spec\.goal must not be empty$/);
    expectError(await ctx.http.post('/agents/r/message', { content: 5 }), 400, /^content must be a string \(got a number\)$/);
    expectError(await ctx.http.post('/agents', { id: 'x', spec: { goal: 'g' }, policy: { restart: 'sometimes' } }), 400,
      /^policy\.restart must be one of never, on_failure, always$/);
    expectError(await ctx.http.get('/agents?depth=deep'), 400, /^query parameter depth must be a number \(got not a number\)$/);
  });

  it.each([
    ['POST', '/agents/r/resum', /^agent r\/resum not found, and "resum" is not an action \(did you mean resume\?\); POST \/agents\/r\/… takes checkpoint, fork, message, restart, resume, suspend$/],
    ['POST', '/agents/r/frobnicate', /^agent r\/frobnicate not found, and "frobnicate" is not an action; POST .* takes checkpoint, fork, message, restart, resume, suspend$/],
    ['GET', '/agents/r/observ', /did you mean observe\?\); GET \/agents\/r\/… takes checkpoints, log, observe$/],
  ] as const)('answers the unknown action %s %s with a 404 naming the known ones', async (method, path, message) => {
    expectError(method === 'GET' ? await ctx.http.get(path) : await ctx.http.post(path), 404, message);
    // With a valid spawn body too: a typo never spawns.
    if (method === 'POST') expectError(await ctx.http.post(path, { id: 'x', spec: { goal: 'g' } }), 404, message);
  });

  it('answers a body over the size limit with a 413', async () => {
    expectError(await ctx.http.post('/agents', { spec: { goal: 'x'.repeat(1024 * 1024 + 1) } }), 413);
  });
});

describe('a rejected request changes nothing', () => {
  it.each([
    ['a duplicate id', 'POST', '/agents', { id: 'r', spec: { goal: 'g' } }, 409],
    ['an invalid id', 'POST', '/agents/r', { id: 'a/b', spec: { goal: 'g' } }, 400],
    ['a child past max_children', 'POST', '/agents/r', { id: 'c3', spec: { goal: 'g' } }, 422],
    ['a grandchild past max_depth', 'POST', '/agents/r/c1', { id: 'g', spec: { goal: 'g' } }, 422],
    ['a child of a missing parent', 'POST', '/agents/r/nope', { id: 'g', spec: { goal: 'g' } }, 404],
    ['an unknown field', 'POST', '/agents', { id: 'new', spec: { goal: 'g' }, extra: 1 }, 400],
    ['a wrong enum', 'POST', '/agents', { id: 'new', spec: { goal: 'g' }, policy: { restart: 'sometimes' } }, 400],
    ['suspending a suspended agent', 'POST', '/agents/r/c2/suspend', { reason: 'manual' }, 409],
    ['an unknown suspend reason', 'POST', '/agents/r/suspend', { reason: 'bored' }, 400],
    ['resuming a running agent', 'POST', '/agents/r/resume', undefined, 409],
    ['guidance to a suspended agent', 'PATCH', '/agents/r/c2', { guidance: 'g' }, 409],
    ['guidance without guidance', 'PATCH', '/agents/r', { reason: 'x' }, 400],
    ['a message without content', 'POST', '/agents/r/message', { channel: 'x' }, 400],
    ['forking without a checkpoint', 'POST', '/agents/r/fork', undefined, 422],
    ['restarting past max_restarts', 'POST', '/agents/r/c1/restart', undefined, 422],
    ['deleting with a bad purge flag', 'DELETE', '/agents/r?purge=yes', undefined, 400],
  ] as const)('%s (%s %s)', async (_what, method, path, body, status) => {
    const { http, d } = ctx;
    const before = await http.get('/agents');
    const lastEventId = d.daemon.runtime.bus.lastId;

    const res = method === 'DELETE' ? await http.delete(path) : method === 'PATCH' ? await http.patch(path, body) : await http.post(path, body);
    expect(res.status).toBe(status);

    expect((await http.get('/agents')).body).toEqual(before.body);
    expect(d.daemon.runtime.bus.lastId).toBe(lastEventId);
  });
});
