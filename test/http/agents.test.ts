import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { ACTION_WORDS } from '../../src/domain/limits.js';
import { spawnAgent, useTestDaemon, type ErrorBody } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

type Tree = { agents: AgentNodeJson[]; total: number };
const ACTIVE = ['spawning', 'running', 'idle'];

const ctx = useTestDaemon({ shared: true, purgeAfterEach: true });

describe('POST /agents (spawn a root)', () => {
  it('answers 201 with the node, every spec and policy default filled in', async () => {
    const res = await ctx.http.post<AgentNodeJson>('/agents', { id: 'researcher', spec: { goal: 'Monitor arXiv' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const node = res.body;
    expect(node).toMatchObject({
      id: 'researcher', path: 'researcher', restart_count: 0, checkpoints: 0, children: [],
      spec: { goal: 'Monitor arXiv', model: 'claude-sonnet-4-6', tools: [], schedule: null },
      policy: {
        restart: 'on_failure', supervision: 'one_for_one', max_restarts: 3, drift_threshold: 0.4, max_children: 10, max_depth: 3,
        budget: { max_tokens_per_hour: null, max_total_tokens: null, max_runtime_seconds: null },
      },
      health: { coherence: 1, drift: 0, tokens_total: 0, loops_detected: 0 },
    });
    expect(ACTIVE).toContain(node.state);
    expect(Date.parse(node.created_at)).not.toBeNaN();
  });

  it('keeps the given spec and policy values over the defaults', async () => {
    const node = await spawnAgent(ctx.http, null, 'r', {
      spec: { model: 'claude-haiku-4-5', tools: ['web_search'] },
      policy: { restart: 'never', max_children: 5, budget: { max_tokens_per_hour: 5000 } },
    });
    expect(node.spec).toMatchObject({ model: 'claude-haiku-4-5', tools: ['web_search'] });
    expect(node.policy).toMatchObject({ restart: 'never', max_children: 5, max_depth: 3, budget: { max_tokens_per_hour: 5000, max_total_tokens: null } });
  });

  it('generates a readable id from the goal when none is given, then suffixes it', async () => {
    const first = await ctx.http.post<AgentNodeJson>('/agents', { spec: { goal: 'Monitor arXiv daily for papers on agents' } });
    const second = await ctx.http.post<AgentNodeJson>('/agents', { spec: { goal: 'Monitor arXiv daily for papers on agents' } });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body.id).toBe('monitor-arxiv-daily');
    expect(second.body.id).toBe('monitor-arxiv-daily-2');
  });

  it('never generates an action word as an id, so the agent stays addressable', async () => {
    const res = await ctx.http.post<AgentNodeJson>('/agents', { spec: { goal: 'Log' } });
    expect(res.status).toBe(201);
    expect(ACTION_WORDS).not.toContain(res.body.id);
    const child = await ctx.http.post<AgentNodeJson>(`/agents/${res.body.id}`, { spec: { goal: 'log' } });
    expect(child.status).toBe(201);
    expect((await ctx.http.get(`/agents/${child.body.path}`)).status).toBe(200);
  });

  it('refuses malformed ids and action words with a 400 naming body.id', async () => {
    const cases: Array<[string, string]> = [
      ['a/b', 'ids are'], ['.hidden', 'ids are'], ['has space', 'ids are'], ['x'.repeat(65), 'ids are'], ['', 'ids are'],
      ...ACTION_WORDS.map((w): [string, string] => [w, 'action word']),
    ];
    for (const [id, words] of cases) {
      const res = await ctx.http.post<ErrorBody>('/agents', { id, spec: { goal: 'g' } });
      expect(res.status, id).toBe(400);
      expect(res.body.message, id).toMatch(/^id: /);
      expect(res.body.message, id).toContain(words);
    }
    expect((await ctx.http.get<Tree>('/agents')).body.total).toBe(0);
  });

  it('refuses a duplicate root id with a 409', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const res = await ctx.http.post<ErrorBody>('/agents', { id: 'r', spec: { goal: 'again' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(res.body.message).toContain('already exists');
  });

  it('refuses a body without a spec goal with a 400', async () => {
    const res = await ctx.http.post<ErrorBody>('/agents', { id: 'r', spec: {} });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe('spec.goal is required');
  });
});

describe('POST /agents/{parent} (spawn a child)', () => {
  it('spawns under the parent with a trailing slash, the child in its children', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const res = await ctx.http.post<AgentNodeJson>('/agents/r/', { id: 'c', spec: { goal: 'child' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'c', path: 'r/c' });
    const parent = await ctx.http.get<AgentNodeJson>('/agents/r');
    expect(parent.body.children.map((c) => c.path)).toEqual(['r/c']);
  });

  it('takes a nested parent path written with / or %2F', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'c');
    const viaEncoded = await ctx.http.post<AgentNodeJson>('/agents/r%2Fc', { id: 'g1', spec: { goal: 'g' } });
    const viaSlash = await ctx.http.post<AgentNodeJson>('/agents/r/c', { id: 'g2', spec: { goal: 'g' } });
    expect([viaEncoded.body.path, viaSlash.body.path]).toEqual(['r/c/g1', 'r/c/g2']);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r%2Fc%2Fg1')).body.path).toBe('r/c/g1');
  });

  it('answers 404 for a parent that does not exist', async () => {
    const res = await ctx.http.post<ErrorBody>('/agents/nobody', { id: 'c', spec: { goal: 'g' } });
    expect(res.status).toBe(404);
    expect(res.body.message).toContain('nobody');
  });

  it('refuses a duplicate child id with a 409, while the same id under another parent is fine', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, null, 's');
    await spawnAgent(ctx.http, 'r', 'c');
    expect((await ctx.http.post('/agents/r', { id: 'c', spec: { goal: 'g' } })).status).toBe(409);
    expect((await ctx.http.post('/agents/s', { id: 'c', spec: { goal: 'g' } })).status).toBe(201);
  });

  it('refuses a child past max_children with a 422 naming the limit', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { max_children: 1 } });
    await spawnAgent(ctx.http, 'r', 'a');
    const res = await ctx.http.post<ErrorBody>('/agents/r', { id: 'b', spec: { goal: 'g' } });
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('max_children');
  });

  it('counts only live children against max_children: a terminated child frees its place, and purging it too', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { max_children: 2 } });
    await spawnAgent(ctx.http, 'r', 'a');
    await spawnAgent(ctx.http, 'r', 'b');
    expect((await ctx.http.post('/agents/r', { id: 'c', spec: { goal: 'g' } })).status).toBe(422);
    expect((await ctx.http.delete('/agents/r/a')).status).toBe(200);
    expect((await ctx.http.post('/agents/r', { id: 'c', spec: { goal: 'g' } })).status).toBe(201);
    expect((await ctx.http.post('/agents/r', { id: 'd', spec: { goal: 'g' } })).status).toBe(422);
    expect((await ctx.http.delete('/agents/r/a?purge=true')).status).toBe(200);
    expect((await ctx.http.post('/agents/r', { id: 'd', spec: { goal: 'g' } })).status).toBe(422);
    expect((await ctx.http.delete('/agents/r/b?purge=true')).status).toBe(200);
    expect((await ctx.http.post('/agents/r', { id: 'd', spec: { goal: 'g' } })).status).toBe(201);
  });

  it('lets a root with max_depth 2 have children but refuses grandchildren with a 422 naming max_depth', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { max_depth: 2 } });
    await spawnAgent(ctx.http, 'r', 'c', { policy: { max_depth: 10 } });
    const res = await ctx.http.post<ErrorBody>('/agents/r/c', { id: 'g', spec: { goal: 'g' } });
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('max_depth');
  });

  it('refuses a child under a dead parent with a 409', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.delete('/agents/r');
    expect((await ctx.http.post('/agents/r', { id: 'c', spec: { goal: 'g' } })).status).toBe(409);
  });
});

describe('GET /agents and /agents/{path}', () => {
  async function family() {
    await spawnAgent(ctx.http, null, 'a');
    await spawnAgent(ctx.http, 'a', 'x');
    await spawnAgent(ctx.http, 'a/x', 'deep');
    await spawnAgent(ctx.http, 'a', 'y');
    await spawnAgent(ctx.http, null, 'b');
    await spawnAgent(ctx.http, null, 'c');
  }

  it('lists the roots in spawn order with their children nested, and the total', async () => {
    await family();
    const res = await ctx.http.get<Tree>('/agents');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(3);
    expect(res.body.agents.map((a) => a.path)).toEqual(['a', 'b', 'c']);
    expect(res.body.agents[0]!.children.map((c) => c.path)).toEqual(['a/x', 'a/y']);
    expect(res.body.agents[0]!.children[0]!.children.map((c) => c.path)).toEqual(['a/x/deep']);
  });

  it('answers an empty tree as no agents', async () => {
    expect((await ctx.http.get('/agents')).body).toEqual({ agents: [], total: 0 });
  });

  it('cuts the tree at ?depth=, telling how many children were cut', async () => {
    await family();
    const flat = await ctx.http.get<Tree>('/agents?depth=0');
    expect(flat.body.agents[0]).toMatchObject({ path: 'a', children: [], children_count: 2 });
    expect(flat.body.agents[1]!.children_count).toBeUndefined();
    const one = await ctx.http.get<Tree>('/agents?depth=1');
    expect(one.body.agents[0]!.children.map((c) => c.path)).toEqual(['a/x', 'a/y']);
    expect(one.body.agents[0]!.children[0]).toMatchObject({ children: [], children_count: 1 });
  });

  it('pages the roots with ?limit and ?offset, total counting them all', async () => {
    await family();
    const page = await ctx.http.get<Tree>('/agents?limit=1&offset=1');
    expect(page.body.agents.map((a) => a.path)).toEqual(['b']);
    expect(page.body.total).toBe(3);
    expect((await ctx.http.get<Tree>('/agents?offset=2&limit=5')).body.agents.map((a) => a.path)).toEqual(['c']);
    expect((await ctx.http.get<Tree>('/agents?offset=9')).body.agents).toEqual([]);
  });

  it('answers the subtree at a path, with / or %2F, and ?depth= there too', async () => {
    await family();
    const sub = await ctx.http.get<AgentNodeJson>('/agents/a/x');
    expect(sub.status).toBe(200);
    expect(sub.body).toMatchObject({ id: 'x', path: 'a/x' });
    expect(sub.body.children.map((c) => c.path)).toEqual(['a/x/deep']);
    expect((await ctx.http.get<AgentNodeJson>('/agents/a%2Fx')).body.path).toBe('a/x');
    expect((await ctx.http.get<AgentNodeJson>('/agents/a/x/')).body.path).toBe('a/x');
    expect((await ctx.http.get<AgentNodeJson>('/agents/a?depth=0')).body).toMatchObject({ children: [], children_count: 2 });
  });

  it('answers 404 JSON for an unknown path', async () => {
    const res = await ctx.http.get<ErrorBody>('/agents/a/nope');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'agent a/nope not found' });
  });

  it('refuses a bad ?depth, ?limit or ?offset with a 400 naming the parameter', async () => {
    for (const query of ['depth=-1', 'depth=abc', 'depth=65', 'limit=0', 'offset=-1']) {
      const res = await ctx.http.get<ErrorBody>(`/agents?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.message).toContain(`query parameter ${query.split('=')[0]} `);
    }
  });
});

describe('DELETE /agents/{path}', () => {
  it('terminates the subtree children first, and the nodes stay visible as dead', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'a');
    await spawnAgent(ctx.http, 'r/a', 'deep');
    await spawnAgent(ctx.http, 'r', 'b');
    const stream = await openSse(`${ctx.d.url}/agents/r/observe`);
    const res = await ctx.http.delete<AgentNodeJson>('/agents/r');
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('dead');
    const terminated: unknown[] = [];
    for (let i = 0; i < 4; i++) terminated.push(dataOf(await stream.next('terminated')).path);
    stream.close();
    expect(terminated).toEqual(['r/a/deep', 'r/a', 'r/b', 'r']);
    const after = await ctx.http.get<AgentNodeJson>('/agents/r');
    expect(after.body.state).toBe('dead');
    expect(after.body.children.map((c) => [c.path, c.state])).toEqual([['r/a', 'dead'], ['r/b', 'dead']]);
    expect(after.body.children[0]!.children[0]!.state).toBe('dead');
  });

  it('terminates a child alone, leaving its parent and siblings be', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'a');
    await spawnAgent(ctx.http, 'r', 'b');
    await ctx.http.delete('/agents/r/a');
    const tree = await ctx.http.get<AgentNodeJson>('/agents/r');
    expect(tree.body.state).not.toBe('dead');
    expect(tree.body.children.map((c) => c.state === 'dead')).toEqual([true, false]);
  });

  it('answers 409 for an agent already dead and 404 for an unknown one', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.delete('/agents/r');
    expect((await ctx.http.delete('/agents/r')).status).toBe(409);
    expect((await ctx.http.delete('/agents/ghost')).status).toBe(404);
  });

  it('with ?purge=true removes the subtree, freeing the id', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'a');
    const res = await ctx.http.delete<AgentNodeJson>('/agents/r?purge=true');
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('dead');
    expect((await ctx.http.get('/agents/r')).status).toBe(404);
    expect((await ctx.http.get('/agents/r/a')).status).toBe(404);
    expect((await ctx.http.get<Tree>('/agents')).body.total).toBe(0);
    expect((await ctx.http.post('/agents', { id: 'r', spec: { goal: 'again' } })).status).toBe(201);
  });

  it('purges a dead child from its parent', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'a');
    await ctx.http.delete('/agents/r/a');
    expect((await ctx.http.delete('/agents/r/a?purge=true')).status).toBe(200);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.children).toEqual([]);
  });

  it('refuses ?purge= other than true or false with a 400', async () => {
    await spawnAgent(ctx.http, null, 'r');
    expect((await ctx.http.delete('/agents/r?purge=yes')).status).toBe(400);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).not.toBe('dead');
  });
});

describe('PATCH /agents/{path} (correct)', () => {
  it('queues the guidance and moves the agent to correcting', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const stream = await openSse(`${ctx.d.url}/agents/r/log`);
    const res = await ctx.http.patch<AgentNodeJson>('/agents/r', { guidance: 'Focus on memory architectures' });
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('correcting');
    const correction = await stream.next('correction');
    stream.close();
    expect(correction.data).toMatchObject({ guidance: 'Focus on memory architectures', path: 'r' });
  });

  it('refuses missing, blank or non-string guidance with a 400 naming body.guidance', async () => {
    await spawnAgent(ctx.http, null, 'r');
    for (const body of [{}, { guidance: '' }, { guidance: '   ' }, { guidance: 5 }]) {
      const res = await ctx.http.patch<ErrorBody>('/agents/r', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toMatch(/^guidance (is required|must )|^guidance: send guidance, policy or both/);
    }
  });

  it('answers 409 for a suspended agent (guidance goes with resume) and for a dead one', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, null, 's');
    await ctx.http.post('/agents/r/suspend');
    await ctx.http.delete('/agents/s');
    const suspended = await ctx.http.patch<ErrorBody>('/agents/r', { guidance: 'g' });
    expect(suspended.status).toBe(409);
    expect(suspended.body.message).toContain('suspended');
    expect((await ctx.http.patch('/agents/s', { guidance: 'g' })).status).toBe(409);
  });

  it('answers 404 for an unknown agent', async () => {
    expect((await ctx.http.patch('/agents/ghost', { guidance: 'g' })).status).toBe(404);
  });
});
