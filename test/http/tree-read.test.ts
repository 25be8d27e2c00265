import { describe, expect, it } from 'vitest';
import { manualClock, spawnAgent, useTestDaemon } from '../support/daemon.js';

const clock = manualClock();

/**
 * GET /agents writes the tree as bytes from each node's cached parts (node-json.ts `writeNode`); GET /agents/{path}
 * still renders text (`renderNode`). With the clock held still, the whole tree must be exactly the single reads of
 * its roots, joined.
 */
describe('GET /agents, written as bytes', () => {
  const ctx = useTestDaemon({ shared: true, purgeAfterEach: true, clock: () => clock.now() });

  async function text(path: string): Promise<{ status: number; body: string; headers: Headers }> {
    const res = await fetch(ctx.d.url + path);
    return { status: res.status, body: await res.text(), headers: res.headers };
  }

  async function expectJoinedRoots(query: string, roots: string[], total: number): Promise<void> {
    const depth = new URLSearchParams(query).get('depth');
    const singles = await Promise.all(roots.map((root) => text(`/agents/${root}${depth === null ? '' : `?depth=${depth}`}`)));
    const whole = await text(`/agents${query}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(whole.headers.get('x-request-id')).toBeTruthy();
    expect(Number(whole.headers.get('content-length'))).toBe(Buffer.byteLength(whole.body));
    expect(whole.headers.get('transfer-encoding')).toBeNull();
    expect(whole.body).toBe(`{"agents":[${singles.map((s) => s.body).join(',')}],"total":${total}}`);
  }

  it('is the single reads of its roots, joined, at every depth and page', async () => {
    // Enough agents, with long non-ASCII goals, for an answer of several chunks.
    for (const root of ['a', 'b', 'c']) {
      await spawnAgent(ctx.http, null, root, { spec: { goal: `Root ${root}: ünïcode 😀 "quoted" ${'x'.repeat(3000)}` }, policy: { max_children: 100 } });
      for (let i = 0; i < 12; i++) await spawnAgent(ctx.http, root, `k${i}`, { spec: { goal: `Child ${i} of ${root}: ${'é'.repeat(2000)}` } });
    }
    await spawnAgent(ctx.http, 'a/k0', 'deep');
    clock.advance(12_345);
    await expectJoinedRoots('', ['a', 'b', 'c'], 3);
    await expectJoinedRoots('?depth=0', ['a', 'b', 'c'], 3);
    await expectJoinedRoots('?depth=1', ['a', 'b', 'c'], 3);
    await expectJoinedRoots('?limit=1&offset=1', ['b'], 3);
    await expectJoinedRoots('?offset=5', [], 3);
  });

  it('shows a change made after an earlier read', async () => {
    await spawnAgent(ctx.http, null, 'r');
    await spawnAgent(ctx.http, 'r', 'c');
    await expectJoinedRoots('', ['r'], 1);
    expect((await ctx.http.post('/agents/r/c/suspend', { reason: 'manual' })).status).toBe(200);
    clock.advance(1_000);
    const after = await ctx.http.get<{ agents: Array<{ children: Array<{ state: string; suspend_reason?: string }> }> }>('/agents');
    expect(after.body.agents[0]!.children[0]).toMatchObject({ state: 'suspended', suspend_reason: 'manual' });
    await expectJoinedRoots('', ['r'], 1);
  });

  it('answers an empty tree', async () => {
    await expectJoinedRoots('', [], 0);
  });
});
