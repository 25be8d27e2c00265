import { describe, expect, it, vi } from 'vitest';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { expectError, spawnAgent } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import { daemonPerTest, lastUserBlocks, openLog, requestsOf, scriptByAgent, TEXT_OK, waitForNode } from '../runner/runner-support.js';

const start = daemonPerTest();

describe('PATCH /agents/{path} {policy}', () => {
  it('merges a partial policy over the current one, audits who changed what, and leaves the rest as it was', async () => {
    const { t, http } = await start();
    await spawnAgent(http, null, 'a', { policy: { max_children: 4, budget: { max_total_tokens: 1_000 } } });
    const res = await http.patch<AgentNodeJson>('/agents/a', { policy: { budget: { max_cost_usd: 2 }, max_restarts: 7 }, reason: 'more room' });
    expect(res.status).toBe(200);
    expect(res.body.policy).toMatchObject({ max_children: 4, max_restarts: 7, budget: { max_total_tokens: 1_000, max_cost_usd: 2 } });
    expect((await http.get<AgentNodeJson>('/agents/a')).body.policy.max_restarts).toBe(7);
    const log = await openLog(t, 'a');
    const changed = dataOf(await log.next('policy_changed'));
    log.close();
    expect(changed).toMatchObject({ changed: ['max_restarts', 'budget'], by: 'operator', reason: 'more room', from: { max_restarts: 3 }, to: { max_restarts: 7 } });
  });

  it('validates as at spawn: a 400 naming the field, and nothing changes', async () => {
    const { http } = await start();
    await spawnAgent(http, null, 'p', { policy: { approvals: [{ tool: 'fetch_webpage', decision: 'ask' }] } });
    await spawnAgent(http, 'p', 'c');
    expectError(await http.patch('/agents/p', { policy: { max_depth: -1 } }), 400, /policy.max_depth must be at least 0/);
    expectError(await http.patch('/agents/p', { policy: { budget: { max_total_tokens: 'lots' } } }), 400, /policy.budget.max_total_tokens/);
    expectError(await http.patch('/agents/p', { policy: { colour: 'red' } }), 400, /unknown field "policy.colour"/);
    expectError(await http.patch('/agents/p', { policy: { approvals: [{ tool: 'a b', decision: 'ask' }] } }), 400, /policy.approvals.0.tool/);
    expectError(await http.patch('/agents/p/c', { policy: { approvals: [{ tool: 'fetch_*', decision: 'allow' }] } }), 400, /^policy.approvals\[0\]: allow for fetch_webpage is looser/);
    expect((await http.get<AgentNodeJson>('/agents/p')).body.policy.max_depth).toBe(3);
    expectError(await http.patch('/agents/nope', { policy: { max_depth: 1 } }), 404);
  });

  it('takes effect at the next check: a deny rule added while the agent works refuses its next call', async () => {
    const { t, http } = await start();
    const call: FakeReply = { kind: 'tool_use', name: 'list_children', input: {}, id: 'toolu_after_patch' };
    let release!: (reply: FakeReply) => void;
    const held = new Promise<FakeReply>((resolve) => (release = resolve));
    let calls = 0;
    t.fake.setHandler(() => (++calls === 1 ? held : TEXT_OK));
    await spawnAgent(http, null, 'a');
    await t.fake.waitForRequests(1);
    expect((await http.patch('/agents/a', { policy: { approvals: [{ tool: 'list_children', decision: 'deny' }] } })).status).toBe(200);
    release(call);
    const second = await vi.waitFor(() => {
      const r = requestsOf(t, 'a');
      expect(r.length).toBeGreaterThanOrEqual(2);
      return r[1]!;
    });
    const result = lastUserBlocks(second).find((b) => b.type === 'tool_result')!;
    expect(result).toMatchObject({ tool_use_id: 'toolu_after_patch', is_error: true });
    expect(String(result.content)).toMatch(/denied by policy.approvals of a/);
  });

  it('guidance and policy together: both or neither', async () => {
    const { http } = await start();
    await spawnAgent(http, null, 'a');
    expect((await http.post('/agents/a/suspend', {})).status).toBe(200);
    expectError(await http.patch('/agents/a', { guidance: 'focus', policy: { max_restarts: 9 } }), 409);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.policy.max_restarts).toBe(3);
    expect((await http.post('/agents/a/resume', {})).status).toBe(200);
    expectError(await http.patch('/agents/a', { guidance: 'focus', policy: { max_restarts: -1 } }), 400, /policy.max_restarts/);
    expect((await http.get<AgentNodeJson>('/agents/a')).body.state).not.toBe('correcting');
    const both = await http.patch<AgentNodeJson>('/agents/a', { guidance: 'focus', policy: { max_restarts: 9 } });
    expect(both.body).toMatchObject({ state: 'correcting', policy: { max_restarts: 9 } });
  });

  it('a dead agent keeps its policy (409)', async () => {
    const { http } = await start();
    await spawnAgent(http, null, 'a');
    expect((await http.delete('/agents/a')).status).toBe(200);
    expectError(await http.patch('/agents/a', { policy: { max_restarts: 1 } }), 409, /dead/);
  });
});

describe('depth_exceeded', () => {
  it('suspends an agent whose spawn_child is refused for max_depth three times in one wake', async () => {
    const { t, http } = await start();
    const spawn = (n: number): FakeReply => ({ kind: 'tool_use', name: 'spawn_child', input: { id: `kid-${n}`, goal: 'deeper' }, id: `toolu_spawn_${n}` });
    scriptByAgent(t, { a: [spawn(1), spawn(2), spawn(3), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { max_depth: 1 } });
    const node = await waitForNode(http, 'a', (n) => expect(n.state).toBe('suspended'));
    expect(node.suspend_reason).toBe('depth_exceeded');
    expect(requestsOf(t, 'a')).toHaveLength(3); // the two refusals before were read by the model; the third suspends
    const second = lastUserBlocks(requestsOf(t, 'a')[2]!).find((b) => b.type === 'tool_result')!;
    expect(String(second.content)).toMatch(/^refused: max_depth/);
    const log = await openLog(t, 'a');
    const suspended = dataOf(await log.next('suspended'));
    log.close();
    expect(suspended).toMatchObject({ reason: 'depth_exceeded', by: 'oversight' });
    expect(String(suspended.detail)).toMatch(/refused 3 times in one wake/);
  });

  it('two refusals in one wake and one in the next do not suspend (counted per wake)', async () => {
    const { t, http } = await start();
    const spawn = (n: number): FakeReply => ({ kind: 'tool_use', name: 'spawn_child', input: { id: `kid-${n}`, goal: 'deeper' }, id: `toolu_spawn_${n}` });
    scriptByAgent(t, { a: [spawn(1), spawn(2), TEXT_OK, spawn(3), TEXT_OK] });
    await spawnAgent(http, null, 'a', { policy: { max_depth: 1 } });
    await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
    expect((await http.post('/agents/a/message', { content: 'try again' })).status).toBe(200);
    await vi.waitFor(() => expect(requestsOf(t, 'a')).toHaveLength(5));
    await waitForNode(http, 'a', (n) => expect(n.state).toBe('idle'));
  });
});
