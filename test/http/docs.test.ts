import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestDaemon, type TestDaemon } from '../support/daemon.js';

interface Operation {
  operationId?: string; description?: string; security?: Array<Record<string, string[]>>;
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema; example?: unknown }> };
  parameters?: Array<{ in: string; name: string }>;
  responses: Record<string, { description?: string; content?: Record<string, unknown> }>;
}
interface JsonSchema { type?: string; properties?: Record<string, JsonSchema>; required?: string[]; enum?: string[] }
interface OpenApi { openapi: string; paths: Record<string, Record<string, Operation>> }

let d: TestDaemon;
let doc: OpenApi;
beforeAll(async () => {
  d = await startTestDaemon();
  doc = (await api(d.url).get<OpenApi>('/docs/json')).body;
});
afterAll(() => d.close());

const bodySchema = (path: string, method: string): JsonSchema | undefined =>
  doc.paths[path]?.[method]?.requestBody?.content['application/json']?.schema;

describe('the API documentation', () => {
  it('serves Swagger UI as HTML at /docs', async () => {
    const res = await fetch(`${d.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('<html');
  });

  it('lists every operation of the protocol at /docs/json', () => {
    expect(doc.openapi).toMatch(/^3\./);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations).toEqual(expect.arrayContaining([
      'GET /agents', 'POST /agents',
      'GET /agents/{path}', 'POST /agents/{path}', 'DELETE /agents/{path}', 'PATCH /agents/{path}',
      'POST /agents/{path}/checkpoint', 'GET /agents/{path}/checkpoints', 'POST /agents/{path}/fork', 'POST /agents/{path}/restart',
      'POST /agents/{path}/suspend', 'POST /agents/{path}/resume', 'POST /agents/{path}/message',
      'GET /agents/{path}/observe', 'GET /agents/{path}/log',
      'POST /oversight/check',
    ]));
  });

  it('documents the path parameter of every agent operation', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.includes('{path}')) continue;
      for (const op of Object.values(ops)) expect(op.parameters?.some((p) => p.in === 'path' && p.name === 'path'), path).toBe(true);
    }
  });

  it('documents the spawn body: spec with a required goal, policy enums', () => {
    for (const path of ['/agents', '/agents/{path}']) {
      const schema = bodySchema(path, 'post');
      expect(schema?.required).toContain('spec');
      expect(schema?.properties?.spec?.required).toEqual(['goal']);
      expect(schema?.properties?.policy?.properties?.restart?.enum).toEqual(['never', 'on_failure', 'always']);
    }
  });

  it.each([
    ['/agents/{path}', 'patch', ['guidance', 'policy', 'reason']],
    ['/agents/{path}/suspend', 'post', ['reason', 'detail']],
    ['/agents/{path}/resume', 'post', ['guidance']],
    ['/agents/{path}/message', 'post', ['content', 'channel', 'kind', 'metadata']],
    ['/agents/{path}/restart', 'post', ['reason']],
    ['/agents/{path}/checkpoint', 'post', ['label']],
    ['/agents/{path}/fork', 'post', ['id', 'checkpoint']],
  ])('documents the request body of %s %s', (path, method, fields) => {
    expect(Object.keys(bodySchema(path, method)?.properties ?? {})).toEqual(fields);
  });

  it('says which bodies may be left out: suspend, resume, restart, checkpoint, fork; not spawn, PATCH or message', () => {
    const required = (path: string, method: string) => doc.paths[path]?.[method]?.requestBody?.required;
    for (const action of ['suspend', 'resume', 'restart', 'checkpoint', 'fork']) expect(required(`/agents/{path}/${action}`, 'post'), action).toBe(false);
    expect(required('/agents', 'post')).toBe(true);
    expect(required('/agents/{path}', 'post')).toBe(true);
    expect(required('/agents/{path}', 'patch')).toBe(true);
    expect(required('/agents/{path}/message', 'post')).toBe(true);
  });

  it('lists the suspend reasons in the suspend body', () => {
    expect(bodySchema('/agents/{path}/suspend', 'post')?.properties?.reason?.enum)
      .toEqual(['budget_exceeded', 'drift_detected', 'loop_detected', 'depth_exceeded', 'manual', 'execution_error']);
  });

  const operations = () => Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ path, method, op })));

  it('gives every operation a unique operationId and every answer a description (never "Default Response")', () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id)), JSON.stringify(ids)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { path, method, op } of operations()) {
      for (const [status, answer] of Object.entries(op.responses)) {
        expect(answer.description, `${method} ${path} ${status}`).toMatch(/\w/);
        expect(answer.description, `${method} ${path} ${status}`).not.toBe('Default Response');
      }
    }
  });

  it('declares the streams as text/event-stream and names their event types', () => {
    for (const path of ['/agents/{path}/observe', '/agents/{path}/log']) {
      const op = doc.paths[path]!.get!;
      expect(Object.keys(op.responses['200']!.content ?? {})).toEqual(['text/event-stream']);
      for (const type of ['health', 'heartbeat', 'state_change', 'model_call', 'suspended', 'reset']) expect(op.description).toContain(`\`${type}\``);
    }
  });

  it('applies the bearer scheme to every operation that takes a key, and none to the probes', () => {
    for (const { path, method, op } of operations()) {
      if (path === '/healthz' || path === '/readyz') expect(op.security, path).toEqual([]);
      else expect(op.security, `${method} ${path}`).toEqual([{ apiKey: [] }, {}]); // keys are off on this daemon
    }
  });

  it('lists the statuses a request can get: 413 and 415 with a body, 414 with a path, 429 past the rate, 503 not ready', () => {
    for (const { path, method, op } of operations()) {
      const statuses = Object.keys(op.responses);
      if (path === '/healthz') continue;
      if (path === '/readyz') {
        expect(statuses).toContain('503');
        continue;
      }
      expect(statuses, `${method} ${path}`).toContain('429');
      if (op.requestBody) expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['400', '413', '415']));
      if (path.includes('{path}')) expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['404', '414']));
    }
  });

  it('gives a spawn example that works on a fresh daemon and is not the README\'s researcher', async () => {
    const example = doc.paths['/agents']!.post!.requestBody!.content['application/json']!.example as { id: string };
    expect(example.id).not.toBe('researcher');
    const res = await api(d.url).post('/agents', example);
    expect(res.status).toBe(201);
    expect(JSON.stringify(doc)).not.toContain('"researcher"');
  });
});
