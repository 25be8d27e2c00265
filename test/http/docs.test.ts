import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestDaemon, type TestDaemon } from '../support/daemon.js';

interface Operation { requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> }; parameters?: Array<{ in: string; name: string }> }
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
    ['/agents/{path}', 'patch', ['guidance', 'reason']],
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
});
