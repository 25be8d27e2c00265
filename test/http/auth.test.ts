import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, expectError, spawnAgent, useTestDaemon } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

/** Keys, scopes and roles over real HTTP and SSE (the grammar and the start-up checks: auth-config.test.ts). */
const KEY = {
  root: 'admin-secret-0123456789',
  ops: 'ops-secret-0123456789ab',
  research: 'research-secret-012345',
  watch: 'watch-secret-0123456789',
  deep: 'deep-secret-0123456789a',
  scrape: 'scrape-secret-0123456789',
};
const API_KEYS = [
  `root=${KEY.root}:admin`, `ops=${KEY.ops}`, `research:researcher=${KEY.research}`,
  `watch:researcher=${KEY.watch}:read`, `deep:researcher/summarizer=${KEY.deep}:operator`,
  `scrape=${KEY.scrape}:read`,
].join(',');

type Tree = { agents: AgentNodeJson[]; total: number };

describe('with AUTON_API_KEYS set', () => {
  const ctx = useTestDaemon({ shared: true, env: { AUTON_API_KEYS: API_KEYS } });
  const as = (key: keyof typeof KEY) => api(ctx.d.url, KEY[key]);
  const anonymous = () => api(ctx.d.url);
  const lastId = () => ctx.d.daemon.runtime.bus.lastId;
  const logOf = (path: string) => ctx.d.daemon.runtime.store.recentEvents(path, 500);

  beforeAll(async () => {
    await spawnAgent(as('ops'), null, 'researcher');
    await spawnAgent(as('ops'), 'researcher', 'summarizer');
    await spawnAgent(as('ops'), null, 'other');
  });

  describe('authentication', () => {
    it('answers every API route without a key with a 401 JSON error and WWW-Authenticate', async () => {
      for (const [method, path] of [['GET', '/agents'], ['GET', '/agents/researcher'], ['POST', '/agents'], ['GET', '/metrics'], ['GET', '/docs/json'], ['GET', '/docs'], ['POST', '/oversight/check'], ['GET', '/no-such-route']] as const) {
        const res = method === 'GET' ? await anonymous().get(path) : await anonymous().post(path, {});
        expectError(res, 401, /Authorization: Bearer/);
        expect(res.headers.get('www-authenticate'), path).toBe('Bearer realm="auton"');
      }
    });

    it.each([
      ['an unknown key', 'Bearer not-a-key-0123456789'],
      ['a prefix of a key', `Bearer ${KEY.ops.slice(0, -1)}`],
      ['a key with more after it', `Bearer ${KEY.ops}x`],
      ['another scheme', `Basic ${KEY.ops}`],
      ['a bare key', KEY.ops],
      ['an over-long token', `Bearer ${'k'.repeat(5000)}`],
    ])('refuses %s with a 401', async (_what, authorization) => {
      const res = await fetch(`${ctx.d.url}/agents`, { headers: { authorization } });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    });

    it('accepts the scheme in any case', async () => {
      const res = await fetch(`${ctx.d.url}/agents`, { headers: { authorization: `bearer ${KEY.ops}` } });
      expect(res.status).toBe(200);
    });

    it('serves liveness, readiness and the console without a key', async () => {
      for (const path of ['/healthz', '/readyz', '/', '/index.html', '/app.js', '/api.js', '/style.css']) {
        expect((await fetch(`${ctx.d.url}${path}`)).status, path).toBe(200);
      }
    });

    it('serves the docs to any valid key, read-only and scoped ones included', async () => {
      for (const key of ['watch', 'deep', 'ops'] as const) expect((await as(key).get('/docs/json')).status).toBe(200);
    });

    it('17.10d: serves /metrics (whole-tree figures) to unscoped keys of any role, never to a scoped key', async () => {
      for (const key of ['scrape', 'ops', 'root'] as const) expect((await as(key).get('/metrics')).status).toBe(200);
      for (const key of ['watch', 'deep', 'research'] as const) {
        expectError(await as(key).get('/metrics'), 403, new RegExp(`key ${key} is scoped to researcher.*; this needs an unscoped key`));
      }
    });

    it('17.10e: answers an unknown route with 404 for every key and method, scoped and read-only keys included', async () => {
      for (const key of ['research', 'watch', 'scrape', 'ops'] as const) {
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'GET'] as const) {
          const res = await fetch(`${ctx.d.url}/no-such-route`, { method, headers: { authorization: `Bearer ${KEY[key]}` } });
          expect(res.status, `${key} ${method}`).toBe(404);
          expect(await res.json()).toMatchObject({ statusCode: 404, message: `no route ${method} /no-such-route` });
        }
      }
      expect((await fetch(`${ctx.d.url}/no-such-route`, { method: 'POST' })).status).toBe(401);
    });

    it('documents the bearer scheme in the OpenAPI document', async () => {
      const doc = (await as('ops').get<{ components: { securitySchemes: Record<string, unknown> }; security: unknown[] }>('/docs/json')).body;
      expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.security).toEqual([{ apiKey: [] }]);
    });
  });

  describe('scopes: outside its subtree a key sees 404, exactly as for a missing agent', () => {
    it('lists only the scope as the tree of a scoped key', async () => {
      const tree = await as('research').get<Tree>('/agents');
      expect(tree.status).toBe(200);
      expect(tree.body.total).toBe(1);
      expect(tree.body.agents.map((a) => a.path)).toEqual(['researcher']);
      expect(tree.body.agents[0]!.children.map((c) => c.path)).toEqual(['researcher/summarizer']);
      const deep = await as('deep').get<Tree>('/agents');
      expect(deep.body.agents.map((a) => a.path)).toEqual(['researcher/summarizer']);
      const all = await as('ops').get<Tree>('/agents');
      expect(all.body.agents.map((a) => a.path)).toEqual(['researcher', 'other']);
    });

    it('answers an agent outside the scope exactly like one that does not exist', async () => {
      const outside = await as('research').get('/agents/other');
      const missing = await as('research').get('/agents/researcher/ghost');
      expectError(outside, 404);
      expect(outside.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'agent other not found' });
      expect(missing.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'agent researcher/ghost not found' });
      expectError(await as('research').get('/agents/other/checkpoints'), 404);
      expectError(await as('research').post('/agents/other/suspend'), 404);
      expectError(await as('research').delete('/agents/other'), 404);
      expectError(await as('research').post('/agents/other', { id: 'x', spec: { goal: 'g' } }), 404);
      expectError(await as('watch').post('/agents/other/suspend'), 404);
      const head = await fetch(`${ctx.d.url}/agents/other`, { method: 'HEAD', headers: { authorization: `Bearer ${KEY.research}` } });
      expect(head.status).toBe(404);
    });

    it('does not treat a sibling with a common prefix as inside the scope', async () => {
      await spawnAgent(as('ops'), null, 'researcher2');
      expectError(await as('research').get('/agents/researcher2'), 404);
      expectError(await as('research').get('/agents/researcher%2F..%2Fother'), 404);
      await as('root').delete('/agents/researcher2?purge=true');
    });

    it('never lets a scoped key observe a parent above its scope', async () => {
      const stream = await openSse(`${ctx.d.url}/agents/researcher/observe`, { key: KEY.deep });
      expect(stream.status).toBe(404);
      expect(stream.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'agent researcher not found' });
      const log = await openSse(`${ctx.d.url}/agents/other/log`, { key: KEY.research });
      expect(log.status).toBe(404);
    });

    it('replays only events of its subtree, even from Last-Event-ID 0', async () => {
      await as('ops').post('/agents/other/message', { content: 'outside the scope' });
      const stream = await openSse(`${ctx.d.url}/agents/researcher/observe`, { key: KEY.watch, lastEventId: '0' });
      expect(stream.status).toBe(200);
      await as('research').post('/agents/researcher/message', { content: 'marker' });
      await stream.next((e) => e.event === 'message' && dataOf(e).content === 'marker');
      const paths = stream.events.filter((e) => e.event !== 'health').map((e) => String(dataOf(e).path));
      expect(paths.length).toBeGreaterThan(3);
      expect(paths.every((p) => p === 'researcher' || p.startsWith('researcher/'))).toBe(true);
      stream.close();
    });

    it('needs an unscoped key to spawn a root (403) and lets a scoped key spawn inside its scope', async () => {
      expectError(await as('research').post('/agents', { id: 'mine', spec: { goal: 'g' } }), 403, /scoped to researcher; this needs an unscoped key/);
      const child = await as('research').post<AgentNodeJson>('/agents/researcher', { id: 'helper', spec: { goal: 'g' } });
      expect(child.status).toBe(201);
      expect((await logOf('researcher/helper')).find((e) => e.type === 'spawned')?.data.by).toBe('research');
      await as('root').delete('/agents/researcher/helper?purge=true');
    });

    it('lets a scoped key fork inside its scope but not its scope itself (the fork would be a sibling outside it)', async () => {
      await as('deep').post('/agents/researcher/summarizer/checkpoint');
      expectError(await as('deep').post('/agents/researcher/summarizer/fork'), 403, /outside the scope of key deep/);
      await as('research').post('/agents/researcher/summarizer/checkpoint');
      const fork = await as('research').post<AgentNodeJson>('/agents/researcher/summarizer/fork', { id: 'summarizer-b' });
      expect(fork.status).toBe(201);
      expect(fork.body.path).toBe('researcher/summarizer-b');
      await as('root').delete('/agents/researcher/summarizer-b?purge=true');
    });
  });

  describe('roles', () => {
    it('lets a read key GET and stream inside its scope, and answers its changes with 403', async () => {
      expect((await as('watch').get('/agents/researcher')).status).toBe(200);
      expect((await as('watch').get('/agents/researcher/checkpoints')).status).toBe(200);
      const stream = await openSse(`${ctx.d.url}/agents/researcher/log`, { key: KEY.watch });
      expect(stream.status).toBe(200);
      stream.close();
      const before = lastId();
      for (const res of [
        await as('watch').post('/agents/researcher/suspend'),
        await as('watch').patch('/agents/researcher', { guidance: 'x' }),
        await as('watch').post('/agents/researcher/message', { content: 'x' }),
        await as('watch').post('/agents/researcher/checkpoint'),
        await as('watch').post('/agents/researcher/restart'),
        await as('watch').delete('/agents/researcher'),
        await as('watch').post('/agents/researcher', { id: 'x', spec: { goal: 'g' } }),
      ]) expectError(res, 403, /key watch is read-only; changing an agent needs an operator or admin key/);
      expect(lastId()).toBe(before);
    });

    it('17.7: an operator purges dead agents; purging a live one in one step takes an admin', async () => {
      await spawnAgent(as('ops'), null, 'doomed');
      expectError(await as('ops').delete('/agents/doomed?purge=true'), 403, /key ops is operator: it purges dead agents only; terminate doomed first/);
      expect((await as('ops').delete('/agents/doomed')).status).toBe(200);
      expect((await as('ops').delete('/agents/doomed?purge=true')).status).toBe(200);
      expectError(await as('ops').get('/agents/doomed'), 404);
      await spawnAgent(as('ops'), null, 'doomed');
      expect((await as('root').delete('/agents/doomed?purge=true')).status).toBe(200);
      await spawnAgent(as('ops'), 'researcher', 'done');
      expect((await as('research').delete('/agents/researcher/done')).status).toBe(200);
      expectError(await as('watch').delete('/agents/researcher/done?purge=true'), 403, /read-only/);
      expect((await as('research').delete('/agents/researcher/done?purge=true')).status).toBe(200);
    });

    it('needs an unscoped operator key for POST /oversight/check', async () => {
      expect((await as('ops').post('/oversight/check')).status).toBe(200);
      expectError(await as('research').post('/oversight/check'), 403);
      expectError(await as('watch').post('/oversight/check'), 403);
    });
  });

  describe('audit: every change records the key that made it and the reason given', () => {
    it('records by and reason on guidance, suspend, resume, restart, message, checkpoint and terminate', async () => {
      await spawnAgent(as('ops'), 'researcher', 'audited');
      const api = as('research');
      const path = 'researcher/audited';
      await api.patch(`/agents/${path}`, { guidance: 'focus', reason: 'drifting' });
      await api.post(`/agents/${path}/suspend`, { reason: 'manual', detail: 'investigating a complaint' });
      await api.post(`/agents/${path}/resume`);
      await api.post(`/agents/${path}/message`, { content: 'hello' });
      await api.post(`/agents/${path}/checkpoint`, { label: 'before' });
      await api.post(`/agents/${path}/restart`, { reason: 'stuck' });
      await api.delete(`/agents/${path}?reason=${encodeURIComponent('no longer needed')}`);
      const entries = async (type: string) => (await logOf(path)).filter((e) => e.type === type).map((e) => e.data);
      expect((await entries('spawned'))[0]).toMatchObject({ by: 'ops' });
      expect((await entries('correction'))[0]).toMatchObject({ by: 'research', reason: 'drifting', guidance: 'focus' });
      expect((await entries('suspended'))[0]).toMatchObject({ by: 'research', reason: 'manual', detail: 'investigating a complaint' });
      expect((await entries('resumed'))[0]).toMatchObject({ by: 'research' });
      expect((await entries('message'))[0]).toMatchObject({ by: 'research', content: 'hello' });
      expect((await entries('checkpoint'))[0]).toMatchObject({ by: 'research', label: 'before' });
      expect((await entries('restarted'))[0]).toMatchObject({ by: 'research', reason: 'stuck' });
      expect((await entries('terminated'))[0]).toMatchObject({ by: 'research', reason: 'no longer needed' });
      for (const event of await logOf(path)) expect(Date.parse(event.timestamp)).not.toBeNaN();
      await as('root').delete(`/agents/${path}?purge=true`);
    });
  });
});

describe('with no keys set', () => {
  const ctx = useTestDaemon({ shared: true });

  it('serves every route without a key and records changes as by "operator"', async () => {
    const node = await spawnAgent(ctx.http, null, 'open');
    expect((await ctx.http.post('/agents/open/suspend')).status).toBe(200);
    const suspended = (await ctx.d.daemon.runtime.store.recentEvents(node.path, 500)).find((e) => e.type === 'suspended');
    expect(suspended?.data.by).toBe('operator');
    expect((await ctx.http.get('/metrics')).status).toBe(200);
    expect((await ctx.http.get('/docs/json')).status).toBe(200);
  });
});
