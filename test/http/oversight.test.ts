import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { manualClock, spawnAgent, useTestDaemon } from '../support/daemon.js';
import { openSse } from '../support/sse-client.js';

interface Finding { path: string; kind: string; action: string; detail: string; timestamp: string; reason?: string }

let clock = manualClock();
beforeEach(() => {
  clock = manualClock();
});
const ctx = useTestDaemon({ clock: () => clock.now() });

describe('POST /oversight/check', () => {
  it('finds nothing to report on a fresh tree', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    const res = await ctx.http.post<{ events: Finding[] }>('/oversight/check');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ events: [] });
  });

  it('suspends an agent past max_runtime_seconds with budget_exceeded and lists the finding', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    await spawnAgent(ctx.http, null, 'unlimited');
    clock.advance(11_000);
    const res = await ctx.http.post<{ events: Finding[] }>('/oversight/check');
    expect(res.status).toBe(200);
    expect(res.body.events).toHaveLength(1);
    const [finding] = res.body.events;
    expect(finding).toMatchObject({ path: 'r', kind: 'runtime', action: 'suspend', timestamp: new Date(clock.now()).toISOString() });
    expect(finding!.detail).toContain('max_runtime_seconds 10');
    const node = await ctx.http.get<AgentNodeJson>('/agents/r');
    expect(node.body).toMatchObject({ state: 'suspended', suspend_reason: 'budget_exceeded' });
    expect((await ctx.http.get<AgentNodeJson>('/agents/unlimited')).body.state).not.toBe('suspended');
  });

  it('leaves an agent alone at exactly its runtime budget', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    clock.advance(10_000);
    expect((await ctx.http.post<{ events: Finding[] }>('/oversight/check')).body.events).toEqual([]);
    expect((await ctx.http.get<AgentNodeJson>('/agents/r')).body.health.last_check).toBe(new Date(clock.now()).toISOString());
  });

  it('checks children too, and does not report an agent it already suspended', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'c', { policy: { budget: { max_runtime_seconds: 1 } } });
    clock.advance(2_000);
    expect((await ctx.http.post<{ events: Finding[] }>('/oversight/check')).body.events.map((f) => f.path)).toEqual(['r/c']);
    expect((await ctx.http.post<{ events: Finding[] }>('/oversight/check')).body.events).toEqual([]);
  });

  it('publishes the finding as an oversight event before the suspension', async () => {
    await spawnAgent(ctx.http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    const log = await openSse(`${ctx.d.url}/agents/r/log`);
    clock.advance(11_000);
    await ctx.http.post('/oversight/check');
    const oversight = await log.next('oversight');
    expect(oversight.data).toMatchObject({ kind: 'runtime', action: 'suspend', path: 'r' });
    expect((await log.next('suspended')).data).toMatchObject({ reason: 'budget_exceeded', by: 'oversight' });
    log.close();
  });
});
