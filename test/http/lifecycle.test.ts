import { beforeEach, describe, expect, it } from 'vitest';
import { SUSPEND_REASONS, type AgentNodeJson } from '../../src/domain/schemas.js';
import { spawnAgent, useTestDaemon, type ErrorBody } from '../support/daemon.js';
import { dataOf, openSse } from '../support/sse-client.js';

const ctx = useTestDaemon({ shared: true, purgeAfterEach: true });
beforeEach(() => spawnAgent(ctx.http, null, 'r'));

describe('POST /agents/{path}/suspend', () => {
  it('suspends for a manual reason when given no body', async () => {
    const res = await ctx.http.post<AgentNodeJson>('/agents/r/suspend');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'suspended', suspend_reason: 'manual' });
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.suspend_reason).toBe('manual');
  });

  it('records each typed reason', async () => {
    for (const reason of SUSPEND_REASONS) {
      const res = await ctx.http.post<AgentNodeJson>('/agents/r/suspend', { reason, detail: 'because' });
      expect(res.status, reason).toBe(200);
      expect(res.body.suspend_reason).toBe(reason);
      expect((await ctx.http.post('/agents/r/resume')).status).toBe(200);
    }
  });

  it('announces the suspension on the agent log with its reason and detail', async () => {
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    await ctx.http.post('/agents/r/suspend', { reason: 'drift_detected', detail: 'off topic' });
    const change = await log.next((e) => e.event === 'state_change' && dataOf(e).to === 'suspended');
    const suspended = await log.next('suspended');
    log.close();
    expect(Number(change.id)).toBeLessThan(Number(suspended.id));
    expect(suspended.data).toMatchObject({ reason: 'drift_detected', detail: 'off topic', by: 'operator' });
  });

  it('answers 409 when the agent is already suspended, keeping the first reason', async () => {
    await ctx.http.post('/agents/r/suspend', { reason: 'loop_detected' });
    const res = await ctx.http.post<ErrorBody>('/agents/r/suspend', { reason: 'manual' });
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('already suspended');
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.suspend_reason).toBe('loop_detected');
  });

  it('answers 400 naming body.reason for an unknown reason, and leaves the agent running', async () => {
    const res = await ctx.http.post<ErrorBody>('/agents/r/suspend', { reason: 'bored' });
    expect(res.status).toBe(400);
    expect(res.body.message).toMatch(/^reason must be one of /);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).not.toBe('suspended');
  });

  it('answers 409 for a dead agent and 404 for an unknown one', async () => {
    await ctx.http.delete('/agents/r');
    expect((await ctx.http.post('/agents/r/suspend')).status).toBe(409);
    expect((await ctx.http.post('/agents/ghost/suspend')).status).toBe(404);
  });

  it('suspends a nested agent by path without touching its parent', async () => {
    await spawnAgent(ctx.http, 'r', 'c');
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/c/suspend')).body.path).toBe('r/c');
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).not.toBe('suspended');
  });
});

describe('POST /agents/{path}/resume', () => {
  it('resumes a suspended agent to running, clearing the reason', async () => {
    await ctx.http.post('/agents/r/suspend');
    const res = await ctx.http.post<AgentNodeJson>('/agents/r/resume');
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('running');
    expect(res.body.suspend_reason).toBeUndefined();
  });

  it('takes guidance to deliver after resuming', async () => {
    await ctx.http.post('/agents/r/suspend');
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    expect((await ctx.http.post('/agents/r/resume', { guidance: 'narrow the search' })).status).toBe(200);
    expect((await log.next('resumed')).data).toMatchObject({ guidance: 'narrow the search' });
    log.close();
  });

  it('answers 409 when the agent is not suspended, changing nothing', async () => {
    const before = (await ctx.http.get<AgentNodeJson>('/agents/r')).body.state;
    const res = await ctx.http.post<ErrorBody>('/agents/r/resume');
    expect(res.status).toBe(409);
    expect(res.body.message).toContain('only a suspended agent');
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.state).toBe(before);
  });

  it('answers 409 for a dead agent', async () => {
    await ctx.http.delete('/agents/r');
    expect((await ctx.http.post('/agents/r/resume')).status).toBe(409);
  });
});

describe('POST /agents/{path}/message', () => {
  it('delivers a message and records it on the agent log', async () => {
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    const res = await ctx.http.post('/agents/r/message', { content: 'new paper: arXiv:2501.00001', channel: 'feeds', kind: 'note' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'delivered', path: 'r' });
    expect((await log.next('message')).data).toMatchObject({ content: 'new paper: arXiv:2501.00001', channel: 'feeds', kind: 'note' });
    log.close();
  });

  it('delivers to a suspended agent too (it reads it on resume)', async () => {
    await ctx.http.post('/agents/r/suspend');
    expect((await ctx.http.post('/agents/r/message', { content: 'later' })).status).toBe(200);
  });

  it('refuses a missing or empty content, a wrong type and an unknown field with a 400', async () => {
    for (const body of [{}, { content: '' }, { content: 42 }, { content: 'x', colour: 'red' }]) {
      const res = await ctx.http.post<ErrorBody>('/agents/r/message', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toMatch(/^(content|the body|unknown field)/);
    }
  });

  it('answers 409 for a dead agent and 404 for an unknown one', async () => {
    await ctx.http.delete('/agents/r');
    const dead = await ctx.http.post<ErrorBody>('/agents/r/message', { content: 'hello?' });
    expect(dead.status).toBe(409);
    expect(dead.body.message).toContain('dead');
    expect((await ctx.http.post('/agents/ghost/message', { content: 'x' })).status).toBe(404);
  });
});

describe('POST /agents/{path}/restart', () => {
  it('restarts the agent, counting it in restart_count', async () => {
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    const res = await ctx.http.post<AgentNodeJson>('/agents/r/restart');
    expect(res.status).toBe(200);
    expect(res.body.restart_count).toBe(1);
    expect((await log.next('restarted')).data).toMatchObject({ restart_count: 1, from_checkpoint: null });
    log.close();
    expect((await ctx.http.post<AgentNodeJson>('/agents/r/restart')).body.restart_count).toBe(2);
  });

  it('restarts from the latest checkpoint when there is one', async () => {
    await ctx.http.post('/agents/r/checkpoint');
    await ctx.http.post('/agents/r/checkpoint');
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    await ctx.http.post('/agents/r/restart');
    expect((await log.next('restarted')).data).toMatchObject({ from_checkpoint: 'cp-2' });
    log.close();
  });

  it('restarts a suspended agent, leaving it unsuspended', async () => {
    await ctx.http.post('/agents/r/suspend');
    const res = await ctx.http.post<AgentNodeJson>('/agents/r/restart');
    expect(res.status).toBe(200);
    expect(res.body.state).not.toBe('suspended');
    expect(res.body.suspend_reason).toBeUndefined();
  });

  it('refuses a restart past max_restarts with a 422 naming the limit', async () => {
    await spawnAgent(ctx.http, null, 'once', { policy: { max_restarts: 1 } });
    expect((await ctx.http.post('/agents/once/restart')).status).toBe(200);
    const res = await ctx.http.post<ErrorBody>('/agents/once/restart');
    expect(res.status).toBe(422);
    expect(res.body.message).toContain('max_restarts');
    expect((await ctx.http.get<AgentNodeJson>('/agents/once')).body.restart_count).toBe(1);
  });

  it('answers 409 for a dead agent and 404 for an unknown one', async () => {
    await ctx.http.delete('/agents/r');
    expect((await ctx.http.post('/agents/r/restart')).status).toBe(409);
    expect((await ctx.http.post('/agents/ghost/restart')).status).toBe(404);
  });
});
