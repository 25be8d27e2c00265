import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, useTestDaemon, type ErrorBody } from '../support/daemon.js';

interface CheckpointJson { id: string; path: string; timestamp: string; turns: number; state: string; label?: string }

const ctx = useTestDaemon({ shared: true, purgeAfterEach: true });

describe('POST /agents/{path}/checkpoint and GET …/checkpoints', () => {
  it('saves a checkpoint (201) and the agent counts it', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const res = await ctx.http.post<CheckpointJson>('/agents/r/checkpoint');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'cp-1', path: 'r', turns: 0 });
    expect(Date.parse(res.body.timestamp)).not.toBeNaN();
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.checkpoints).toBe(1);
    await ctx.http.post('/agents/r/checkpoint', { label: 'before the refactor' });
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.checkpoints).toBe(2);
  });

  it('lists the checkpoints oldest first, without their conversation', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.post('/agents/r/checkpoint', { label: 'one' });
    await ctx.http.post('/agents/r/checkpoint');
    const res = await ctx.http.get<{ checkpoints: CheckpointJson[] }>('/agents/r/checkpoints');
    expect(res.status).toBe(200);
    expect(res.body.checkpoints.map((c) => [c.id, c.label])).toEqual([['cp-1', 'one'], ['cp-2', undefined]]);
    expect(Object.keys(res.body.checkpoints[0]!)).not.toContain('conversation');
  });

  it('lists no checkpoints for a fresh agent, and 404 for an unknown one', async () => {
    await spawnAgent(ctx.http, null, 'r');
    expect((await ctx.http.get('/agents/r/checkpoints')).body).toEqual({ checkpoints: [] });
    expect((await ctx.http.get('/agents/ghost/checkpoints')).status).toBe(404);
    expect((await ctx.http.post('/agents/ghost/checkpoint')).status).toBe(404);
  });

  it('checkpoints a nested agent by path', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'c');
    expect((await ctx.http.post<CheckpointJson>('/agents/r/c/checkpoint')).body.path).toBe('r/c');
    expect((await ctx.http.get<{ checkpoints: CheckpointJson[] }>('/agents/r%2Fc/checkpoints')).body.checkpoints).toHaveLength(1);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.checkpoints).toBe(0);
  });

  it('refuses an unknown field with a 400', async () => {
    await spawnAgent(ctx.http, null, 'r');
    expect((await ctx.http.post('/agents/r/checkpoint', { lable: 'typo' })).status).toBe(400);
  });
});

describe('POST /agents/{path}/fork', () => {
  it('answers 422 when the agent has no checkpoint', async () => {
    await spawnAgent(ctx.http, null, 'r');
    const res = await ctx.http.post<ErrorBody>('/agents/r/fork');
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('checkpoint');
  });

  it('starts a sibling with the same spec and policy, a derived id and where it came from', async () => {
    await spawnAgent(ctx.http, null, 'p');
    const source = await spawnAgent(ctx.http, 'p', 'r', { spec: { model: 'claude-haiku-4-5' }, policy: { max_restarts: 7, drift_threshold: 0.2 } });
    await ctx.http.post('/agents/p/r/checkpoint');
    const res = await ctx.http.post<AgentNodeJson>('/agents/p/r/fork');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ id: 'r-fork', path: 'p/r-fork', forked_from: { path: 'p/r', checkpoint: 'cp-1' }, restart_count: 0 });
    expect(res.body.spec).toEqual(source.spec);
    expect(res.body.policy).toEqual(source.policy);
    expect((await ctx.http.get<AgentNodeJson>('/agents/p')).body.children.map((c) => c.path)).toEqual(['p/r', 'p/r-fork']);
  });

  it('derives a fresh id on each fork and takes a given one', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.post('/agents/r/checkpoint');
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/fork')).body.id).toBe('r-fork');
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/fork')).body.id).toBe('r-fork-2');
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/fork', { id: 'alt' })).body.path).toBe('alt');
  });

  it('makes the fork of a root a root', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.post('/agents/r/checkpoint');
    const fork = await ctx.http.post<AgentNodeJson>('/agents/r/fork');
    expect(fork.body.path).toBe(fork.body.id);
    const tree = await ctx.http.get<{ agents: AgentNodeJson[] }>('/agents');
    expect(tree.body.agents.map((a) => a.path)).toEqual(['r', 'r-fork']);
  });

  it('forks from a named checkpoint, 404 when it does not exist', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await ctx.http.post('/agents/r/checkpoint');
    await ctx.http.post('/agents/r/checkpoint');
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/fork', { checkpoint: 'cp-1' })).body.forked_from).toEqual({ path: 'r', checkpoint: 'cp-1' });
    expect((await ctx.http.post('/agents/r/fork', { checkpoint: 'cp-9' })).status).toBe(404);
  });

  it("answers 409 when the given id is taken, and 422 when the parent's max_children is reached", async () => {
    await spawnAgent(ctx.http, null, 'p', { policy: { max_children: 1 } });
    await spawnAgent(ctx.http, 'p', 'r');
    await spawnAgent(ctx.http, null, 'taken');
    await ctx.http.post('/agents/p/r/checkpoint');
    const full = await ctx.http.post<ErrorBody>('/agents/p/r/fork');
    expect(full.status).toBe(422);
    expect(full.body.message).toContain('max_children');
    await spawnAgent(ctx.http, null, 'x');
    await ctx.http.post('/agents/x/checkpoint');
    expect((await ctx.http.post('/agents/x/fork', { id: 'taken' })).status).toBe(409);
  });

  it('answers 404 for an unknown agent', async () => {
    expect((await ctx.http.post('/agents/ghost/fork')).status).toBe(404);
  });
});
