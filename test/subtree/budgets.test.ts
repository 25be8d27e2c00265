import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startDaemon } from '../../src/daemon.js';
import type { AgentNodeJson } from '../../src/domain/schemas.js';
import { api, spawnAgent } from '../support/daemon.js';
import type { FakeReply } from '../support/fake-messages-api.js';
import { dataOf } from '../support/sse-client.js';
import type { TestDaemon } from '../support/daemon.js';
import { daemonPerTest, openLog, requestPath, requestsOf, waitForNode } from '../runner/runner-support.js';

const start = daemonPerTest();

/** A reply to an agent's call, billed as claude-sonnet-4-6 ($3 in, $15 out per million tokens). */
const billed = (input: number, output: number): FakeReply => ({ kind: 'text', text: 'done', usage: { input_tokens: input, output_tokens: output } });
const costOf = (input: number, output: number) => (input * 3 + output * 15) / 1_000_000;

/** The detail of the agent's latest `suspended` event, read from its /log. */
async function suspendDetail(t: TestDaemon, path: string): Promise<string> {
  const log = await openLog(t, path);
  try {
    return String(dataOf(await log.next('suspended')).detail);
  } finally {
    log.close();
  }
}

const idle = (node: AgentNodeJson) => expect(node.state).toBe('idle');

describe('subtree budgets', () => {
  it('suspends the child whose call would cross its parent\'s subtree_max_cost_usd, then its siblings at their next call, none mid-call', async () => {
    const { t, http } = await start();
    // Each agent's calls are billed as the handler says: p a little, c1 and c3 small calls, c1's second a big one.
    const usage: Record<string, FakeReply[]> = {
      p: [billed(10, 5)], c1: [billed(1_000, 100), billed(5_000, 1_000)], c2: [billed(1_000, 100)], c3: [billed(1_000, 100)],
    };
    t.fake.setHandler((req) => usage[requestPath(req)?.split('/').at(-1) ?? '']?.shift() ?? { kind: 'hang' });
    await spawnAgent(http, null, 'p', { policy: { budget: { subtree_max_cost_usd: 0.04 } } });
    await waitForNode(http, 'p', idle);
    for (const id of ['c1', 'c2', 'c3']) {
      await spawnAgent(http, 'p', id);
      await waitForNode(http, `p/${id}`, idle);
    }
    const afterFirst = costOf(10, 5) + 3 * costOf(1_000, 100);
    const p = (await http.get<AgentNodeJson>('/agents/p')).body;
    expect(p.health.subtree_cost_usd).toBeCloseTo(afterFirst, 8);
    expect(p.health.subtree_tokens_total).toBe(15 + 3 * 1_100);

    // c2 is asked something long: its prompt alone (~13,000 tokens) would take the subtree past $0.04.
    await http.post('/agents/p/c2/message', { content: 'x'.repeat(40_000) });
    const c2 = await waitForNode(http, 'p/c2', (n) => expect(n.state).toBe('suspended'));
    expect(c2.suspend_reason).toBe('budget_exceeded');
    expect(requestsOf(t, 'p/c2')).toHaveLength(1); // stopped before its call, not in it
    expect(await suspendDetail(t, 'p/c2')).toMatch(/^would cross the subtree budget of p: /);

    // c1's next call fits the estimate but costs more: the budget is spent once it is whole, and c1 stops there.
    await http.post('/agents/p/c1/message', { content: 'go on' });
    const c1 = await waitForNode(http, 'p/c1', (n) => expect(n.state).toBe('suspended'));
    expect(c1.suspend_reason).toBe('budget_exceeded');
    expect(requestsOf(t, 'p/c1')).toHaveLength(2);
    expect(c1.health.cost_usd).toBeCloseTo(costOf(1_000, 100) + costOf(5_000, 1_000), 8);

    // c3, idle meanwhile, is stopped at its next call: the subtree's budget is spent.
    await http.post('/agents/p/c3/message', { content: 'one more thing' });
    const c3 = await waitForNode(http, 'p/c3', (n) => expect(n.state).toBe('suspended'));
    expect(c3.suspend_reason).toBe('budget_exceeded');
    expect(requestsOf(t, 'p/c3')).toHaveLength(1);
    expect(t.fake.requests.every((r) => !r.aborted)).toBe(true);
    expect(await suspendDetail(t, 'p/c3')).toMatch(/^spent the subtree budget of p: /);
    expect(await suspendDetail(t, 'p/c1')).toMatch(/^spent the subtree budget of p: /);

    // The spend is the sum of the calls made, and it survives a daemon restart.
    const spent = costOf(10, 5) + 3 * costOf(1_000, 100) + costOf(5_000, 1_000);
    expect((await http.get<AgentNodeJson>('/agents/p')).body.health.subtree_cost_usd).toBeCloseTo(spent, 8);
    await t.daemon.close();
    const again = await startDaemon(loadConfig({
      AUTON_HOST: '127.0.0.1', AUTON_PORT: '0', AUTON_DB: t.dbPath, ANTHROPIC_API_KEY: 'test-key', ANTHROPIC_BASE_URL: t.fake.url,
      AUTON_MODEL_MAX_RETRIES: '0', AUTON_JUDGE_EVERY_TURNS: '0',
    }), { logger: false });
    try {
      const http2 = api(again.url);
      const restored = (await http2.get<AgentNodeJson>('/agents/p')).body;
      expect(restored.health.subtree_cost_usd).toBeCloseTo(spent, 8);
      expect(restored.health.subtree_tokens_total).toBe(15 + 3 * 1_100 + 6_000);
      // Purging a spent child does not give its money back.
      expect((await http2.delete('/agents/p/c1?purge=true')).status).toBe(200);
      expect((await http2.get<AgentNodeJson>('/agents/p')).body.health.subtree_cost_usd).toBeCloseTo(spent, 8);
      // Raising the budget (here: on the record, as PATCH of the policy does) and resuming continues the work.
      const record = again.runtime.get('p');
      record.policy = { ...record.policy, budget: { ...record.policy.budget, subtree_max_cost_usd: 1 } };
      usage.c3 = [billed(1_000, 100)];
      expect((await http2.post('/agents/p/c3/resume')).status).toBe(200);
      await waitForNode(http2, 'p/c3', idle);
      expect(requestsOf(t, 'p/c3')).toHaveLength(2);
    } finally {
      await again.close();
    }
  });

  it('a subtree_max_total_tokens of the parent bounds its children\'s tokens; a bad budget is a 400 naming the field', async () => {
    const { t, http } = await start();
    t.fake.setHandler(() => billed(500, 100));
    await spawnAgent(http, null, 'p', { policy: { budget: { subtree_max_total_tokens: 1_000 } } });
    await waitForNode(http, 'p', idle);
    await spawnAgent(http, 'p', 'c');
    await waitForNode(http, 'p/c', (n) => expect(n.state).toBe('suspended'));
    const c = (await http.get<AgentNodeJson>('/agents/p/c')).body;
    expect(c.suspend_reason).toBe('budget_exceeded');
    expect((await http.get<AgentNodeJson>('/agents/p')).body.health.subtree_tokens_total).toBe(1_200);
    const bad = await http.post<{ message: string }>('/agents', { spec: { goal: 'g' }, policy: { budget: { subtree_max_cost_usd: -1 } } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/subtree_max_cost_usd/);
  });
});
