import { describe, expect, it } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { expectError, manualClock, spawnAgent, useTestDaemon } from '../support/daemon.js';
import { waitForNode } from '../runner/runner-support.js';

const clock = manualClock();
const ctx = useTestDaemon({ clock: clock.now, env: { AUTON_OVERSIGHT_INTERVAL_MS: '3600000' } });

interface DryRun {
  dry_run: true;
  agents: Array<{
    path: string; state: string; checked: boolean; action: string; reason?: string;
    findings: Array<{ kind: string; action: string; detail: string; reason?: string }>;
    next_call: unknown; context_pressure: number | null; cache_hit_ratio: number | null; subtree_tokens_total: number;
  }>;
}

describe('oversight dry run', () => {
  it('says what a pass would do to each agent of a subtree and why, changes nothing, and a real pass then does just that', async () => {
    const { http, d } = ctx;
    d.fake.setHandler(() => ({ kind: 'text', text: 'done' }));
    await spawnAgent(http, null, 'r', { policy: { budget: { max_runtime_seconds: 10 } } });
    await spawnAgent(http, 'r', 'a');
    await spawnAgent(http, 'r', 'b', { policy: { budget: { max_tokens_per_hour: 10 } } });
    await spawnAgent(http, 'r', 'd');
    for (const path of ['r', 'r/a', 'r/b', 'r/d']) await waitForNode(http, path, (n) => expect(n.state).toBe('idle'));
    await http.delete('/agents/r/d');
    await spawnAgent(http, null, 'elsewhere', { policy: { budget: { max_runtime_seconds: 10 } } });
    await waitForNode(http, 'elsewhere', (n) => expect(n.state).toBe('idle'));
    clock.advance(60_000);

    const before = (await http.get('/agents')).body;
    const lastEvent = d.daemon.runtime.bus.lastId;
    const dry = await http.post<DryRun>('/oversight/check?dry_run=true&path=r');
    expect(dry.status).toBe(200);
    expect(dry.body.agents.map((a) => [a.path, a.action, a.reason ?? null])).toEqual([
      ['r', 'suspend', 'budget_exceeded'], ['r/a', 'none', null], ['r/b', 'warn', null], ['r/d', 'none', null],
    ]);
    const [r, , b, dead] = dry.body.agents;
    expect(r!.findings[0]).toMatchObject({ kind: 'runtime', detail: 'running 60 s, past max_runtime_seconds 10' });
    expect(b!.findings[0]).toMatchObject({ kind: 'token_rate', action: 'warn' });
    expect(dead).toMatchObject({ checked: false, findings: [], next_call: null });
    expect(r!.context_pressure).toBeGreaterThan(0);
    expect(r!.context_pressure).toBeLessThan(1);
    const node = (await http.get<AgentNodeJson>('/agents/r')).body;
    const sum = node.health.tokens_total + node.children.reduce((n, c) => n + c.health.tokens_total, 0);
    expect(r!.subtree_tokens_total).toBe(sum); // r's calls and its three children's, the dead one's included
    expect(r!.next_call).toBeNull();

    expect((await http.get('/agents')).body).toEqual(before);
    expect(d.daemon.runtime.bus.lastId).toBe(lastEvent);

    const real = await http.post<{ events: Array<{ path: string; kind: string; action: string; detail: string }> }>('/oversight/check');
    const inSubtree = real.body.events.filter((e) => e.path === 'r' || e.path.startsWith('r/'));
    expect(inSubtree.map((e) => ({ path: e.path, kind: e.kind, action: e.action, detail: e.detail }))).toEqual(
      dry.body.agents.flatMap((a) => a.findings.map((f) => ({ path: a.path, kind: f.kind, action: f.action, detail: f.detail }))),
    );
    expect((await http.get<AgentNodeJson>('/agents/r')).body.state).toBe('suspended');
    expect((await http.get<AgentNodeJson>('/agents/elsewhere')).body.state).toBe('suspended');
  });

  it('a dry run of an unknown path is a 404', async () => {
    expectError(await ctx.http.post('/oversight/check?dry_run=true&path=nobody'), 404, 'agent nobody not found');
  });
});
